"""The base of every SQL repository: a unit of work's connection and tenant scope."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.database import Db


class SqlRepository:
    """Repositories of one unit of work; ``tenant_id`` is its scope (None: global rows)."""

    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        self._db = db
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> uuid.UUID:
        if self._tenant_id is None:
            raise RuntimeError("this repository needs a unit of work scoped to a tenant")
        return self._tenant_id

    def _one(self, query: sa.Select[Any]) -> sa.Row[Any] | None:
        return self._db.execute(query).first()
