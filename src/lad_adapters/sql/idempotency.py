"""SQL records of HTTP idempotency keys, each call one short transaction in the tenant's
scope (row-level security binds it on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from lad_adapters.sql.tables.idempotency import http_idempotency_keys as keys
from lad_adapters.sql.unit_of_work import SqlUnitOfWork
from lad_domain.shared.idempotency import FirstRequest, KeyedRequest, StoredAnswer


def _where(request: KeyedRequest) -> list[sa.ColumnElement[bool]]:
    return [keys.c.tenant_id == request.tenant_id, keys.c.route == request.route,
            keys.c.key == request.key]


def _first(row: sa.Row[Any]) -> FirstRequest:
    if row.status is None:
        return FirstRequest(row.fingerprint, None)
    headers = tuple((str(k), str(v)) for k, v in row.response_headers or [])
    return FirstRequest(row.fingerprint, StoredAnswer(row.status, headers,
                                                      row.response_body or ""))


class SqlIdempotencyRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, request: KeyedRequest, now: datetime, ttl: timedelta
              ) -> FirstRequest | None:
        fresh = {"fingerprint": request.fingerprint, "status": None,
                 "response_headers": None, "response_body": None, "created_at": now,
                 "completed_at": None}
        with SqlUnitOfWork(self._engine, request.tenant_id) as uow:
            dialect = postgresql if uow.db.dialect == "postgresql" else sqlite
            # RETURNING, not rowcount: the driver may not count what a statement changed.
            inserted = uow.db.execute(dialect.insert(keys).values(
                tenant_id=request.tenant_id, route=request.route, key=request.key, **fresh
            ).on_conflict_do_nothing().returning(keys.c.key)).first()
            if inserted is not None:
                uow.commit()
                return None
            # An expired record is replaced; of two retries racing for it, one does.
            replaced = uow.db.execute(keys.update().where(
                *_where(request), keys.c.created_at <= now - ttl).values(fresh
            ).returning(keys.c.key)).first()
            if replaced is not None:
                uow.commit()
                return None
            row = uow.db.execute(sa.select(keys).where(*_where(request))).first()
            uow.commit()
        return _first(row) if row is not None else FirstRequest(request.fingerprint, None)

    def complete(self, request: KeyedRequest, answer: StoredAnswer, now: datetime) -> None:
        with SqlUnitOfWork(self._engine, request.tenant_id) as uow:
            uow.db.execute(keys.update().where(
                *_where(request), keys.c.fingerprint == request.fingerprint).values(
                status=answer.status, response_headers=[list(h) for h in answer.headers],
                response_body=answer.body, completed_at=now))
            uow.commit()

    def release(self, request: KeyedRequest) -> None:
        with SqlUnitOfWork(self._engine, request.tenant_id) as uow:
            uow.db.execute(keys.delete().where(*_where(request), keys.c.status.is_(None)))
            uow.commit()
