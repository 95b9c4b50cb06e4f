"""Enrichment tables: the per-tenant caches of Apollo companies and people."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import newest_first, one_of, table, tenant_key, timestamps
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

enrichment_search_pages = table(
    "enrichment_search_pages", "enrichment", "tenant",
    tenant_key(),
    sa.Column("key", sa.String(64), primary_key=True,
              comment="sha256 of the normalised filters, the kind, the page and its size"),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("filters", Json(), nullable=False),
    sa.Column("page", sa.Integer(), nullable=False),
    sa.Column("per_page", sa.Integer(), nullable=False),
    sa.Column("total", sa.Integer(), nullable=False,
              comment="What the provider said the whole search finds"),
    sa.Column("result_ids", Json(), nullable=False,
              comment="The Apollo ids the page listed, in order (the records are in "
                      "employees_cache / company_search_cache)"),
    sa.Column("fetched_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    *timestamps(),
    one_of("kind", ("people", "companies")),
    sa.Index("ix_enrichment_search_pages_expires", "tenant_id", "expires_at"),
    comment="Pages of Apollo searches a tenant ran, by the hash of their filters, reused "
            "until they expire.",
    volume="medium",
)
newest_first(enrichment_search_pages)
