"""An in-process stand-in for Apollo: FakeApollo answers people search, organisation search
and people match over a small generated population, honouring every filter the domain sends
and Apollo's totals and 50,000-record ceiling; the test scripts failures per method and
reads how often each method was called. FakeApolloConnection hands it out (or, without one,
answers Unavailable naming the setting, as the real connection does).

The population is ``profiles`` generated people, each standing for ``weight`` people of the
same kind (ids ``p0003-00017``): a weight of 1,000 gives searches past the ceiling without
making a million objects; pages are cut from the virtual list."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import attrs

from lad_domain.enrichment.model import (
    MAX_RECORDS,
    CompanyFilters,
    Organization,
    PeopleFilters,
    Person,
)
from lad_domain.enrichment.ports import (
    MATCH_BATCH,
    Apollo,
    ApolloError,
    ApolloErrorKind,
    MatchRequest,
    ProviderPage,
)
from lad_domain.icp.model import HeadcountRange
from lad_domain.shared.errors import Unavailable

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
         "Linus", "Margaret", "Dennis")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Torvalds", "Hamilton", "Ritchie")
#: (title, seniority)
ROLES = (("CTO", "c_suite"), ("VP Engineering", "vp"),
         ("Head of Sales", "head"), ("Director of Marketing", "director"),
         ("Engineering Manager", "manager"), ("Senior Software Engineer", "senior"),
         ("Founder", "founder"), ("Sales Development Representative", "entry"))
#: (city, state, country)
PLACES = (("Berlin", None, "Germany"), ("Austin", "Texas", "United States"),
          ("London", None, "United Kingdom"), ("Paris", None, "France"),
          ("San Francisco", "California", "United States"))
#: (industry, keywords)
TRADES = (("Computer Software", ("saas", "devops")), ("Financial Services", ("fintech",
          "payments")), ("Hospital & Health Care", ("healthtech", "clinics")),
          ("Logistics", ("shipping", "freight")))
#: Employees of the organisations, one in each of Apollo's size buckets and more.
SIZES = (8, 35, 120, 350, 800, 2500, 7000, 25_000, 60, 180)
TRADES_BY_INDUSTRY = dict(TRADES)
NOT_CONFIGURED = "Apollo is not configured: set LAD_APOLLO_API_KEY"


def organizations(count: int = 10) -> tuple[Organization, ...]:
    made = []
    for j in range(count):
        industry, _ = TRADES[j % len(TRADES)]
        city, state, country = PLACES[(j * 3) % len(PLACES)]
        name = f"Org{j:02d} {industry.split()[0]}"
        domain = f"org{j:02d}.example.com"
        made.append(Organization(apollo_id=f"o{j:04d}", name=name, domain=domain,
                                 industry=industry, employees=SIZES[j % len(SIZES)],
                                 city=city, state=state, country=country,
                                 linkedin_url=f"https://www.linkedin.com/company/org{j:02d}",
                                 website_url=f"https://{domain}"))
    return tuple(made)


@attrs.frozen
class Profile:
    """One generated person (and the kind of the ``weight - 1`` others like them)."""

    index: int
    first_name: str
    last_name: str
    title: str
    seniority: str
    city: str
    state: str | None
    country: str
    organization: Organization
    keywords: tuple[str, ...]

    def person(self, copy: int, *, contact: bool) -> Person:
        """The ``copy``-th person of this kind; with ``contact``, as a match returns them
        (email and phone)."""
        apollo_id = f"p{self.index:04d}-{copy:05d}"
        slug = f"{self.first_name}-{self.last_name}-{self.index}-{copy}".lower()
        org = self.organization
        return Person(
            apollo_id=apollo_id, first_name=self.first_name, last_name=self.last_name,
            title=self.title, seniority=self.seniority,
            linkedin_url=f"https://www.linkedin.com/in/{slug}",
            email=f"{slug}@{org.domain}" if contact else None,
            phone=f"+1415555{(self.index * 7 + copy) % 10000:04d}" if contact else None,
            city=self.city, state=self.state, country=self.country,
            organization_id=org.apollo_id, organization_name=org.name,
            organization_domain=org.domain)


def profiles(count: int = 40, orgs: Sequence[Organization] | None = None
             ) -> tuple[Profile, ...]:
    orgs = orgs or organizations()
    made = []
    for i in range(count):
        title, seniority = ROLES[i % len(ROLES)]
        city, state, country = PLACES[i % len(PLACES)]
        org = orgs[i % len(orgs)]
        _, words = TRADES[orgs.index(org) % len(TRADES)]
        made.append(Profile(index=i, first_name=FIRST[i % len(FIRST)],
                            last_name=LAST[(i // len(FIRST) + i) % len(LAST)], title=title,
                            seniority=seniority, city=city, state=state, country=country,
                            organization=org, keywords=words))
    return tuple(made)


def _within(employees: int | None, ranges: Sequence[str]) -> bool:
    if not ranges:
        return True
    if employees is None:
        return False
    return any(r.minimum <= employees <= r.maximum
               for r in (HeadcountRange.parse(text) for text in ranges))


def _located(places: Sequence[str], *where: str | None) -> bool:
    if not places:
        return True
    known = {w.lower() for w in where if w}
    return any(p in known for p in places)


def _org_matches(org: Organization, filters: CompanyFilters) -> bool:
    tags = {(org.industry or "").lower(), *TRADES_BY_INDUSTRY.get(org.industry or "", ())}
    return ((not filters.q_organization_name
             or filters.q_organization_name in (org.name or "").lower())
            and _located(filters.organization_locations, org.city, org.state, org.country)
            and _within(org.employees, filters.organization_num_employees_ranges)
            and (not filters.q_organization_keyword_tags
                 or any(t in tags for t in filters.q_organization_keyword_tags))
            and (not filters.q_organization_domains_list
                 or org.domain in filters.q_organization_domains_list))



def _person_matches(profile: Profile, filters: PeopleFilters) -> bool:
    org = profile.organization
    title = profile.title.lower()
    if filters.person_titles:
        if filters.include_similar_titles:
            titled = any(f" {t} " in f" {title} " for t in filters.person_titles)
        else:
            titled = title in filters.person_titles
        if not titled:
            return False
    words = " ".join([title, (org.industry or "").lower(), *profile.keywords,
                      (org.name or "").lower()])
    return ((not filters.person_seniorities or profile.seniority in filters.person_seniorities)
            and _located(filters.person_locations, profile.city, profile.state,
                         profile.country)
            and _located(filters.organization_locations, org.city, org.state, org.country)
            and _within(org.employees, filters.organization_num_employees_ranges)
            and (not filters.q_keywords
                 or all(w in words for w in filters.q_keywords.split()))
            and (not filters.q_organization_domains_list
                 or org.domain in filters.q_organization_domains_list))


@attrs.define
class FakeApollo:
    """The Apollo port over a generated population. ``fail(method, error)`` makes that
    method's next call raise (``on_call``: its n-th call, counting every call so far);
    ``calls`` counts the calls per method, ``matched`` the match requests."""

    people: tuple[Profile, ...] = attrs.field(factory=profiles)
    orgs: tuple[Organization, ...] = attrs.field(factory=organizations)
    weight: int = 1
    calls: Counter[str] = attrs.field(factory=Counter)
    matched: list[MatchRequest] = attrs.field(factory=list)
    failures: dict[tuple[str, int], ApolloError] = attrs.field(factory=dict)

    @classmethod
    def of(cls, count: int = 40, *, weight: int = 1) -> FakeApollo:
        orgs = organizations()
        return cls(people=profiles(count, orgs), orgs=orgs, weight=weight)

    def fail(self, method: str, error: ApolloError | None = None, *,
             on_call: int | None = None) -> None:
        number = on_call if on_call is not None else self.calls[method] + 1
        self.failures[(method, number)] = error or ApolloError(
            ApolloErrorKind.UNAVAILABLE, "503 Service Unavailable")

    def _called(self, method: str) -> None:
        self.calls[method] += 1
        failure = self.failures.pop((method, self.calls[method]), None)
        if failure is not None:
            raise failure

    def _searched(self, method: str, page: int, per_page: int) -> None:
        """A search called: a page past Apollo's last record is refused, as Apollo does."""
        self._called(method)
        if page * per_page > MAX_RECORDS:
            raise ApolloError(ApolloErrorKind.REJECTED,
                              f"only the first {MAX_RECORDS} records can be paged")

    # --- the port ---------------------------------------------------------------------------

    def search_people(self, filters: PeopleFilters, page: int, per_page: int
                      ) -> ProviderPage[Person]:
        self._searched("search_people", page, per_page)
        found = [p for p in self.people if _person_matches(p, filters)]
        total = len(found) * self.weight
        start = (page - 1) * per_page
        items = tuple(found[i // self.weight].person(i % self.weight, contact=False)
                      for i in range(start, min(start + per_page, total)))
        return ProviderPage(items, page, per_page, total)

    def search_organizations(self, filters: CompanyFilters, page: int, per_page: int
                             ) -> ProviderPage[Organization]:
        self._searched("search_organizations", page, per_page)
        found = [o for o in self.orgs if _org_matches(o, filters)]
        start = (page - 1) * per_page
        return ProviderPage(tuple(found[start:start + per_page]), page, per_page, len(found))

    def match_people(self, requests: Sequence[MatchRequest]) -> Sequence[Person | None]:
        self._called("match_people")
        if len(requests) > MATCH_BATCH:
            raise ApolloError(ApolloErrorKind.REJECTED,
                              f"at most {MATCH_BATCH} people per match")
        self.matched.extend(requests)
        return [self._match(r) for r in requests]

    def _match(self, request: MatchRequest) -> Person | None:
        """By Apollo id, else by email or LinkedIn URL, else by name and company."""
        everyone = (p.person(c, contact=True) for p, c in
                    itertools.product(self.people, range(self.weight)))
        for person in everyone:
            if request.apollo_id is not None:
                if person.apollo_id == request.apollo_id:
                    return person
                continue
            same_name = (request.first_name is not None and request.last_name is not None
                         and (person.first_name or "").lower() == request.first_name.lower()
                         and (person.last_name or "").lower() == request.last_name.lower()
                         and (request.organization_name or "").lower()
                         == (person.organization_name or "").lower())
            if (same_name or (request.email is not None and request.email == person.email)
                    or (request.linkedin_url is not None
                        and request.linkedin_url == person.linkedin_url)):
                return person
        return None

    # --- for the tests ----------------------------------------------------------------------

    def person(self, apollo_id: str, *, contact: bool = True) -> Person:
        """Someone of the population, as a match (or, without contact, a search) gives
        them."""
        index, copy = (int(part) for part in apollo_id[1:].split("-"))
        return self.people[index].person(copy, contact=contact)

    def count(self, filters: PeopleFilters) -> int:
        return sum(1 for p in self.people if _person_matches(p, filters)) * self.weight


@attrs.define
class FakeApolloConnection:
    """The ApolloConnection port: the fake (None: not configured, Unavailable naming the
    setting, as the real connection answers without a key)."""

    apollo: Apollo | None = None

    def get(self) -> Apollo:
        if self.apollo is None:
            raise Unavailable(NOT_CONFIGURED)
        return self.apollo
