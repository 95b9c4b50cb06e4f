"""The base of every SQL repository: a unit of work's connection and tenant scope."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lad_adapters.scope import TenantScoped
from lad_adapters.sql.database import Db

#: Values per IN list where a list of values is spelled out (SQLite).
IN_LIST = 1000


def among(column: sa.ColumnElement[str], values: Sequence[str], dialect: str
           ) -> Iterator[sa.ColumnElement[bool]]:
    """Conditions that together match the rows whose ``column`` is one of ``values`` (text),
    each for one statement: on PostgreSQL one array parameter (``= ANY``: one statement
    and no placeholder per value, whatever their number), elsewhere IN lists of at most
    IN_LIST values."""
    if not values:
        return
    if dialect == "postgresql":
        yield column == sa.any_(sa.bindparam(None, list(values),
                                             type_=postgresql.ARRAY(sa.String())))
        return
    for start in range(0, len(values), IN_LIST):
        yield column.in_(values[start:start + IN_LIST])


class SqlRepository(TenantScoped):
    """Repositories of one unit of work; ``tenant_id`` is its scope (None: global rows)."""

    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(tenant_id)
        self._db = db

    def _one(self, query: sa.Select[Any]) -> sa.Row[Any] | None:
        return self._db.execute(query).first()

    def _update_or_insert(self, table: sa.Table, where: Sequence[sa.ColumnElement[bool]],
                          values: Mapping[str, Any], **identity: Any) -> None:
        """Set ``values`` on the row ``where`` finds, or insert it with ``identity`` (its key
        and the columns only an insert sets) when there is none."""
        if self._db.execute(table.update().where(*where).values(values)).rowcount == 0:
            self._db.execute(table.insert().values(**identity, **values))
