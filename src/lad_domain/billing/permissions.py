"""Who may do what in billing, registered with the one access policy.

Owners and admins see the money; usage is recorded by the services acting for members (a
tenant API key of any role, or the library as the operator); top-ups, prices, plans and
invoice status are the platform operator's alone (checked by ``require_operator``).
"""

from __future__ import annotations

import enum

from lad_domain.shared.errors import PermissionDenied
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.tenancy import policy
from lad_domain.tenancy.policy import Rule


class BillingPermission(enum.StrEnum):
    READ = "billing.read"
    PRICING_READ = "billing.pricing.read"
    USAGE_RECORD = "billing.usage.record"
    TRANSFER = "billing.transfer"


policy.register(BillingPermission.READ, Rule(Role.ADMIN, capability="billing.read"))
policy.register(BillingPermission.PRICING_READ, Rule(Role.VIEWER))
policy.register(BillingPermission.USAGE_RECORD, Rule(Role.VIEWER))
policy.register(BillingPermission.TRANSFER, Rule(Role.ADMIN))


def require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise PermissionDenied("only the platform operator may do this")


def require_service(principal: Principal) -> None:
    """Usage is recorded by services: a tenant API key, or the library (the operator)."""
    if principal.kind is PrincipalKind.USER:
        raise PermissionDenied("usage is recorded by services: use a tenant API key")


def actor(principal: Principal) -> str:
    """Who acted, as the ledger records it."""
    if principal.kind is PrincipalKind.API_KEY:
        return f"api_key:{principal.api_key_id}"
    if principal.kind is PrincipalKind.USER:
        return f"user:{principal.user_id}"
    return "operator"
