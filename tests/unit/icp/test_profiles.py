"""Saved ICP profiles on the memory backend: saved from a conversation or typed, one live
profile per name, deleted softly (the name free again), each use for a search counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lad_domain.icp.model import HeadcountRange
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.fakes.icp import update
from tests.unit.enrichment.world import World

TYPED = {"titles": ["CTO"], "person_locations": ["Germany"], "headcounts": ["1,10"]}


@pytest.fixture
def world(lad: Container, clock: FixedClock) -> World:
    return World.open(lad, clock)


def _field(failed: pytest.ExceptionInfo[ValidationFailed]) -> str:
    [error] = failed.value.errors
    return error.field


def test_a_profile_is_saved_from_a_conversation(world: World) -> None:
    world.extractor.script(update(titles=["CTO"], headcounts=[(50, 200)]))
    conversation = world.assistant.start(world.member)
    world.assistant.say(world.member, conversation.id, "CTOs at companies of 50-200")
    profile = world.profiles.save(world.member, {"name": "Mid-size CTOs",
                                                 "conversation_id": str(conversation.id)})
    assert profile.icp == world.assistant.get(world.member, conversation.id).icp
    assert profile.icp.headcounts == (HeadcountRange(50, 200),)
    assert profile.source_conversation_id == conversation.id
    assert profile.user_id == world.member.user_id
    assert world.profiles.get(world.owner, profile.id).name == "Mid-size CTOs"
    assert world.tenant.events("icp.profile_changed")[-1]["change"] == "saved"


def test_a_profile_is_saved_from_a_typed_icp(world: World) -> None:
    profile = world.profiles.save(world.member, {"name": "German CTOs", "icp": TYPED,
                                                 "description": "  first market  "})
    assert profile.icp.titles == ("CTO",) and profile.icp.source == "user"
    assert profile.description == "first market"
    assert profile.source_conversation_id is None
    assert profile.usage_count == 0 and profile.last_used_at is None


@pytest.mark.parametrize(("fields", "field"), [
    ({"icp": TYPED}, "name"),
    ({"name": "x"}, "icp"),
    ({"name": "x", "icp": {}}, "icp"),
    ({"name": "x", "icp": {"headcounts": ["200,50"]}}, "icp.headcounts[0]"),
    ({"name": "x", "icp": TYPED, "conversation_id": "not-a-uuid"}, "icp"),
    ({"name": "x", "conversation_id": "not-a-uuid"}, "conversation_id"),
    ({"name": "x", "icp": TYPED, "colour": "blue"}, "colour"),
])
def test_a_bad_profile_is_named(world: World, fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        world.profiles.save(world.member, fields)
    assert _field(failed) == field
    assert world.profiles.list(world.owner, PageRequest()).items == []


def test_an_empty_conversation_is_no_profile(world: World) -> None:
    conversation = world.assistant.start(world.member)
    with pytest.raises(ValidationFailed) as failed:
        world.profiles.save(world.member, {"name": "x", "conversation_id": conversation.id})
    assert _field(failed) == "icp"


def test_a_live_name_is_taken_until_the_profile_is_deleted(world: World) -> None:
    first = world.profiles.save(world.member, {"name": "German CTOs", "icp": TYPED})
    with pytest.raises(Conflict):
        world.profiles.save(world.admin, {"name": "German CTOs", "icp": TYPED})
    world.profiles.delete(world.member, first.id)
    with pytest.raises(NotFound):
        world.profiles.get(world.member, first.id)
    second = world.profiles.save(world.admin, {"name": "German CTOs", "icp": TYPED})
    assert second.id != first.id
    assert [p.id for p in world.profiles.list(world.owner, PageRequest()).items] == [second.id]


def test_renaming_onto_a_live_name_conflicts(world: World) -> None:
    world.profiles.save(world.member, {"name": "A", "icp": TYPED})
    other = world.profiles.save(world.member, {"name": "B", "icp": TYPED})
    with pytest.raises(Conflict):
        world.profiles.update(world.member, other.id, {"name": "A"})
    assert world.profiles.get(world.member, other.id).name == "B"
    edited = world.profiles.update(world.member, other.id, {
        "name": "C", "icp": {"titles": ["VP Sales"]}})
    assert (edited.name, edited.icp.titles) == ("C", ("VP Sales",))


def test_another_tenants_profile_is_not_found(world: World) -> None:
    profile = world.profiles.save(world.member, {"name": "German CTOs", "icp": TYPED})
    other = world.other_tenant()
    with pytest.raises(NotFound):
        world.profiles.get(other.owner, profile.id)
    with pytest.raises(NotFound):
        world.profiles.delete(other.owner, profile.id)
    with pytest.raises(NotFound):
        world.enrichment.preview(other.owner, profile_id=profile.id)
    # Nor may another tenant save a profile from this tenant's conversation.
    conversation = world.assistant.start(world.member)
    with pytest.raises(NotFound):
        world.profiles.save(other.owner, {"name": "x", "conversation_id": conversation.id})
    assert world.profiles.get(world.member, profile.id).usage_count == 0


def test_only_the_saver_or_an_admin_changes_a_profile(world: World) -> None:
    profile = world.profiles.save(world.member, {"name": "German CTOs", "icp": TYPED})
    colleague = world.tenant.ws.member()
    with pytest.raises(PermissionDenied):
        world.profiles.update(colleague, profile.id, {"name": "Mine now"})
    with pytest.raises(PermissionDenied):
        world.profiles.delete(colleague, profile.id)
    world.profiles.delete(world.admin, profile.id)
    assert world.profiles.list(world.owner, PageRequest()).items == []


def test_each_preview_counts_a_use(world: World) -> None:
    profile = world.profiles.save(world.member, {"name": "German CTOs", "icp": TYPED})
    params, first = world.enrichment.preview(world.member, profile_id=profile.id)
    assert params == {"person_titles": ["CTO"], "include_similar_titles": True,
                      "person_locations": ["Germany"],
                      "organization_num_employees_ranges": ["1,10"]}
    assert first.total == 1
    [cto] = first.items
    assert (cto.title, cto.country) == ("CTO", "Germany")
    world.later(timedelta(minutes=5))
    _, second = world.enrichment.preview(world.member, profile_id=profile.id)
    assert second.cached and world.apollo.calls["search_people"] == 1
    used = world.profiles.get(world.member, profile.id)
    assert used.usage_count == 2
    assert used.last_used_at == world.clock.now()
