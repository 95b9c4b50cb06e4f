"""The base of every SQL repository: a unit of work's connection and tenant scope."""

from __future__ import annotations

import uuid
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
