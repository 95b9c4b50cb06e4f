"""Engines for PostgreSQL and SQLite, and the one place where driver errors become domain
errors."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from lad_adapters.constraints import CONSTRAINT_MESSAGES, conflict
from lad_adapters.metrics import PendingPostings
from lad_domain.shared.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import CursorSeal


class DatabaseUnavailable(DomainError):
    """The database cannot serve: unreachable, or its schema is not migrated. ``reason`` is
    the driver's first line, for operators (the CLI prints it; HTTP does not)."""

    code = "unavailable"

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


#: A run of 17 digits may be an integer beyond 64 bits, which orjson reads as a float, or a
#: decimal written with more digits than a float holds: such a document goes to the
#: standard library, as does anything orjson refuses (NaN, a lone surrogate, ...).
_LONG_NUMBER = re.compile(rb"[0-9]{17}")


def read_document(text: str | bytes) -> Any:
    """A stored JSON document (custom fields, payloads) as Python values: orjson, parsed in
    C, where it answers exactly what ``json.loads`` answers; the standard library
    elsewhere."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-dialect settings LAD relies on."""
    kwargs.setdefault("json_deserializer", read_document)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  **kwargs)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip per unit of work; a dropped connection surfaces as
    # DatabaseUnavailable (503, retry) and the pool replaces it.
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", clear_stale_scope)
    return engine


#: Set in a pooled connection's ``info`` when a read left its tenant scope (and read-only
#: default) on the session: see ``unit_of_work._ScopeRead``.
STALE_SCOPE = "lad.stale_scope"
_CLEAR_SCOPE = (b"SELECT set_config('lad.tenant_id', '', false), "
                b"set_config('lad.user_id', '', false), "
                b"set_config('default_transaction_read_only', 'off', false)")
_UNIT_OF_WORK: ContextVar[bool] = ContextVar("lad_unit_of_work_checkout", default=False)


@contextlib.contextmanager
def scoping_checkout() -> Iterator[None]:
    """A checkout by a unit of work, which sets the scope itself in its first message: the
    connection is not cleared first (that would be a round trip for nothing)."""
    token = _UNIT_OF_WORK.set(True)
    try:
        yield
    finally:
        _UNIT_OF_WORK.reset(token)


def clear_stale_scope(dbapi_connection: Any, record: ConnectionPoolEntry,
                      _proxy: object) -> None:
    """Every other checkout of a connection a read has scoped (a migration, the usage
    ledger's one call, a script) starts with no tenant scope and may write."""
    if _UNIT_OF_WORK.get() or not record.info.get(STALE_SCOPE):
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(_CLEAR_SCOPE)
    finally:
        dbapi_connection.autocommit = autocommit
    record.info[STALE_SCOPE] = False


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
    """A connection inside a unit of work; every statement goes through ``execute``.
    ``cursors`` seals the pagination cursors of the unit of work's tenant scope."""

    def __init__(self, connection: Connection, cursors: CursorSeal | None = None) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.cursors = cursors or CursorSeal.ephemeral()
        #: Ledger rows written in this transaction, counted for /metrics when it commits.
        self.postings = PendingPostings()

    def execute(self, statement: Executable, params: Params = None) -> CursorResult[Any]:
        with translate_errors():
            return self.connection.execute(statement, params)

    @property
    def driver_reads(self) -> bool:
        """Whether ``driver_rows`` serves: PostgreSQL through psycopg."""
        return self.connection.dialect.driver == "psycopg"

    def driver_rows(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a read compiled once for this dialect (named ``%(name)s`` parameters),
        run prepared on the connection's psycopg connection: as the driver reads them, with
        none of SQLAlchemy's result processing. In the unit of work's transaction or scope,
        like ``execute``; its errors are the driver's as ``execute`` raises them."""
        driver = self.connection.connection.driver_connection
        dbapi_error = self.connection.dialect.loaded_dbapi.Error
        with translate_errors():
            try:
                with driver.cursor() as cursor:  # type: ignore[union-attr]  # a live connection has one
                    cursor.execute(sql, params, prepare=True)
                    return cast(list[tuple[Any, ...]], cursor.fetchall())
            except dbapi_error as error:
                raise exc.DBAPIError.instance(sql, params, error, dbapi_error) from error


class translate_errors:
    """Driver errors to domain errors, in one place for every SQL adapter."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None,
                 tb: object) -> None:
        if isinstance(error, UnicodeEncodeError) or (
                isinstance(error, exc.StatementError)
                and isinstance(error.orig, UnicodeEncodeError)):
            # A lone surrogate (a CLI argument that was not UTF-8, a library caller's text):
            # the HTTP edge refuses it naming the field; this is the wall behind it.
            raise ValidationFailed.single(
                "text", "is not valid Unicode (it holds a lone surrogate)") from error
        if isinstance(error, exc.StatementError) and not isinstance(error, exc.DBAPIError):
            # A bound value our column types could not convert (a date out of range, ...).
            if isinstance(error.orig, OverflowError | ValueError):
                raise ValidationFailed.single(
                    "body", f"a value cannot be stored: {error.orig}") from error
            return
        if not isinstance(error, exc.DBAPIError):
            return
        if isinstance(error, exc.IntegrityError):
            raise _conflict(error) from error
        reason = _first_line(error)
        if _sqlstate(error) == "42P01" or "no such table" in reason:
            raise DatabaseUnavailable(
                "the database schema is not migrated; run `lad db upgrade`", reason=reason
            ) from error
        if _sqlstate(error) == "42501":
            raise PermissionDenied(f"the database refused this: {reason}") from error
        if isinstance(error, exc.DataError):
            raise ValidationFailed.single("body", f"a value cannot be stored: {reason}") from error
        if isinstance(error, exc.OperationalError) or error.connection_invalidated:
            raise DatabaseUnavailable("the database is unavailable; retry later",
                                      reason=reason) from error


def _sqlstate(error: exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def _first_line(error: exc.DBAPIError) -> str:
    return (str(error.orig).strip().splitlines() or [""])[0]


def _conflict(error: exc.IntegrityError) -> Conflict:
    """The violated constraint by its name (PostgreSQL) or its name or columns in the
    message (SQLite)."""
    name = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if name in CONSTRAINT_MESSAGES:
        return conflict(name)
    text = str(error.orig)
    for constraint in CONSTRAINT_MESSAGES:
        if constraint in text:
            return conflict(constraint)
    if "FOREIGN KEY" in text.upper():
        return Conflict("a referenced record does not exist")
    return conflict(None)


