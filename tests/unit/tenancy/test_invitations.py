"""Invitations: a token shown once, stored as its SHA-256 digest, single use, expiring."""

from __future__ import annotations

import hashlib

import pytest

from lad_adapters.memory.store import InMemoryStore
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    Expired,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from lad_domain.tenancy.services import INVITATION_TTL
from tests.unit.tenancy.org import OPERATOR, PASSWORD, NewOrg, Org

NEW_PASSWORD = "a brand new password"


def test_the_token_is_stored_only_as_its_sha256_digest(org: Org, store: InMemoryStore) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    assert issued.invitation.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    stored = repr(store.tables)
    assert issued.invitation.token_hash in stored
    assert issued.token not in stored


def test_the_token_is_not_shown_again_in_listings(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    listed = org.accounts.list_invitations(org.owner, PageRequest()).items
    assert [i.id for i in listed] == [issued.invitation.id]
    assert issued.token not in repr(listed)


def test_accepting_as_a_new_user_joins_with_the_invited_role(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="Bo@Acme.test", role=Role.VIEWER)
    session = org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)
    assert (session.tenant_id, session.role) == (org.id, Role.VIEWER)
    assert org.roles()[session.user_id] is Role.VIEWER
    assert org.accounts.log_in(email="bo@acme.test", password=NEW_PASSWORD).user_id == (
        session.user_id)


def test_accepting_as_an_existing_user_needs_their_password(org: Org, new_org: NewOrg) -> None:
    other = new_org("Other")
    email = other.accounts.me(other.owner).user.email
    issued = org.accounts.invite(org.owner, email=email, role=Role.ADMIN)
    session = org.accounts.accept_invitation(token=issued.token, password=PASSWORD)
    assert (session.user_id, session.role) == (other.session.user_id, Role.ADMIN)


def test_an_existing_user_with_a_wrong_password_is_refused(org: Org) -> None:
    org.accounts.create_user(OPERATOR, email="bo@acme.test", password=PASSWORD)
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    with pytest.raises(AuthenticationFailed):
        org.accounts.accept_invitation(token=issued.token, password="not their password")
    assert len(org.roles()) == 1


def test_an_expired_invitation_is_refused(org: Org, clock: FixedClock) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    clock.advance(INVITATION_TTL)
    with pytest.raises(Expired):
        org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)


def test_a_revoked_invitation_is_refused(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    org.accounts.revoke_invitation(org.owner, issued.invitation.id)
    with pytest.raises(Expired):
        org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)


def test_a_used_invitation_is_refused(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)
    with pytest.raises(Expired):
        org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)


@pytest.mark.parametrize("token", ["garbage", "inv_nothex_x", "inv_" + "0" * 32 + "_secret"])
def test_an_unknown_token_is_not_found(org: Org, token: str) -> None:
    with pytest.raises(NotFound):
        org.accounts.accept_invitation(token=token, password=NEW_PASSWORD)


def test_a_tampered_token_is_not_found(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    with pytest.raises(NotFound):
        org.accounts.accept_invitation(token=issued.token + "x", password=NEW_PASSWORD)


def test_inviting_a_member_conflicts(org: Org) -> None:
    email = org.accounts.me(org.owner).user.email
    with pytest.raises(Conflict):
        org.accounts.invite(org.owner, email=email, role=Role.MEMBER)


def test_an_invitation_cannot_make_an_owner(org: Org) -> None:
    with pytest.raises(ValidationFailed) as raised:
        org.accounts.invite(org.owner, email="bo@acme.test", role=Role.OWNER)
    assert raised.value.errors[0].field == "role"


def test_a_member_cannot_invite(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.accounts.invite(org.member(Role.MEMBER), email="bo@acme.test", role=Role.VIEWER)


def test_an_admin_cannot_invite_above_their_role(org: Org) -> None:
    org.accounts.invite(org.member(Role.ADMIN), email="ok@acme.test", role=Role.ADMIN)
    viewer = org.member(Role.VIEWER)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                              capability_key="invitations.manage")
    with pytest.raises(PermissionDenied):
        org.accounts.invite(viewer, email="bo@acme.test", role=Role.MEMBER)


def test_revoking_an_accepted_invitation_conflicts(org: Org) -> None:
    issued = org.accounts.invite(org.owner, email="bo@acme.test", role=Role.MEMBER)
    org.accounts.accept_invitation(token=issued.token, password=NEW_PASSWORD)
    with pytest.raises(Conflict):
        org.accounts.revoke_invitation(org.owner, issued.invitation.id)


def test_another_tenants_invitation_is_not_found(org: Org, new_org: NewOrg) -> None:
    theirs = new_org("Other")
    issued = theirs.accounts.invite(theirs.owner, email="bo@acme.test", role=Role.MEMBER)
    with pytest.raises(NotFound):
        org.accounts.revoke_invitation(org.owner, issued.invitation.id)
