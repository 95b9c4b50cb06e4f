"""Tenant API keys: a secret shown once and stored as a digest, acting as a role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lad_adapters.memory.store import InMemoryStore
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import (
    AuthenticationFailed,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import PrincipalKind, Role
from lad_domain.shared.secrets import digest
from tests.unit.tenancy.org import NewOrg, Org


def _last_used(org: Org, key_id: object) -> object:
    return {k.id: k for k in org.team.list_api_keys(org.owner, PageRequest()).items}[
        key_id].last_used_at


def test_the_secret_is_shown_once_and_stored_as_a_digest(org: Org, store: InMemoryStore
                                                         ) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.MEMBER)
    secret_part = issued.secret.split("_", 3)[3]
    assert issued.api_key.secret_hash == digest(secret_part)
    assert secret_part not in repr(store.tables)
    assert secret_part not in repr(org.team.list_api_keys(org.owner, PageRequest()).items)


def test_a_key_authenticates_as_its_role_in_its_tenant(org: Org) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.VIEWER)
    principal = org.accounts.authenticate(issued.secret)
    assert (principal.kind, principal.tenant_id, principal.role) == (
        PrincipalKind.API_KEY, org.id, Role.VIEWER)
    assert len(org.team.list_members(principal, PageRequest()).items) == 1
    with pytest.raises(PermissionDenied):
        org.team.update_tenant(principal, name="Hijacked")


def test_an_admin_key_manages_members(org: Org) -> None:
    key = org.accounts.authenticate(org.team.create_api_key(org.owner, name="hr",
                                                            role=Role.ADMIN).secret)
    member = org.member(Role.MEMBER)
    org.team.remove_member(key, member.user_id)
    assert org.role_of(member) is None


def test_a_revoked_key_is_refused(org: Org) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.MEMBER)
    org.team.revoke_api_key(org.owner, issued.api_key.id)
    with pytest.raises(AuthenticationFailed):
        org.accounts.authenticate(issued.secret)


def test_a_tampered_secret_is_refused(org: Org, new_org: NewOrg) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.MEMBER)
    other = new_org("Other")
    forged = issued.secret.replace(org.id.hex, other.id.hex)
    for bearer in (issued.secret[:-2] + "xx", forged):
        with pytest.raises(AuthenticationFailed):
            org.accounts.authenticate(bearer)


def test_authentication_sets_last_used_at(org: Org, clock: FixedClock) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.MEMBER)
    assert _last_used(org, issued.api_key.id) is None
    clock.advance(timedelta(hours=1))
    org.accounts.authenticate(issued.secret)
    assert _last_used(org, issued.api_key.id) == clock.now()


def test_last_used_at_is_written_at_most_once_a_minute(org: Org, clock: FixedClock) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.MEMBER)
    org.accounts.authenticate(issued.secret)
    first = clock.now()
    clock.advance(timedelta(seconds=30))
    org.accounts.authenticate(issued.secret)
    assert _last_used(org, issued.api_key.id) == first
    clock.advance(timedelta(seconds=30))
    org.accounts.authenticate(issued.secret)
    assert _last_used(org, issued.api_key.id) == clock.now()


def test_a_key_cannot_act_as_owner(org: Org) -> None:
    with pytest.raises(ValidationFailed):
        org.team.create_api_key(org.owner, name="root", role=Role.OWNER)


def test_a_member_cannot_create_keys(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.create_api_key(org.member(Role.MEMBER), name="ci", role=Role.VIEWER)


def test_a_key_of_a_deleted_tenant_no_longer_authenticates(org: Org) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.ADMIN)
    org.team.delete_tenant(org.owner)
    with pytest.raises(AuthenticationFailed):
        org.accounts.authenticate(issued.secret)


def test_a_key_cannot_mint_keys(org: Org) -> None:
    key = org.accounts.authenticate(org.team.create_api_key(org.owner, name="hr",
                                                            role=Role.ADMIN).secret)
    with pytest.raises(PermissionDenied):
        org.team.create_api_key(key, name="spare", role=Role.ADMIN)


def test_removing_a_member_revokes_the_keys_they_created(org: Org) -> None:
    admin = org.member(Role.ADMIN)
    issued = org.team.create_api_key(admin, name="theirs", role=Role.MEMBER)
    org.team.remove_member(org.owner, admin.user_id)
    with pytest.raises(AuthenticationFailed):
        org.accounts.authenticate(issued.secret)


def test_a_key_sees_itself_in_me(org: Org) -> None:
    issued = org.team.create_api_key(org.owner, name="ci", role=Role.VIEWER)
    me = org.accounts.me(org.accounts.authenticate(issued.secret))
    assert (me.user, me.api_key_id, me.role) == (None, issued.api_key.id, Role.VIEWER)
