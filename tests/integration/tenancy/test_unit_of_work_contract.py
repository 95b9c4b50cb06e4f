"""The unit of work on memory, SQLite and PostgreSQL: rolled back unless committed, events
stored with the change, and a tenant's scope that never shows another tenant's rows."""

from __future__ import annotations

import pytest

from lad_domain.shared.errors import Conflict
from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import FeatureFlag, TenantFeature, UserCapability
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory
from tests.integration.tenancy import records


class Boom(Exception):
    pass


def test_uncommitted_work_is_rolled_back(uows: TenancyUnitOfWorkFactory) -> None:
    tenant = records.tenant()
    with uows(None) as uow:
        uow.tenants.add(tenant)
    with uows(None) as uow:
        assert uow.tenants.get(tenant.id) is None


def test_an_exception_rolls_back(uows: TenancyUnitOfWorkFactory) -> None:
    tenant = records.tenant()
    with pytest.raises(Boom), uows(None) as uow:
        uow.tenants.add(tenant)
        raise Boom
    with uows(None) as uow:
        assert uow.tenants.get(tenant.id) is None


def test_a_conflict_leaves_nothing_half_written(uows: TenancyUnitOfWorkFactory) -> None:
    taken, tenant = records.user("ada@acme.test"), records.tenant()
    with uows(None) as uow:
        uow.users.add(taken)
        uow.commit()
    with pytest.raises(Conflict), uows(None) as uow:
        uow.tenants.add(tenant)
        uow.users.add(records.user("ADA@acme.test"))
        uow.commit()
    with uows(None) as uow:
        assert uow.tenants.get(tenant.id) is None


def test_commit_stores_the_outbox_in_domain_events(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    event = records.event(tenant.id, "tenant.renamed")
    with uows(tenant.id) as uow:
        uow.outbox.add(event)
        uow.commit()
        assert uow.outbox.pending == []
    with uows(tenant.id) as uow:
        assert list(uow.events.list()) == [event]


def test_an_uncommitted_outbox_is_dropped(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    with uows(tenant.id) as uow:
        uow.outbox.add(records.event(tenant.id))
    with uows(tenant.id) as uow:
        assert list(uow.events.list()) == []


def test_a_tenant_scope_never_sees_another_tenants_rows(uows: TenancyUnitOfWorkFactory
                                                       ) -> None:
    a, (owner_a,) = records.seed(uows)
    b, (owner_b, viewer_b) = records.seed(uows, Role.VIEWER)
    invitation, key = records.invitation(b.id), records.api_key(b.id)
    with uows(b.id) as uow:
        uow.invitations.add(invitation)
        uow.api_keys.add(key)
        uow.features.save(TenantFeature(b.id, "voice", True, records.at()))
        uow.capabilities.add(UserCapability(b.id, viewer_b.id, "core", "members.manage",
                                            records.at()))
        uow.flags.save(FeatureFlag(records.new_id(), "new_inbox", True, records.at(), b.id))
        uow.outbox.add(records.event(b.id))
        uow.commit()
    with uows(a.id, user_id=owner_a.id) as uow:
        assert uow.memberships.get(owner_b.id) is None
        assert [m.user_id for m in uow.memberships.list(records.page()).items] == [owner_a.id]
        assert uow.memberships.owner() == records.membership(a.id, owner_a.id, Role.OWNER)
        assert uow.invitations.get(invitation.id) is None
        assert uow.invitations.get_by_token_hash(invitation.token_hash) is None
        assert uow.invitations.list(records.page()).items == []
        assert uow.api_keys.get(key.id) is None
        assert uow.api_keys.list(records.page()).items == []
        assert uow.features.get("voice") is None and uow.features.list() == []
        assert uow.capabilities.list_for_user(viewer_b.id) == []
        assert uow.flags.rows_for("new_inbox", user_id=owner_a.id) == []
        assert list(uow.events.list()) == []
