"""The contract of the invitation, API key, feature flag and event repositories, on memory,
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import attrs
import pytest

from lad_domain.shared.errors import Conflict
from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import FeatureFlag
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory
from tests.integration.tenancy import records
from tests.integration.tenancy.test_repository_contract import all_pages


def _flag(enabled: bool, tenant: uuid.UUID | None = None, user: uuid.UUID | None = None
          ) -> FeatureFlag:
    return FeatureFlag(id=records.new_id(), feature_key="new_inbox", enabled=enabled,
                       updated_at=records.at(), tenant_id=tenant, user_id=user)


def test_an_invitation_reads_back_by_id_and_token_digest(uows: TenancyUnitOfWorkFactory
                                                         ) -> None:
    tenant, _ = records.seed(uows)
    invitation = records.invitation(tenant.id)
    with uows(tenant.id) as uow:
        uow.invitations.add(invitation)
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.invitations.get(invitation.id) == invitation
        assert uow.invitations.get_by_token_hash(invitation.token_hash) == invitation
        assert uow.invitations.get_by_token_hash("0" * 64) is None


def test_an_accepted_invitation_is_stored(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    invitation = records.invitation(tenant.id)
    with uows(tenant.id) as uow:
        uow.invitations.add(invitation)
        invitation.accepted_at = records.at(60)
        uow.invitations.update(invitation)
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.invitations.get(invitation.id) == invitation


def test_a_token_digest_is_unique(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    first = records.invitation(tenant.id)
    with uows(tenant.id) as uow:
        uow.invitations.add(first)
        with pytest.raises(Conflict):
            uow.invitations.add(records.invitation(tenant.id, token_hash=first.token_hash))


def test_invitations_page_newest_first_without_overlap(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    invitations = [records.invitation(tenant.id, created=i) for i in range(5)]
    with uows(tenant.id) as uow:
        for invitation in invitations:
            uow.invitations.add(invitation)
        uow.commit()
    with uows(tenant.id) as uow:
        pages = all_pages(uow.invitations.list, limit=4)
    assert [[i.id for i in p] for p in pages] == [
        [i.id for i in invitations[:0:-1]], [invitations[0].id]]


def test_an_api_key_reads_back_and_updates(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    key = records.api_key(tenant.id)
    with uows(tenant.id) as uow:
        uow.api_keys.add(key)
        uow.commit()
    used = attrs.evolve(key, last_used_at=records.at(5), revoked_at=records.at(6))
    with uows(tenant.id) as uow:
        assert uow.api_keys.get(key.id) == key
        uow.api_keys.update(used)
        uow.commit()
    with uows(tenant.id) as uow:
        assert uow.api_keys.get(key.id) == used
        with pytest.raises(Conflict):
            uow.api_keys.add(key)


def test_api_keys_page_newest_first_without_overlap(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    keys = [records.api_key(tenant.id, created=0) for _ in range(3)]
    with uows(tenant.id) as uow:
        for key in keys:
            uow.api_keys.add(key)
        uow.commit()
    with uows(tenant.id) as uow:
        pages = all_pages(uow.api_keys.list, limit=1)
    assert [[k.id for k in p] for p in pages] == [[k.id] for k in reversed(keys)]


def test_flags_show_global_tenant_and_own_user_rows(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, (owner, member) = records.seed(uows, Role.MEMBER)
    with uows(None) as uow:
        uow.flags.save(_flag(True))
        uow.commit()
    with uows(tenant.id) as uow:
        uow.flags.save(_flag(False, tenant.id))
        uow.flags.save(_flag(True, tenant.id, member.id))
        uow.commit()
    with uows(tenant.id, user_id=owner.id) as uow:
        rows = uow.flags.rows_for("new_inbox", user_id=owner.id)
    assert sorted((r.tenant_id is not None, r.user_id, r.enabled) for r in rows) == [
        (False, None, True), (True, None, False)]


def test_saving_a_flag_replaces_the_same_scope(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    with uows(tenant.id) as uow:
        uow.flags.save(_flag(True, tenant.id))
        uow.flags.save(_flag(False, tenant.id))
        uow.commit()
    with uows(tenant.id) as uow:
        assert [r.enabled for r in uow.flags.rows_for("new_inbox", user_id=None)] == [False]


def test_events_list_newest_first_by_type(uows: TenancyUnitOfWorkFactory) -> None:
    tenant, _ = records.seed(uows)
    events = [records.event(tenant.id, kind, occurred=i)
              for i, kind in enumerate(["a.done", "b.done", "a.done"])]
    with uows(tenant.id) as uow:
        uow.events.add_many(events)
        uow.commit()
    with uows(tenant.id) as uow:
        assert list(uow.events.list()) == events[::-1]
        assert list(uow.events.list(event_type="a.done", limit=1)) == [events[2]]
