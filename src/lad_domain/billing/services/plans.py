"""What a tenant's plan says: the pricing catalog in force, and monthly feature quotas."""

from __future__ import annotations

import uuid

import attrs

from lad_domain.billing.events import EntitlementSet
from lad_domain.billing.invoice import Period
from lad_domain.billing.model import Entitlement, EntitlementStatus, OverageMode
from lad_domain.billing.policy import BillingPermission
from lad_domain.billing.pricing import LoadMode, Price, PriceSpec, parse_catalog, plan_load
from lad_domain.billing.scope import BillingScope, posting_context
from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_domain.shared.principal import Principal
from lad_domain.shared.validation import key

MAX_QUOTA = 1_000_000_000


@attrs.frozen
class CatalogLoad:
    added: int
    closed: int
    unchanged: int


@attrs.define
class PlanService:
    scope: BillingScope

    # --- the pricing catalog --------------------------------------------------------------

    def pricing(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                ) -> list[Price]:
        """The prices in force now: global rows and this tenant's overrides (the operator
        without a tenant: the global catalog)."""
        now = self.scope.clock.now()
        if principal.is_operator and tenant_id is None:
            with self.scope.uow(None) as uow:
                rows = uow.prices.candidates(None, now, now)
        else:
            with self.scope.open(principal, tenant_id) as uow:
                self.scope.require(uow, principal, BillingPermission.PRICING_READ)
                rows = uow.prices.candidates(None, now, now)
        return sorted((p for p in rows if p.in_force(now)),
                      key=lambda p: (p.category, p.provider or "", p.model or "",
                                     p.tenant_id is not None))

    def load_pricing(self, principal: Principal, document: object, *,
                     mode: LoadMode | str = LoadMode.EXTEND) -> CatalogLoad:
        """Add a catalog document's rows, closing the prices they supersede (``replace``:
        also closing the rows the document omits). Every scope is checked before any is
        written, so a refused document changes nothing."""
        require_operator(principal)
        try:
            how = LoadMode(mode)
        except ValueError:
            raise ValidationFailed.single("mode", "must be extend or replace") from None
        now = self.scope.clock.now()
        specs = parse_catalog(document, now=now)
        scopes: dict[uuid.UUID | None, list[PriceSpec]] = {}
        for spec in specs:
            scopes.setdefault(spec.tenant_id, []).append(spec)
        for write in (False, True):
            added = closed = unchanged = 0
            for scope, rows in scopes.items():
                with self.scope.uow(scope) as uow:
                    if scope is not None:
                        self.scope.require(uow, principal, BillingPermission.READ)
                    change = plan_load(uow.prices.in_scope(), rows, mode=how, now=now,
                                       new_id=self.scope.ids.new_id)
                    added, closed = added + len(change.added), closed + len(change.closed)
                    unchanged += change.unchanged
                    if write:
                        for price, end in change.closed:
                            uow.prices.close(price.id, end)
                        uow.prices.add_many(change.added)
                        uow.commit()
        return CatalogLoad(added=added, closed=closed, unchanged=unchanged)

    # --- entitlements ---------------------------------------------------------------------

    def entitlements(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                     ) -> list[EntitlementStatus]:
        """Each quota with its use this month and what remains."""
        period = Period.of(self.scope.clock.now())
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            found = uow.entitlements.list()
            used = uow.entitlements.used(period)
        return [EntitlementStatus(entitlement=e, period=str(period),
                                  used=used.get(e.feature_key, 0))
                for e in sorted(found, key=lambda e: e.feature_key)]

    def entitlement(self, principal: Principal, feature_key: str, *,
                    tenant_id: uuid.UUID | None = None) -> EntitlementStatus:
        feature = key(feature_key, field="feature_key")
        for status in self.entitlements(principal, tenant_id=tenant_id):
            if status.entitlement.feature_key == feature:
                return status
        raise NotFound(f"no quota for {feature}")

    def set_entitlement(self, principal: Principal, tenant_id: uuid.UUID, feature_key: str, *,
                        monthly_quota: int | None, overage: OverageMode | str) -> Entitlement:
        """The operator sets a tenant's plan quota for a feature (None: unlimited)."""
        require_operator(principal)
        feature = key(feature_key, field="feature_key")
        if monthly_quota is not None and (
                isinstance(monthly_quota, bool) or not isinstance(monthly_quota, int)
                or not 0 <= monthly_quota <= MAX_QUOTA):
            raise ValidationFailed.single("monthly_quota", f"must be 0 to {MAX_QUOTA}")
        try:
            mode = OverageMode(overage)
        except ValueError:
            raise ValidationFailed.single("overage", "must be charge or refuse") from None
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            entitlement = Entitlement(tenant_id=tenant_id, feature_key=feature,
                                      monthly_quota=monthly_quota, overage=mode,
                                      updated_at=context.now)
            uow.entitlements.save(entitlement)
            self.scope.record(uow, EntitlementSet(aggregate_id=tenant_id, feature_key=feature,
                                                  monthly_quota=monthly_quota, overage=mode),
                              at=context.now)
            uow.commit()
        return entitlement
