"""Features, capabilities and the access policy: role, then capability, then feature."""

from __future__ import annotations

import pytest

from lad_domain.access_rules import access_policy
from lad_domain.shared.access import AccessPolicy, Rule
from lad_domain.shared.errors import NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Principal, Role
from lad_domain.tenancy.policy import Permission
from tests.unit.tenancy.org import NewOrg, Org

# The application's table plus one rule of a context these tests make up.
PLACE_CALL = "test.voice.place_call"
ACCESS = AccessPolicy.of(access_policy().rules,
                         {PLACE_CALL: Rule(Role.ADMIN, feature="voice", capability="calls.place")})


def _allowed(org: Org, principal: Principal, permission: str) -> bool:
    with org.accounts.scope.open(principal) as uow:
        try:
            ACCESS.require(uow, principal, permission)
        except PermissionDenied:
            return False
    return True


def test_the_owner_disables_and_enables_a_feature(org: Org) -> None:
    org.team.set_feature(org.owner, "voice", False)
    assert org.team.get_feature(org.owner, "voice").enabled is False
    org.team.set_feature(org.owner, "voice", True)
    assert org.team.get_feature(org.owner, "voice").enabled is True


def test_an_unknown_feature_reads_as_disabled(org: Org) -> None:
    assert org.team.get_feature(org.owner, "teleport").enabled is False


def test_an_admin_cannot_manage_features(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.set_feature(org.member(Role.ADMIN), "voice", False)


def test_a_malformed_feature_key_names_the_field(org: Org) -> None:
    with pytest.raises(ValidationFailed) as raised:
        org.team.set_feature(org.owner, "Not A Key", True)
    assert raised.value.errors[0].field == "feature_key"


def test_a_viewer_granted_members_manage_can_manage_members(org: Org) -> None:
    viewer, other = org.member(Role.VIEWER), org.member(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        org.team.remove_member(viewer, other.user_id)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                              capability_key="members.manage")
    org.team.remove_member(viewer, other.user_id)
    assert org.role_of(other) is None


def test_a_capability_does_not_lift_the_role_ceiling(org: Org) -> None:
    viewer, other = org.member(Role.VIEWER), org.member(Role.VIEWER)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                              capability_key="members.manage")
    with pytest.raises(PermissionDenied):
        org.team.change_role(viewer, other.user_id, Role.ADMIN)


def test_a_revoked_capability_no_longer_allows(org: Org) -> None:
    viewer = org.member(Role.VIEWER)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                              capability_key="members.manage")
    org.team.revoke_capability(org.owner, viewer.user_id, feature_key="core",
                               capability_key="members.manage")
    with pytest.raises(PermissionDenied):
        org.team.remove_member(viewer, org.member(Role.VIEWER).user_id)


def test_granting_twice_keeps_one_grant(org: Org) -> None:
    viewer = org.member(Role.VIEWER)
    for _ in range(2):
        org.team.grant_capability(org.owner, viewer.user_id, feature_key="core",
                                  capability_key="members.manage")
    org.team.revoke_capability(org.owner, viewer.user_id, feature_key="core",
                               capability_key="members.manage")
    with pytest.raises(NotFound):
        org.team.revoke_capability(org.owner, viewer.user_id, feature_key="core",
                                   capability_key="members.manage")


def test_a_capability_needs_a_member(org: Org, new_org: NewOrg) -> None:
    stranger = new_org("Other").owner
    with pytest.raises(NotFound):
        org.team.grant_capability(org.owner, stranger.user_id, feature_key="core",
                                  capability_key="members.manage")


def test_a_capability_counts_only_on_its_feature(org: Org) -> None:
    viewer = org.member(Role.VIEWER)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="leads",
                              capability_key="calls.place")
    assert not _allowed(org, viewer, PLACE_CALL)
    org.team.grant_capability(org.owner, viewer.user_id, feature_key="voice",
                              capability_key="calls.place")
    assert _allowed(org, viewer, PLACE_CALL)


def test_a_disabled_feature_denies_even_the_owner(org: Org) -> None:
    assert _allowed(org, org.owner, PLACE_CALL)
    org.team.set_feature(org.owner, "voice", False)
    assert not _allowed(org, org.owner, PLACE_CALL)


def test_a_permission_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=PLACE_CALL):
        AccessPolicy.of(ACCESS.rules, {PLACE_CALL: Rule(Role.VIEWER)})


def test_a_principal_of_another_tenant_is_denied(org: Org, new_org: NewOrg) -> None:
    theirs = new_org("Other")
    with org.accounts.scope.uow(theirs.id, user_id=org.owner.user_id) as uow, \
            pytest.raises(PermissionDenied):
        ACCESS.require(uow, org.owner, Permission.MEMBERS_READ)


def test_the_owner_cannot_enable_a_feature_outside_the_plan(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.set_feature(org.owner, "white_label", True)
    org.team.set_feature(org.owner, "white_label", False)  # turning off is always allowed


def test_the_operator_enables_any_feature(org: Org) -> None:
    feature = org.team.set_feature(Principal.operator(), "white_label", True, tenant_id=org.id)
    assert feature.enabled
