"""The shared MetaData, with constraint names that migrations can refer to, and the column
and key shapes every context's tables share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.types import UtcDateTime

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
#: The seed's size class ("high", "medium", "low"): high and medium tables are listed newest
#: first per tenant, so they carry a (tenant_id, created_at DESC) index.
VOLUME = "lad_volume"
#: The column a table is range-partitioned on, by month, on PostgreSQL (absent: a plain
#: table). Partitions are created by ``lad db partitions ensure``.
PARTITION = "lad_partition"

VOLUMES = ("high", "medium", "low")


def table(name: str, context: str, scope: str, *args: Any, comment: str, volume: str = "low",
          partition_by: str | None = None) -> sa.Table:
    if scope not in ("tenant", "global", "mixed"):
        raise ValueError(f"unknown scope {scope!r} for table {name}")
    if volume not in VOLUMES:
        raise ValueError(f"unknown volume {volume!r} for table {name}")
    info: dict[str, str] = {SCOPE: scope, CONTEXT: context, VOLUME: volume}
    kwargs: dict[str, Any] = {}
    if partition_by is not None:
        info[PARTITION] = partition_by
        kwargs["postgresql_partition_by"] = f"RANGE ({partition_by})"
    return sa.Table(name, metadata, *args, comment=comment, info=info, **kwargs)


def live(column: sa.ColumnElement[object]) -> sa.ColumnElement[bool]:
    """The partial-index predicate of soft-deletable tables."""
    return column.is_(None)


# --- shapes shared by the tenant-owned tables -----------------------------------------------

LIVE = "deleted_at IS NULL"


def where(predicate: str) -> dict[str, Any]:
    """A partial index's predicate, the same on both dialects."""
    return {"postgresql_where": sa.text(predicate), "sqlite_where": sa.text(predicate)}


def tenant_key() -> sa.Column[Any]:
    """The first primary-key column of every tenant-owned table."""
    return sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
                     primary_key=True)


def id_key() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), primary_key=True)


def timestamps() -> list[sa.Column[Any]]:
    return [sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("updated_at", UtcDateTime(), nullable=False)]


def deleted_at() -> sa.Column[Any]:
    return sa.Column("deleted_at", UtcDateTime(), nullable=True,
                     comment="Soft delete: reads and unique keys skip rows where it is set")


def user_ref(name: str, *, nullable: bool = True, comment: str | None = None) -> sa.Column[Any]:
    """A reference to a global user: SET NULL when optional, else the user must stay."""
    ondelete = "SET NULL" if nullable else None
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("users.id", ondelete=ondelete),
                     nullable=nullable, comment=comment)


def tenant_ref(columns: Sequence[str], target: str, target_columns: Sequence[str] = ("id",),
               *, name: str, ondelete: str | None = None, onupdate: str | None = None
               ) -> sa.ForeignKeyConstraint:
    """A foreign key between tenant-owned tables: tenant_id on both sides, so a row can never
    point at another tenant's row (and the key stays inside one Citus shard group)."""
    referred = [f"{target}.tenant_id", *(f"{target}.{c}" for c in target_columns)]
    return sa.ForeignKeyConstraint(["tenant_id", *columns], referred, name=name,
                                   ondelete=ondelete, onupdate=onupdate)


def one_of(column: str, values: Sequence[str], *, name: str | None = None) -> sa.CheckConstraint:
    """A status-like column limited to its values."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name or column)


def newest_first(t: sa.Table, *, name: str | None = None) -> sa.Index:
    """(tenant_id, created_at DESC, id DESC): date-range queries and keyset pages per tenant."""
    columns: list[Any] = [t.c.tenant_id, t.c.created_at.desc()]
    if "id" in t.c:
        columns.append(t.c.id.desc())
    return sa.Index(name or f"ix_{t.name}_tenant_created", *columns)
