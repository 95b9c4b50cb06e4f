"""Enrichment tables: the per-tenant caches of Apollo companies and people."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import newest_first, table, tenant_key, timestamps
from lad_adapters.sql.types import Json, UtcDateTime

company_search_cache = table(
    "company_search_cache", "enrichment", "tenant",
    tenant_key(),
    sa.Column("apollo_organization_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("domain", sa.String(255), nullable=True),
    sa.Column("company_data", Json(), nullable=False),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    *timestamps(),
    sa.Index("ix_company_search_cache_domain", "tenant_id", "domain"),
    comment="Apollo organisations fetched for a tenant, reused until they expire.",
    volume="high",
)
newest_first(company_search_cache)

employees_cache = table(
    "employees_cache", "enrichment", "tenant",
    tenant_key(),
    sa.Column("apollo_person_id", sa.String(64), primary_key=True),
    sa.Column("apollo_organization_id", sa.String(64), nullable=True),
    sa.Column("employee_data", Json(), nullable=False),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    *timestamps(),
    sa.Index("ix_employees_cache_organization", "tenant_id", "apollo_organization_id"),
    comment="Apollo people fetched for a tenant, reused until they expire.",
    volume="high",
)
newest_first(employees_cache)
