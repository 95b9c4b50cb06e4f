"""The access policy: role, then feature-scoped capability, then tenant feature.

Every use case asks ``require`` before it reads or changes anything, so HTTP clients, the CLI
and library callers are held to the same rules.
"""

from __future__ import annotations

import enum

import attrs

from lad_domain.shared.errors import NotFound, PermissionDenied
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.tenancy.ports import TenancyUnitOfWork


@attrs.frozen
class Rule:
    """Who may: members of at least ``min_role``, or users granted ``capability`` on
    ``feature``; and, when ``feature`` is set, only while the tenant has it enabled."""

    min_role: Role
    feature: str | None = None
    capability: str | None = None
    #: Refused to API keys: a key must not mint keys or grant rights that outlive it.
    people_only: bool = False


class Permission(enum.StrEnum):
    TENANT_READ = "tenant.read"
    TENANT_UPDATE = "tenant.update"
    TENANT_DELETE = "tenant.delete"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    OWNERSHIP_TRANSFER = "ownership.transfer"
    INVITATIONS_MANAGE = "invitations.manage"
    FEATURES_READ = "features.read"
    FEATURES_MANAGE = "features.manage"
    CAPABILITIES_MANAGE = "capabilities.manage"
    FLAGS_READ = "flags.read"
    API_KEYS_MANAGE = "api_keys.manage"


RULES: dict[str, Rule] = {
    Permission.TENANT_READ: Rule(Role.VIEWER),
    Permission.TENANT_UPDATE: Rule(Role.ADMIN),
    Permission.TENANT_DELETE: Rule(Role.OWNER),
    Permission.MEMBERS_READ: Rule(Role.VIEWER),
    Permission.MEMBERS_MANAGE: Rule(Role.ADMIN, capability="members.manage"),
    Permission.OWNERSHIP_TRANSFER: Rule(Role.OWNER),
    Permission.INVITATIONS_MANAGE: Rule(Role.ADMIN, capability="invitations.manage"),
    Permission.FEATURES_READ: Rule(Role.VIEWER),
    Permission.FEATURES_MANAGE: Rule(Role.OWNER),
    Permission.CAPABILITIES_MANAGE: Rule(Role.ADMIN, people_only=True),
    Permission.FLAGS_READ: Rule(Role.VIEWER),
    Permission.API_KEYS_MANAGE: Rule(Role.ADMIN, people_only=True),
}


def register(permission: str, rule: Rule) -> None:
    """Other contexts add their permissions here, at import, so one table holds them all."""
    if permission in RULES and RULES[permission] != rule:
        raise ValueError(f"permission {permission!r} is already registered differently")
    RULES[permission] = rule


def require(uow: TenancyUnitOfWork, principal: Principal, permission: str) -> Role | None:
    """Allow or raise; returns the role the principal acts with (None for the operator).

    A user's role is read from the database inside the unit of work, not trusted from the
    token, so a removed or demoted member loses access at once.
    """
    rule = RULES[permission]
    if principal.kind is PrincipalKind.OPERATOR:
        return None
    if principal.tenant_id is None or principal.tenant_id != uow.tenant_id:
        raise PermissionDenied("this principal does not act in this tenant")
    tenant = uow.tenants.get(principal.tenant_id)
    if tenant is None or not tenant.is_live:
        raise NotFound("tenant not found")
    if rule.people_only and principal.kind is PrincipalKind.API_KEY:
        raise PermissionDenied(f"{permission} is for members, not API keys")
    role = _current_role(uow, principal)
    allowed = role.rank >= rule.min_role.rank or _has_capability(uow, principal, rule)
    if not allowed:
        raise PermissionDenied(f"{permission} needs the {rule.min_role} role or above")
    if rule.feature is not None:
        feature = uow.features.get(rule.feature)
        if feature is None or not feature.enabled:
            raise PermissionDenied(f"the {rule.feature} feature is not enabled for this tenant")
    return role


def _current_role(uow: TenancyUnitOfWork, principal: Principal) -> Role:
    if principal.kind is PrincipalKind.API_KEY:
        if principal.role is None:
            raise PermissionDenied("this API key has no role")
        return principal.role
    if principal.user_id is None:
        raise PermissionDenied("no user is acting")
    membership = uow.memberships.get(principal.user_id)
    if membership is None:
        raise PermissionDenied("you are not a member of this tenant")
    return membership.role


def _has_capability(uow: TenancyUnitOfWork, principal: Principal, rule: Rule) -> bool:
    if rule.capability is None or principal.user_id is None:
        return False
    feature = rule.feature or "core"
    return any(
        c.feature_key == feature and c.capability_key == rule.capability
        for c in uow.capabilities.list_for_user(principal.user_id)
    )
