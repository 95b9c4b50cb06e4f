"""SQL caches of the enrichment context: pages of Apollo searches, and the people and
organisations they listed, each kept for the tenant until it expires."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from lad_adapters.sql.outreach import OutreachRepository
from lad_adapters.sql.repository import among
from lad_adapters.sql.tables.enrichment import (
    company_search_cache,
    employees_cache,
    enrichment_search_pages,
)
from lad_domain.enrichment.model import Organization, Person
from lad_domain.enrichment.ports import CachedSearch

T = TypeVar("T")
sp = enrichment_search_pages
#: Rows per executemany: bounded statements and memory whatever the size
#: of an import (10,000 people is ten statements).
CHUNK = 1000


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _row_to_search(row: sa.Row[Any]) -> CachedSearch:
    return CachedSearch(key=row.key, kind=row.kind, filters=dict(row.filters), page=row.page,
                        per_page=row.per_page, total=row.total, ids=tuple(row.result_ids),
                        fetched_at=row.fetched_at, expires_at=row.expires_at)


class SqlSearchCache(OutreachRepository):
    def get(self, key: str, now: datetime) -> CachedSearch | None:
        row = self._one(sa.select(sp).where(sp.c.tenant_id == self.tenant_id, sp.c.key == key,
                                            sp.c.expires_at > now))
        return _row_to_search(row) if row else None

    def put(self, search: CachedSearch) -> None:
        values = {"kind": search.kind, "filters": dict(search.filters), "page": search.page,
                  "per_page": search.per_page, "total": search.total,
                  "result_ids": list(search.ids), "fetched_at": search.fetched_at,
                  "expires_at": search.expires_at, "updated_at": search.fetched_at}
        self._db.execute(self._insert(sp).values(
            tenant_id=self.tenant_id, key=search.key, created_at=search.fetched_at, **values
        ).on_conflict_do_update(index_elements=["tenant_id", "key"], set_=values))


class _RecordCache(OutreachRepository):
    """Records by (tenant, Apollo id), upserted in batches and read unexpired."""

    table: sa.Table
    id_column: str
    data_column: str

    def _get_many(self, apollo_ids: Collection[str], now: datetime,
                  to_item: Callable[[dict[str, Any]], T]) -> dict[str, T]:
        key = self.table.c[self.id_column]
        query = sa.select(key.label("apollo_id"), self.table.c[self.data_column].label("data")
                          ).where(self.table.c.tenant_id == self.tenant_id,
                                  self.table.c.expires_at > now)
        found: dict[str, T] = {}
        for matching in among(key, sorted(set(apollo_ids)), self._db.dialect):
            rows = self._db.execute(query.where(matching)).all()
            found.update((row.apollo_id, to_item(row.data)) for row in rows)
        return found

    def _put_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:  # a search that found nobody keeps its (empty) page, no records
            return
        insert = self._insert(self.table)
        # The first fetch's created_at stays; everything else is the latest fetch's.
        kept = {"tenant_id", self.id_column, "created_at"}
        update = {name: insert.excluded[name] for name in rows[0] if name not in kept}
        statement = insert.on_conflict_do_update(
            index_elements=["tenant_id", self.id_column], set_=update)
        for chunk in _chunks(rows):
            self._db.execute(statement, list(chunk))

    def _row(self, apollo_id: str, data: dict[str, Any], fetched_at: datetime,
             expires_at: datetime, **columns: Any) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, self.id_column: apollo_id, **columns,
                self.data_column: data, "fetched_at": fetched_at, "expires_at": expires_at,
                "created_at": fetched_at, "updated_at": fetched_at}


class SqlPeopleCache(_RecordCache):
    table = employees_cache
    id_column = "apollo_person_id"
    data_column = "employee_data"

    def get_many(self, apollo_ids: Collection[str], now: datetime) -> dict[str, Person]:
        return self._get_many(apollo_ids, now, Person.from_json)

    def put_many(self, people: Sequence[Person], fetched_at: datetime, expires_at: datetime
                 ) -> None:
        # One row per id (the last given wins), as one statement per row would leave it.
        latest = {person.apollo_id: person for person in people}
        self._put_many([self._row(p.apollo_id, p.to_json(), fetched_at, expires_at,
                                  apollo_organization_id=p.organization_id)
                        for p in latest.values()])


def _clipped(text: str | None) -> str | None:
    """The columns a company is looked up by hold 255 characters; the whole record is in
    its document."""
    return text[:255] if text is not None else None


class SqlCompanyCache(_RecordCache):
    table = company_search_cache
    id_column = "apollo_organization_id"
    data_column = "company_data"

    def get_many(self, apollo_ids: Collection[str], now: datetime
                 ) -> dict[str, Organization]:
        return self._get_many(apollo_ids, now, Organization.from_json)

    def put_many(self, organizations: Sequence[Organization], fetched_at: datetime,
                 expires_at: datetime) -> None:
        latest = {organization.apollo_id: organization for organization in organizations}
        self._put_many([self._row(o.apollo_id, o.to_json(), fetched_at, expires_at,
                                  name=_clipped(o.name), domain=_clipped(o.domain))
                        for o in latest.values()])
