"""billing: quota and invoice counters, within_quota, the posting function, default prices

Revision ID: 0201_billing
Revises: 0007
Create Date: 2026-11-25 14:00:00.000000

Both dialects: the counters that posting and invoicing lock, the usage events' within_quota
flag, and the default pricing catalog (global rows with fixed ids, so that downgrade removes
exactly them). PostgreSQL: row-level security on the new tables, and the function that posts
one usage event in one round trip (``lad_adapters.sql.billing_posting``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types
from lad_adapters.catalog import default_catalog
from lad_adapters.sql import rls
from lad_adapters.sql.billing_posting import CREATE_FUNCTION, DROP_FUNCTION
from lad_domain.billing.pricing import parse_catalog

revision = "0201_billing"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW_TABLES = ("billing_entitlement_usage", "billing_invoice_counters")
#: The default catalog's rows get ids derived from what they price, so they are the same
#: in every database and a downgrade deletes exactly them.
CATALOG_NAMESPACE = uuid.UUID("5f0d7a3e-9a3c-4a8e-9d55-3b1c2f6a0b01")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_catalog = sa.table(
    "billing_pricing_catalog",
    sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.Uuid()),
    sa.column("category", sa.String()), sa.column("provider", sa.String()),
    sa.column("model", sa.String()), sa.column("unit", sa.String()),
    sa.column("unit_price", lad_types.UnitPrice()), sa.column("currency", sa.String()),
    sa.column("effective_from", lad_types.UtcDateTime()),
    sa.column("effective_to", lad_types.UtcDateTime()),
    sa.column("created_at", lad_types.UtcDateTime()),
    sa.column("updated_at", lad_types.UtcDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "billing_entitlement_usage",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("feature_key", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False, comment="The month: YYYY-MM"),
        sa.Column("used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_billing_entitlement_usage_used")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_billing_entitlement_usage_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "feature_key", "period",
                                name=op.f("pk_billing_entitlement_usage")),
        comment="Uses of each quota-limited feature per month (posting increments it, under "
        "its row lock).",
        info={"lad_scope": "tenant", "lad_context": "billing", "lad_volume": "low"},
    )
    op.create_table(
        "billing_invoice_counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("last_number >= 0",
                           name=op.f("ck_billing_invoice_counters_last_number")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_billing_invoice_counters_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_billing_invoice_counters")),
        comment="Each tenant's last invoice number; its row lock makes the numbers gapless.",
        info={"lad_scope": "tenant", "lad_context": "billing", "lad_volume": "low"},
    )
    # A plain ADD COLUMN (not a batch copy), which SQLite supports with a constant default.
    op.add_column("billing_usage_events", sa.Column(
        "within_quota", sa.Boolean(), server_default=sa.false(), nullable=False,
        comment="Paid by the monthly quota: counted, not charged"))
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            for statement in rls.tenant_owned(table):
                op.execute(statement)
        for statement in CREATE_FUNCTION:
            op.execute(statement)
    _load_default_catalog()


def downgrade() -> None:
    ids = [row["id"] for row in _default_rows()]
    op.get_bind().execute(_catalog.delete().where(_catalog.c.id.in_(ids)))
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_FUNCTION:
            op.execute(statement)
    with op.batch_alter_table("billing_usage_events", schema=None) as batch_op:
        batch_op.drop_column("within_quota")
    op.drop_table("billing_invoice_counters")
    op.drop_table("billing_entitlement_usage")


def _default_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for spec in parse_catalog(default_catalog(), now=EPOCH):
        name = f"{spec.category}/{spec.provider or ''}/{spec.model or ''}/{spec.effective_from}"
        rows.append({"id": uuid.uuid5(CATALOG_NAMESPACE, name), "tenant_id": None,
                     "category": spec.category, "provider": spec.provider or "",
                     "model": spec.model or "", "unit": spec.unit,
                     "unit_price": spec.unit_price, "currency": "USD",
                     "effective_from": spec.effective_from, "effective_to": spec.effective_to,
                     "created_at": EPOCH, "updated_at": EPOCH})
    return rows


def _load_default_catalog() -> None:
    op.get_bind().execute(_catalog.insert(), _default_rows())
