"""Billing counters that posting and invoicing lock: each quota's uses per month and each
tenant's last invoice number; and whether a usage event was paid by its quota.

They extend ``billing`` (revision 0201) without changing that module's tables in place.
"""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import table, tenant_key
from lad_adapters.sql.tables.billing import billing_usage_events
from lad_adapters.sql.types import UtcDateTime

billing_entitlement_usage = table(
    "billing_entitlement_usage", "billing", "tenant",
    tenant_key(),
    sa.Column("feature_key", sa.String(64), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True, comment="The month: YYYY-MM"),
    sa.Column("used", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("used >= 0", name="used"),
    comment="Uses of each quota-limited feature per month (posting increments it, under "
    "its row lock).",
)

billing_invoice_counters = table(
    "billing_invoice_counters", "billing", "tenant",
    tenant_key(),
    sa.Column("last_number", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("last_number >= 0", name="last_number"),
    comment="Each tenant's last invoice number; its row lock makes the numbers gapless.",
)

billing_usage_events.append_column(sa.Column(
    "within_quota", sa.Boolean(), nullable=False, server_default=sa.false(),
    comment="Paid by the monthly quota: counted, not charged"))
