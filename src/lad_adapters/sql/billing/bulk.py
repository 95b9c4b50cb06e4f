"""Many rows in one statement on PostgreSQL: ``INSERT ... SELECT FROM
json_populate_recordset(...)``, the rows travelling as one JSON document.

psycopg sends ``executemany`` as one statement per row, a multi-row ``VALUES`` with
thousands of placeholders costs more to parse in Python than it saves, and arrays in text
form cost a regular expression per value; one JSON document is encoded in C (orjson) and
parsed by the server into the table's own column types. Columns whose value is the same in
every row (the tenant, the time, the wallet, ...) travel once, beside the document. (COPY
would be faster still, but PostgreSQL refuses COPY FROM into tables under row-level
security.) SQLite keeps ``executemany``, which its driver runs in C.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from lad_adapters.sql.database import Db

#: Below this, a plain executemany is as quick.
BULK_FROM = 8

_statements: dict[tuple[str, tuple[str, ...], tuple[str, ...]], sa.TextClause] = {}


def insert_many(db: Db, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys; values as the table's types take them:
    tz-aware datetimes, Decimals, UUIDs, documents as dicts or lists)."""
    if not rows:
        return
    if db.dialect != "postgresql" or len(rows) < BULK_FROM:
        db.execute(table.insert(), rows)
        return
    first = rows[0]
    shared = tuple(name for name in first if all(row[name] == first[name] for row in rows))
    varying = tuple(name for name in first if name not in shared) or shared[:1]
    shared = tuple(name for name in shared if name not in varying)
    db.execute(_statement(table, shared, varying), {
        "shared": _json({name: first[name] for name in shared}),
        "rows": _json([{name: row[name] for name in varying} for row in rows])})


def _json(value: object) -> str:
    return orjson.dumps(value, default=_decimal).decode()


def _decimal(value: object) -> str:
    """orjson writes UUIDs, datetimes and documents itself; Decimals as exact strings."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON row")


def _statement(table: sa.Table, shared: tuple[str, ...], varying: tuple[str, ...]
               ) -> sa.TextClause:
    key = (table.name, shared, varying)
    if key not in _statements:
        # Names come from our metadata (checked against the table), never from input.
        columns = [table.c[name].name for name in (*shared, *varying)]
        picked = [f"one.{name}" for name in shared] + [f"many.{name}" for name in varying]
        _statements[key] = sa.text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(picked)} "
            f"FROM json_populate_record(NULL::{table.name}, CAST(:shared AS json)) AS one, "
            f"json_populate_recordset(NULL::{table.name}, CAST(:rows AS json)) AS many")
    return _statements[key]
