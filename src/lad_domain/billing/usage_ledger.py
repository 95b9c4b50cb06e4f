"""Recording one usage event: the access policy asked and the event posted in one
transaction. ``ScopedUsageLedger`` does it through the tenant scope's unit of work (every
backend can); a backend that does it in one call to the database (PostgreSQL) asks for the
data the policy decides on with ``UsageAccess``, derived here from the policy itself, and
turns a refusal into the policy's own error with ``refusal``."""

from __future__ import annotations

import uuid

import attrs

from lad_domain.billing.model import UsageEvent
from lad_domain.billing.policy import BillingPermission
from lad_domain.billing.ports import PostingContext, UsageRequest
from lad_domain.billing.scope import BillingScope
from lad_domain.shared.access import AccessPolicy, ensure_member
from lad_domain.shared.errors import DomainError
from lad_domain.shared.principal import Principal, PrincipalKind, Role


@attrs.frozen
class ScopedUsageLedger:
    """The use case's transaction as every backend runs it: open the principal's tenant,
    ask the policy (the role read inside the transaction), check the member the usage is
    for, post, commit."""

    scope: BillingScope

    def record(self, principal: Principal, request: UsageRequest, context: PostingContext,
               *, tenant_id: uuid.UUID | None) -> UsageEvent:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.USAGE_RECORD)
            ensure_member(uow, request.user_id)
            [event] = uow.usage_postings.post([request], context)
            uow.commit()
        return event


@attrs.frozen
class UsageAccess:
    """What the database must find, in the transaction that posts, before it posts: the
    tenant live (when the rule or the credential asks it), the acting user a member with
    one of ``roles`` (a user acting; None for an API key and the operator, whose role is not
    read), and the member the usage is for (the request's ``user_id``) a member."""

    tenant_id: uuid.UUID
    live_tenant: bool
    acting_user: uuid.UUID | None = None
    roles: frozenset[Role] = frozenset()


def usage_access(policy: AccessPolicy, principal: Principal, tenant_id: uuid.UUID | None
                 ) -> UsageAccess | None:
    """The demand of ``billing.usage.record`` for this principal, as the policy's rule
    states it; None when what decides is not only what the one call reads (a feature, a
    capability, an API key the rule refuses whatever the database holds): the caller then
    takes the scope's path, which raises what the policy raises."""
    rule = policy.rules[BillingPermission.USAGE_RECORD]
    target = tenant_id if principal.is_operator else principal.tenant_id
    if target is None or rule.feature is not None or rule.capability is not None:
        return None
    if principal.kind is PrincipalKind.OPERATOR:
        return UsageAccess(target, live_tenant=rule.live_tenant_only)
    if principal.kind is PrincipalKind.API_KEY:
        if rule.people_only or principal.role is None or (
                principal.role.rank < rule.min_role.rank):
            return None
        return UsageAccess(target, live_tenant=True)
    if principal.user_id is None:
        return None
    return UsageAccess(target, live_tenant=True, acting_user=principal.user_id,
                       roles=frozenset(r for r in Role if r.rank >= rule.min_role.rank))


@attrs.frozen
class FoundAccess:
    """What the one call read: the tenant (None: no such row; else whether it is live), the
    roles of the members it looked up."""

    tenant_id: uuid.UUID
    tenant_live: bool | None
    roles: dict[uuid.UUID, Role]


def refusal(policy: AccessPolicy, principal: Principal, found: FoundAccess,
            user_id: uuid.UUID | None) -> Exception:
    """The error the policy raises on what the refusing call read: the same checks, in the
    same order, as ``ScopedUsageLedger``; so the same error as every other backend."""
    records = _Records(found)
    try:
        policy.require(records, principal, BillingPermission.USAGE_RECORD)
        ensure_member(records, user_id)
    except DomainError as error:
        return error
    return RuntimeError("the database refused a usage event the access policy allows")


# The access records the policy reads, over what the call returned.

@attrs.frozen
class _Tenant:
    is_live: bool


@attrs.frozen
class _Membership:
    role: Role


@attrs.frozen
class _Tenants:
    found: FoundAccess

    def get(self, tenant_id: uuid.UUID) -> _Tenant | None:
        live = self.found.tenant_live
        return None if live is None or tenant_id != self.found.tenant_id else _Tenant(live)


@attrs.frozen
class _Memberships:
    found: FoundAccess

    def get(self, user_id: uuid.UUID) -> _Membership | None:
        role = self.found.roles.get(user_id)
        return None if role is None else _Membership(role)


class _Nothing:
    """Features and capabilities: a demand is only made when the rule reads neither."""

    def get(self, feature_key: str) -> None:
        return None

    def list_for_user(self, user_id: uuid.UUID) -> tuple[()]:
        return ()


@attrs.frozen
class _Records:
    found: FoundAccess

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.found.tenant_id

    @property
    def tenants(self) -> _Tenants:
        return _Tenants(self.found)

    @property
    def memberships(self) -> _Memberships:
        return _Memberships(self.found)

    @property
    def features(self) -> _Nothing:
        return _Nothing()

    @property
    def capabilities(self) -> _Nothing:
        return _Nothing()
