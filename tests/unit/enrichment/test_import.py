"""People a search found become leads through the leads import path, on the memory backend:
only people of a recent search, each once (by Apollo id), with their Apollo id, LinkedIn
URL and company; matched for an email first when asked, a credit per person found, and a
failure part-way billing only what was found before it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.billing.errors import InsufficientFunds
from lad_domain.enrichment.model import Person
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import PermissionDenied, Unavailable, ValidationFailed
from lad_domain.shared.principal import Role
from lad_entrypoints.container import Container
from tests.unit.enrichment.world import World

CREDIT = Decimal("0.0200")
EVERYONE = {"organization_num_employees_ranges": ["1,10000000"]}


def _found(world: World, count: int) -> list[Person]:
    """The first ``count`` people of a search of everyone (now in the people cache)."""
    result = world.enrichment.search_people(world.member, EVERYONE, per_page=count)
    return list(result.items)


def _ids(people: list[Person]) -> list[str]:
    return [p.apollo_id for p in people]


def _field(failed: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [error] = failed.value.errors
    return error.field


def test_people_become_leads_with_their_apollo_id_linkedin_and_company(world: World) -> None:
    people = _found(world, 3)
    done = world.enrichment.import_people(world.member, _ids(people))
    assert (done.selected, done.already_leads, done.matched, done.cost) == (3, 0, 0, 0)
    assert (done.report.created, done.report.rejected_rows) == (3, 0)
    leads = {lead.custom_fields["apollo_person_id"]: lead for lead in world.tenant.leads()}
    assert sorted(leads) == sorted(_ids(people))
    for person in people:
        lead = leads[person.apollo_id]
        assert (lead.first_name, lead.last_name, lead.title, lead.company, lead.source) == (
            person.first_name, person.last_name, person.title, person.organization_name,
            "apollo")
        assert lead.custom_fields["linkedin_url"] == person.linkedin_url
        assert lead.custom_fields["apollo_organization_id"] == person.organization_id
        assert lead.email is None, "a search gives no emails"
    assert world.tenant.usage() == [], "importing what a search found is free"
    [event] = world.tenant.events("enrichment.people_imported")
    assert (event["selected"], event["created"], event["already_leads"]) == (3, 3, 0)


def test_people_imported_before_are_not_imported_twice(world: World) -> None:
    people = _found(world, 4)
    world.enrichment.import_people(world.member, _ids(people[:3]))
    again = world.enrichment.import_people(world.member, _ids(people))
    assert (again.selected, again.already_leads, again.report.created) == (4, 3, 1)
    ids = [lead.custom_fields["apollo_person_id"] for lead in world.tenant.leads()]
    assert sorted(ids) == sorted(_ids(people)), "no duplicates"
    assert world.enrichment.import_people(world.member, _ids(people)).report.created == 0


def test_the_same_id_twice_in_one_request_is_one_person(world: World) -> None:
    [person] = _found(world, 1)
    done = world.enrichment.import_people(world.member, [person.apollo_id, person.apollo_id])
    assert (done.selected, done.report.created) == (1, 1)


@pytest.mark.parametrize(("ids", "field"), [
    (["p0000-00000", "p9999-00000"], "person_ids"), ([], "person_ids"),
    ("p0000-00000", "person_ids"), (["p0000-00000", ""], "person_ids[1]"),
])
def test_people_not_in_a_recent_search_are_refused(world: World, ids: object,
                                                   field: str) -> None:
    _found(world, 1)
    with pytest.raises(ValidationFailed) as failed:
        world.enrichment.import_people(world.member, ids)
    assert _field(failed) == field
    assert world.tenant.leads() == []


def test_people_of_an_expired_search_must_be_searched_again(world: World) -> None:
    people = _found(world, 2)
    world.later(world.enrichment.ttl)
    with pytest.raises(ValidationFailed) as failed:
        world.enrichment.import_people(world.member, _ids(people))
    assert "search again" in failed.value.errors[0].message


def test_a_dry_run_imports_nothing_and_matches_nobody(world: World) -> None:
    people = _found(world, 3)
    done = world.enrichment.import_people(world.member, _ids(people), enrich=True,
                                          dry_run=True)
    assert (done.report.dry_run, done.report.created, done.matched) == (True, 3, 0)
    assert world.tenant.leads() == []
    assert world.apollo.calls["match_people"] == 0
    assert world.tenant.events("enrichment.people_imported") == []


def test_enriched_import_bills_each_person_found(world: World) -> None:
    people = _found(world, 12)
    done = world.enrichment.import_people(world.member, _ids(people), enrich=True)
    assert world.apollo.calls["match_people"] == 2, "ten people a call"
    assert (done.matched, done.cost, done.report.created) == (12, 12 * CREDIT, 12)
    [event] = world.tenant.charges()
    [item] = event.items
    assert (item.category, item.provider, item.quantity, item.cost) == (
        "apollo_lookup", "apollo", Decimal(12), 12 * CREDIT)
    emails = {lead.custom_fields["apollo_person_id"]: lead.email
              for lead in world.tenant.leads()}
    assert emails == {p.apollo_id: world.apollo.person(p.apollo_id).email for p in people}
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50) - 12 * CREDIT, 0)


def test_people_apollo_does_not_find_are_not_billed(world: World) -> None:
    people = _found(world, 3)
    world.apollo.people = world.apollo.people[:2]  # the third left Apollo since
    done = world.enrichment.import_people(world.member, _ids(people), enrich=True)
    assert (done.matched, done.cost, done.report.created) == (2, 2 * CREDIT, 3)
    assert sum(1 for lead in world.tenant.leads() if lead.email) == 2


def test_a_failure_part_way_bills_only_what_was_found_before_it(world: World) -> None:
    people = _found(world, 25)
    world.apollo.fail("match_people", on_call=2)
    with pytest.raises(Unavailable):
        world.enrichment.import_people(world.member, _ids(people), enrich=True)
    assert world.apollo.calls["match_people"] == 2
    [event] = world.tenant.charges()
    assert (event.items[0].quantity, event.total_cost) == (Decimal(10), 10 * CREDIT)
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50) - 10 * CREDIT, 0)
    assert world.tenant.leads() == [], "the import ends at the failure"
    # What was found and paid for is kept: importing again matches only the rest.
    world.enrichment.import_people(world.member, _ids(people), enrich=True)
    assert world.apollo.calls["match_people"] == 4
    assert world.tenant.spent() == 25 * CREDIT
    assert len([lead for lead in world.tenant.leads() if lead.email]) == 25


def test_a_wallet_that_cannot_pay_for_the_matches_is_refused_first(
        lad: Container, clock: FixedClock) -> None:
    world = World.open(lad, clock, funds="0.10")
    people = _found(world, 6)
    with pytest.raises(InsufficientFunds):
        world.enrichment.import_people(world.member, _ids(people), enrich=True)
    assert world.apollo.calls["match_people"] == 0
    assert world.tenant.leads() == [] and world.tenant.usage() == []
    done = world.enrichment.import_people(world.member, _ids(people[:5]), enrich=True)
    assert (done.matched, done.cost) == (5, 5 * CREDIT)


def test_a_viewer_may_not_import(world: World) -> None:
    people = _found(world, 1)
    viewer = world.tenant.ws.member(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        world.enrichment.import_people(viewer, _ids(people))
    assert world.tenant.leads() == []
