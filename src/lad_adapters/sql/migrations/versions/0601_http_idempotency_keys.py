"""http idempotency keys: a retried create, import or invitation is answered once

Revision ID: 0601_http_idempotency_keys
Revises: 0501_icp_and_enrichment
Create Date: 2026-12-05 09:00:00.000000

Both dialects: ``http_idempotency_keys``, the Idempotency-Key of each keyed request per
tenant and route, the digest of what it asked and (once served) its answer, sealed;
tenant-owned, with its row-level security policy on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types
from lad_adapters.sql import rls

revision = "0601_http_idempotency_keys"
down_revision = "0501_icp_and_enrichment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "http_idempotency_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False,
                  comment="The method and route template, e.g. POST /v1/leads"),
        sa.Column("key", sa.String(length=255), nullable=False,
                  comment="The Idempotency-Key header"),
        sa.Column("fingerprint", sa.String(length=64), nullable=False,
                  comment="sha256 of the method, path, query and body of the first request"),
        sa.Column("status", sa.Integer(), nullable=True,
                  comment="The first answer's status; null while it is being served"),
        sa.Column("response_headers", lad_types.JsonDocument(), nullable=True,
                  comment="The first answer's Content-Type and Location"),
        sa.Column("response_body", sa.Text(), nullable=True,
                  comment="The first answer's body, sealed (it may hold a secret shown once)"),
        sa.Column("created_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", lad_types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_http_idempotency_keys_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "route", "key",
                                name=op.f("pk_http_idempotency_keys")),
        comment="Idempotency keys of HTTP requests and their first answers, kept 24 hours.",
        info={"lad_scope": "tenant", "lad_context": "tenancy", "lad_volume": "medium"},
    )
    with op.batch_alter_table("http_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_http_idempotency_keys_tenant_created",
                              ["tenant_id", sa.literal_column("created_at DESC")],
                              unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.tenant_owned("http_idempotency_keys"):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("http_idempotency_keys")
