"""Members: list, change role, remove, leave, transfer ownership, and who may."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal, Role
from tests.unit.tenancy.org import OPERATOR, NewOrg, Org


def test_list_members_shows_emails_and_roles(org: Org) -> None:
    org.member(Role.ADMIN, "ada@acme.test")
    found = org.team.list_members(org.owner, PageRequest())
    assert {(m.email, m.membership.role) for m in found.items} >= {("ada@acme.test", Role.ADMIN)}
    assert len(found.items) == 2


def test_list_members_pages_newest_first(org: Org) -> None:
    people = [org.member(Role.VIEWER) for _ in range(3)]
    first = org.team.list_members(org.owner, PageRequest(limit=2))
    rest = org.team.list_members(org.owner, PageRequest.parse(limit=2, cursor=first.next_cursor))
    seen = [m.membership.user_id for m in [*first.items, *rest.items]]
    assert seen[:3] == [p.user_id for p in reversed(people)]
    assert rest.next_cursor is None and len(set(seen)) == 4


def test_an_admin_changes_a_members_role(org: Org) -> None:
    admin, member = org.member(Role.ADMIN), org.member(Role.MEMBER)
    org.team.change_role(admin, member.user_id, Role.VIEWER)
    assert org.role_of(member) is Role.VIEWER


def test_demoting_the_owner_conflicts(org: Org) -> None:
    with pytest.raises(Conflict):
        org.team.change_role(org.owner, org.owner.user_id, Role.ADMIN)
    assert org.role_of(org.owner) is Role.OWNER


def test_nobody_becomes_owner_by_a_role_change(org: Org) -> None:
    admin = org.member(Role.ADMIN)
    with pytest.raises(Conflict):
        org.team.change_role(org.owner, admin.user_id, Role.OWNER)


def test_an_admin_cannot_grant_a_role_above_their_own(org: Org) -> None:
    admin, member = org.member(Role.ADMIN), org.member(Role.MEMBER)
    with pytest.raises(PermissionDenied):
        org.team.change_role(admin, member.user_id, Role.OWNER)
    with pytest.raises(PermissionDenied):
        org.team.change_role(admin, org.owner.user_id, Role.VIEWER)
    assert org.role_of(member) is Role.MEMBER


def test_an_unknown_role_names_the_field(org: Org) -> None:
    member = org.member(Role.MEMBER)
    with pytest.raises(ValidationFailed) as raised:
        org.team.change_role(org.owner, member.user_id, "emperor")
    assert raised.value.errors[0].field == "role"


def test_an_admin_removes_a_member(org: Org) -> None:
    admin, member = org.member(Role.ADMIN), org.member(Role.MEMBER)
    org.team.remove_member(admin, member.user_id)
    assert org.role_of(member) is None


def test_removing_the_owner_conflicts(org: Org) -> None:
    with pytest.raises(Conflict):
        org.team.remove_member(org.owner, org.owner.user_id)


def test_a_removed_member_loses_access_at_once(org: Org) -> None:
    member = org.member(Role.MEMBER)
    org.team.remove_member(org.owner, member.user_id)
    with pytest.raises(PermissionDenied):
        org.team.list_members(member, PageRequest())


def test_removing_a_member_drops_their_capabilities(org: Org) -> None:
    viewer = org.member(Role.VIEWER)
    email = _email(org, viewer)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                              capability_key="members.manage")
    org.team.remove_member(org.owner, viewer.user_id)
    org.team.add_member(OPERATOR, email=email, role=Role.VIEWER, tenant_id=org.id)
    with pytest.raises(PermissionDenied):
        org.team.remove_member(viewer, org.member(Role.VIEWER).user_id)


def test_a_member_leaves(org: Org) -> None:
    member = org.member(Role.MEMBER)
    org.team.leave(member)
    assert org.role_of(member) is None


def test_the_owner_cannot_leave(org: Org) -> None:
    with pytest.raises(Conflict):
        org.team.leave(org.owner)
    assert org.role_of(org.owner) is Role.OWNER


def test_transfer_ownership_swaps_the_roles(org: Org) -> None:
    admin = org.member(Role.ADMIN)
    org.team.transfer_ownership(org.owner, admin.user_id)
    assert (org.role_of(org.owner), org.role_of(admin)) == (Role.ADMIN, Role.OWNER)


def test_only_the_owner_transfers_ownership(org: Org) -> None:
    admin = org.member(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        org.team.transfer_ownership(admin, admin.user_id)
    assert org.role_of(org.owner) is Role.OWNER


def test_transfer_to_another_tenants_user_is_not_found(org: Org, new_org: NewOrg) -> None:
    theirs = new_org("Other")
    with pytest.raises(NotFound):
        org.team.transfer_ownership(org.owner, theirs.owner.user_id)
    assert theirs.role_of(theirs.owner) is Role.OWNER


def test_transfer_to_oneself_conflicts(org: Org) -> None:
    with pytest.raises(Conflict):
        org.team.transfer_ownership(org.owner, org.owner.user_id)


def test_adding_a_member_twice_conflicts(org: Org) -> None:
    member = org.member(Role.MEMBER)
    with pytest.raises(Conflict):
        org.team.add_member(OPERATOR, email=_email(org, member), role=Role.ADMIN,
                            tenant_id=org.id)


def test_adding_an_unknown_user_is_not_found(org: Org) -> None:
    with pytest.raises(NotFound):
        org.team.add_member(org.owner, email="ghost@acme.test", role=Role.MEMBER)


VIEWER_DENIED: dict[str, Callable[[Org, Principal, Principal], object]] = {
    "change_role": lambda o, v, m: o.team.change_role(v, m.user_id, Role.VIEWER),
    "remove_member": lambda o, v, m: o.team.remove_member(v, m.user_id),
    "invite": lambda o, v, m: o.accounts.invite(v, email="x@acme.test", role=Role.VIEWER),
    "list_invitations": lambda o, v, m: o.accounts.list_invitations(v, PageRequest()),
    "create_api_key": lambda o, v, m: o.team.create_api_key(v, name="ci", role=Role.VIEWER),
    "update_tenant": lambda o, v, m: o.team.update_tenant(v, name="Renamed"),
    "delete_tenant": lambda o, v, m: o.team.delete_tenant(v),
    "set_feature": lambda o, v, m: o.team.set_feature(v, "voice", False),
    "grant_capability": lambda o, v, m: o.team.grant_capability(
        v, m.user_id, feature_key="core", capability_key="members.manage"),
    "transfer_ownership": lambda o, v, m: o.team.transfer_ownership(v, m.user_id),
}


@pytest.mark.parametrize("action", VIEWER_DENIED)
def test_a_viewer_is_denied_admin_actions(org: Org, action: str) -> None:
    viewer, member = org.member(Role.VIEWER), org.member(Role.MEMBER)
    before = org.roles()
    with pytest.raises(PermissionDenied):
        VIEWER_DENIED[action](org, viewer, member)
    assert org.roles() == before


def _email(org: Org, principal: Principal) -> str:
    return org.accounts.me(principal).user.email
