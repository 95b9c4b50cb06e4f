"""Enrichment's model: people and company search filters in Apollo's vocabulary (normalised,
so one search has one cache key), the people and organisations found, and the plan that
splits a search past Apollo's 50,000-record ceiling into narrower ones."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs

from lad_domain.icp.model import SENIORITIES, HeadcountRange
from lad_domain.shared.errors import FieldError, ValidationFailed

#: Apollo returns at most this many records of one search (100 per page, 500 pages).
MAX_RECORDS = 50_000
MAX_PER_PAGE = 100
MAX_PAGE = 500
#: Company-size buckets a search without sizes is split into (Apollo's own facets).
SIZE_BUCKETS = ((1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000),
                (5001, 10_000), (10_001, 10_000_000))
MAX_FILTER_ITEMS = 100
MAX_TEXT = 200
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

T = TypeVar("T")


def _texts(value: object, field: str, *, lower: bool = True) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed.single(field, "must be a list of strings")
    if len(value) > MAX_FILTER_ITEMS:
        raise ValidationFailed.single(field, f"must have at most {MAX_FILTER_ITEMS} items")
    out = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationFailed.single(f"{field}[{i}]", "must be a non-empty string")
        text = " ".join(item.split())
        if len(text) > MAX_TEXT or any(ord(c) < 32 for c in text):
            raise ValidationFailed.single(f"{field}[{i}]", f"must be at most {MAX_TEXT} "
                                          "printable characters")
        out.add(text.lower() if lower else text)
    return tuple(sorted(out))


def _ranges(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed.single(field, 'must be a list of "min,max" strings')
    ranges = sorted({HeadcountRange.parse(v, field=f"{field}[{i}]")
                     for i, v in enumerate(value)})
    return tuple(r.apollo() for r in ranges)


def _domains(value: object, field: str) -> tuple[str, ...]:
    domains = _texts(value, field)
    for i, domain in enumerate(domains):
        bare = domain.removeprefix("https://").removeprefix("http://").removeprefix("www.")
        if not _DOMAIN.match(bare.rstrip("/")):
            raise ValidationFailed.single(f"{field}[{i}]", f"{domain!r} is not a domain, "
                                                           "e.g. example.com")
    return tuple(sorted({d.removeprefix("https://").removeprefix("http://")
                         .removeprefix("www.").rstrip("/") for d in domains}))


def _keywords(value: object, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationFailed.single(field, "must be a string")
    text = " ".join(value.split())
    if len(text) > 500 or any(ord(c) < 32 for c in text):
        raise ValidationFailed.single(field, "must be at most 500 printable characters")
    return text.lower() or None


def _unknown(params: Mapping[str, object], known: Sequence[str], field: str
             ) -> list[FieldError]:
    extra = sorted(set(params) - set(known))
    if not extra:
        return []
    return [FieldError(f"{field}.{extra[0]}", "is not a search filter; known: "
                       + ", ".join(known))]


def _checked(params: object, known: Sequence[str], field: str,
             build: Callable[[Mapping[str, object]], T]) -> T:
    if not isinstance(params, Mapping):
        raise ValidationFailed.single(field, "must be an object")
    errors = _unknown(params, known, field)
    if errors:
        raise ValidationFailed(errors)
    return build(params)


def cache_key(kind: str, filters: Mapping[str, Any], page: int, per_page: int) -> str:
    """The cache key of one page of one search: a hash of the normalised filters."""
    canonical = json.dumps({"kind": kind, "filters": filters, "page": page,
                            "per_page": per_page}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def page_bounds(page: object, per_page: object) -> tuple[int, int]:
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise ValidationFailed.single("page", f"must be between 1 and {MAX_PAGE}")
    if (isinstance(per_page, bool) or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_PER_PAGE):
        raise ValidationFailed.single("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    if page * per_page > MAX_RECORDS:
        raise ValidationFailed.single("page", f"reaches past Apollo's {MAX_RECORDS:,}-record "
                                      "ceiling: narrow the search (or plan it split)")
    return page, per_page


PEOPLE_FILTERS = ("person_titles", "include_similar_titles", "person_seniorities",
                  "person_locations", "organization_locations",
                  "organization_num_employees_ranges", "q_keywords",
                  "q_organization_domains_list")


@attrs.frozen
class PeopleFilters:
    """A people search, normalised (lower case, sorted, no duplicates)."""

    person_titles: tuple[str, ...] = ()
    include_similar_titles: bool = True
    person_seniorities: tuple[str, ...] = ()
    person_locations: tuple[str, ...] = ()
    organization_locations: tuple[str, ...] = ()
    organization_num_employees_ranges: tuple[str, ...] = ()
    q_keywords: str | None = None
    q_organization_domains_list: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: object, *, field: str = "filters") -> PeopleFilters:
        def build(p: Mapping[str, object]) -> PeopleFilters:
            seniorities = _texts(p.get("person_seniorities"), f"{field}.person_seniorities")
            bad = [s for s in seniorities if s not in SENIORITIES]
            if bad:
                raise ValidationFailed.single(f"{field}.person_seniorities",
                                              f"{bad[0]!r} is not a seniority; known: "
                                              + ", ".join(SENIORITIES))
            similar = p.get("include_similar_titles", True)
            if not isinstance(similar, bool):
                raise ValidationFailed.single(f"{field}.include_similar_titles",
                                              "must be true or false")
            return cls(
                person_titles=_texts(p.get("person_titles"), f"{field}.person_titles"),
                include_similar_titles=similar,
                person_seniorities=seniorities,
                person_locations=_texts(p.get("person_locations"),
                                        f"{field}.person_locations"),
                organization_locations=_texts(p.get("organization_locations"),
                                              f"{field}.organization_locations"),
                organization_num_employees_ranges=_ranges(
                    p.get("organization_num_employees_ranges"),
                    f"{field}.organization_num_employees_ranges"),
                q_keywords=_keywords(p.get("q_keywords"), f"{field}.q_keywords"),
                q_organization_domains_list=_domains(p.get("q_organization_domains_list"),
                                                     f"{field}.q_organization_domains_list"))

        return _checked(params, PEOPLE_FILTERS, field, build)

    @property
    def is_empty(self) -> bool:
        return not any((self.person_titles, self.person_seniorities, self.person_locations,
                        self.organization_locations, self.organization_num_employees_ranges,
                        self.q_keywords, self.q_organization_domains_list))

    def to_params(self) -> dict[str, Any]:
        """Apollo's request body (without paging); empty filters left out."""
        params: dict[str, Any] = {}
        for name in PEOPLE_FILTERS:
            value = getattr(self, name)
            if name == "include_similar_titles":
                if self.person_titles:
                    params[name] = value
            elif value:
                params[name] = list(value) if isinstance(value, tuple) else value
        return params

    def key(self, page: int, per_page: int) -> str:
        return cache_key("people", self.to_params(), page, per_page)

    def narrower(self) -> list[PeopleFilters]:
        """Searches that together find the same people, each narrower: by company size
        first (the standard buckets, then halves of a range), then by seniority. Empty
        when it cannot be split further."""
        ranges = [HeadcountRange.parse(r) for r in self.organization_num_employees_ranges]
        if not ranges:
            return [attrs.evolve(self, organization_num_employees_ranges=(f"{a},{b}",))
                    for a, b in SIZE_BUCKETS]
        if len(ranges) > 1:
            return [attrs.evolve(self, organization_num_employees_ranges=(r.apollo(),))
                    for r in ranges]
        (only,) = ranges
        if only.maximum > only.minimum:
            middle = (only.minimum + only.maximum) // 2
            return [attrs.evolve(self, organization_num_employees_ranges=(f"{a},{b}",))
                    for a, b in ((only.minimum, middle), (middle + 1, only.maximum))]
        seniorities = self.person_seniorities or SENIORITIES
        if len(seniorities) > 1:
            return [attrs.evolve(self, person_seniorities=(s,)) for s in seniorities]
        return []


COMPANY_FILTERS = ("q_organization_name", "organization_locations",
                   "organization_num_employees_ranges", "q_organization_keyword_tags",
                   "q_organization_domains_list")


@attrs.frozen
class CompanyFilters:
    q_organization_name: str | None = None
    organization_locations: tuple[str, ...] = ()
    organization_num_employees_ranges: tuple[str, ...] = ()
    q_organization_keyword_tags: tuple[str, ...] = ()
    q_organization_domains_list: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: object, *, field: str = "filters") -> CompanyFilters:
        def build(p: Mapping[str, object]) -> CompanyFilters:
            return cls(
                q_organization_name=_keywords(p.get("q_organization_name"),
                                              f"{field}.q_organization_name"),
                organization_locations=_texts(p.get("organization_locations"),
                                              f"{field}.organization_locations"),
                organization_num_employees_ranges=_ranges(
                    p.get("organization_num_employees_ranges"),
                    f"{field}.organization_num_employees_ranges"),
                q_organization_keyword_tags=_texts(p.get("q_organization_keyword_tags"),
                                                   f"{field}.q_organization_keyword_tags"),
                q_organization_domains_list=_domains(p.get("q_organization_domains_list"),
                                                     f"{field}.q_organization_domains_list"))

        return _checked(params, COMPANY_FILTERS, field, build)

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in COMPANY_FILTERS)

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in COMPANY_FILTERS:
            value = getattr(self, name)
            if value:
                params[name] = list(value) if isinstance(value, tuple) else value
        return params

    def key(self, page: int, per_page: int) -> str:
        return cache_key("companies", self.to_params(), page, per_page)


def _str(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value else None


@attrs.frozen
class Person:
    """A person as Apollo knows them. A search gives no email or phone; a match may."""

    apollo_id: str
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    linkedin_url: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    organization_domain: str | None = None

    @property
    def location(self) -> str | None:
        parts = [p for p in (self.city, self.state, self.country) if p]
        return ", ".join(parts) or None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Person:
        """From ``to_json`` (the cache reads thousands at once: positional, one pass)."""
        get = document.get
        texts = [get(name) for name in _PERSON_TEXTS]
        return cls(str(document["apollo_id"]),
                   *[v if isinstance(v, str) and v else None for v in texts])

    def merged(self, found: Person) -> Person:
        """This person with the blanks a match filled."""
        changes = {f.name: getattr(found, f.name) for f in attrs.fields(Person)
                   if getattr(self, f.name) is None and getattr(found, f.name) is not None}
        return attrs.evolve(self, **changes)


#: Person's text fields after the id, in the order of its attributes.
_PERSON_TEXTS = tuple(f.name for f in attrs.fields(Person))[1:]


@attrs.frozen
class Organization:
    apollo_id: str
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    linkedin_url: str | None = None
    website_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Organization:
        employees = document.get("employees")
        fields = {f.name: _str(document, f.name) for f in attrs.fields(cls)
                  if f.name not in ("apollo_id", "employees")}
        return cls(apollo_id=str(document["apollo_id"]),
                   employees=employees if isinstance(employees, int) else None, **fields)


@attrs.frozen
class SearchResult(Generic[T]):
    """One page of a search. ``cached``: served from the cache, which costs nothing;
    ``cost``: what this page was billed (0 for a hit, and for people search, which Apollo
    does not charge)."""

    items: tuple[T, ...]
    page: int
    per_page: int
    total: int
    cached: bool
    cost: Decimal
    fetched_at: datetime
    key: str

    @property
    def pages(self) -> int:
        reachable = min(self.total, MAX_RECORDS)
        return (reachable + self.per_page - 1) // self.per_page

    @property
    def capped(self) -> bool:
        """More people match than one search can return: plan it split."""
        return self.total > MAX_RECORDS


@attrs.frozen
class PlannedSearch:
    filters: PeopleFilters
    total: int


@attrs.frozen
class SearchPlan:
    """Searches that each stay under the ceiling and together cover the original one;
    ``uncovered``: people in parts that could not be split small enough, and people no
    narrower part finds (a company of unknown size is in no size bucket)."""

    searches: tuple[PlannedSearch, ...]
    total: int
    uncovered: int


def plan_search(filters: PeopleFilters, count: Callable[[PeopleFilters], int], *,
                limit: int = MAX_RECORDS, max_searches: int = 200) -> SearchPlan:
    """Split ``filters`` until every part finds at most ``limit`` people. ``count`` asks
    the provider how many a search finds (people search is free)."""
    total = count(filters)
    pending = [(filters, total)]
    done: list[PlannedSearch] = []
    uncovered = 0
    while pending:
        current, found = pending.pop(0)
        if found == 0:
            continue
        if found <= limit:
            done.append(PlannedSearch(current, found))
            continue
        parts = current.narrower()
        if not parts or len(done) + len(pending) + len(parts) > max_searches:
            done.append(PlannedSearch(current, found))
            uncovered += found - limit
            continue
        counted = [(part, count(part)) for part in parts]
        uncovered += max(0, found - sum(n for _, n in counted))
        pending.extend(counted)
    return SearchPlan(tuple(done), total, uncovered)
