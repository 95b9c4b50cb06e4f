"""The import's staging area, set-based: rows go into a temporary table (``COPY`` on
PostgreSQL, one ``executemany`` per batch on SQLite), duplicates are found by two SQL
statements, and the leads are written by one INSERT ... SELECT (and one UPDATE ... FROM)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.database import Db
from lad_adapters.sql.types import UtcDateTime
from lad_domain.leads.model import OnDuplicate
from lad_domain.leads.ports import IMPORT_COLUMNS, Deduplication, ImportRow, MergeResult

STAGING = "lead_import_staging"
_COLUMNS = ", ".join(IMPORT_COLUMNS)

_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "tenant": sa.Uuid(), "created_by": sa.Uuid(), "at": UtcDateTime()}


def _typed(sql: str) -> sa.TextClause:
    """Bind tenant, user and time through the columns' types, as the repositories do."""
    return sa.text(sql).bindparams(*(sa.bindparam(name, type_=type_)
                                     for name, type_ in _TYPES.items() if f":{name}" in sql))


_CREATE_PG = sa.text(
    "CREATE TEMPORARY TABLE lead_import_staging (row_no integer NOT NULL, id uuid NOT NULL, "
    "first_name text, last_name text, email text, phone text, company text, title text, "
    "stage text NOT NULL, status text NOT NULL, owner_user_id uuid, source text, "
    "custom_fields jsonb, existing_id uuid) ON COMMIT DROP")
_CREATE_SQLITE = sa.text(
    "CREATE TEMPORARY TABLE lead_import_staging (row_no INTEGER NOT NULL, id CHAR(32) NOT NULL, "
    "first_name TEXT, last_name TEXT, email TEXT, phone TEXT, company TEXT, title TEXT, "
    "stage TEXT NOT NULL, status TEXT NOT NULL, owner_user_id CHAR(32), source TEXT, "
    "custom_fields TEXT, existing_id CHAR(32))")
_DROP_SQLITE = sa.text("DROP TABLE IF EXISTS temp.lead_import_staging")
_COPY = f"COPY {STAGING} ({_COLUMNS}) FROM STDIN"
_INSERT_SQLITE = (f"INSERT INTO {STAGING} ({_COLUMNS}) "
                  f"VALUES ({', '.join('?' for _ in IMPORT_COLUMNS)})")

_DEDUPE_PG = sa.text(
    "DELETE FROM lead_import_staging WHERE row_no IN (SELECT row_no FROM (SELECT row_no, "
    "row_number() OVER (PARTITION BY email ORDER BY row_no) AS n FROM lead_import_staging "
    "WHERE email IS NOT NULL) ranked WHERE n > 1)")
_DEDUPE_SQLITE = sa.text(
    "DELETE FROM lead_import_staging WHERE email IS NOT NULL AND row_no NOT IN "
    "(SELECT min(row_no) FROM lead_import_staging WHERE email IS NOT NULL GROUP BY email)")
_MATCH_PG = _typed(
    "UPDATE lead_import_staging AS s SET existing_id = l.id FROM leads AS l "
    "WHERE l.tenant_id = :tenant AND l.deleted_at IS NULL AND l.email = s.email")
_MATCH_SQLITE = _typed(
    "UPDATE lead_import_staging SET existing_id = l.id FROM leads AS l "
    "WHERE l.tenant_id = :tenant AND l.deleted_at IS NULL "
    "AND l.email = lead_import_staging.email")

_INSERT_LEADS = (
    "INSERT INTO leads (tenant_id, id, first_name, last_name, email, phone_e164, company, "
    "title, stage, status, owner_user_id, source, custom_fields, created_by, created_at, "
    "updated_at) SELECT :tenant, id, first_name, last_name, email, phone, company, title, "
    "stage, status, owner_user_id, source, COALESCE(custom_fields, {empty}), :created_by, "
    ":at, :at FROM lead_import_staging WHERE existing_id IS NULL")
_UPDATE_LEADS = (
    "UPDATE leads SET first_name = COALESCE(s.first_name, leads.first_name), "
    "last_name = COALESCE(s.last_name, leads.last_name), "
    "phone_e164 = COALESCE(s.phone, leads.phone_e164), "
    "company = COALESCE(s.company, leads.company), title = COALESCE(s.title, leads.title), "
    "owner_user_id = COALESCE(s.owner_user_id, leads.owner_user_id), "
    "custom_fields = {merge}, updated_at = :at "
    "FROM lead_import_staging AS s WHERE leads.tenant_id = :tenant AND leads.id = s.existing_id")


_INSERT_PG = _typed(_INSERT_LEADS.format(empty="'{}'::jsonb"))
_INSERT_SQLITE_LEADS = _typed(_INSERT_LEADS.format(empty="'{}'"))
_UPDATE_PG = _typed(_UPDATE_LEADS.format(
    merge="leads.custom_fields || COALESCE(s.custom_fields, '{}'::jsonb)"))
_UPDATE_SQLITE = _typed(_UPDATE_LEADS.format(
    merge="json_patch(leads.custom_fields, COALESCE(s.custom_fields, '{}'))"))
_MATCHED = sa.text("SELECT count(*) FROM lead_import_staging WHERE existing_id IS NOT NULL")


class SqlLeadImportStaging:
    """One import's staging table, in the unit of work's transaction."""

    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        if tenant_id is None:
            raise RuntimeError("an import needs a unit of work scoped to a tenant")
        self._db = db
        self._tenant_id = tenant_id
        self._postgres = db.dialect == "postgresql"
        self._created = False

    def _driver(self) -> Any:
        return self._db.connection.connection.driver_connection

    def stage(self, rows: Sequence[ImportRow]) -> None:
        if not self._created:
            if not self._postgres:
                self._db.execute(_DROP_SQLITE)
            self._db.execute(_CREATE_PG if self._postgres else _CREATE_SQLITE)
            self._created = True
        if self._postgres:
            with self._driver().cursor() as cursor, cursor.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # SQLite keeps a UUID as its 32 hex digits (SQLAlchemy's Uuid type).
            self._driver().executemany(_INSERT_SQLITE, [
                (r[0], r[1].hex, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                 r[10].hex if r[10] is not None else None, r[11], r[12]) for r in rows])

    def deduplicate(self) -> Deduplication:
        if not self._created:
            return Deduplication(in_file=0, existing=0)
        in_file = self._db.execute(_DEDUPE_PG if self._postgres else _DEDUPE_SQLITE).rowcount
        if self._postgres:
            # The planner knows nothing of a fresh temporary table; a sample is enough.
            self._db.execute(sa.text("ANALYZE lead_import_staging"))
        self._db.execute(_MATCH_PG if self._postgres else _MATCH_SQLITE,
                         {"tenant": self._tenant_id})
        existing = int(self._db.execute(_MATCHED).scalar_one())
        return Deduplication(in_file=in_file, existing=existing)

    def merge(self, *, on_duplicate: OnDuplicate, at: datetime,
              created_by: uuid.UUID | None) -> MergeResult:
        if not self._created:
            return MergeResult(created=0, updated=0)
        params = {"tenant": self._tenant_id, "at": at, "created_by": created_by}
        updated = 0
        if on_duplicate is OnDuplicate.UPDATE:
            updated = self._db.execute(_UPDATE_PG if self._postgres else _UPDATE_SQLITE,
                                       params).rowcount
        created = self._db.execute(_INSERT_PG if self._postgres else _INSERT_SQLITE_LEADS,
                                   params).rowcount
        if not self._postgres:
            self._db.execute(_DROP_SQLITE)
        return MergeResult(created=created, updated=updated)
