"""Monthly range partitions of the tables marked ``partition_by`` (PostgreSQL only): names,
bounds, and ``ensure``, which creates the coming months' partitions idempotently."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lad_adapters.sql.tables.base import PARTITION, metadata

_PARTITION_NAME = re.compile(r"^(?P<parent>[a-z_]+)_(?:p\d{4}_\d{2}|default)$")
#: Serialises concurrent ``ensure`` runs (an arbitrary, fixed advisory-lock key).
_LOCK_KEY = 7_301_843_113


def partitioned_tables() -> list[sa.Table]:
    return [t for t in metadata.sorted_tables if PARTITION in t.info]


def is_partition(name: str) -> bool:
    """Whether a reflected table is a partition of one of ours (hidden from autogenerate)."""
    match = _PARTITION_NAME.match(name)
    return match is not None and any(t.name == match.group("parent")
                                     for t in partitioned_tables())


def partition_name(parent: str, month: date) -> str:
    return f"{parent}_p{month.year:04d}_{month.month:02d}"


def default_name(parent: str) -> str:
    return f"{parent}_default"


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def months(first: date, months_ahead: int) -> list[date]:
    """The month of ``first`` and the ``months_ahead`` months after it."""
    if months_ahead < 0:
        raise ValueError("months_ahead must be zero or more")
    result = [month_start(first)]
    for _ in range(months_ahead):
        result.append(next_month(result[-1]))
    return result


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def ensure(conn: Connection, *, today: date, months_ahead: int) -> list[str]:
    """Create the partitions of this month and the next ``months_ahead`` months that do not
    exist yet; return their names. Rows that fell into the default partition for such a
    month are moved into the new partition. Run by the tables' owner."""
    if conn.dialect.name != "postgresql":
        return []
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    created: list[str] = []
    for table in partitioned_tables():
        column = quote(table.info[PARTITION])
        for month in months(today, months_ahead):
            name = partition_name(table.name, month)
            if conn.execute(sa.text("SELECT to_regclass(:name)"), {"name": name}).scalar():
                continue
            # DDL takes no bind parameters: the identifiers come from the metadata (quoted)
            # and the bounds from dates, never from input.
            low, high = _bound(month), _bound(next_month(month))
            parent, child = quote(table.name), quote(name)
            default = quote(default_name(table.name))
            # Created detached, filled from the default partition, then attached: ATTACH
            # takes a lighter lock on the parent than CREATE TABLE ... PARTITION OF.
            conn.exec_driver_sql(
                f"CREATE TABLE {child} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            conn.exec_driver_sql(
                f"WITH moved AS (DELETE FROM {default} WHERE {column} >= '{low}' "
                f"AND {column} < '{high}' RETURNING *) INSERT INTO {child} SELECT * FROM moved")
            conn.exec_driver_sql(
                f"ALTER TABLE {parent} ATTACH PARTITION {child} "
                f"FOR VALUES FROM ('{low}') TO ('{high}')")
            created.append(name)
    return created


def existing(conn: Connection) -> dict[str, list[str]]:
    """The partitions attached to each partitioned table, by name."""
    if conn.dialect.name != "postgresql":
        return {}
    rows = conn.execute(sa.text(
        "SELECT parent.relname AS parent, child.relname AS child FROM pg_inherits "
        "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
        "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
        "WHERE parent.relkind = 'p' ORDER BY child.relname"))
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.parent, []).append(row.child)
    return found
