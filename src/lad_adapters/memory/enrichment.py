"""In-memory caches of the enrichment context: search pages, people and organisations by
tenant, each read until it expires, as the SQL caches are."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from lad_adapters.memory.store import InMemoryRepository
from lad_domain.enrichment.model import Organization, Person
from lad_domain.enrichment.ports import CachedSearch


class InMemorySearchCache(InMemoryRepository):
    table_name = "enrichment_search_pages"

    def get(self, key: str, now: datetime) -> CachedSearch | None:
        found: CachedSearch | None = self._get((self.tenant_id, key))
        return found if found is not None and found.expires_at > now else None

    def put(self, search: CachedSearch) -> None:
        self._put((self.tenant_id, search.key), search)


class _RecordCache(InMemoryRepository):
    """(record, expires_at) by (tenant, Apollo id). A record is stored as its document
    reads back (as SQL keeps it); records are frozen and hold only text and numbers, so
    they are handed out as they are: no deep copies, which 10,000 people at a time would
    make slow."""

    def _get_many(self, apollo_ids: Collection[str], now: datetime) -> dict[str, Any]:
        found = {}
        for apollo_id in apollo_ids:
            stored = self.rows.get((self.tenant_id, apollo_id))
            if stored is not None and stored[1] > now:
                found[apollo_id] = stored[0]
        return found

    def _put_many(self, records: Sequence[Any], expires_at: datetime) -> None:
        rows = self.rows
        for record in records:
            rows[(self.tenant_id, record.apollo_id)] = (record, expires_at)


class InMemoryPeopleCache(_RecordCache):
    table_name = "employees_cache"

    def get_many(self, apollo_ids: Collection[str], now: datetime) -> dict[str, Person]:
        return self._get_many(apollo_ids, now)

    def put_many(self, people: Sequence[Person], fetched_at: datetime, expires_at: datetime
                 ) -> None:
        self._put_many([Person.from_json(p.to_json()) for p in people], expires_at)


class InMemoryCompanyCache(_RecordCache):
    table_name = "company_search_cache"

    def get_many(self, apollo_ids: Collection[str], now: datetime
                 ) -> dict[str, Organization]:
        return self._get_many(apollo_ids, now)

    def put_many(self, organizations: Sequence[Organization], fetched_at: datetime,
                 expires_at: datetime) -> None:
        self._put_many([Organization.from_json(o.to_json()) for o in organizations],
                       expires_at)
