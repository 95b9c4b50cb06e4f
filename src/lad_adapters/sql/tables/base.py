"""The shared MetaData, with constraint names that migrations can refer to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: Marks a table's place in the tenancy model; read by the RLS migration, the Citus plan and
#: the schema docs. "tenant": tenant-owned (tenant_id in the primary key, RLS applies);
#: "global": shared by all tenants; "mixed": global rows (tenant_id NULL) plus tenant rows.
SCOPE = "lad_scope"
CONTEXT = "lad_context"


def table(name: str, context: str, scope: str, *args: Any, comment: str) -> sa.Table:
    if scope not in ("tenant", "global", "mixed"):
        raise ValueError(f"unknown scope {scope!r} for table {name}")
    return sa.Table(name, metadata, *args, comment=comment,
                    info={SCOPE: scope, CONTEXT: context})


def live(column: sa.ColumnElement[object]) -> sa.ColumnElement[bool]:
    """The partial-index predicate of soft-deletable tables."""
    return column.is_(None)
