"""SQL repositories of what a plan says: the pricing catalog and monthly quotas."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.billing.ledger import Repository
from lad_adapters.sql.tables.billing import (
    billing_feature_entitlements as entitlements,
)
from lad_adapters.sql.tables.billing import (
    billing_pricing_catalog as catalog,
)
from lad_adapters.sql.tables.billing_counters import billing_entitlement_usage as uses
from lad_domain.billing.invoice import Period
from lad_domain.billing.model import CURRENCY, Entitlement, OverageMode
from lad_domain.billing.pricing import Price


def _row_to_price(row: sa.Row[Any]) -> Price:
    m = row._mapping
    return Price(id=m["id"], category=m["category"], unit_price=m["unit_price"],
                 effective_from=m["effective_from"], created_at=m["created_at"],
                 tenant_id=m["tenant_id"], provider=m["provider"] or None,
                 model=m["model"] or None, unit=m["unit"], effective_to=m["effective_to"])


class SqlPriceRepository(Repository):
    """Global rows are read from every scope; row-level security lets a tenant scope see
    its own overrides too, and write only them (global rows: no tenant in scope)."""

    def candidates(self, categories: Collection[str] | None, start: datetime, end: datetime
                   ) -> Sequence[Price]:
        visible: sa.ColumnElement[bool] = catalog.c.tenant_id.is_(None)
        if self._tenant_id is not None:
            visible = sa.or_(visible, catalog.c.tenant_id == self._tenant_id)
        query = sa.select(catalog).where(
            visible, catalog.c.effective_from <= end,
            sa.or_(catalog.c.effective_to.is_(None), catalog.c.effective_to > start))
        if categories is not None:
            query = query.where(catalog.c.category.in_(list(categories)))
        return [_row_to_price(row) for row in self._db.execute(query)]

    def in_scope(self) -> Sequence[Price]:
        scope = (catalog.c.tenant_id.is_(None) if self._tenant_id is None
                 else catalog.c.tenant_id == self._tenant_id)
        return [_row_to_price(row) for row in self._db.execute(sa.select(catalog).where(scope))]

    def add_many(self, prices: Sequence[Price]) -> None:
        if prices:
            self._db.execute(catalog.insert(), [{
                "id": p.id, "tenant_id": p.tenant_id, "category": p.category,
                "provider": p.provider or "", "model": p.model or "", "unit": p.unit,
                "unit_price": p.unit_price, "currency": CURRENCY,
                "effective_from": p.effective_from, "effective_to": p.effective_to,
                "created_at": p.created_at, "updated_at": p.created_at} for p in prices])

    def close(self, price_id: uuid.UUID, effective_to: datetime) -> None:
        self._db.execute(catalog.update().where(catalog.c.id == price_id).values(
            effective_to=effective_to, updated_at=effective_to))


def _row_to_entitlement(row: sa.Row[Any]) -> Entitlement:
    m = row._mapping
    return Entitlement(tenant_id=m["tenant_id"], feature_key=m["feature_key"],
                       monthly_quota=m["monthly_quota"],
                       overage=OverageMode(m["overage_policy"]), updated_at=m["updated_at"])


class SqlEntitlementRepository(Repository):
    def get(self, feature_key: str) -> Entitlement | None:
        row = self._db.execute(sa.select(entitlements).where(
            entitlements.c.tenant_id == self.tenant_id,
            entitlements.c.feature_key == feature_key)).first()
        return _row_to_entitlement(row) if row else None

    def save(self, entitlement: Entitlement) -> None:
        insert = self._insert(entitlements).values(
            tenant_id=self.tenant_id, feature_key=entitlement.feature_key,
            monthly_quota=entitlement.monthly_quota, overage_policy=str(entitlement.overage),
            created_at=entitlement.updated_at, updated_at=entitlement.updated_at)
        self._db.execute(insert.on_conflict_do_update(
            index_elements=["tenant_id", "feature_key"],
            set_={"monthly_quota": insert.excluded.monthly_quota,
                  "overage_policy": insert.excluded.overage_policy,
                  "updated_at": insert.excluded.updated_at}))

    def list(self) -> Sequence[Entitlement]:
        rows = self._db.execute(sa.select(entitlements).where(
            entitlements.c.tenant_id == self.tenant_id).order_by(entitlements.c.feature_key))
        return [_row_to_entitlement(row) for row in rows]

    def used(self, period: Period) -> Mapping[str, int]:
        rows = self._db.execute(sa.select(uses.c.feature_key, uses.c.used).where(
            uses.c.tenant_id == self.tenant_id, uses.c.period == str(period)))
        return {row.feature_key: row.used for row in rows}

    def add_uses(self, period: Period, counts: Mapping[str, int], at: datetime) -> None:
        # The posting rule holds the tenant's wallet lock, so increments do not interleave.
        for feature_key, n in counts.items():
            insert = self._insert(uses).values(
                tenant_id=self.tenant_id, feature_key=feature_key, period=str(period), used=n,
                updated_at=at)
            self._db.execute(insert.on_conflict_do_update(
                index_elements=["tenant_id", "feature_key", "period"],
                set_={"used": uses.c.used + insert.excluded.used,
                      "updated_at": insert.excluded.updated_at}))
