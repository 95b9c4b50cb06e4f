"""The schema as SQLAlchemy Core tables, one module per context, on one MetaData."""

from __future__ import annotations

from lad_adapters.sql.tables import (
    billing,
    billing_counters,
    campaigns,
    education,
    enrichment,
    icp,
    idempotency,
    leads,
    outreach,
    tenancy,
    voice,
)
from lad_adapters.sql.tables.base import metadata

__all__ = ["billing", "billing_counters", "campaigns", "education", "enrichment", "icp",
           "idempotency", "leads", "metadata", "outreach", "tenancy", "voice"]
