"""SQL repositories of the leads context: the pipeline, leads and their stage history;
explicit row <-> object mapping."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Generic

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from lad_adapters.sql.pagination import page_of, paginate
from lad_adapters.sql.repository import SqlRepository, among
from lad_adapters.sql.tables.leads import lead_stage_history, lead_stages, lead_statuses, leads
from lad_domain.leads.model import Lead, LeadFilter, Stage, StageChange, Status
from lad_domain.leads.ports import Entry
from lad_domain.shared.pagination import Cursor, Page, PageRequest


class _Keyed(SqlRepository, Generic[Entry]):
    """The pipeline's stages or statuses: (tenant_id, key) rows."""

    table: sa.Table
    entry: type[Entry]

    def _where(self, key: str | None = None) -> list[sa.ColumnElement[bool]]:
        where = [self.table.c.tenant_id == self.tenant_id]
        return where if key is None else [*where, self.table.c.key == key]

    def list(self) -> Sequence[Entry]:
        rows = self._db.execute(sa.select(self.table).where(*self._where()).order_by(
            self.table.c.display_order, self.table.c.key)).all()
        return [self.entry(key=m["key"], label=m["label"], display_order=m["display_order"],
                           created_at=m["created_at"], updated_at=m["updated_at"])
                for m in (row._mapping for row in rows)]

    def add(self, entry: Entry) -> None:
        self._db.execute(self.table.insert().values(
            tenant_id=self.tenant_id, key=entry.key, label=entry.label,
            display_order=entry.display_order, created_at=entry.created_at,
            updated_at=entry.updated_at))

    def update(self, entry: Entry) -> None:
        self._db.execute(self.table.update().where(*self._where(entry.key)).values(
            label=entry.label, display_order=entry.display_order, updated_at=entry.updated_at))

    def remove(self, key: str) -> None:
        self._db.execute(self.table.delete().where(*self._where(key)))


class SqlStageRepository(_Keyed[Stage]):
    table = lead_stages
    entry = Stage


class SqlStatusRepository(_Keyed[Status]):
    table = lead_statuses
    entry = Status


#: The columns of ``select(leads)``, in order: ``row_to_lead`` reads a row by position (fifty
#: of them make a page).
_COLUMNS = ("tenant_id", "id", "first_name", "last_name", "email", "phone_e164", "company",
            "title", "stage", "status", "owner_user_id", "source", "custom_fields",
            "created_by", "created_at", "updated_at", "deleted_at")
if tuple(leads.c.keys()) != _COLUMNS:
    raise RuntimeError("the leads table's columns changed: update row_to_lead")


def row_to_lead(row: Sequence[Any]) -> Lead:
    """A row of ``select(leads)``."""
    (tenant_id, id, first_name, last_name, email, phone, company, title, stage, status,
     owner_id, source, custom_fields, created_by, created_at, updated_at, deleted_at) = row
    return Lead(id=id, tenant_id=tenant_id, stage=stage, status=status,
                created_at=created_at, updated_at=updated_at, first_name=first_name,
                last_name=last_name, email=email, phone=phone, company=company, title=title,
                owner_id=owner_id, source=source, custom_fields=dict(custom_fields or {}),
                created_by=created_by, deleted_at=deleted_at)


#: One lead by its id in the scope's tenant: built once.
_LEAD = sa.select(leads).where(leads.c.tenant_id == sa.bindparam("tenant_id"),
                               leads.c.id == sa.bindparam("lead_id"))


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def driver_row_to_lead(row: Sequence[Any]) -> Lead:
    """A row of ``select(leads)`` as psycopg reads it (UUIDs, a dict for the JSONB column,
    datetimes in the session's time zone): the same lead ``row_to_lead`` makes of the row
    SQLAlchemy reads, the datetimes in UTC as ``UtcDateTime`` reads them."""
    *fields, created_at, updated_at, deleted_at = row
    return row_to_lead((*fields, created_at.astimezone(UTC), updated_at.astimezone(UTC),
                        _utc(deleted_at)))


def _position(row: Sequence[Any]) -> Cursor:
    """Where a page of leads that ends at this row stops."""
    lead = driver_row_to_lead(row)
    return Cursor(created_at=lead.created_at, id=lead.id)


#: The filters of a page of leads, in the order of a list's shape: which are given (their
#: values are bound), each a condition on a named parameter.
_FILTERS: tuple[tuple[str, Callable[[], sa.ColumnElement[bool]]], ...] = (
    ("stage", lambda: leads.c.stage == sa.bindparam("stage")),
    ("status", lambda: leads.c.status == sa.bindparam("status")),
    ("owner_id", lambda: leads.c.owner_user_id == sa.bindparam("owner_id")),
    ("created_from", lambda: leads.c.created_at >= sa.bindparam("created_from")),
    ("created_to", lambda: leads.c.created_at < sa.bindparam("created_to")),
    ("text", lambda: sa.or_(*(c.ilike(sa.bindparam("text"), escape="\\") for c in (
        leads.c.first_name, leads.c.last_name, leads.c.email, leads.c.company)))),
)


class _PageQuery:
    """A page of live leads of one shape (the filters given, whether it starts after a
    cursor), compiled once for the driver: newest first, one row more than the page."""

    def __init__(self, shape: tuple[bool, ...], after: bool, dialect: Dialect) -> None:
        where = [leads.c.tenant_id == sa.bindparam("tenant_id"), leads.c.deleted_at.is_(None),
                 *(condition() for (_, condition), given in zip(_FILTERS, shape, strict=True)
                   if given)]
        self.conditions = str(sa.and_(*where).compile(dialect=dialect))
        if after:
            where.append(sa.tuple_(leads.c.created_at, leads.c.id)
                         < sa.tuple_(sa.bindparam("after_at", type_=leads.c.created_at.type),
                                     sa.bindparam("after_id", type_=leads.c.id.type)))
        query = (sa.select(leads).where(*where)
                 .order_by(leads.c.created_at.desc(), leads.c.id.desc())
                 .limit(sa.bindparam("limit", type_=sa.Integer)))
        self.sql = str(query.compile(dialect=dialect))


_PAGES: dict[tuple[tuple[bool, ...], bool], _PageQuery] = {}
_LEAD_SQL: dict[str, str] = {}


def _lead_values(lead: Lead) -> dict[str, Any]:
    return {"first_name": lead.first_name, "last_name": lead.last_name, "email": lead.email,
            "phone_e164": lead.phone, "company": lead.company, "title": lead.title,
            "stage": lead.stage, "status": lead.status, "owner_user_id": lead.owner_id,
            "source": lead.source, "custom_fields": lead.custom_fields,
            "updated_at": lead.updated_at, "deleted_at": lead.deleted_at}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlLeadRepository(SqlRepository):
    def _mine(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [leads.c.tenant_id == self.tenant_id, *where]

    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return self._mine(leads.c.deleted_at.is_(None), *where)

    def add(self, lead: Lead) -> None:
        self._db.execute(leads.insert().values(
            tenant_id=self.tenant_id, id=lead.id, created_by=lead.created_by,
            created_at=lead.created_at, **_lead_values(lead)))

    def get(self, lead_id: uuid.UUID) -> Lead | None:
        params = {"tenant_id": self.tenant_id, "lead_id": lead_id}
        if self._db.driver_reads:
            dialect = self._db.connection.dialect
            sql = _LEAD_SQL.get(dialect.name) or _LEAD_SQL.setdefault(
                dialect.name, str(_LEAD.compile(dialect=dialect)))
            rows = self._db.driver_rows(sql, params)
            return driver_row_to_lead(rows[0]) if rows else None
        row = self._db.execute(_LEAD, params).first()
        return row_to_lead(row) if row else None

    def update(self, lead: Lead) -> None:
        self._db.execute(leads.update().where(*self._mine(leads.c.id == lead.id))
                         .values(_lead_values(lead)))

    def find_live_by_email(self, email: str) -> Lead | None:
        # Emails are stored lower-cased (a CHECK constraint), so the plain unique index serves.
        row = self._one(sa.select(leads).where(*self._live(leads.c.email == email.lower())))
        return row_to_lead(row) if row else None

    def find_by_custom_field(self, key: str, values: Collection[str]
                             ) -> dict[str, uuid.UUID]:
        field = leads.c.custom_fields[key]
        value = field.as_string().label("value")
        # The value is read as text (a number too): only a JSON string matches.
        where = self._live(sa.func.jsonb_typeof(field) == "string"
                           if self._db.dialect == "postgresql"
                           else sa.func.json_type(field) == "text")
        found: dict[str, uuid.UUID] = {}
        for matching in among(value, sorted(set(values)), self._db.dialect):
            rows = self._db.execute(sa.select(value, leads.c.id).where(*where, matching)
                                    .order_by(leads.c.created_at, leads.c.id)).all()
            for row in rows:
                found.setdefault(row.value, row.id)
        return found

    def _filtered(self, f: LeadFilter) -> list[sa.ColumnElement[bool]]:
        where = self._live()
        if f.stage is not None:
            where.append(leads.c.stage == f.stage)
        if f.status is not None:
            where.append(leads.c.status == f.status)
        if f.owner_id is not None:
            where.append(leads.c.owner_user_id == f.owner_id)
        if f.created_from is not None:
            where.append(leads.c.created_at >= f.created_from)
        if f.created_to is not None:
            where.append(leads.c.created_at < f.created_to)
        if f.text:
            pattern = _like(f.text)
            where.append(sa.or_(*(c.ilike(pattern, escape="\\") for c in (
                leads.c.first_name, leads.c.last_name, leads.c.email, leads.c.company))))
        return where

    def list(self, filter: LeadFilter, page: PageRequest) -> Page[Lead]:
        if self._db.driver_reads:
            return self._driver_page(filter, page)
        return paginate(self._db, sa.select(leads).where(*self._filtered(filter)),
                        created_at=leads.c.created_at, id_column=leads.c.id, page=page,
                        to_item=row_to_lead)

    def _driver_page(self, filter: LeadFilter, page: PageRequest) -> Page[Lead]:
        """``list`` through the driver: the page's statement compiled once per shape."""
        values = {name: getattr(filter, name) for name, _ in _FILTERS}
        if values["text"] is not None:
            values["text"] = _like(values["text"]) if values["text"] else None
        shape = tuple(value is not None for value in values.values())
        given = {name: value for name, value in values.items() if value is not None}
        first = _PAGES.get((shape, False))
        if first is None:
            first = _PAGES[(shape, False)] = _PageQuery(shape, False, self._db.connection.dialect)
        # The list a cursor belongs to: the table, its conditions and their values.
        kind = f"leads\0{first.conditions}\0{sorted((n, str(v)) for n, v in given.items())!r}"
        after = self._db.cursors.after(kind, page)
        query = first
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "limit": page.limit + 1, **given}
        if after is not None:
            query = _PAGES.get((shape, True)) or _PAGES.setdefault(
                (shape, True), _PageQuery(shape, True, self._db.connection.dialect))
            params["after_at"], params["after_id"] = after.created_at, after.id
        return page_of(self._db, kind, page, self._db.driver_rows(query.sql, params),
                       driver_row_to_lead, _position)

    def count_live(self, *, stage: str | None = None, status: str | None = None) -> int:
        where = self._live()
        if stage is not None:
            where.append(leads.c.stage == stage)
        if status is not None:
            where.append(leads.c.status == status)
        return int(self._db.execute(sa.select(sa.func.count()).select_from(leads)
                                    .where(*where)).scalar_one())

    def ids_in_stage(self, stage: str) -> Sequence[uuid.UUID]:
        rows = self._db.execute(sa.select(leads.c.id).where(*self._live(leads.c.stage == stage)))
        return [row.id for row in rows]

    def move_stage(self, from_stage: str, to_stage: str, at: datetime) -> int:
        return self._db.execute(leads.update().where(*self._mine(leads.c.stage == from_stage))
                                .values(stage=to_stage, updated_at=at)).rowcount

    def move_status(self, from_status: str, to_status: str, at: datetime) -> int:
        return self._db.execute(leads.update().where(*self._mine(leads.c.status == from_status))
                                .values(status=to_status, updated_at=at)).rowcount


class SqlStageHistoryRepository(SqlRepository):
    def add_many(self, changes: Sequence[StageChange]) -> None:
        if changes:
            self._db.execute(lead_stage_history.insert(), [
                {"tenant_id": self.tenant_id, "id": c.id, "lead_id": c.lead_id,
                 "from_stage": c.from_stage, "to_stage": c.to_stage,
                 "changed_by": c.changed_by, "created_at": c.changed_at} for c in changes])

    def list_for(self, lead_id: uuid.UUID) -> Sequence[StageChange]:
        h = lead_stage_history
        rows = self._db.execute(sa.select(h).where(h.c.tenant_id == self.tenant_id,
                                                   h.c.lead_id == lead_id)
                                .order_by(h.c.created_at, h.c.id))
        return [StageChange(id=r.id, lead_id=r.lead_id, from_stage=r.from_stage,
                            to_stage=r.to_stage, changed_at=r.created_at,
                            changed_by=r.changed_by) for r in rows]
