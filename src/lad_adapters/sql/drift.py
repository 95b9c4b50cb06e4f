"""Drift between the database and the code's metadata, as Alembic's autogenerate sees it,
with the PostgreSQL-only objects it must not report (partitions and what refers to them)."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from lad_adapters.sql.partitions import is_partition
from lad_adapters.sql.tables import metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Reflect our tables, not the monthly partitions ``lad db partitions`` creates."""
    return not (type_ == "table" and name is not None and is_partition(name))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Skip the per-partition copies PostgreSQL makes of a foreign key to a partitioned
    table: they are implementation, the declared key is compared on its own."""
    if type_ == "foreign_key_constraint" and reflected:
        return not is_partition(obj.referred_table.name)
    return True


OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": False,
    "include_name": include_name,
    "include_object": include_object,
}


def differences(url: str) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write against this database."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite cannot reflect expression indexes (users' lower(email)): known, not drift.
            warnings.filterwarnings("ignore", ".*expression-based index.*")
            context = MigrationContext.configure(
                conn, opts={**OPTIONS, "target_metadata": metadata})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()
