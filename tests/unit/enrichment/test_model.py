"""Search filters in Apollo's vocabulary (one search, one cache key), paging within the
50,000-record ceiling, and the plan that splits a larger search into parts under it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from lad_domain.enrichment.model import (
    MAX_RECORDS,
    CompanyFilters,
    PeopleFilters,
    Person,
    SearchResult,
    page_bounds,
    plan_search,
)
from lad_domain.shared.errors import ValidationFailed
from tests.fakes.apollo import FakeApollo, organizations, profiles


def _field(failed: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [error] = failed.value.errors
    return error.field


def test_reordered_and_recased_filters_are_one_search() -> None:
    first = PeopleFilters.parse({
        "person_titles": ["CTO", "VP Engineering"], "person_seniorities": ["vp", "c_suite"],
        "person_locations": ["Germany"], "q_keywords": "  FinTech  Payments ",
        "organization_num_employees_ranges": ["51,200", "1,10"],
        "q_organization_domains_list": ["https://www.Acme.com/"]})
    second = PeopleFilters.parse({
        "q_organization_domains_list": ["acme.com", "ACME.COM"],
        "organization_num_employees_ranges": [[1, 10], {"min": 51, "max": 200}],
        "q_keywords": "fintech payments", "person_locations": ["GERMANY", "germany"],
        "person_seniorities": ["C_SUITE", "vp"], "person_titles": ["vp  engineering", "cto"]})
    assert first == second
    assert first.key(1, 25) == second.key(1, 25)
    assert first.key(1, 25) != first.key(2, 25) != first.key(1, 50)
    assert first.person_titles == ("cto", "vp engineering")
    assert first.organization_num_employees_ranges == ("1,10", "51,200")
    assert first.q_organization_domains_list == ("acme.com",)


def test_a_people_search_and_a_company_search_never_share_a_key() -> None:
    people = PeopleFilters.parse({"organization_locations": ["berlin"]})
    companies = CompanyFilters.parse({"organization_locations": ["berlin"]})
    assert people.to_params() == companies.to_params()
    assert people.key(1, 25) != companies.key(1, 25)


def test_to_params_leaves_empty_filters_out() -> None:
    assert PeopleFilters.parse({"person_seniorities": ["vp"]}).to_params() == {
        "person_seniorities": ["vp"]}
    titled = PeopleFilters.parse({"person_titles": ["CTO"], "include_similar_titles": False})
    assert titled.to_params() == {"person_titles": ["cto"], "include_similar_titles": False}
    assert PeopleFilters.parse({}).is_empty


@pytest.mark.parametrize(("params", "field"), [
    ({"person_title": ["CTO"]}, "filters.person_title"),
    ({"person_seniorities": ["wizard"]}, "filters.person_seniorities"),
    ({"person_titles": "CTO"}, "filters.person_titles"),
    ({"person_titles": ["ok", ""]}, "filters.person_titles[1]"),
    ({"include_similar_titles": "yes"}, "filters.include_similar_titles"),
    ({"organization_num_employees_ranges": ["200,50"]},
     "filters.organization_num_employees_ranges[0]"),
    ({"q_organization_domains_list": ["not a domain"]},
     "filters.q_organization_domains_list[0]"),
    ({"q_keywords": ["fintech"]}, "filters.q_keywords"),
    ([("person_titles", ["CTO"])], "filters"),
])
def test_a_bad_filter_is_named(params: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        PeopleFilters.parse(params)
    assert _field(failed) == field


def test_an_unknown_filter_lists_the_known_ones() -> None:
    with pytest.raises(ValidationFailed) as failed:
        CompanyFilters.parse({"q_organization_name": "acme", "industry": ["x"]})
    assert _field(failed) == "filters.industry"
    assert "q_organization_keyword_tags" in failed.value.errors[0].message


@pytest.mark.parametrize(("page", "per_page", "field"), [
    (0, 25, "page"), (501, 100, "page"), (True, 25, "page"), (1, 0, "per_page"),
    (1, 101, "per_page"), (2, "25", "per_page"),
])
def test_pages_stay_within_apollos_reach(page: Any, per_page: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        page_bounds(page, per_page)
    assert _field(failed) == field
    assert page_bounds(500, 100) == (500, 100), "the last reachable page"


def test_a_result_counts_only_the_reachable_pages() -> None:
    result: SearchResult[Person] = SearchResult(
        items=(), page=1, per_page=100, total=120_000, cached=False, cost=Decimal(0),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC), key="k")
    assert result.capped and result.pages == MAX_RECORDS // 100


def test_narrower_splits_by_size_bucket_then_halves_then_seniority() -> None:
    anyone = PeopleFilters.parse({"person_locations": ["germany"]})
    buckets = anyone.narrower()
    assert [f.organization_num_employees_ranges for f in buckets][:3] == [
        ("1,10",), ("11,50",), ("51,200",)]
    assert all(f.person_locations == ("germany",) for f in buckets)
    two = PeopleFilters.parse({"organization_num_employees_ranges": ["1,10", "51,200"]})
    assert [f.organization_num_employees_ranges for f in two.narrower()] == [
        ("1,10",), ("51,200",)]
    one = PeopleFilters.parse({"organization_num_employees_ranges": ["51,200"]})
    assert [f.organization_num_employees_ranges for f in one.narrower()] == [
        ("51,125",), ("126,200",)]
    single = PeopleFilters.parse({"organization_num_employees_ranges": ["120,120"],
                                  "person_seniorities": ["vp", "head"]})
    assert [f.person_seniorities for f in single.narrower()] == [("head",), ("vp",)]
    assert PeopleFilters.parse({"organization_num_employees_ranges": ["120,120"],
                                "person_seniorities": ["vp"]}).narrower() == []


def test_a_search_past_the_ceiling_is_planned_in_parts_under_it() -> None:
    apollo = FakeApollo.of(40, weight=5000)  # 200,000 people
    wanted = PeopleFilters.parse({"person_titles": ["engineer", "engineering"]})
    assert apollo.count(wanted) > MAX_RECORDS
    plan = plan_search(wanted, apollo.count)
    assert plan.total == apollo.count(wanted)
    assert len(plan.searches) > 1
    assert all(0 < part.total <= MAX_RECORDS for part in plan.searches)
    assert sum(part.total for part in plan.searches) == plan.total
    assert plan.uncovered == 0
    assert all(part.total == apollo.count(part.filters) for part in plan.searches)


def test_a_plan_says_what_it_could_not_split_small_enough() -> None:
    apollo = FakeApollo.of(8, weight=60_000)  # one kind of person per seniority
    wanted = PeopleFilters.parse({"person_titles": ["cto"],
                                  "organization_num_employees_ranges": ["8,8"]})
    plan = plan_search(wanted, apollo.count)
    assert plan.total == 60_000
    assert [(p.filters.person_seniorities, p.total) for p in plan.searches] == [
        (("c_suite",), 60_000)]
    assert plan.uncovered == 60_000 - MAX_RECORDS


def test_people_no_narrower_part_finds_are_uncovered() -> None:
    orgs = organizations()
    unsized = (attrs.evolve(orgs[0], employees=None), *orgs[1:])
    apollo = FakeApollo(people=profiles(40, unsized), orgs=unsized, weight=5000)
    wanted = PeopleFilters.parse({"person_titles": ["engineer", "engineering"]})
    plan = plan_search(wanted, apollo.count)
    lost = apollo.count(PeopleFilters.parse({"person_titles": ["engineer", "engineering"],
                                             "q_organization_domains_list": [orgs[0].domain]}))
    assert lost > 0, "people at the company of unknown size"
    assert all(part.total <= MAX_RECORDS for part in plan.searches)
    assert sum(part.total for part in plan.searches) == plan.total - lost
    assert plan.uncovered == lost


def test_a_search_under_the_ceiling_is_one_part() -> None:
    apollo = FakeApollo.of(40)
    wanted = PeopleFilters.parse({"person_locations": ["germany"]})
    plan = plan_search(wanted, apollo.count)
    assert [(p.filters, p.total) for p in plan.searches] == [(wanted, plan.total)]
    assert plan.total == 8


def test_a_person_is_merged_without_overwriting() -> None:
    typed = Person(apollo_id="p1", first_name="Ada", title="Countess")
    found = Person(apollo_id="p1", first_name="Augusta", title="Analyst",
                   email="ada@example.com", city="London", country="United Kingdom")
    merged = typed.merged(found)
    assert (merged.first_name, merged.title, merged.email) == ("Ada", "Countess",
                                                               "ada@example.com")
    assert merged.location == "London, United Kingdom"
    assert Person.from_json(merged.to_json()) == merged
