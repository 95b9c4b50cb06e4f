"""The import's staging area, set-based.

PostgreSQL writes as it goes: each batch is COPYed into a temporary table, its in-file
duplicates are dropped against a temporary table of the emails seen so far, it is matched
with the live leads and merged into ``leads`` by one INSERT ... SELECT (and one UPDATE ...
FROM), while the caller checks the next batch. SQLite has one write lock for the whole
database: the rows are staged into a temporary table (which does not take it) outside the
unit of work's write transaction, and the lock is taken again only to write the leads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.database import Db, translate_errors
from lad_adapters.sql.types import UtcDateTime
from lad_domain.leads.model import OnDuplicate
from lad_domain.leads.ports import (
    IMPORT_COLUMNS,
    Deduplication,
    ImportMerge,
    ImportRow,
    MergeResult,
)

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
    "custom_fields jsonb, existing_id uuid) ON COMMIT DROP; "
    'CREATE TEMPORARY TABLE lead_import_seen (email text COLLATE "C" PRIMARY KEY) '
    "ON COMMIT DROP")
_CREATE_SQLITE = (
    "CREATE TEMPORARY TABLE lead_import_staging (row_no INTEGER NOT NULL, id CHAR(32) NOT NULL, "
    "first_name TEXT, last_name TEXT, email TEXT, phone TEXT, company TEXT, title TEXT, "
    "stage TEXT NOT NULL, status TEXT NOT NULL, owner_user_id CHAR(32), source TEXT, "
    "custom_fields TEXT, existing_id CHAR(32), UNIQUE (email))")
_DROP_SQLITE = "DROP TABLE IF EXISTS temp.lead_import_staging"
_COPY = f"COPY {STAGING} ({_COLUMNS}) FROM STDIN"
#: Rows come in file order, so the row kept for an email is its first (NULLs never clash).
_INSERT_SQLITE = (f"INSERT INTO {STAGING} ({_COLUMNS}) "
                  f"VALUES ({', '.join('?' for _ in IMPORT_COLUMNS)}) "
                  "ON CONFLICT (email) DO NOTHING")
_KEPT_SQLITE = "SELECT count(*) FROM lead_import_staging"

#: PostgreSQL, per batch (already without repeats of an email within it): a row whose email
#: an earlier batch had is dropped; the others' emails are remembered. The emails seen are
#: compared byte by byte (COLLATE "C": the same equality, without the locale's collation).
_DEDUPE_BATCH_PG = sa.text(
    "WITH fresh AS (INSERT INTO lead_import_seen (email) SELECT email COLLATE \"C\" "
    "FROM lead_import_staging "
    "WHERE email IS NOT NULL ON CONFLICT (email) DO NOTHING RETURNING email) "
    "DELETE FROM lead_import_staging WHERE email IS NOT NULL "
    "AND email COLLATE \"C\" NOT IN (SELECT email FROM fresh)")
_TRUNCATE_PG = sa.text("TRUNCATE lead_import_staging")
# A row left after deduplication has an email no earlier row had, so a lead with it was
# live before the import (PostgreSQL writes earlier batches' leads as it goes).
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
#: The common case (skip existing leads, not a dry run) in one statement per batch: drop the
#: rows whose email an earlier batch had, and insert the rest but those whose email belongs
#: to a live lead (the unique key of live emails says so as it inserts).
_DEDUPE_AND_INSERT_PG = _typed(
    "WITH fresh AS (INSERT INTO lead_import_seen (email) SELECT email COLLATE \"C\" "
    "FROM lead_import_staging "
    "WHERE email IS NOT NULL ON CONFLICT (email) DO NOTHING RETURNING email), "
    "created AS (" + _INSERT_LEADS.format(empty="'{}'::jsonb").replace(
        "WHERE existing_id IS NULL",
        "WHERE email IS NULL OR email COLLATE \"C\" IN (SELECT email FROM fresh) "
        "ON CONFLICT (tenant_id, email) WHERE deleted_at IS NULL DO NOTHING RETURNING 1") + ") "
    "SELECT (SELECT count(*) FROM lead_import_staging WHERE email IS NOT NULL) "
    "- (SELECT count(*) FROM fresh) AS in_file, (SELECT count(*) FROM created) AS created")
_INSERT_SQLITE_LEADS = _typed(_INSERT_LEADS.format(empty="'{}'"))
#: SQLite, skipping existing leads (the common case): match and insert in one statement,
#: each row's email looked up in the unique key of live emails.
_INSERT_NEW_SQLITE = _typed(_INSERT_LEADS.format(empty="'{}'").replace(
    "FROM lead_import_staging WHERE existing_id IS NULL",
    "FROM lead_import_staging AS s WHERE s.email IS NULL OR NOT EXISTS (SELECT 1 FROM leads "
    "AS l WHERE l.tenant_id = :tenant AND l.email = s.email AND l.deleted_at IS NULL)"))
_UPDATE_PG = _typed(_UPDATE_LEADS.format(
    merge="leads.custom_fields || COALESCE(s.custom_fields, '{}'::jsonb)"))
_UPDATE_SQLITE = _typed(_UPDATE_LEADS.format(
    merge="json_patch(leads.custom_fields, COALESCE(s.custom_fields, '{}'))"))


class SqlLeadImportStaging:
    """One import's staging table, in the unit of work's transaction."""

    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        if tenant_id is None:
            raise RuntimeError("an import needs a unit of work scoped to a tenant")
        self._db = db
        self._tenant_id = tenant_id
        self._postgres = db.dialect == "postgresql"
        # sqlite3's executemany lets go of the GIL for every row and waits to get it back
        # from the validating thread: on a thread of its own it would stage several times
        # slower, so SQLite stages in the caller's thread.
        self.on_own_thread = self._postgres
        self._merge: ImportMerge | None = None
        self._staged = False
        self._given = 0
        self._found = Deduplication(in_file=0, existing=0)
        self._merged = MergeResult(created=0, updated=0)

    def _driver(self) -> Any:
        return self._db.connection.connection.driver_connection

    def stage(self, batches: Iterable[Sequence[ImportRow]], *, merge: ImportMerge | None
              ) -> None:
        self._merge = merge
        if self._postgres:
            self._stage_postgres(batches)
        else:
            self._stage_sqlite(batches)

    def deduplicate(self) -> Deduplication:
        if self._staged and not self._postgres:
            driver = self._driver()
            with translate_errors():
                driver.execute("COMMIT")  # the staging table's rows; nothing of the database
                driver.execute("BEGIN IMMEDIATE")  # the write lock, until the unit of work ends
                kept = int(driver.execute(_KEPT_SQLITE).fetchone()[0])
            plan = self._merge
            in_file = self._given - kept
            if plan is not None and plan.on_duplicate is OnDuplicate.SKIP:
                created = self._db.execute(_INSERT_NEW_SQLITE, {
                    "tenant": self._tenant_id, "at": plan.at,
                    "created_by": plan.created_by}).rowcount
                self._merged = MergeResult(created=created, updated=0)
                self._found = Deduplication(in_file=in_file, existing=kept - created)
            else:
                existing = self._db.execute(_MATCH_SQLITE, {"tenant": self._tenant_id}
                                            ).rowcount
                self._found = Deduplication(in_file=in_file, existing=existing)
            if plan is None:
                self._db.execute(sa.text(_DROP_SQLITE))  # a dry run: nothing more to do
        return self._found

    def merge(self) -> MergeResult:
        if self._merge is None:
            raise RuntimeError("a dry run writes nothing")
        if self._staged and not self._postgres:
            if self._merge.on_duplicate is not OnDuplicate.SKIP:  # else written by deduplicate
                self._merged = self._merge_staged(_UPDATE_SQLITE, _INSERT_SQLITE_LEADS)
            self._db.execute(sa.text(_DROP_SQLITE))
        return self._merged

    def _stage_postgres(self, batches: Iterable[Sequence[ImportRow]]) -> None:
        """Each batch is deduplicated, matched and merged as soon as it is in."""
        in_file = existing = created = updated = 0
        plan = self._merge
        for given in batches:
            rows = _first_of_each_email(given)
            in_file += len(given) - len(rows)
            if self._staged:
                self._db.execute(_TRUNCATE_PG)
            else:
                self._db.execute(_CREATE_PG)
                self._staged = True
            with translate_errors(), self._driver().cursor() as cursor, \
                    cursor.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
            if plan is not None and plan.on_duplicate is OnDuplicate.SKIP:
                counts = self._db.execute(_DEDUPE_AND_INSERT_PG, {
                    "tenant": self._tenant_id, "at": plan.at,
                    "created_by": plan.created_by}).one()._mapping
                repeated, inserted = int(counts["in_file"]), int(counts["created"])
                in_file += repeated
                created += inserted
                existing += len(rows) - repeated - inserted
                continue
            in_file += self._db.execute(_DEDUPE_BATCH_PG).rowcount
            existing += self._db.execute(_MATCH_PG, {"tenant": self._tenant_id}).rowcount
            if plan is not None:
                merged = self._merge_staged(_UPDATE_PG, _INSERT_PG)
                created += merged.created
                updated += merged.updated
        self._found = Deduplication(in_file=in_file, existing=existing)
        self._merged = MergeResult(created=created, updated=updated)

    def _stage_sqlite(self, batches: Iterable[Sequence[ImportRow]]) -> None:
        """Into a temporary table, outside the write lock: the unit of work's transaction
        has only read so far; it ends here and starts again in ``deduplicate``."""
        driver = None
        for rows in batches:
            with translate_errors():
                if driver is None:
                    driver = self._driver()
                    driver.execute("ROLLBACK")
                    driver.execute("BEGIN")  # deferred: a TEMP table locks nothing shared
                    driver.execute(_DROP_SQLITE)
                    driver.execute(_CREATE_SQLITE)
                    self._staged = True
                # The rows as they are: SQLite keeps a UUID as its 32 hex digits
                # (SQLAlchemy's Uuid type), which is how a row carries its ids.
                driver.executemany(_INSERT_SQLITE, rows)
            self._given += len(rows)

    def _merge_staged(self, update: sa.TextClause, insert: sa.TextClause) -> MergeResult:
        plan = self._merge
        assert plan is not None
        params = {"tenant": self._tenant_id, "at": plan.at, "created_by": plan.created_by}
        updated = 0
        if plan.on_duplicate is OnDuplicate.UPDATE:
            updated = self._db.execute(update, params).rowcount
        created = self._db.execute(insert, params).rowcount
        return MergeResult(created=created, updated=updated)


def _first_of_each_email(rows: Sequence[ImportRow]) -> Sequence[ImportRow]:
    """The batch without the rows whose email an earlier row of it had."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        email = row[4]
        if email is not None:
            if email in seen:
                continue
            seen.add(email)
        kept.append(row)
    return kept if len(kept) < len(rows) else rows
