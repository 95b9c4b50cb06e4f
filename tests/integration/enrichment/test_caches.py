"""The enrichment caches on memory, SQLite and PostgreSQL (as the application role, under
row-level security): search pages, people and organisations read until they expire,
replaced when fetched again, per tenant; and the leads an import finds by their Apollo id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lad_domain.enrichment.model import Organization, Person
from lad_domain.enrichment.ports import CachedSearch
from lad_domain.leads.model import Lead
from tests.integration.repositories import run
from tests.unit.leads.workspace import Workspace

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def person(k: int, **fields: Any) -> Person:
    values: dict[str, Any] = {
        "first_name": "Ada", "last_name": f"L{k}", "title": "CTO", "seniority": "c_suite",
        "linkedin_url": f"https://linkedin.test/in/{k}", "city": "Berlin", "country": "Germany",
        "organization_id": f"org{k % 7}", "organization_name": "Acme"} | fields
    return Person(apollo_id=f"p{k:05d}", **values)


def search(key: str = "k1", *, ids: tuple[str, ...] = ("p1", "p2"), fetched: datetime = NOW
           ) -> CachedSearch:
    return CachedSearch(key=key, kind="people", filters={"person_titles": ["CTO"]}, page=2,
                        per_page=25, total=1234, ids=ids, fetched_at=fetched,
                        expires_at=fetched + DAY)


# --- search pages -------------------------------------------------------------------------


def test_a_search_page_is_read_until_it_expires(ws: Workspace) -> None:
    page = search()
    run(ws, lambda uow: uow.search_cache.put(page))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.search_cache.get("k1", NOW + DAY - timedelta(seconds=1)) == page
        assert uow.search_cache.get("k1", NOW + DAY) is None
        assert uow.search_cache.get("k2", NOW) is None


def test_a_search_page_fetched_again_replaces_the_first(ws: Workspace, other: Workspace
                                                        ) -> None:
    run(ws, lambda uow: uow.search_cache.put(search()))
    again = search(ids=("p3",), fetched=NOW + 2 * DAY)
    run(ws, lambda uow: uow.search_cache.put(again))
    assert run(ws, lambda uow: uow.search_cache.get("k1", NOW + 2 * DAY)) == again
    assert run(other, lambda uow: uow.search_cache.get("k1", NOW + 2 * DAY)) is None


def test_a_search_that_found_nobody_is_kept_and_read_back_empty(ws: Workspace) -> None:
    empty = search(ids=())
    run(ws, lambda uow: [uow.search_cache.put(empty), uow.people_cache.put_many([], NOW, NOW),
                         uow.company_cache.put_many([], NOW, NOW)])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.search_cache.get("k1", NOW) == empty
        assert uow.people_cache.get_many([], NOW) == {}


# --- people and organisations -------------------------------------------------------------


def test_people_are_read_until_they_expire(ws: Workspace) -> None:
    fresh, stale = [person(1), person(2, email="ada@acme.test")], [person(3)]
    run(ws, lambda uow: [uow.people_cache.put_many(fresh, NOW, NOW + DAY),
                         uow.people_cache.put_many(stale, NOW - DAY, NOW)])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        found = uow.people_cache.get_many(["p00001", "p00002", "p00003", "p00009"], NOW)
    assert found == {p.apollo_id: p for p in fresh}


def test_people_fetched_again_replace_the_first_and_live_on(ws: Workspace) -> None:
    run(ws, lambda uow: uow.people_cache.put_many([person(1), person(2)], NOW - DAY, NOW))
    matched = person(1, email="ada@acme.test", phone="+4930123")
    run(ws, lambda uow: uow.people_cache.put_many([person(1), matched], NOW, NOW + DAY))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.people_cache.get_many(["p00001", "p00002"], NOW) == {"p00001": matched}


def test_companies_are_upserted_and_expire(ws: Workspace) -> None:
    acme = Organization(apollo_id="o1", name="Acme", domain="acme.test", industry="fintech",
                        employees=120, country="Germany", website_url="https://acme.test")
    run(ws, lambda uow: uow.company_cache.put_many([acme, Organization("o2")], NOW - DAY, NOW))
    grown = Organization(apollo_id="o1", name="Acme", employees=300)
    run(ws, lambda uow: uow.company_cache.put_many([grown], NOW, NOW + DAY))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.company_cache.get_many({"o1", "o2"}, NOW) == {"o1": grown}
        assert uow.company_cache.get_many([], NOW) == {}


def test_the_caches_are_each_tenants_own(ws: Workspace, other: Workspace) -> None:
    run(ws, lambda uow: [uow.people_cache.put_many([person(1)], NOW, NOW + DAY),
                         uow.company_cache.put_many([Organization("o1")], NOW, NOW + DAY)])
    theirs = person(1, first_name="Bob")
    run(other, lambda uow: uow.people_cache.put_many([theirs], NOW, NOW + DAY))
    with other.lad.unit_of_work()(other.tenant_id) as uow:
        assert uow.people_cache.get_many(["p00001"], NOW) == {"p00001": theirs}
        assert uow.company_cache.get_many(["o1"], NOW) == {}
    assert run(ws, lambda uow: uow.people_cache.get_many(["p00001"], NOW)) == {
        "p00001": person(1)}


def test_ten_thousand_people_round_trip(ws: Workspace) -> None:
    people = [person(k) for k in range(10_000)]
    run(ws, lambda uow: uow.people_cache.put_many(people, NOW, NOW + DAY))
    run(ws, lambda uow: uow.people_cache.put_many(people[::2], NOW, NOW + 2 * DAY))
    ids = [p.apollo_id for p in people]
    found = run(ws, lambda uow: uow.people_cache.get_many(ids, NOW + DAY))
    assert found == {p.apollo_id: p for p in people[::2]}
    assert len(run(ws, lambda uow: uow.people_cache.get_many(ids, NOW))) == 10_000


# --- leads found by a custom field --------------------------------------------------------


def lead(ws: Workspace, minute: int, **custom: Any) -> Lead:
    return Lead(id=uuid.uuid4(), tenant_id=ws.tenant_id, stage="new", status="open",
                created_at=NOW + timedelta(minutes=minute),
                updated_at=NOW + timedelta(minutes=minute), custom_fields=custom)


def test_leads_are_found_by_a_custom_field_oldest_first(ws: Workspace, other: Workspace
                                                        ) -> None:
    first, second = lead(ws, 1, apollo_id="a1"), lead(ws, 0, apollo_id="a1")
    gone = lead(ws, 2, apollo_id="a2")
    gone.deleted_at = NOW
    others = [lead(ws, 3, apollo_id="a3"), lead(ws, 4, apollo_id=4), lead(ws, 5, other="a5"),
              lead(ws, 6, apollo_id=["a6"])]
    run(ws, lambda uow: [uow.leads.add(x) for x in (first, second, gone, *others)])
    run(other, lambda uow: uow.leads.add(lead(other, 0, apollo_id="a5")))
    wanted = ["a1", "a2", "a3", "4", "a5", "a6", "a9"]
    assert run(ws, lambda uow: uow.leads.find_by_custom_field("apollo_id", wanted)) == {
        "a1": second.id, "a3": others[0].id}
    assert run(ws, lambda uow: uow.leads.find_by_custom_field("apollo_id", [])) == {}


def test_thousands_of_values_are_looked_up_in_chunks(ws: Workspace) -> None:
    wanted = [f"id{k:05d}" for k in range(2500)]
    leads = [lead(ws, k, apollo_id=wanted[k]) for k in (0, 999, 1000, 2499)]
    run(ws, lambda uow: [uow.leads.add(x) for x in leads])
    found = run(ws, lambda uow: uow.leads.find_by_custom_field("apollo_id", wanted))
    assert found == {x.custom_fields["apollo_id"]: x.id for x in leads}
