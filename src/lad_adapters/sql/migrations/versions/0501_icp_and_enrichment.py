"""icp and enrichment: cached search pages, and the price of the offline extractor's tokens

Revision ID: 0501_icp_and_enrichment
Revises: 0402_voice_event_in_one_call
Create Date: 2026-12-04 09:00:00.000000

Both dialects: ``enrichment_search_pages``, the pages of Apollo searches a tenant ran, keyed
by the hash of their normalised filters, kind, page and page size (the records themselves
are in ``employees_cache`` and ``company_search_cache``); tenant-owned, with its row-level
security policy on PostgreSQL. The offline ICP extractor's tokens (provider ``lad``, model
``rules``) join the default catalog at a price of zero, so that every extraction records
its usage event priced from the catalog, keyed as 0201 keys its rows.

Frozen: the prices are written out here as they are at this revision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types
from lad_adapters.sql import rls

revision = "0501_icp_and_enrichment"
down_revision = "0402_voice_event_in_one_call"
branch_labels = None
depends_on = None

#: 0201's namespace and epoch, so the rows' ids are what 0201 would have given them.
CATALOG_NAMESPACE = uuid.UUID("5f0d7a3e-9a3c-4a8e-9d55-3b1c2f6a0b01")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
RULES_PRICES = [
    {"id": uuid.uuid5(CATALOG_NAMESPACE, f"{category}/lad/rules/{EPOCH}"),
     "tenant_id": None, "category": category, "provider": "lad", "model": "rules",
     "unit": "token", "unit_price": Decimal("0"), "currency": "USD",
     "effective_from": EPOCH, "effective_to": None, "created_at": EPOCH, "updated_at": EPOCH}
    for category in ("llm_input_tokens", "llm_output_tokens")]
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
    op.get_bind().execute(_catalog.insert(), RULES_PRICES)
    op.create_table(
        "enrichment_search_pages",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False,
                  comment="sha256 of the normalised filters, the kind, the page and its size"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filters", lad_types.JsonDocument(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("per_page", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False,
                  comment="What the provider said the whole search finds"),
        sa.Column("result_ids", lad_types.JsonDocument(), nullable=False,
                  comment="The Apollo ids the page listed, in order (the records are in "
                          "employees_cache / company_search_cache)"),
        sa.Column("fetched_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('people', 'companies')",
                           name=op.f("ck_enrichment_search_pages_kind")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_enrichment_search_pages_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_enrichment_search_pages")),
        comment="Pages of Apollo searches a tenant ran, by the hash of their filters, reused "
                "until they expire.",
        info={"lad_scope": "tenant", "lad_context": "enrichment", "lad_volume": "medium"},
    )
    with op.batch_alter_table("enrichment_search_pages", schema=None) as batch_op:
        batch_op.create_index("ix_enrichment_search_pages_expires",
                              ["tenant_id", "expires_at"], unique=False)
        batch_op.create_index("ix_enrichment_search_pages_tenant_created",
                              ["tenant_id", sa.literal_column("created_at DESC")],
                              unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.tenant_owned("enrichment_search_pages"):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("enrichment_search_pages")
    op.get_bind().execute(_catalog.delete().where(
        _catalog.c.id.in_([row["id"] for row in RULES_PRICES])))
