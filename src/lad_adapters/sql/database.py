"""Engines for PostgreSQL and SQLite, and the one place where driver errors become domain
errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.sql import Executable

from lad_adapters.constraints import CONSTRAINT_MESSAGES
from lad_domain.shared.errors import Conflict, DomainError


class DatabaseUnavailable(DomainError):
    code = "unavailable"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-dialect settings LAD relies on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  **kwargs)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: two deferred transactions that both read then
        # write would otherwise fail with "database is locked" instead of waiting.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Db:
    """A connection inside a unit of work; every statement goes through ``execute``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def execute(self, statement: Executable, params: Params = None) -> CursorResult[Any]:
        with translate_errors():
            return self.connection.execute(statement, params)


class translate_errors:
    """Driver errors to domain errors, in one place for every SQL adapter."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None,
                 tb: object) -> None:
        if isinstance(error, exc.IntegrityError):
            raise Conflict(_conflict_message(error)) from error
        if isinstance(error, exc.OperationalError) and _is_lost_connection(error):
            raise DatabaseUnavailable("the database is unavailable; retry") from error


def _conflict_message(error: exc.IntegrityError) -> str:
    text = str(error.orig)
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name and name in CONSTRAINT_MESSAGES:
        return CONSTRAINT_MESSAGES[name]
    for constraint, message in CONSTRAINT_MESSAGES.items():
        if constraint in text:
            return message
    if "FOREIGN KEY" in text.upper():
        return "a referenced record does not exist"
    return "this change conflicts with existing data"


def _is_lost_connection(error: exc.OperationalError) -> bool:
    return bool(error.connection_invalidated) or "terminat" in str(error.orig).lower()
