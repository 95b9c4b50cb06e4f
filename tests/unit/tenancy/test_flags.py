"""Feature flags: user beats tenant beats global; False when no row says otherwise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from lad_domain.shared.errors import PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Principal, Role
from lad_domain.tenancy.model import FeatureFlag, evaluate_flag
from tests.unit.tenancy.org import OPERATOR, NewOrg, Org

FLAG = "new_inbox"


def _value(org: Org, principal: Principal) -> tuple[bool, str]:
    found = org.team.evaluate_flag(principal, FLAG)
    return found.enabled, found.source


def test_a_flag_defaults_to_false(org: Org) -> None:
    assert _value(org, org.owner) == (False, "default")


def test_the_global_default_applies_to_every_tenant(org: Org) -> None:
    org.team.set_flag(OPERATOR, FLAG, True)
    assert _value(org, org.owner) == (True, "global")


def test_a_tenant_override_beats_the_global_default(org: Org, new_org: NewOrg) -> None:
    other = new_org("Other")
    org.team.set_flag(OPERATOR, FLAG, True)
    org.team.set_flag(OPERATOR, FLAG, False, tenant_id=org.id)
    assert _value(org, org.owner) == (False, "tenant")
    assert _value(other, other.owner) == (True, "global")


def test_a_user_override_beats_the_tenant_override(org: Org) -> None:
    member = org.member(Role.MEMBER)
    org.team.set_flag(OPERATOR, FLAG, False, tenant_id=org.id)
    org.team.set_flag(OPERATOR, FLAG, True, tenant_id=org.id, user_id=member.user_id)
    assert _value(org, member) == (True, "user")
    assert _value(org, org.owner) == (False, "tenant")


def test_setting_a_flag_again_replaces_it(org: Org) -> None:
    org.team.set_flag(OPERATOR, FLAG, True, tenant_id=org.id)
    org.team.set_flag(OPERATOR, FLAG, False, tenant_id=org.id)
    assert _value(org, org.owner) == (False, "tenant")


def test_a_user_override_needs_its_tenant(org: Org) -> None:
    with pytest.raises(ValidationFailed):
        org.team.set_flag(OPERATOR, FLAG, True, user_id=org.owner.user_id)


def test_only_the_operator_sets_flags(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.team.set_flag(org.owner, FLAG, True, tenant_id=org.id)


@pytest.mark.parametrize(("levels", "source"), [
    (("global",), "global"),
    (("global", "tenant"), "tenant"),
    (("tenant", "user", "global"), "user"),
])
@pytest.mark.parametrize("enabled", [True, False])
def test_evaluation_takes_the_most_specific_row(levels: tuple[str, ...], source: str,
                                                 enabled: bool) -> None:
    rows = [_row(level, enabled=enabled if level == source else not enabled) for level in levels]
    assert evaluate_flag(rows) == (enabled, source)


def _row(level: str, *, enabled: bool) -> FeatureFlag:
    tenant = uuid.uuid4() if level in ("tenant", "user") else None
    user = uuid.uuid4() if level == "user" else None
    return FeatureFlag(id=uuid.uuid4(), feature_key=FLAG, enabled=enabled,
                       updated_at=datetime(2026, 1, 1, tzinfo=UTC), tenant_id=tenant,
                       user_id=user)
