"""The contract of the tenant-scoped membership and capability repositories, on memory,
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import attrs
import pytest

from lad_domain.shared.errors import Conflict
from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import TenantFeature, UserCapability
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory
from tests.integration.tenancy import records
from tests.integration.tenancy.test_repository_contract import all_pages


def _capability(tenant_id: uuid.UUID, user_id: uuid.UUID, key: str = "members.manage"
                ) -> UserCapability:
    return UserCapability(tenant_id=tenant_id, user_id=user_id,
                          feature_key="core", capability_key=key, created_at=records.at())


def test_a_membership_reads_back_and_updates(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (owner, member) = records.seed(uows, Role.MEMBER)
    with uows(tenant.id) as uow:
        found = uow.memberships.get(member.id)
        assert found == records.membership(tenant.id, member.id, Role.MEMBER)
        uow.memberships.update(attrs.evolve(found, role=Role.ADMIN, updated_at=records.at(9)))
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.memberships.get(member.id) == attrs.evolve(found, role=Role.ADMIN,
                                                              updated_at=records.at(9))
        assert uow.memberships.owner() == records.membership(tenant.id, owner.id, Role.OWNER)


def test_a_removed_membership_is_gone_with_its_capabilities(uows: TenancyUnitOfWorkFactory
                                                            ) -> None:
    tenant, (_, member) = records.seed(uows, Role.VIEWER)
    with uows(tenant.id) as uow:
        uow.capabilities.add(_capability(tenant.id, member.id))
        uow.commit()
    with uows(tenant.id) as uow:
        uow.memberships.remove(member.id)
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.memberships.get(member.id) is None
        assert uow.capabilities.list_for_user(member.id) == []


def test_a_second_owner_conflicts(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (_, admin) = records.seed(uows, Role.ADMIN)
    with uows(tenant.id) as uow, pytest.raises(Conflict):
        uow.memberships.update(records.membership(tenant.id, admin.id, Role.OWNER))
    newcomer = records.user()
    with uows(tenant.id) as uow:
        uow.users.add(newcomer)
        with pytest.raises(Conflict):
            uow.memberships.add(records.membership(tenant.id, newcomer.id, Role.OWNER))


def test_a_user_is_a_member_once(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (_, member) = records.seed(uows, Role.MEMBER)
    with uows(tenant.id) as uow, pytest.raises(Conflict):
        uow.memberships.add(records.membership(tenant.id, member.id, Role.VIEWER))


def test_a_membership_needs_an_existing_user(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    with uows(tenant.id) as uow, pytest.raises(Conflict):
        uow.memberships.add(records.membership(tenant.id, records.new_id()))


def test_members_page_newest_first_without_overlap(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, people = records.seed(uows, *[Role.VIEWER] * 4)
    with uows(tenant.id) as uow:
        pages = all_pages(uow.memberships.list, limit=2)
    # Same created_at for all: newest first means the highest user id first.
    expected = sorted(p.id for p in people)[::-1]
    assert [[m.user_id for m in page] for page in pages] == [expected[:2], expected[2:4],
                                                            expected[4:]]


def test_tenant_ids_of_lists_a_users_tenants(uows: TenancyUnitOfWorkFactory) -> None:
    first, (owner,) = records.seed(uows)
    second, _ = records.seed(uows)
    with uows(second.id) as uow:
        uow.memberships.add(records.membership(second.id, owner.id, created=5))
        uow.commit()
    with uows(None, user_id=owner.id) as uow:
        assert list(uow.memberships.tenant_ids_of(owner.id)) == [first.id, second.id]


def test_capabilities_are_granted_listed_and_revoked(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (_, viewer) = records.seed(uows, Role.VIEWER)
    with uows(tenant.id) as uow:
        uow.capabilities.add(_capability(tenant.id, viewer.id))
        uow.capabilities.add(_capability(tenant.id, viewer.id, "invitations.manage"))
        uow.commit()
    with uows(tenant.id) as uow:
        held = {c.capability_key for c in uow.capabilities.list_for_user(viewer.id)}
        assert held == {"members.manage", "invitations.manage"}
        assert uow.capabilities.remove(viewer.id, "core", "members.manage") is True
        assert uow.capabilities.remove(viewer.id, "core", "members.manage") is False


def test_a_capability_is_granted_once(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (_, viewer) = records.seed(uows, Role.VIEWER)
    with uows(tenant.id) as uow:
        uow.capabilities.add(_capability(tenant.id, viewer.id))
        with pytest.raises(Conflict):
            uow.capabilities.add(_capability(tenant.id, viewer.id))


def test_a_capability_needs_a_membership(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    outsider = records.user()
    with uows(None) as uow:
        uow.users.add(outsider)
        uow.commit()
    with uows(tenant.id) as uow, pytest.raises(Conflict):
        uow.capabilities.add(_capability(tenant.id, outsider.id))


def test_features_are_saved_and_replaced(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    with uows(tenant.id) as uow:
        assert uow.features.get("voice") is None
        uow.features.save(TenantFeature(tenant.id, "voice", True, records.at()))
        uow.features.save(TenantFeature(tenant.id, "leads", True, records.at()))
        uow.features.save(TenantFeature(tenant.id, "voice", False, records.at(1)))
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.features.get("voice") == TenantFeature(tenant.id, "voice", False,
                                                          records.at(1))
        assert [f.feature_key for f in uow.features.list()] == ["leads", "voice"]

