"""Enrichment's ports: Apollo (people and company search, people match) and the caches
that keep what it returned: search pages by the hash of their filters, people and
organisations by their Apollo id, each until it expires."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from lad_domain.billing.ports import BillingUnitOfWork
from lad_domain.enrichment.model import CompanyFilters, Organization, PeopleFilters, Person
from lad_domain.icp.ports import IcpUnitOfWork
from lad_domain.leads.model import OnDuplicate
from lad_domain.leads.ports import LeadsUnitOfWork
from lad_domain.leads.services.importing import ImportReport, Progress
from lad_domain.shared.principal import Principal

T = TypeVar("T")

#: Apollo's people match takes at most this many people per call.
MATCH_BATCH = 10


@attrs.frozen
class ProviderPage(Generic[T]):
    items: tuple[T, ...]
    page: int
    per_page: int
    total: int


@attrs.frozen
class MatchRequest:
    """What we know of a person, for Apollo to find them by."""

    apollo_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    organization_name: str | None = None
    domain: str | None = None
    linkedin_url: str | None = None


class ApolloErrorKind(enum.StrEnum):
    THROTTLED = "throttled"  # 429 after the retries; retry_after says when
    REJECTED = "rejected"  # 4xx: the request is wrong (the message says why)
    UNAUTHORIZED = "unauthorized"  # 401/403: the key is wrong or lacks the plan
    UNAVAILABLE = "unavailable"  # 5xx, refused connection, timeout


class ApolloError(Exception):
    def __init__(self, kind: ApolloErrorKind, message: str, *,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class Apollo(Protocol):
    """Apollo's API. People search is free and gives no emails or phones; a page of
    organization search costs a credit; a match costs a credit per person found. Raises
    ApolloError."""

    def search_people(self, filters: PeopleFilters, page: int, per_page: int
                      ) -> ProviderPage[Person]: ...

    def search_organizations(self, filters: CompanyFilters, page: int, per_page: int
                             ) -> ProviderPage[Organization]: ...

    def match_people(self, requests: Sequence[MatchRequest]) -> Sequence[Person | None]:
        """At most MATCH_BATCH; one answer per request, in order (None: not found)."""
        ...


class ApolloConnection(Protocol):
    """The configured Apollo, or Unavailable naming the setting that is missing."""

    def get(self) -> Apollo: ...


@attrs.frozen
class CachedSearch:
    """One page of one search as it was fetched: the ids it listed, in order."""

    key: str
    kind: str  # people | companies
    filters: dict[str, Any]
    page: int
    per_page: int
    total: int
    ids: tuple[str, ...]
    fetched_at: datetime
    expires_at: datetime


class SearchCache(Protocol):
    def get(self, key: str, now: datetime) -> CachedSearch | None:
        """The page, unless it has expired."""
        ...
    def put(self, search: CachedSearch) -> None:
        """Insert or replace."""
        ...


class PeopleCache(Protocol):
    def get_many(self, apollo_ids: Collection[str], now: datetime) -> dict[str, Person]:
        """The unexpired people among these ids."""
        ...
    def put_many(self, people: Sequence[Person], fetched_at: datetime, expires_at: datetime
                 ) -> None:
        """Insert or replace."""
        ...


class CompanyCache(Protocol):
    def get_many(self, apollo_ids: Collection[str], now: datetime
                 ) -> dict[str, Organization]: ...
    def put_many(self, organizations: Sequence[Organization], fetched_at: datetime,
                 expires_at: datetime) -> None: ...


@runtime_checkable
class EnrichmentUnitOfWork(LeadsUnitOfWork, BillingUnitOfWork, Protocol):
    search_cache: SearchCache
    people_cache: PeopleCache
    company_cache: CompanyCache


class SearchUnitOfWork(EnrichmentUnitOfWork, IcpUnitOfWork, Protocol):
    """Enrichment's unit of work with the ICP profiles a search may start from."""



class LeadImporter(Protocol):
    """The leads import path, for rows already split into cells (the same checks, the same
    dedupe by email, the same report as a CSV file)."""

    def import_records(self, principal: Principal, header: Sequence[str],
                       records: Iterable[Sequence[str]], *,
                       on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
                       dry_run: bool = False, region: str | None = None,
                       progress: Progress | None = None,
                       tenant_id: uuid.UUID | None = None) -> ImportReport: ...
