"""Searching Apollo, enriching leads and importing the people found, every credit accounted
for.

- A search page is served from the cache when the same normalised filters asked for the
  same page before it expired: free, and it says so. Otherwise Apollo is asked and the page
  and the records it listed are kept.
- People search is free. A page of company search costs a credit; a match a credit per
  person found. Before a priced call, what it may cost is held from the wallet (402 before
  the call when the wallet cannot pay); after it, the hold is given back and what it did
  cost posted as a usage event, in one transaction. A failed call bills nothing.
- Apollo is called outside any transaction.
- People become leads through the leads import path (same checks, dedupe by email, same
  report); a person imported before (by Apollo id) is not imported twice, and enriching a
  lead fills its blanks and never overwrites what a user typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from lad_domain.billing.model import UsageItem
from lad_domain.billing.ports import PostingContext
from lad_domain.billing.services.metered import hold_estimate, settle
from lad_domain.enrichment.events import LeadEnriched, PeopleImported
from lad_domain.enrichment.model import (
    CompanyFilters,
    Organization,
    PeopleFilters,
    Person,
    SearchPlan,
    SearchResult,
    page_bounds,
    plan_search,
)
from lad_domain.enrichment.policy import FEATURE, EnrichmentPermission
from lad_domain.enrichment.ports import (
    MATCH_BATCH,
    ApolloConnection,
    ApolloError,
    ApolloErrorKind,
    CachedSearch,
    LeadImporter,
    MatchRequest,
    ProviderPage,
    SearchUnitOfWork,
)
from lad_domain.icp.model import IcpDocument, search_params
from lad_domain.icp.services.profiles import profile_of
from lad_domain.leads.model import InvalidPhoneNumber, Lead, OnDuplicate
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.ports import PhoneNumberParser
from lad_domain.leads.services.importing import ImportReport
from lad_domain.shared.errors import (
    NotFound,
    Unavailable,
    ValidationFailed,
)
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import normalise_email

ACTOR = "system:enrichment"
PROVIDER = "apollo"
DEFAULT_TTL = timedelta(days=7)
DEFAULT_PER_PAGE = 25
#: People one import takes at most.
MAX_IMPORT = 50_000
#: The leads import's columns for a person (custom fields carry the Apollo ids).
PERSON_COLUMNS = ("first_name", "last_name", "email", "phone", "company", "title",
                  "linkedin_url", "location", "source", "custom.apollo_person_id",
                  "custom.apollo_organization_id", "custom.company_domain")
SOURCE = "apollo"
#: The blanks of a lead a match may fill, and the custom fields it may add.
LEAD_FIELDS = ("first_name", "last_name", "email", "phone", "company", "title")
CUSTOM_FIELDS = ("apollo_person_id", "linkedin_url", "location")

T = TypeVar("T")


@attrs.frozen
class EnrichedLead:
    lead: Lead
    filled: tuple[str, ...]
    found: bool
    cached: bool
    cost: Decimal


@attrs.frozen
class PeopleImport:
    """What importing people did: the leads import's report, plus the people already
    leads (by Apollo id), those matched for an email and what that cost."""

    selected: int
    already_leads: int
    matched: int
    cost: Decimal
    report: ImportReport


def apollo_failure(error: ApolloError) -> Exception:
    if error.kind is ApolloErrorKind.REJECTED:
        return ValidationFailed.single("filters", f"Apollo refused the search: "
                                                  f"{error.message}")
    if error.kind is ApolloErrorKind.UNAUTHORIZED:
        return Unavailable("Apollo refused the API key (LAD_APOLLO_API_KEY): "
                           f"{error.message}")
    return Unavailable(f"Apollo is unavailable: {error.message}",
                       retry_after=error.retry_after)


def lookup_items(credits: int) -> tuple[UsageItem, ...]:
    if credits <= 0:
        return ()
    return (UsageItem(category="apollo_lookup", quantity=Decimal(credits), provider=PROVIDER),)


def person_record(person: Person) -> list[str]:
    """A person as a row of the leads import (``PERSON_COLUMNS``)."""
    return [person.first_name or "", person.last_name or "", person.email or "",
            person.phone or "", person.organization_name or "", person.title or "",
            person.linkedin_url or "", person.location or "", SOURCE, person.apollo_id,
            person.organization_id or "", person.organization_domain or ""]


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@attrs.define
class EnrichmentService:
    scope: TenantScope[SearchUnitOfWork]
    apollo: ApolloConnection
    leads: LeadImporter
    phones: PhoneNumberParser
    ttl: timedelta = DEFAULT_TTL

    # --- search -----------------------------------------------------------------------------

    def search_people(self, principal: Principal, filters: object, *, page: object = 1,
                      per_page: object = DEFAULT_PER_PAGE, refresh: bool = False,
                      tenant_id: uuid.UUID | None = None) -> SearchResult[Person]:
        """A page of people (no emails or phones: search is free); cached."""
        wanted = PeopleFilters.parse(filters)
        if wanted.is_empty:
            raise ValidationFailed.single("filters", "give at least one filter: a search "
                                          "of everyone is not what you want")
        number, size = page_bounds(page, per_page)
        return self._people_page(principal, tenant_id, wanted, number, size, refresh)

    def preview(self, principal: Principal, *, profile_id: uuid.UUID | None = None,
                conversation_id: uuid.UUID | None = None, page: object = 1,
                per_page: object = DEFAULT_PER_PAGE, tenant_id: uuid.UUID | None = None
                ) -> tuple[dict[str, Any], SearchResult[Person]]:
        """The people an ICP finds: a saved profile's (its use counted) or a conversation's;
        with the search parameters it was turned into."""
        if (profile_id is None) == (conversation_id is None):
            raise ValidationFailed.single("profile_id", "give a profile_id or a "
                                                        "conversation_id")
        number, size = page_bounds(page, per_page)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
            document = self._icp(uow, profile_id, conversation_id)
            uow.commit()
        params = search_params(document)
        if not params:
            raise ValidationFailed.single("icp", "is empty: tell the assistant who you sell "
                                                 "to first")
        result = self._people_page(principal, tenant_id, PeopleFilters.parse(params), number,
                                   size, False)
        return params, result

    def _icp(self, uow: SearchUnitOfWork, profile_id: uuid.UUID | None,
             conversation_id: uuid.UUID | None) -> IcpDocument:
        if profile_id is not None:
            profile = profile_of(uow, profile_id, lock=True)
            profile.used(self.scope.clock.now())
            uow.icp_profiles.update(profile)
            return profile.icp
        assert conversation_id is not None
        conversation = uow.conversations.get(conversation_id)
        if conversation is None:
            raise NotFound("conversation not found")
        return conversation.icp

    def plan(self, principal: Principal, filters: object, *,
             tenant_id: uuid.UUID | None = None) -> SearchPlan:
        """A search past Apollo's 50,000-record ceiling, split into narrower searches that
        each stay under it (asking only for counts: free)."""
        wanted = PeopleFilters.parse(filters)
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
        apollo = self.apollo.get()
        return plan_search(wanted, lambda f: self._call(
            lambda: apollo.search_people(f, 1, 1)).total)

    def _people_page(self, principal: Principal, tenant_id: uuid.UUID | None,
                     filters: PeopleFilters, page: int, per_page: int, refresh: bool
                     ) -> SearchResult[Person]:
        key = filters.key(page, per_page)
        now = self.scope.clock.now()
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
            if not refresh:
                hit = _cached(uow.search_cache.get(key, now),
                              lambda ids: uow.people_cache.get_many(ids, now))
                if hit is not None:
                    search, people = hit
                    return _result(search, people, cached=True, cost=Decimal(0))
        apollo = self.apollo.get()
        found = self._call(lambda: apollo.search_people(filters, page, per_page))
        with self.scope.open(principal, tenant_id) as uow:
            search = self._keep(uow, key, "people", filters.to_params(), found)
            # A search gives no emails or phones: what a paid match found for these
            # people stays, so a later enrichment finds it and is not billed again.
            known = uow.people_cache.get_many([p.apollo_id for p in found.items], now)
            uow.people_cache.put_many(
                [p.merged(known[p.apollo_id]) if p.apollo_id in known else p
                 for p in found.items], search.fetched_at, search.expires_at)
            uow.commit()
        return _result(search, found.items, cached=False, cost=Decimal(0))

    def search_companies(self, principal: Principal, filters: object, *, page: object = 1,
                         per_page: object = DEFAULT_PER_PAGE, refresh: bool = False,
                         tenant_id: uuid.UUID | None = None) -> SearchResult[Organization]:
        """A page of organisations: a credit per page fetched, nothing for a cached one."""
        wanted = CompanyFilters.parse(filters)
        if wanted.is_empty:
            raise ValidationFailed.single("filters", "give at least one filter")
        number, size = page_bounds(page, per_page)
        key = wanted.key(number, size)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
            if not refresh:
                hit = _cached(uow.search_cache.get(key, now),
                              lambda ids: uow.company_cache.get_many(ids, now))
                if hit is not None:
                    search, organizations = hit
                    return _result(search, organizations, cached=True, cost=Decimal(0))
            # Apollo not configured is a 503 before anything is held.
            apollo = self.apollo.get()
            context = self._context(principal, now)
            # One key per call to Apollo, for its hold and its usage event: every page
            # fetched is a credit, two fetches in the same instant included.
            call = f"apollo-companies:{self.scope.ids.new_id()}"
            hold = hold_estimate(uow, context, feature=FEATURE, items=lookup_items(1),
                                 client_key=call)
            uow.commit()
        try:
            found = self._call(lambda: apollo.search_organizations(wanted, number, size))
        except BaseException:
            self._settle(principal, tenant_id, hold, 0, "")
            raise
        with self.scope.open(principal, tenant_id) as uow:
            search = self._keep(uow, key, "companies", wanted.to_params(), found)
            uow.company_cache.put_many(found.items, search.fetched_at, search.expires_at)
            event = settle(uow, self._context(principal, self.scope.clock.now()), hold,
                           feature=FEATURE, items=lookup_items(1),
                           key=call,
                           payload={"search": key, "page": number})
            uow.commit()
        cost = event.total_cost if event is not None else Decimal(0)
        return _result(search, found.items, cached=False, cost=cost)

    # --- enrichment ---------------------------------------------------------------------------

    def enrich_lead(self, principal: Principal, lead_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None) -> EnrichedLead:
        """Fill a lead's blanks from Apollo (a credit when Apollo finds the person; nothing
        when the cache already has their email or phone)."""
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = _live_lead(uow, lead_id)
            apollo_id = _custom(lead, "apollo_person_id")
            known = uow.people_cache.get_many([apollo_id], now) if apollo_id else {}
            cached = known.get(apollo_id) if apollo_id else None
            if cached is not None and (cached.email or cached.phone):
                from_cache = self._fill(uow, lead, cached, now)
                if from_cache:
                    uow.leads.update(lead)
                    self.scope.record(uow, LeadEnriched(aggregate_id=lead.id,
                                                        fields=from_cache,
                                                        apollo_id=cached.apollo_id))
                uow.commit()
                return EnrichedLead(lead, from_cache, True, True, Decimal(0))
            apollo = self.apollo.get()  # not configured: a 503 before anything is held
            call = f"apollo-match:{self.scope.ids.new_id()}"
            hold = hold_estimate(uow, self._context(principal, now), feature=FEATURE,
                                 items=lookup_items(1), client_key=call)
            uow.commit()
        request = MatchRequest(apollo_id=apollo_id, first_name=lead.first_name,
                               last_name=lead.last_name, email=lead.email,
                               organization_name=lead.company,
                               linkedin_url=_custom(lead, "linkedin_url"))
        try:
            (match,) = self._call(lambda: apollo.match_people([request]))
        except BaseException:
            self._settle(principal, tenant_id, hold, 0, "")
            raise
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            event = settle(uow, self._context(principal, now), hold, feature=FEATURE,
                           items=lookup_items(1 if match else 0),
                           key=call,
                           payload={"lead": str(lead.id)})
            current = uow.leads.get(lead_id)
            if current is None or not current.is_live:
                # Deleted while Apollo answered: the credit was spent, so it is billed and
                # the person kept; the lead is not brought back.
                if match is not None:
                    uow.people_cache.put_many([match], now, now + self.ttl)
                uow.commit()
                raise NotFound("lead not found (it was deleted during the enrichment; the "
                               "match was billed and kept in the cache)")
            lead = current
            filled: tuple[str, ...] = ()
            if match is not None:
                person = cached.merged(match) if cached is not None else match
                uow.people_cache.put_many([person], now, now + self.ttl)
                filled = self._fill(uow, lead, person, now)
                if filled:
                    uow.leads.update(lead)
                    self.scope.record(uow, LeadEnriched(aggregate_id=lead.id, fields=filled,
                                                        apollo_id=person.apollo_id))
            uow.commit()
        cost = event.total_cost if event is not None else Decimal(0)
        return EnrichedLead(lead, filled, match is not None, False, cost)

    # --- people to leads ----------------------------------------------------------------------

    def import_people(self, principal: Principal, person_ids: object, *,
                      enrich: bool = False,
                      on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
                      dry_run: bool = False, tenant_id: uuid.UUID | None = None
                      ) -> PeopleImport:
        """Make leads of people a search found (by their Apollo ids). ``enrich``: match the
        people without an email first (a credit per person found)."""
        ids = _person_ids(person_ids)
        now = self.scope.clock.now()
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EnrichmentPermission.SEARCH)
            self.scope.require(uow, principal, LeadPermission.IMPORT)
            people = uow.people_cache.get_many(ids, now)
            missing = [i for i in ids if i not in people]
            if missing:
                raise ValidationFailed.single(
                    "person_ids", f"{len(missing):,} of them are not in a recent search "
                    f"result (e.g. {missing[0]!r}): search again, then import")
            existing = uow.leads.find_by_custom_field("apollo_person_id", ids)
        chosen = [people[i] for i in ids if i not in existing]
        matched, cost = 0, Decimal(0)
        if enrich and not dry_run:
            chosen, matched, cost = self._match_all(principal, tenant_id, chosen)
        report = self.leads.import_records(
            principal, PERSON_COLUMNS, (person_record(p) for p in chosen),
            on_duplicate=on_duplicate, dry_run=dry_run, tenant_id=tenant_id)
        if not dry_run:
            with self.scope.open(principal, tenant_id) as uow:
                self.scope.record(uow, PeopleImported(
                    aggregate_id=tenant_of(uow), selected=len(ids), created=report.created,
                    updated=report.updated, skipped=report.skipped,
                    already_leads=len(existing)))
                uow.commit()
        return PeopleImport(selected=len(ids), already_leads=len(existing), matched=matched,
                            cost=cost, report=report)

    def _match_all(self, principal: Principal, tenant_id: uuid.UUID | None,
                   people: list[Person]) -> tuple[list[Person], int, Decimal]:
        """Match the people without an email, ten at a time; bill the ones found. A failure
        bills what was found before it, keeps it, and ends the import."""
        wanting = [p for p in people if not p.email]
        if not wanting:
            return people, 0, Decimal(0)
        now = self.scope.clock.now()
        apollo = self.apollo.get()  # not configured: a 503 before anything is held
        with self.scope.open(principal, tenant_id) as uow:
            context = self._context(principal, now)
            call = f"apollo-match:{self.scope.ids.new_id()}"
            hold = hold_estimate(uow, context, feature=FEATURE,
                                 items=lookup_items(len(wanting)), client_key=call)
            uow.commit()
        found: dict[str, Person] = {}
        failure: BaseException | None = None
        try:
            for batch in _chunks(wanting, MATCH_BATCH):
                requests = [MatchRequest(apollo_id=p.apollo_id) for p in batch]
                try:
                    answers = apollo.match_people(requests)
                except ApolloError as error:
                    raise apollo_failure(error) from None
                for person, answer in zip(batch, answers, strict=True):
                    if answer is not None:
                        found[person.apollo_id] = person.merged(answer)
        except BaseException as error:
            failure = error
        cost = self._settle(principal, tenant_id, hold, len(found),
                            call, list(found.values()))
        if failure is not None:
            raise failure
        return [found.get(p.apollo_id, p) for p in people], len(found), cost

    # --- shared -------------------------------------------------------------------------------

    def _fill(self, uow: SearchUnitOfWork, lead: Lead, person: Person, at: datetime
              ) -> tuple[str, ...]:
        """Fill the lead's blanks from the person; what a user typed stays. An email another
        lead has, or a number that does not parse, is left out. The fields filled."""
        values = {"first_name": person.first_name, "last_name": person.last_name,
                  "email": self._email(uow, lead, person.email),
                  "phone": self._phone(person.phone), "company": person.organization_name,
                  "title": person.title}
        filled = []
        for name in LEAD_FIELDS:
            if getattr(lead, name) is None and values[name] is not None:
                setattr(lead, name, values[name])
                filled.append(name)
        extra = {"apollo_person_id": person.apollo_id, "linkedin_url": person.linkedin_url,
                 "location": person.location}
        custom = dict(lead.custom_fields)
        for key in CUSTOM_FIELDS:
            if key not in custom and extra[key]:
                custom[key] = extra[key]
                filled.append(key)
        if filled:
            lead.custom_fields = custom
            lead.updated_at = at
        return tuple(filled)

    @staticmethod
    def _email(uow: SearchUnitOfWork, lead: Lead, email: str | None) -> str | None:
        if email is None:
            return None
        try:
            clean = normalise_email(email)
        except ValidationFailed:
            return None
        other = uow.leads.find_live_by_email(clean)
        return clean if other is None or other.id == lead.id else None

    def _phone(self, phone: str | None) -> str | None:
        if phone is None:
            return None
        try:
            return self.phones.to_e164(phone, region=None)
        except InvalidPhoneNumber:
            return None

    def _settle(self, principal: Principal, tenant_id: uuid.UUID | None,
                hold: uuid.UUID | None, credits: int, key: str,
                people: Sequence[Person] = ()) -> Decimal:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            if people:
                uow.people_cache.put_many(people, now, now + self.ttl)
            event = settle(uow, self._context(principal, now), hold, feature=FEATURE,
                           items=lookup_items(credits), key=key,
                           payload={"credits": credits, "hold": str(hold)})
            uow.commit()
        return event.total_cost if event is not None else Decimal(0)

    def _keep(self, uow: SearchUnitOfWork, key: str, kind: str, filters: dict[str, Any],
              found: ProviderPage[Any]) -> CachedSearch:
        now = self.scope.clock.now()
        search = CachedSearch(key=key, kind=kind, filters=filters, page=found.page,
                              per_page=found.per_page, total=found.total,
                              ids=tuple(item.apollo_id for item in found.items),
                              fetched_at=now, expires_at=now + self.ttl)
        uow.search_cache.put(search)
        return search

    def _context(self, principal: Principal, now: datetime) -> PostingContext:
        return PostingContext(actor=ACTOR, now=now, ids=self.scope.ids,
                              user_id=principal.user_id)

    @staticmethod
    def _call(call: Callable[[], T]) -> T:
        try:
            return call()
        except ApolloError as error:
            raise apollo_failure(error) from None


def _cached(search: CachedSearch | None, records: Callable[[Sequence[str]], Mapping[str, T]]
            ) -> tuple[CachedSearch, tuple[T, ...]] | None:
    """A cached page whose every record is still cached, in the page's order."""
    if search is None:
        return None
    found = records(search.ids)
    if any(i not in found for i in search.ids):
        return None
    return search, tuple(found[i] for i in search.ids)


def _result(search: CachedSearch, items: Sequence[T], *, cached: bool, cost: Decimal
            ) -> SearchResult[T]:
    return SearchResult(items=tuple(items), page=search.page, per_page=search.per_page,
                        total=search.total, cached=cached, cost=cost,
                        fetched_at=search.fetched_at, key=search.key)


def _person_ids(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValidationFailed.single("person_ids", "must be a non-empty list of Apollo ids")
    if len(value) > MAX_IMPORT:
        raise ValidationFailed.single("person_ids", f"must have at most {MAX_IMPORT:,} ids")
    ids: dict[str, None] = {}
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > 64:
            raise ValidationFailed.single(f"person_ids[{i}]", "must be an Apollo id")
        ids[item.strip()] = None
    return list(ids)


def _live_lead(uow: SearchUnitOfWork, lead_id: uuid.UUID) -> Lead:
    lead = uow.leads.get(lead_id)
    if lead is None or not lead.is_live:
        raise NotFound("lead not found")
    return lead


def _custom(lead: Lead, key: str) -> str | None:
    value = lead.custom_fields.get(key)
    return value if isinstance(value, str) and value else None
