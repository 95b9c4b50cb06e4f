"""Searching Apollo on the memory backend with the fake: pages cached by their normalised
filters until the TTL, people search free, a company page one credit held before the call
and billed after it, failures billing nothing; a search past the ceiling planned in parts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.errors import InsufficientFunds
from lad_domain.enrichment.model import MAX_RECORDS
from lad_domain.enrichment.ports import ApolloError, ApolloErrorKind
from lad_domain.enrichment.services.search import DEFAULT_TTL
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import PermissionDenied, Unavailable, ValidationFailed
from lad_domain.shared.principal import Role
from lad_entrypoints.container import Container
from tests.fakes.apollo import NOT_CONFIGURED, FakeApollo
from tests.unit.enrichment.world import OPERATOR, World

GERMANS = {"person_locations": ["Germany"], "person_titles": ["CTO", "VP Engineering"]}
#: Apollo's catalog price of a lookup.
CREDIT = Decimal("0.0200")
COMPANIES = {"organization_locations": ["United States"]}


def _field(failed: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [error] = failed.value.errors
    return error.field


# --- people ---------------------------------------------------------------------------------

def test_a_search_is_asked_once_then_served_from_the_cache(world: World) -> None:
    first = world.enrichment.search_people(world.member, GERMANS)
    again = world.enrichment.search_people(world.member, {
        "person_titles": ["vp engineering", "cto", "CTO"], "person_locations": ["GERMANY"]})
    assert world.apollo.calls["search_people"] == 1
    assert (first.cached, again.cached) == (False, True)
    assert first.cost == again.cost == 0
    assert first.key == again.key
    assert again.items == first.items and again.total == first.total == 2
    assert {p.country for p in first.items} == {"Germany"}
    assert all(p.email is None for p in first.items), "a search gives no emails"
    assert world.tenant.usage() == [], "people search is free"


def test_each_page_is_a_search_of_its_own(world: World) -> None:
    everyone = {"organization_num_employees_ranges": ["1,10000000"]}
    first = world.enrichment.search_people(world.member, everyone, per_page=25)
    second = world.enrichment.search_people(world.member, everyone, page=2, per_page=25)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (40, 2, 25, 15)
    assert not set(first.items) & set(second.items)
    assert world.apollo.calls["search_people"] == 2
    assert world.enrichment.search_people(world.member, everyone, page=2,
                                          per_page=25).cached


def test_the_cache_expires_after_its_ttl(world: World) -> None:
    world.enrichment.search_people(world.member, GERMANS)
    world.later(DEFAULT_TTL - timedelta(seconds=1))
    assert world.enrichment.search_people(world.member, GERMANS).cached
    world.later(timedelta(seconds=2))
    fresh = world.enrichment.search_people(world.member, GERMANS)
    assert not fresh.cached and world.apollo.calls["search_people"] == 2
    assert fresh.fetched_at == world.clock.now()


def test_refresh_asks_apollo_again(world: World) -> None:
    world.enrichment.search_people(world.member, GERMANS)
    assert not world.enrichment.search_people(world.member, GERMANS, refresh=True).cached
    assert world.apollo.calls["search_people"] == 2


def test_the_cache_is_the_tenants_own(world: World) -> None:
    world.enrichment.search_people(world.member, GERMANS)
    other = world.other_tenant()
    assert not world.enrichment.search_people(other.owner, GERMANS).cached
    assert world.apollo.calls["search_people"] == 2


def test_a_throttled_apollo_is_unavailable_with_when_to_retry(world: World) -> None:
    world.apollo.fail("search_people", ApolloError(ApolloErrorKind.THROTTLED,
                                                   "429 Too Many Requests", retry_after=60))
    with pytest.raises(Unavailable) as failed:
        world.enrichment.search_people(world.member, GERMANS)
    assert failed.value.retry_after == 60
    assert not world.enrichment.search_people(world.member, GERMANS).cached, (
        "nothing was cached by the failure")


@pytest.mark.parametrize(("kind", "error", "says"), [
    (ApolloErrorKind.REJECTED, ValidationFailed, "Apollo refused the search"),
    (ApolloErrorKind.UNAUTHORIZED, Unavailable, "LAD_APOLLO_API_KEY"),
    (ApolloErrorKind.UNAVAILABLE, Unavailable, "Apollo is unavailable"),
])
def test_apollos_failures_as_the_caller_sees_them(world: World, kind: ApolloErrorKind,
                                                  error: type[Exception], says: str) -> None:
    world.apollo.fail("search_people", ApolloError(kind, "no"))
    with pytest.raises(error) as failed:
        world.enrichment.search_people(world.member, GERMANS)
    assert says in str(failed.value)


def test_apollo_not_configured_names_the_setting(world: World) -> None:
    world.connection.apollo = None
    with pytest.raises(Unavailable) as failed:
        world.enrichment.search_people(world.member, GERMANS)
    assert str(failed.value) == NOT_CONFIGURED


@pytest.mark.parametrize(("filters", "options", "field"), [
    ({}, {}, "filters"),
    ({"person_title": ["CTO"]}, {}, "filters.person_title"),
    (GERMANS, {"page": 501, "per_page": 100}, "page"),
    (GERMANS, {"per_page": 101}, "per_page"),
])
def test_a_search_that_cannot_be_asked_is_refused_before_apollo(
        world: World, filters: dict[str, object], options: dict[str, object],
        field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        world.enrichment.search_people(world.member, filters, page=options.get("page", 1),
                                       per_page=options.get("per_page", 25))
    assert _field(failed) == field
    assert world.apollo.calls["search_people"] == 0


def test_a_viewer_may_not_search(world: World) -> None:
    viewer = world.tenant.ws.member(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        world.enrichment.search_people(viewer, GERMANS)
    world.lad.team().set_feature(OPERATOR, "enrichment", False, tenant_id=world.tenant.tenant_id)
    with pytest.raises(PermissionDenied):
        world.enrichment.search_people(world.owner, GERMANS)
    assert world.apollo.calls["search_people"] == 0


def test_the_last_page_within_the_ceiling_is_asked(lad: Container, clock: FixedClock) -> None:
    world = World.open(lad, clock, apollo=FakeApollo.of(40, weight=3000))
    last = world.enrichment.search_people(world.member, {"person_locations": ["Germany"]},
                                          page=500, per_page=100)
    assert last.total == 24_000 and last.items == ()
    capped = world.enrichment.search_people(world.member, {
        "person_titles": ["engineer", "engineering", "cto"]})
    assert capped.capped and capped.pages == MAX_RECORDS // 25


def test_a_search_past_the_ceiling_is_planned_from_counts(lad: Container,
                                                          clock: FixedClock) -> None:
    world = World.open(lad, clock, apollo=FakeApollo.of(40, weight=5000))
    plan = world.enrichment.plan(world.member, {"person_titles": ["engineer", "engineering"]})
    assert plan.total == 75_000 and plan.uncovered == 0
    assert len(plan.searches) > 1
    assert all(part.total <= MAX_RECORDS for part in plan.searches)
    assert sum(part.total for part in plan.searches) == plan.total
    assert world.tenant.usage() == [], "counting is free"


# --- companies ------------------------------------------------------------------------------

def test_a_company_page_costs_one_credit_and_its_cached_copy_nothing(world: World) -> None:
    first = world.enrichment.search_companies(world.member, COMPANIES)
    again = world.enrichment.search_companies(world.member, COMPANIES)
    assert world.apollo.calls["search_organizations"] == 1
    assert (first.cached, first.cost) == (False, CREDIT)
    assert (again.cached, again.cost) == (True, Decimal(0))
    assert again.items == first.items and {o.country for o in first.items} == {
        "United States"}
    [line] = world.tenant.usage()
    assert (line.feature_key, list(line.items)) == (
        "enrichment", [("apollo_lookup", Decimal(1), CREDIT)])
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50) - CREDIT, 0)


def test_the_credit_is_priced_for_apollo(world: World) -> None:
    world.enrichment.search_companies(world.member, COMPANIES)
    [event] = world.tenant.charges()
    assert (event.feature_key, event.total_cost, event.user_id) == (
        "enrichment", CREDIT, world.member.user_id)
    [item] = event.items
    assert (item.category, item.provider, item.unit_price) == ("apollo_lookup", "apollo",
                                                               CREDIT)


def test_a_refreshed_company_page_is_billed_again(world: World) -> None:
    """Two pages fetched from Apollo are two credits, even in the same instant."""
    world.enrichment.search_companies(world.member, COMPANIES)
    again = world.enrichment.search_companies(world.member, COMPANIES, refresh=True)
    assert world.apollo.calls["search_organizations"] == 2
    assert again.cost == CREDIT
    assert len(world.tenant.usage()) == 2
    assert world.tenant.wallet().current_balance == Decimal(50) - 2 * CREDIT


def test_a_wallet_that_cannot_pay_is_refused_before_apollo(lad: Container,
                                                           clock: FixedClock) -> None:
    world = World.open(lad, clock, funds="0.01")
    with pytest.raises(InsufficientFunds):
        world.enrichment.search_companies(world.member, COMPANIES)
    assert world.apollo.calls["search_organizations"] == 0
    assert world.tenant.usage() == []
    assert world.tenant.ledger()["reservation"] == 0


def test_a_failed_company_search_bills_nothing_and_gives_the_hold_back(world: World) -> None:
    world.apollo.fail("search_organizations")
    with pytest.raises(Unavailable):
        world.enrichment.search_companies(world.member, COMPANIES)
    assert world.tenant.usage() == []
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50), Decimal(0))
    ledger = world.tenant.ledger()
    assert (ledger["reservation"], ledger["release"]) == (1, 1)
    assert not world.enrichment.search_companies(world.member, COMPANIES).cached


def test_apollo_not_configured_holds_nothing_for_long(world: World) -> None:
    world.connection.apollo = None
    with pytest.raises(Unavailable):
        world.enrichment.search_companies(world.member, COMPANIES)
    assert world.tenant.wallet().reserved_balance == 0
    assert world.tenant.usage() == []
