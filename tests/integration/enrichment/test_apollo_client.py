"""ApolloClient against the simulated Apollo on loopback: how searches and matches are
sent and read, and how each error answer becomes an ApolloError (the waits between
attempts recorded by the test's sleep, never slept)."""

from __future__ import annotations

import email.utils
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import phonenumbers
import pytest

from lad_adapters.apollo import ApolloClient, LocalApollo
from lad_adapters.apollo.client import person_of
from lad_adapters.apollo.local import COMPANY_SEARCH, PEOPLE_MATCH, PEOPLE_SEARCH
from lad_domain.enrichment.model import CompanyFilters, PeopleFilters
from lad_domain.enrichment.ports import ApolloError, ApolloErrorKind, MatchRequest

KEY = "apollo-test-key-5b1e9c"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VP_OF_SALES = PeopleFilters(person_titles=("vp of sales",), include_similar_titles=False)


@pytest.fixture(scope="module")
def service() -> Iterator[LocalApollo]:
    with LocalApollo(KEY) as running:
        yield running


@pytest.fixture
def apollo(service: LocalApollo) -> LocalApollo:
    service.reset()
    return service


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(apollo: LocalApollo, waits: list[float]) -> Iterator[ApolloClient]:
    with ApolloClient(apollo.url, KEY, timeout=5, max_retries=2, sleep=waits.append,
                      now=lambda: NOW) as opened:
        yield opened


def failure(call: object) -> ApolloError:
    assert callable(call)
    with pytest.raises(ApolloError) as failed:
        call()
    return failed.value


def test_a_people_search_sends_the_filters_and_reads_people_without_contacts(
        client: ApolloClient, apollo: LocalApollo) -> None:
    page = client.search_people(VP_OF_SALES, 1, 5)

    assert (page.page, page.per_page, len(page.items)) == (1, 5, 5)
    assert page.total > 5
    assert {p.title for p in page.items} == {"VP of Sales"}
    assert all(p.email is None and p.phone is None and p.last_name is None
               for p in page.items)  # the free search obfuscates last names
    assert all(p.organization_domain and p.organization_name and p.city
               for p in page.items)
    (sent,) = apollo.requests
    assert (sent.endpoint, sent.body) == (PEOPLE_SEARCH, {
        "person_titles": ["vp of sales"], "include_similar_titles": False, "page": 1,
        "per_page": 5})


def test_pages_follow_each_other(client: ApolloClient) -> None:
    first, second = (client.search_people(VP_OF_SALES, n, 20) for n in (1, 2))
    both = client.search_people(VP_OF_SALES, 1, 40)

    assert [p.apollo_id for p in first.items + second.items] == [
        p.apollo_id for p in both.items]
    assert first.total == second.total == both.total


def test_a_person_record_is_read_in_each_of_apollos_shapes() -> None:
    document = {"id": "p1", "first_name": "Ada", "last_name": "Lovelace",
                "email": "email_not_unlocked@domain.com", "sanitized_phone": "+14155550123",
                "organization": {"id": "o1", "website_url": "https://www.acme.io/about"}}

    person = person_of(document, contact=True)
    searched = person_of({**document, "email": "ada@acme.io"})

    assert (person.last_name, person.email, person.phone) == ("Lovelace", None,
                                                              "+14155550123")
    assert (person.organization_id, person.organization_domain) == ("o1", "acme.io")
    assert (searched.email, searched.phone) == (None, None)


def test_a_total_at_the_top_and_accounts_are_read() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"accounts": [{"id": "a1", "name": "Acme"}],
                                         "total_entries": 41})

    with ApolloClient("https://apollo.test", KEY,
                      transport=httpx.MockTransport(answer)) as client:
        page = client.search_organizations(CompanyFilters(), 3, 10)

    assert (page.total, page.page, [o.name for o in page.items]) == (41, 3, ["Acme"])


def test_an_organization_search_reads_organizations(client: ApolloClient,
                                                    apollo: LocalApollo) -> None:
    filters = CompanyFilters(organization_num_employees_ranges=("51,200",),
                             organization_locations=("united kingdom",))

    page = client.search_organizations(filters, 1, 25)

    assert 0 < len(page.items) <= 25 and page.total >= len(page.items)
    assert all(o.employees is not None and 51 <= o.employees <= 200 for o in page.items)
    assert {o.country for o in page.items} == {"United Kingdom"}
    assert all(o.domain and o.website_url and o.linkedin_url and o.industry
               for o in page.items)
    assert apollo.count(COMPANY_SEARCH) == 1


def test_a_match_answers_in_the_order_asked(client: ApolloClient,
                                            apollo: LocalApollo) -> None:
    one, two = client.search_people(VP_OF_SALES, 1, 2).items

    found = client.match_people([
        MatchRequest(apollo_id=two.apollo_id),
        MatchRequest(first_name="Nobody", last_name="Known", domain="example.com"),
        MatchRequest(first_name=one.first_name, last_name=None, apollo_id=one.apollo_id)])

    assert [p.apollo_id if p else None for p in found] == [two.apollo_id, None,
                                                           one.apollo_id]
    assert found[0] is not None and found[0].email and found[0].last_name
    assert found[0].email.endswith("@" + str(two.organization_domain))
    assert found[0].phone and phonenumbers.is_valid_number(phonenumbers.parse(found[0].phone))
    assert apollo.count(PEOPLE_MATCH) == 1
    assert apollo.requests[-1].body["details"][1] == {
        "first_name": "Nobody", "last_name": "Known", "domain": "example.com"}


def test_a_match_of_more_than_ten_is_refused_before_any_call(
        client: ApolloClient, apollo: LocalApollo) -> None:
    with pytest.raises(ValueError, match="at most 10"):
        client.match_people([MatchRequest(apollo_id=f"p{n}") for n in range(11)])

    assert apollo.count() == 0


def test_a_short_retry_after_is_waited_out(client: ApolloClient, apollo: LocalApollo,
                                           waits: list[float]) -> None:
    apollo.fail_next(429, retry_after=2)

    page = client.search_people(VP_OF_SALES, 1, 1)

    assert page.total > 0
    assert waits == [2.0]
    assert apollo.count(PEOPLE_SEARCH) == 2


def test_a_retry_after_date_is_waited_out(client: ApolloClient, apollo: LocalApollo,
                                          waits: list[float]) -> None:
    apollo.fail_next(429, retry_after=email.utils.format_datetime(
        NOW + timedelta(seconds=3), usegmt=True))

    client.search_organizations(CompanyFilters(), 1, 1)

    assert waits == [3.0]


def test_a_long_retry_after_is_throttled(client: ApolloClient, apollo: LocalApollo,
                                         waits: list[float]) -> None:
    apollo.fail_next(429, retry_after=120)

    throttled = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert (throttled.kind, throttled.retry_after) == (ApolloErrorKind.THROTTLED, 120)
    assert (waits, apollo.count()) == ([], 1)


def test_a_server_error_is_retried(client: ApolloClient, apollo: LocalApollo,
                                   waits: list[float]) -> None:
    apollo.fail_next(500, count=2)

    page = client.search_people(VP_OF_SALES, 1, 1)

    assert page.total > 0
    assert (waits, apollo.count()) == ([0.5, 1.0], 3)


def test_a_lasting_server_error_is_unavailable(client: ApolloClient,
                                               apollo: LocalApollo) -> None:
    apollo.fail_next(503, count=3)

    unavailable = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert unavailable.kind == ApolloErrorKind.UNAVAILABLE
    assert "503" in unavailable.message and apollo.count() == 3


def test_a_wrong_key_is_unauthorized_and_never_shown(apollo: LocalApollo) -> None:
    wrong = "sk-wrong-secret-7731"
    with ApolloClient(apollo.url, wrong, sleep=lambda _: None) as client:
        refused = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

        assert refused.kind == ApolloErrorKind.UNAUTHORIZED
        assert wrong not in refused.message and wrong not in repr(client)
    assert apollo.count() == 1


def test_a_refused_connection_is_unavailable(waits: list[float]) -> None:
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        with ApolloClient(url, KEY, max_retries=2, sleep=waits.append) as client:
            unreachable = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert unreachable.kind == ApolloErrorKind.UNAVAILABLE
    assert "ConnectError" in unreachable.message and waits == [0.5, 1.0]


def test_a_timeout_is_retried_then_unavailable(waits: list[float]) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with ApolloClient("https://apollo.test", KEY, sleep=waits.append, max_retries=1,
                      transport=httpx.MockTransport(slow)) as client:
        timed_out = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert timed_out.kind == ApolloErrorKind.UNAVAILABLE and waits == [0.5]


def test_a_refusal_carries_apollos_message(client: ApolloClient,
                                           apollo: LocalApollo) -> None:
    apollo.fail_next(422, body=json.dumps({"error": "Invalid seniority: boss"}).encode())

    rejected = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert rejected.kind == ApolloErrorKind.REJECTED
    assert "Invalid seniority: boss" in rejected.message and apollo.count() == 1


def test_the_last_page_under_the_ceiling_is_served_and_the_next_rejected(
        client: ApolloClient) -> None:
    last = client.search_people(PeopleFilters(), 500, 100)

    past = failure(lambda: client.search_people(PeopleFilters(), 501, 100))

    assert last.total > 50_000 and len(last.items) == 100
    assert past.kind == ApolloErrorKind.REJECTED and "50000" in past.message


def test_an_answer_that_is_not_json_is_unavailable(client: ApolloClient,
                                                   apollo: LocalApollo) -> None:
    apollo.fail_next(200, body=b"<html>maintenance</html>")

    broken = failure(lambda: client.search_people(VP_OF_SALES, 1, 1))

    assert broken.kind == ApolloErrorKind.UNAVAILABLE
    assert "not a JSON object" in broken.message
