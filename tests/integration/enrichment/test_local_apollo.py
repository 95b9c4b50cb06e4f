"""The simulated Apollo over HTTP: its filters find the people they say, its totals add
up across narrower searches (so a search past the 50,000-record ceiling can be planned
split), its population is the same for the same seed, and ``ConfiguredApollo`` starts it
when no key is set."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import httpx
import phonenumbers
import pytest

from lad_adapters.apollo import ApolloClient, ConfiguredApollo, LocalApollo
from lad_adapters.apollo.local import PEOPLE_MATCH, PEOPLE_SEARCH
from lad_domain.enrichment.model import (
    MAX_RECORDS,
    SIZE_BUCKETS,
    CompanyFilters,
    PeopleFilters,
    Person,
    plan_search,
)
from lad_domain.enrichment.ports import ApolloError, ApolloErrorKind, MatchRequest
from lad_domain.shared.errors import Unavailable

KEY = "local-apollo-key-20c4"


@pytest.fixture(scope="module")
def apollo() -> Iterator[LocalApollo]:
    with LocalApollo(KEY) as running:
        yield running


@pytest.fixture(scope="module")
def client(apollo: LocalApollo) -> Iterator[ApolloClient]:
    with ApolloClient(apollo.url, KEY, sleep=lambda _: None) as opened:
        yield opened


def search(client: ApolloClient, per_page: int = 100, **filters: object
           ) -> tuple[int, Sequence[Person]]:
    page = client.search_people(PeopleFilters.parse(filters), 1, per_page)
    return page.total, page.items


def total(client: ApolloClient, filters: PeopleFilters) -> int:
    return client.search_people(filters, 1, 1).total


def all_in(client: ApolloClient, people: Sequence[Person], **filters: object) -> bool:
    """Whether the organisations of these people all match these company filters."""
    domains = sorted({str(p.organization_domain) for p in people})
    found = client.search_organizations(CompanyFilters.parse(
        {**filters, "q_organization_domains_list": domains}), 1, 100)
    return found.total == len(domains)


def test_titles_match_inside_a_title_and_similar_titles_widen(client: ApolloClient) -> None:
    exact, people = search(client, person_titles=["Sales Manager"],
                           include_similar_titles=False)
    similar, widened = search(client, person_titles=["sales manager"])

    assert 0 < exact < similar
    assert {p.title for p in people} == {"Sales Manager"}
    assert all("sales" in str(p.title).lower() for p in widened)


def test_seniorities_are_honoured_and_add_up(client: ApolloClient) -> None:
    both, people = search(client, person_seniorities=["vp", "director"])

    assert {p.seniority for p in people} <= {"vp", "director"}
    assert both == sum(search(client, person_seniorities=[s])[0] for s in ("vp", "director"))


def test_person_locations_are_cities_states_or_countries(client: ApolloClient) -> None:
    _, londoners = search(client, person_locations=["london"])
    _, bay = search(client, person_locations=["San Francisco, CA"])
    country, _ = search(client, person_locations=["united kingdom"])
    cities = sum(search(client, person_locations=[c])[0] for c in ("london", "manchester"))

    assert {p.city for p in londoners} == {"London"} and {p.city for p in bay} == {
        "San Francisco"}
    assert country == cities


def test_organization_locations_sizes_and_keywords_are_the_organizations(
        client: ApolloClient) -> None:
    _, british = search(client, organization_locations=["united kingdom"])
    _, mid = search(client, organization_num_employees_ranges=["51,200"])
    _, saas = search(client, q_keywords="saas")

    assert all_in(client, british, organization_locations=["united kingdom"])
    assert all_in(client, mid, organization_num_employees_ranges=["51,200"])
    assert all_in(client, saas, q_organization_keyword_tags=["saas"])


def test_domains_find_the_people_of_those_organizations(client: ApolloClient) -> None:
    _, sample = search(client, per_page=100)
    domains = sorted({str(p.organization_domain) for p in sample})[:2]

    found, people = search(client, q_organization_domains_list=domains)

    assert {p.organization_domain for p in people} == set(domains)
    assert found == sum(search(client, q_organization_domains_list=[d])[0] for d in domains)


def test_size_buckets_add_up_to_the_whole(client: ApolloClient) -> None:
    everyone = total(client, PeopleFilters())
    buckets = [total(client, PeopleFilters(organization_num_employees_ranges=(f"{a},{b}",)))
               for a, b in SIZE_BUCKETS]

    assert everyone > MAX_RECORDS and sum(buckets) == everyone
    assert all(0 < b <= MAX_RECORDS for b in buckets)


@pytest.mark.parametrize("filters", [PeopleFilters(), PeopleFilters(
    organization_locations=("united states",))], ids=["everyone", "one-country"])
def test_a_search_past_the_ceiling_is_planned_split(client: ApolloClient,
                                                    filters: PeopleFilters) -> None:
    plan = plan_search(filters, lambda f: total(client, f))

    assert plan.total > MAX_RECORDS and plan.uncovered == 0
    assert len(plan.searches) > 1
    assert all(s.total <= MAX_RECORDS for s in plan.searches)
    assert sum(s.total for s in plan.searches) == plan.total
    assert all(s.total == total(client, s.filters) for s in plan.searches)


def test_the_same_seed_draws_the_same_people() -> None:
    def first_page(seed: int) -> list[Person]:
        with LocalApollo(KEY, seed=seed, organizations=200) as service, ApolloClient(
                service.url, KEY) as client:
            return list(client.search_people(PeopleFilters(q_keywords="saas"), 2, 50).items)

    again = first_page(7)

    assert first_page(7) == again and again
    assert first_page(8) != again


def test_a_person_is_matched_by_id_email_linkedin_or_name(client: ApolloClient) -> None:
    _, (person, *_) = search(client, person_titles=["founder"], per_page=1)
    (full,) = client.match_people([MatchRequest(apollo_id=person.apollo_id)])
    assert full is not None and full.email and full.last_name

    found = client.match_people([
        MatchRequest(email=full.email.upper()), MatchRequest(linkedin_url=full.linkedin_url),
        MatchRequest(first_name=full.first_name, last_name=full.last_name,
                     domain=f"https://www.{full.organization_domain}/"),
        MatchRequest(first_name=full.first_name, last_name=full.last_name,
                     organization_name=full.organization_name)])

    assert found == [full] * 4


def test_matched_phones_are_valid_numbers(client: ApolloClient) -> None:
    for seniority in ("owner", "c_suite", "manager", "entry"):
        _, people = search(client, person_seniorities=[seniority], per_page=10)
        matched = client.match_people([MatchRequest(apollo_id=p.apollo_id) for p in people])

        assert all(m is not None and m.phone and phonenumbers.is_valid_number(
            phonenumbers.parse(m.phone)) for m in matched)


def test_the_key_is_required(apollo: LocalApollo) -> None:
    answers = [httpx.post(apollo.url + PEOPLE_SEARCH, json={}, headers=headers)
               for headers in ({}, {"x-api-key": "wrong"})]

    assert [a.status_code for a in answers] == [401, 401]


def test_the_paths_under_api_v1_are_served_and_counted(apollo: LocalApollo) -> None:
    before = apollo.count(PEOPLE_MATCH)

    answer = httpx.post(apollo.url + "/api/v1" + PEOPLE_MATCH, headers={"x-api-key": KEY},
                        json={"details": [{"email": "nobody@example.com"}]})

    assert answer.json()["matches"] == [None]
    assert apollo.count(PEOPLE_MATCH) == before + 1


def test_an_unconfigured_connection_names_the_settings() -> None:
    with pytest.raises(Unavailable) as missing:
        ConfiguredApollo(None).get()

    assert missing.value.message == (
        "enrichment is not configured: set LAD_APOLLO_API_KEY (or LAD_APOLLO_LOCAL=1 for "
        "the built-in simulated Apollo)")


def test_a_key_connects_to_the_apollo_configured(apollo: LocalApollo) -> None:
    connection = ConfiguredApollo(KEY, apollo.url)

    assert connection.get().search_people(PeopleFilters(), 1, 1).total > MAX_RECORDS
    assert connection.service is None
    connection.close()


def test_the_local_apollo_starts_once_on_first_use_and_stops_on_close() -> None:
    connection = ConfiguredApollo(None, local=True, seed=3)
    assert connection.service is None
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(connection.get())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    apollo = connection.get()

    assert all(g is apollo for g in got) and connection.service is not None
    assert apollo.search_people(PeopleFilters(), 1, 1).total > MAX_RECORDS
    url = connection.service.url
    connection.close()
    with ApolloClient(url, KEY, max_retries=0) as after, pytest.raises(ApolloError) as gone:
        after.search_people(PeopleFilters(), 1, 1)
    assert gone.value.kind == ApolloErrorKind.UNAVAILABLE
