"""The access policy: role, then feature-scoped capability, then tenant feature.

Every context states its rules in its own ``policy.py`` as a table; the tables are joined
once, when the application is composed (``lad_domain.access_rules``), and every use case
asks ``require`` inside its unit of work, so HTTP clients, the CLI and library callers are
held to the same rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

import attrs

from lad_domain.shared.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.principal import Principal, PrincipalKind, Role


@attrs.frozen
class Rule:
    """Who may: members of at least ``min_role``, or users granted ``capability`` on
    ``feature``; and, when ``feature`` is set, only while the tenant has it enabled."""

    min_role: Role
    feature: str | None = None
    capability: str | None = None
    #: Refused to API keys: a key must not mint keys or grant rights that outlive it.
    people_only: bool = False
    #: The operator too acts only in a live tenant (a deleted tenant's money is not
    #: moved); without it the operator may act in a deleted tenant (to read or restore it).
    live_tenant_only: bool = False


# What the policy reads, as narrow protocols: every context's unit of work has these.

class _LiveRecord(Protocol):
    @property
    def is_live(self) -> bool: ...


class _MembershipRecord(Protocol):
    @property
    def role(self) -> Role: ...


class _FeatureRecord(Protocol):
    @property
    def enabled(self) -> bool: ...


class _CapabilityRecord(Protocol):
    @property
    def feature_key(self) -> str: ...
    @property
    def capability_key(self) -> str: ...


T = TypeVar("T", bound=_LiveRecord)
T_co = TypeVar("T_co", bound=_LiveRecord, covariant=True)


class _TenantsOf(Protocol[T_co]):
    def get(self, tenant_id: uuid.UUID) -> T_co | None: ...


class _Memberships(Protocol):
    def get(self, user_id: uuid.UUID) -> _MembershipRecord | None: ...


class _Features(Protocol):
    def get(self, feature_key: str) -> _FeatureRecord | None: ...


class _Capabilities(Protocol):
    def list_for_user(self, user_id: uuid.UUID) -> Sequence[_CapabilityRecord]: ...


class AccessRecords(Protocol):
    """The tenant-scoped reads the access policy and the membership checks need."""

    @property
    def tenant_id(self) -> uuid.UUID | None: ...
    @property
    def tenants(self) -> _TenantsOf[_LiveRecord]: ...
    @property
    def memberships(self) -> _Memberships: ...
    @property
    def features(self) -> _Features: ...
    @property
    def capabilities(self) -> _Capabilities: ...


@attrs.frozen
class AccessPolicy:
    """One table of every permission of every context, and the rule that applies it."""

    rules: Mapping[str, Rule]

    @classmethod
    def of(cls, *tables: Mapping[str, Rule]) -> AccessPolicy:
        """Join the contexts' tables; a permission named twice is a programming error."""
        joined: dict[str, Rule] = {}
        for table in tables:
            for permission, rule in table.items():
                if permission in joined:
                    raise ValueError(f"permission {permission!r} is defined twice")
                joined[str(permission)] = rule
        return cls(rules=joined)

    def require(self, uow: AccessRecords, principal: Principal, permission: str
                ) -> Role | None:
        """Allow or raise; returns the role the principal acts with (None for the operator,
        who may act in any tenant, even a deleted one, unless the rule is
        ``live_tenant_only``).

        A user's role is read from the database inside the unit of work, not trusted from the
        token, so a removed or demoted member loses access at once.
        """
        rule = self.rules[permission]
        if principal.kind is PrincipalKind.OPERATOR:
            if rule.live_tenant_only:
                live_tenant(uow.tenants, uow.tenant_id)
            return None
        if principal.tenant_id is None or principal.tenant_id != uow.tenant_id:
            raise PermissionDenied("this principal does not act in this tenant")
        credential_tenant(uow.tenants, principal.tenant_id)
        if rule.people_only and principal.kind is PrincipalKind.API_KEY:
            raise PermissionDenied(f"{permission} is for members, not API keys")
        role = _current_role(uow, principal)
        allowed = role.rank >= rule.min_role.rank or _has_capability(uow, principal, rule)
        if not allowed:
            raise PermissionDenied(f"{permission} needs the {rule.min_role} role or above")
        if rule.feature is not None:
            feature = uow.features.get(rule.feature)
            if feature is None or not feature.enabled:
                raise PermissionDenied(
                    f"the {rule.feature} feature is not enabled for this tenant")
        return role


def live_tenant(tenants: _TenantsOf[T], tenant_id: uuid.UUID | None) -> T:
    """The tenant, which must exist and not be deleted."""
    tenant = tenants.get(tenant_id) if tenant_id is not None else None
    if tenant is None or not tenant.is_live:
        raise NotFound("tenant not found")
    return tenant


def credential_tenant(tenants: _TenantsOf[T], tenant_id: uuid.UUID) -> T:
    """The tenant a credential (a token, an API key) acts in. A credential of a deleted
    tenant is no one's: 401 on every route, not a 404 on the tenant."""
    tenant = tenants.get(tenant_id)
    if tenant is None or not tenant.is_live:
        raise AuthenticationFailed("the tenant of this credential no longer exists")
    return tenant


def require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise PermissionDenied("only the platform operator may do this")


def ensure_member(uow: AccessRecords, user_id: uuid.UUID | None, field: str = "user_id"
                  ) -> None:
    """A user named in a request must be a member of the unit of work's tenant."""
    if user_id is not None and uow.memberships.get(user_id) is None:
        raise ValidationFailed.single(field, "is not a member of this tenant")


def _current_role(uow: AccessRecords, principal: Principal) -> Role:
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


def _has_capability(uow: AccessRecords, principal: Principal, rule: Rule) -> bool:
    if rule.capability is None or principal.user_id is None:
        return False
    feature = rule.feature or "core"
    return any(
        c.feature_key == feature and c.capability_key == rule.capability
        for c in uow.capabilities.list_for_user(principal.user_id)
    )
