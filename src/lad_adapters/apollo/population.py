"""The simulated Apollo's world: a deterministic synthetic population of organisations and
their people drawn from a seed (``Population``), and the searches and matches over it.

People are numbered organisation by organisation, so an organisation's people are one run
of numbers; every filter value (a title, a seniority, a location) has the set of people it
holds as a bit set (a Python int), and a search is a few ORs and ANDs of them: a count and
a page over 115,000 people take a millisecond or two. A person's record is built when asked
for, from the few small numbers kept per person (organisation, names, title, location).
What they are drawn from is ``world.py``'s vocabulary.
"""

from __future__ import annotations

import math
import random
import re
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from lad_adapters.apollo.world import Location, world
from lad_domain.enrichment.model import SIZE_BUCKETS, CompanyFilters, PeopleFilters
from lad_domain.icp.model import SENIORITIES, HeadcountRange

_WORD = re.compile(r"[a-z0-9]+")
#: Words that say how senior a title is, not what it is about (left out of "similar").
_RANK_WORDS = frozenset({"of", "and", "the", "head", "chief", "senior", "vp", "vice",
                         "president", "director", "manager", "officer", "lead", "intern"})
#: How often a person lives away from their organisation's city.
_AWAY = 0.15
#: The people Apollo lists for an organisation (at most its headcount).
PEOPLE_PER_ORGANIZATION = (60, 120)
_ORG, _PERSON = 0x000A, 0x000B
#: The organisation filters of a people search (locations, sizes, keywords, domains).
_OrgKey = tuple[tuple[str, ...], tuple[str, ...], str | None, tuple[str, ...]]


def words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


@attrs.frozen
class Org:
    index: int
    id: str
    name: str
    domain: str
    industry: str
    keywords: tuple[str, ...]
    employees: int
    location: int
    place: Location
    founded_year: int
    first_person: int
    people: int
    words: frozenset[str]

    @property
    def last_person(self) -> int:
        return self.first_person + self.people


@attrs.frozen
class PersonRecord:
    index: int
    id: str
    first_name: str
    last_name: str
    title: str
    seniority: str
    location: Location
    org: Org
    email: str
    phone: str
    linkedin_url: str


def _id(seed: int, kind: int, index: int) -> str:
    """A 24-hex-digit id, as Apollo's are: the seed, the kind, the number."""
    return f"{seed & 0xFFFFFFFF:08x}{kind:04x}{index:012x}"


def _slug(text: str) -> str:
    return "".join(_WORD.findall(text.lower()))


def _mask(members: Iterable[int], size: int) -> int:
    bits = bytearray((size + 7) // 8)
    for i in members:
        bits[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(bits, "little")


def _title_matches(title: str, wanted: str, similar: bool) -> bool:
    """Apollo's title filter: the wanted text inside the title; with similar titles,
    also a title that shares at least half of the wanted words that say what the job
    is about (not how senior it is)."""
    if wanted in title.lower():
        return True
    if not similar:
        return False
    topic = words(wanted) - _RANK_WORDS
    shared = topic & words(title)
    return bool(shared) and 2 * len(shared) >= len(topic)


class Population:
    """``organizations`` organisations and their people, the same for the same seed."""

    def __init__(self, *, seed: int = 7, organizations: int = 2000) -> None:
        if organizations < 1:
            raise ValueError("organizations must be at least 1")
        self.seed = seed
        self.world = w = world()
        rng = random.Random(seed)
        self.orgs: list[Org] = []
        self._by_domain: dict[str, Org] = {}
        self._by_name: dict[str, list[Org]] = {}
        people = 0
        for j in range(organizations):
            org = self._organization(rng, j, people)
            people += org.people
            self.orgs.append(org)
            self._by_domain[org.domain] = org
            self._by_name.setdefault(org.name.lower(), []).append(org)
        self.size = people
        self._org_of = array("H" if organizations < 2**16 else "I")
        self._first, self._last = array("B"), array("B")
        for org in self.orgs:
            self._org_of.extend([org.index] * org.people)
            self._names(rng, org.people)
        self._title = array("B", rng.choices(range(len(w.titles)), k=people,
                                             weights=w.title_weights))
        away = rng.choices(range(len(w.locations)), k=people,
                           weights=[place.weight for place in w.locations])
        self._location = array("B", (
            away[i] if rng.random() < _AWAY else self.orgs[self._org_of[i]].location
            for i in range(people)))
        self.all = (1 << people) - 1
        self._by_title = self._masks(self._title, len(w.titles))
        self._by_location = self._masks(self._location, len(w.locations))
        self._by_seniority = {s: 0 for s in SENIORITIES}
        for t, (_, level) in enumerate(w.titles):
            self._by_seniority[level] |= self._by_title[t]
        self._org_masks: dict[_OrgKey, int] = {}
        self._lock = threading.Lock()

    def _organization(self, rng: random.Random, j: int, first_person: int) -> Org:
        w = self.world
        low, high = SIZE_BUCKETS[rng.choices(range(len(SIZE_BUCKETS)),
                                             weights=w.size_weights)[0]]
        high = min(high, 500_000)
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
        employees = max(low, min(high, employees))
        prefix, suffix = rng.choice(w.name_prefixes), rng.choice(w.name_suffixes)
        industry = rng.choice(tuple(w.industries))
        keywords = tuple(sorted(rng.sample(w.industries[industry], k=rng.randint(2, 3))))
        location = rng.choices(range(len(w.locations)),
                               weights=[place.weight for place in w.locations])[0]
        name = f"{prefix} {suffix}"
        return Org(index=j, id=_id(self.seed, _ORG, j), name=name,
                   domain=f"{_slug(prefix)}{_slug(suffix)}-{j}.com", industry=industry,
                   keywords=keywords, employees=employees,
                   location=location, place=w.locations[location],
                   founded_year=rng.randint(1950, 2023), first_person=first_person,
                   people=min(employees, rng.randint(*PEOPLE_PER_ORGANIZATION)),
                   words=words(" ".join((name, industry, *keywords))))

    def _names(self, rng: random.Random, count: int) -> None:
        """``count`` first and last names, no two people of one organisation alike (so
        first.last@domain is theirs alone)."""
        taken: set[tuple[int, int]] = set()
        while len(taken) < count:
            pair = (rng.randrange(len(self.world.first_names)),
                    rng.randrange(len(self.world.last_names)))
            if pair not in taken:
                taken.add(pair)
                self._first.append(pair[0])
                self._last.append(pair[1])

    def _masks(self, values: Sequence[int], kinds: int) -> list[int]:
        members: list[list[int]] = [[] for _ in range(kinds)]
        for i, value in enumerate(values):
            members[value].append(i)
        return [_mask(m, self.size) for m in members]

    # -- people ----------------------------------------------------------------------------

    def person(self, i: int) -> PersonRecord:
        w, org = self.world, self.orgs[self._org_of[i]]
        first, last = w.first_names[self._first[i]], w.last_names[self._last[i]]
        title, seniority = w.titles[self._title[i]]
        location = w.locations[self._location[i]]
        digits = location.phone_digits
        number = (i * 7919 + self.seed) % 10**digits
        return PersonRecord(
            index=i, id=_id(self.seed, _PERSON, i), first_name=first, last_name=last,
            title=title, seniority=seniority, location=location, org=org,
            email=f"{_slug(first)}.{_slug(last)}@{org.domain}",
            phone=f"{location.phone_prefix}{number:0{digits}d}",
            linkedin_url=f"http://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-{i:x}")

    def people_mask(self, filters: PeopleFilters) -> int:
        """The people a search finds, as a bit set."""
        found = self.all
        if filters.person_titles:
            found &= _union(self._by_title[t] for t, (title, _) in enumerate(self.world.titles)
                            if any(_title_matches(title, w, filters.include_similar_titles)
                                   for w in filters.person_titles))
        if filters.person_seniorities:
            found &= _union(self._by_seniority.get(s, 0) for s in filters.person_seniorities)
        if filters.person_locations:
            found &= _union(self._by_location[i]
                            for i in self._locations(filters.person_locations))
        key = (filters.organization_locations, filters.organization_num_employees_ranges,
               filters.q_keywords, filters.q_organization_domains_list)
        if any(key):
            found &= self._org_people(key)
        return found

    def page(self, mask: int, offset: int, limit: int) -> Iterator[PersonRecord]:
        """The people of a bit set from the ``offset``-th, at most ``limit``."""
        base = 0
        if offset:
            low, high = 0, mask.bit_length()
            while low < high:  # the first position with ``offset`` people before it
                middle = (low + high) // 2
                if (mask & ((1 << middle) - 1)).bit_count() < offset:
                    low = middle + 1
                else:
                    high = middle
            mask >>= low
            base = low
        for _ in range(limit):
            if not mask:
                return
            lowest = (mask & -mask).bit_length() - 1
            yield self.person(base + lowest)
            mask >>= lowest + 1
            base += lowest + 1

    def _org_people(self, key: _OrgKey) -> int:
        """The people of the organisations these filters find (kept: a split search asks
        for the same organisations once per seniority)."""
        with self._lock:
            cached = self._org_masks.get(key)
        if cached is not None:
            return cached
        locations, ranges, keywords, domains = key
        test = self._org_test(locations=locations, ranges=ranges, domains=domains,
                              keywords=keywords)
        found, start, end = 0, -1, -1
        for org in self.orgs:
            if not test(org):
                continue
            if org.first_person == end:  # runs of neighbours become one OR
                end = org.last_person
                continue
            if end > start:
                found |= ((1 << (end - start)) - 1) << start
            start, end = org.first_person, org.last_person
        if end > start:
            found |= ((1 << (end - start)) - 1) << start
        with self._lock:
            if len(self._org_masks) >= 256:
                self._org_masks.clear()
            self._org_masks[key] = found
        return found

    # -- organisations ---------------------------------------------------------------------

    def organizations(self, filters: CompanyFilters) -> list[Org]:
        test = self._org_test(locations=filters.organization_locations,
                              ranges=filters.organization_num_employees_ranges,
                              domains=filters.q_organization_domains_list,
                              name=filters.q_organization_name,
                              tags=filters.q_organization_keyword_tags)
        return [org for org in self.orgs if test(org)]

    def _org_test(self, *, locations: Sequence[str], ranges: Sequence[str],
                  domains: Sequence[str], keywords: str | None = None,
                  name: str | None = None, tags: Sequence[str] = ()
                  ) -> Callable[[Org], bool]:
        places = set(self._locations(locations)) if locations else None
        sizes = [HeadcountRange.parse(r) for r in ranges] if ranges else None
        wanted_domains = set(domains) if domains else None
        wanted_words = words(keywords) if keywords else None

        def test(org: Org) -> bool:
            return ((places is None or org.location in places)
                    and (sizes is None or any(r.minimum <= org.employees <= r.maximum
                                              for r in sizes))
                    and (wanted_domains is None or org.domain in wanted_domains)
                    and (wanted_words is None or wanted_words <= org.words)
                    and (name is None or name in org.name.lower())
                    and (not tags or any(t in org.industry or any(t in k for k in org.keywords)
                                         for t in tags)))

        return test

    def _locations(self, wanted: Iterable[str]) -> list[int]:
        return [i for i, place in enumerate(self.world.locations)
                if any(place.matches(w) for w in wanted)]

    # -- finding one person ----------------------------------------------------------------

    def by_id(self, apollo_id: str) -> PersonRecord | None:
        prefix = _id(self.seed, _PERSON, 0)[:12]
        if len(apollo_id) != 24 or not apollo_id.lower().startswith(prefix):
            return None
        try:
            index = int(apollo_id[12:], 16)
        except ValueError:
            return None
        return self.person(index) if index < self.size else None

    def by_email(self, email: str) -> PersonRecord | None:
        _, _, domain = email.strip().lower().rpartition("@")
        org = self._by_domain.get(domain)
        if org is None:
            return None
        return next((p for p in self._people_of(org) if p.email == email.strip().lower()),
                    None)

    def by_linkedin(self, url: str) -> PersonRecord | None:
        bare = _bare_url(url)
        try:
            index = int(bare.rpartition("-")[2], 16)
        except ValueError:
            return None
        if index >= self.size:
            return None
        person = self.person(index)
        return person if _bare_url(person.linkedin_url) == bare else None

    def by_name(self, first: str, last: str, *, domain: str | None,
                organization: str | None) -> PersonRecord | None:
        orgs: list[Org] = []
        if domain:
            bare = _bare_url(domain).removeprefix("www.")
            orgs += [o for o in (self._by_domain.get(bare),) if o is not None]
        if organization:
            orgs += self._by_name.get(organization.strip().lower(), [])
        first, last = first.strip().lower(), last.strip().lower()
        return next((p for org in orgs for p in self._people_of(org)
                     if p.first_name.lower() == first and p.last_name.lower() == last), None)

    def _people_of(self, org: Org) -> Iterator[PersonRecord]:
        return (self.person(i) for i in range(org.first_person, org.last_person))

    def organization(self, domain: str) -> Org | None:
        return self._by_domain.get(domain)


def _union(masks: Iterable[int]) -> int:
    found = 0
    for mask in masks:
        found |= mask
    return found


def _bare_url(url: str) -> str:
    return (url.strip().lower().removeprefix("https://").removeprefix("http://")
            .removeprefix("www.").rstrip("/"))
