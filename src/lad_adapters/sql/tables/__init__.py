"""The schema as SQLAlchemy Core tables, one module per context, on one MetaData."""

from __future__ import annotations

from lad_adapters.sql.tables import tenancy
from lad_adapters.sql.tables.base import metadata

__all__ = ["metadata", "tenancy"]
