"""The base of every SQL repository: a unit of work's connection and tenant scope."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from lad_adapters.scope import TenantScoped
from lad_adapters.sql.database import Db


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
