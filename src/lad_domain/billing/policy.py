"""Who may do what in billing.

Owners and admins see the money; usage is recorded by the services acting for members (a
tenant API key of any role, or the library as the operator); top-ups, prices, plans and
invoice status are the platform operator's alone (``require_operator``).
"""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.errors import PermissionDenied
from lad_domain.shared.principal import Principal, PrincipalKind, Role


class BillingPermission(enum.StrEnum):
    READ = "billing.read"
    PRICING_READ = "billing.pricing.read"
    USAGE_RECORD = "billing.usage.record"
    TRANSFER = "billing.transfer"


#: A deleted tenant's money is not moved or shown, even by the operator.
RULES: dict[str, Rule] = {
    BillingPermission.READ: Rule(Role.ADMIN, capability="billing.read", live_tenant_only=True),
    BillingPermission.PRICING_READ: Rule(Role.VIEWER, live_tenant_only=True),
    BillingPermission.USAGE_RECORD: Rule(Role.VIEWER, live_tenant_only=True),
    BillingPermission.TRANSFER: Rule(Role.ADMIN, live_tenant_only=True),
}


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
