"""Enriching a lead from Apollo on the memory backend: only blanks are filled (what a user
typed stays), a credit when Apollo finds the person and none when it does not, nothing when
the cache already knows their email, and nothing billed when Apollo fails."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.billing.errors import InsufficientFunds
from lad_domain.enrichment.model import Person
from lad_domain.leads.model import Lead
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import NotFound, PermissionDenied, Unavailable
from lad_domain.shared.principal import Role
from lad_entrypoints.container import Container
from tests.unit.enrichment.world import World

CREDIT = Decimal("0.0200")
#: Someone of the fake's population: Radia Perlman, a CTO in Paris.
KNOWN = "p0008-00000"


def _typed_lead(world: World, person: Person, **fields: object) -> Lead:
    """A lead a user typed: the person's name and company, a title of their own."""
    return world.tenant.lead(first_name=person.first_name, last_name=person.last_name,
                             company=person.organization_name, **fields)


def test_enrichment_fills_only_the_blanks(world: World) -> None:
    person = world.apollo.person(KNOWN)
    lead = _typed_lead(world, person, title="Chief Tinkerer")
    enriched = world.enrichment.enrich_lead(world.member, lead.id)
    assert (enriched.found, enriched.cached, enriched.cost) == (True, False, CREDIT)
    assert enriched.lead.title == "Chief Tinkerer", "what the user typed stays"
    assert enriched.lead.email == person.email
    assert enriched.lead.phone == person.phone
    assert enriched.lead.custom_fields["apollo_person_id"] == KNOWN
    assert enriched.lead.custom_fields["linkedin_url"] == person.linkedin_url
    assert enriched.lead.custom_fields["location"] == person.location
    assert enriched.filled == ("email", "phone", "apollo_person_id", "linkedin_url",
                               "location")
    [stored] = [found for found in world.tenant.leads() if found.id == lead.id]
    assert (stored.email, stored.title) == (person.email, "Chief Tinkerer")
    assert world.tenant.events("lead.enriched")[-1]["fields"] == list(enriched.filled)


def test_a_person_found_costs_one_credit(world: World) -> None:
    lead = _typed_lead(world, world.apollo.person(KNOWN))
    world.enrichment.enrich_lead(world.member, lead.id)
    assert world.apollo.calls["match_people"] == 1
    [event] = world.tenant.charges()
    [item] = event.items
    assert (item.category, item.provider, item.quantity, item.cost) == (
        "apollo_lookup", "apollo", Decimal(1), CREDIT)
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50) - CREDIT, 0)


def test_a_person_not_found_costs_nothing(world: World) -> None:
    lead = world.tenant.lead(first_name="Nobody", last_name="Known", company="Nowhere Ltd")
    enriched = world.enrichment.enrich_lead(world.member, lead.id)
    assert (enriched.found, enriched.filled, enriched.cost) == (False, (), Decimal(0))
    assert world.tenant.usage() == []
    wallet = world.tenant.wallet()
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal(50), Decimal(0))
    assert world.tenant.events("lead.enriched") == []


def test_a_person_whose_email_is_cached_costs_nothing(world: World) -> None:
    person = world.apollo.person(KNOWN)
    first = _typed_lead(world, person)
    world.enrichment.enrich_lead(world.member, first.id)
    # Another lead of the same person (by Apollo id), typed without an email: the cache
    # answers, Apollo is not asked, and the email another lead has is left out.
    second = world.tenant.lead(first_name=person.first_name,
                               custom_fields={"apollo_person_id": KNOWN})
    enriched = world.enrichment.enrich_lead(world.member, second.id)
    assert (enriched.found, enriched.cached, enriched.cost) == (True, True, Decimal(0))
    assert world.apollo.calls["match_people"] == 1
    assert enriched.lead.email is None
    assert (enriched.lead.last_name, enriched.lead.phone) == (person.last_name, person.phone)
    assert len(world.tenant.usage()) == 1
    # Once the first lead is gone, its email is free for the second.
    world.lad.leads().delete_lead(world.owner, first.id)
    assert world.enrichment.enrich_lead(world.member, second.id).lead.email == person.email
    assert world.apollo.calls["match_people"] == 1


def test_a_search_after_a_match_keeps_what_was_paid_for(world: World) -> None:
    """A later search lists the person again without contact details: the email the match
    paid for stays in the cache, so enriching another lead of theirs costs nothing."""
    person = world.apollo.person(KNOWN)
    world.enrichment.enrich_lead(world.member, _typed_lead(world, person).id)
    world.enrichment.search_people(world.member, {"person_locations": ["France"]},
                                   per_page=100)
    world.lad.leads().delete_lead(world.owner, world.tenant.leads()[0].id)
    second = world.tenant.lead(first_name="Radia", custom_fields={"apollo_person_id": KNOWN})
    enriched = world.enrichment.enrich_lead(world.member, second.id)
    assert (enriched.cached, enriched.cost, enriched.lead.email) == (
        True, Decimal(0), person.email)
    assert world.apollo.calls["match_people"] == 1


def test_a_cached_person_without_contact_details_is_matched(world: World) -> None:
    """A search caches people without emails: enriching still asks Apollo (and pays)."""
    found = world.enrichment.search_people(world.member, {"person_locations": ["France"]})
    assert KNOWN in {p.apollo_id for p in found.items}
    lead = world.tenant.lead(first_name="Someone", custom_fields={"apollo_person_id": KNOWN})
    enriched = world.enrichment.enrich_lead(world.member, lead.id)
    assert (enriched.found, enriched.cached, enriched.cost) == (True, False, CREDIT)
    assert world.apollo.matched[-1].apollo_id == KNOWN
    assert enriched.lead.first_name == "Someone"
    assert enriched.lead.email == world.apollo.person(KNOWN).email


def test_a_wallet_that_cannot_pay_is_refused_before_apollo(lad: Container,
                                                           clock: FixedClock) -> None:
    world = World.open(lad, clock, funds=None)
    lead = _typed_lead(world, world.apollo.person(KNOWN))
    with pytest.raises(InsufficientFunds):
        world.enrichment.enrich_lead(world.member, lead.id)
    assert world.apollo.calls["match_people"] == 0
    assert world.tenant.usage() == []


def test_a_failed_match_bills_nothing_and_changes_nothing(world: World) -> None:
    lead = _typed_lead(world, world.apollo.person(KNOWN))
    world.apollo.fail("match_people")
    with pytest.raises(Unavailable):
        world.enrichment.enrich_lead(world.member, lead.id)
    assert world.tenant.usage() == []
    assert world.tenant.wallet().reserved_balance == 0
    [stored] = world.tenant.leads()
    assert stored.email is None and stored.custom_fields == {}


def test_only_a_member_who_may_write_leads_enriches(world: World) -> None:
    lead = _typed_lead(world, world.apollo.person(KNOWN))
    viewer = world.tenant.ws.member(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        world.enrichment.enrich_lead(viewer, lead.id)
    other = world.other_tenant()
    with pytest.raises(NotFound):
        world.enrichment.enrich_lead(other.owner, lead.id)
    world.lad.leads().delete_lead(world.owner, lead.id)
    with pytest.raises(NotFound):
        world.enrichment.enrich_lead(world.member, lead.id)
    assert world.apollo.calls["match_people"] == 0
