"""The idempotency keys HTTP requests were sent with, and the answers they got."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import newest_first, table, tenant_key
from lad_adapters.sql.types import Json, UtcDateTime

http_idempotency_keys = table(
    "http_idempotency_keys", "tenancy", "tenant",
    tenant_key(),
    sa.Column("route", sa.String(200), primary_key=True,
              comment="The method and route template, e.g. POST /v1/leads"),
    sa.Column("key", sa.String(255), primary_key=True, comment="The Idempotency-Key header"),
    sa.Column("fingerprint", sa.String(64), nullable=False,
              comment="sha256 of the method, path, query and body of the first request"),
    sa.Column("status", sa.Integer(), nullable=True,
              comment="The first answer's status; null while it is being served"),
    sa.Column("response_headers", Json(), nullable=True,
              comment="The first answer's Content-Type and Location"),
    sa.Column("response_body", sa.Text(), nullable=True,
              comment="The first answer's body, sealed (it may hold a secret shown once)"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    comment="Idempotency keys of HTTP requests and their first answers, kept 24 hours.",
    volume="medium",
)
newest_first(http_idempotency_keys)
