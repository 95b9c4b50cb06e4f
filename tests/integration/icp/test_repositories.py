"""The ICP repositories on memory, SQLite and PostgreSQL (as the application role, under
row-level security): conversations, messages, saved profiles and the keyword-expansion
cache, every field round-tripped, and another tenant's rows out of sight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa

from lad_adapters.sql.tables.icp import ai_conversations, ai_icp_profiles, ai_messages
from lad_domain.icp.model import (
    Conversation,
    ConversationStatus,
    ExpansionStats,
    HeadcountRange,
    IcpDocument,
    IcpProfile,
    KeywordExpansion,
    Message,
    Role,
)
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import PageRequest
from tests.integration.repositories import pages, run
from tests.unit.leads.workspace import Workspace

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
DOCUMENT = IcpDocument(titles=("CTO", "VP Engineering"), seniorities=("c_suite", "vp"),
                       headcounts=(HeadcountRange(11, 50), HeadcountRange(51, 200)),
                       person_locations=("Germany",), industries=("fintech",),
                       keywords=("payments",), domains=("acme.test",),
                       include_similar_titles=False, source="gpt-4o-mini")


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def conversation(ws: Workspace, *, minute: int = 0, user_id: uuid.UUID | None = None
                 ) -> Conversation:
    owner = user_id or ws.owner.user_id
    assert owner is not None
    return Conversation(id=uuid.uuid4(), tenant_id=ws.tenant_id, user_id=owner,
                        created_at=at(minute), updated_at=at(minute), title="Fintech CTOs")


def stored_conversation(ws: Workspace) -> Conversation:
    found = conversation(ws)
    run(ws, lambda uow: uow.conversations.add(found))
    return found


def message(conversation_id: uuid.UUID, *, minute: int = 0) -> Message:
    return Message(id=uuid.uuid4(), conversation_id=conversation_id, role=Role.USER,
                   content=f"turn {minute}", created_at=at(minute), tokens_used=12,
                   model="rules", metadata={"turn": minute})


def profile(ws: Workspace, name: str = "EU fintech", *, minute: int = 0) -> IcpProfile:
    return IcpProfile(id=uuid.uuid4(), tenant_id=ws.tenant_id, name=name, icp=DOCUMENT,
                      created_at=at(minute), updated_at=at(minute), user_id=ws.owner.user_id,
                      description="Who we sell to")


def expansion(keyword: str, tenant_id: uuid.UUID | None, *expanded: str) -> KeywordExpansion:
    return KeywordExpansion(id=uuid.uuid4(), original_keyword=keyword, context="industry",
                            expanded=expanded or ("banking",), created_at=NOW, updated_at=NOW,
                            tenant_id=tenant_id, model="rules")


# --- conversations and messages -----------------------------------------------------------


def test_a_conversation_round_trips_its_document(ws: Workspace) -> None:
    found = stored_conversation(ws)
    found.icp, found.status, found.updated_at = DOCUMENT, ConversationStatus.COMPLETED, at(5)
    run(ws, lambda uow: uow.conversations.update(found))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.conversations.get(found.id, lock=True) == found
        assert uow.conversations.get(uuid.uuid4()) is None


def test_the_search_parameters_are_stored_beside_the_document(
        ws: Workspace, backend: str) -> None:
    found = conversation(ws)
    found.icp = DOCUMENT
    run(ws, lambda uow: uow.conversations.add(found))
    if backend != "memory":
        stored = run(ws, lambda uow: uow.db.execute(sa.select(
            ai_conversations.c.search_params, ai_conversations.c.organization_id)).one())
        assert (stored.search_params, stored.organization_id) == (found.search_params,
                                                                   ws.tenant_id)
    assert found.search_params["person_titles"] == ["CTO", "VP Engineering"]


def test_conversations_page_newest_first_by_member(ws: Workspace) -> None:
    member = ws.member().user_id
    mine = [conversation(ws, minute=k) for k in range(3)]
    theirs = conversation(ws, minute=9, user_id=member)
    run(ws, lambda uow: [uow.conversations.add(c) for c in [*mine, theirs]])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert pages(lambda p: uow.conversations.list(ws.owner.user_id, p)) == [
            [mine[2], mine[1]], [mine[0]]]
        assert uow.conversations.list(None, PageRequest()).items == [theirs, *reversed(mine)]


def test_messages_page_oldest_first_and_recent_gives_the_last_ones(ws: Workspace) -> None:
    conversation_id = stored_conversation(ws).id
    messages = [message(conversation_id, minute=k) for k in (3, 0, 4, 1, 2)]
    run(ws, lambda uow: [uow.icp_messages.add(m) for m in messages])
    ordered = sorted(messages, key=lambda m: m.created_at)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert pages(lambda p: uow.icp_messages.list(conversation_id, p)) == [
            ordered[0:2], ordered[2:4], ordered[4:]]
        assert uow.icp_messages.recent(conversation_id, 3) == ordered[2:]
        assert uow.icp_messages.recent(conversation_id, 9) == ordered
        assert uow.icp_messages.recent(uuid.uuid4(), 3) == []


def test_a_cursor_of_one_conversation_is_refused_by_another(ws: Workspace) -> None:
    first, second = stored_conversation(ws).id, stored_conversation(ws).id
    run(ws, lambda uow: [uow.icp_messages.add(message(first, minute=k)) for k in range(3)])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        cursor = uow.icp_messages.list(first, PageRequest(limit=1)).next_cursor
        with pytest.raises(Exception, match="cursor"):
            uow.icp_messages.list(second, PageRequest(limit=1, cursor=cursor))


def test_a_message_needs_its_conversation(ws: Workspace) -> None:
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.icp_messages.add(message(uuid.uuid4())))


# --- saved profiles -----------------------------------------------------------------------


def test_a_profile_round_trips_and_is_gone_once_deleted(ws: Workspace) -> None:
    source = stored_conversation(ws)
    found = profile(ws)
    found.source_conversation_id = source.id
    run(ws, lambda uow: uow.icp_profiles.add(found))
    found.used(at(3))
    found.description, found.updated_at = None, at(3)
    run(ws, lambda uow: uow.icp_profiles.update(found))
    assert run(ws, lambda uow: uow.icp_profiles.get(found.id, lock=True)) == found
    found.deleted_at = at(4)
    run(ws, lambda uow: uow.icp_profiles.update(found))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert (uow.icp_profiles.get(found.id), uow.icp_profiles.list(PageRequest()).items) \
            == (None, [])


def test_a_live_profile_name_is_taken_once_per_tenant(ws: Workspace, other: Workspace) -> None:
    first, second = profile(ws, "EU fintech"), profile(ws, "US retail", minute=1)
    run(ws, lambda uow: [uow.icp_profiles.add(p) for p in (first, second)])
    run(other, lambda uow: uow.icp_profiles.add(profile(other, "EU fintech")))
    with pytest.raises(Conflict, match="a profile with this name already exists"):
        run(ws, lambda uow: uow.icp_profiles.add(profile(ws, "EU fintech")))
    renamed = attrs.evolve(second, name="EU fintech")
    with pytest.raises(Conflict, match="a profile with this name already exists"):
        run(ws, lambda uow: uow.icp_profiles.update(renamed))
    first.deleted_at = at(2)
    run(ws, lambda uow: uow.icp_profiles.update(first))
    run(ws, lambda uow: uow.icp_profiles.update(renamed))  # the name is free again
    assert run(ws, lambda uow: uow.icp_profiles.get(second.id)) == renamed


def test_profiles_page_newest_first(ws: Workspace) -> None:
    profiles = [profile(ws, f"Profile {k}", minute=k) for k in range(3)]
    run(ws, lambda uow: [uow.icp_profiles.add(p) for p in profiles])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert pages(uow.icp_profiles.list) == [[profiles[2], profiles[1]], [profiles[0]]]


def test_another_tenant_sees_none_of_the_rows(ws: Workspace, other: Workspace) -> None:
    found = stored_conversation(ws)
    saved = profile(ws)
    run(ws, lambda uow: [uow.icp_messages.add(message(found.id)), uow.icp_profiles.add(saved),
                         uow.keyword_expansions.add(expansion("fintech", ws.tenant_id))])
    with other.lad.unit_of_work()(other.tenant_id) as uow:
        assert uow.conversations.get(found.id) is None
        assert uow.conversations.list(None, PageRequest()).items == []
        assert uow.icp_messages.list(found.id, PageRequest()).items == []
        assert uow.icp_messages.recent(found.id, 5) == []
        assert (uow.icp_profiles.get(saved.id), uow.icp_profiles.list(PageRequest()).items) \
            == (None, [])
        assert uow.keyword_expansions.find("fintech", "industry") is None
        assert uow.keyword_expansions.stats() == ExpansionStats(0, 0, 0)


@pytest.mark.parametrize("backend", ["postgres"])
def test_row_level_security_hides_another_tenants_rows(ws: Workspace, other: Workspace) -> None:
    """The second wall: the tables read whole, with no tenant condition, in another scope."""
    found = stored_conversation(ws)
    run(ws, lambda uow: [uow.icp_messages.add(message(found.id)),
                         uow.icp_profiles.add(profile(ws))])
    with other.lad.unit_of_work()(other.tenant_id) as uow:
        counts = [uow.db.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (ai_conversations, ai_messages, ai_icp_profiles)]
    assert counts == [0, 0, 0]


# --- the keyword-expansion cache ----------------------------------------------------------


def test_a_tenants_own_expansion_comes_before_the_global_one(
        ws: Workspace, other: Workspace) -> None:
    shared, own = expansion("fintech", None, "payments"), expansion("fintech", ws.tenant_id,
                                                                     "neobank")
    run(ws, lambda uow: [uow.keyword_expansions.add(shared), uow.keyword_expansions.add(own)])
    assert run(ws, lambda uow: uow.keyword_expansions.find("fintech", "industry")) == own
    assert run(other, lambda uow: uow.keyword_expansions.find("fintech", "industry")) == shared
    with ws.lad.unit_of_work()(None) as uow:
        assert uow.keyword_expansions.find("fintech", "industry") == shared
        assert uow.keyword_expansions.find("fintech", "title") is None


def test_adding_an_expansion_again_keeps_the_first(ws: Workspace, other: Workspace) -> None:
    for owner in (None, ws.tenant_id):
        first = expansion("saas", owner, "software")
        run(ws, lambda uow, e=first: uow.keyword_expansions.add(e))
        run(ws, lambda uow, o=owner: uow.keyword_expansions.add(expansion("saas", o, "cloud")))
    run(other, lambda uow: uow.keyword_expansions.add(expansion("saas", other.tenant_id)))
    found = run(ws, lambda uow: uow.keyword_expansions.find("saas", "industry"))
    assert (found.tenant_id, found.expanded) == (ws.tenant_id, ("software",))
    assert run(ws, lambda uow: uow.keyword_expansions.stats()).entries == 2


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_expansion_added_by_a_concurrent_transaction_is_not_an_error(
        ws: Workspace) -> None:
    """Both miss, both ask the model, both add: the second waits for the first and keeps
    its row. (SQLite and memory run one writer at a time: this cannot interleave there.)"""
    for keyword, owner in (("crm", None), ("erp", ws.tenant_id)):
        with ws.lad.unit_of_work()(ws.tenant_id) as late:
            assert late.keyword_expansions.find(keyword, "industry") is None
            run(ws, lambda uow, k=keyword, o=owner: uow.keyword_expansions.add(
                expansion(k, o, "first")))
            late.keyword_expansions.add(expansion(keyword, owner, "second"))
            late.commit()
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.keyword_expansions.stats().entries == 2
        found = [uow.keyword_expansions.find(k, "industry") for k in ("crm", "erp")]
    assert [f.expanded if f else None for f in found] == [("first",), ("first",)]


def test_hits_are_counted_on_global_and_own_rows(ws: Workspace, other: Workspace) -> None:
    shared, own = expansion("fintech", None), expansion("retail", ws.tenant_id)
    run(ws, lambda uow: [uow.keyword_expansions.add(shared), uow.keyword_expansions.add(own)])
    run(ws, lambda uow: [uow.keyword_expansions.record_hit(shared.id, at(1)),
                         uow.keyword_expansions.record_hit(shared.id, at(2)),
                         uow.keyword_expansions.record_hit(own.id, at(3))])
    run(other, lambda uow: [uow.keyword_expansions.record_hit(shared.id, at(4)),
                            uow.keyword_expansions.record_hit(own.id, at(5))])  # not theirs
    found = run(ws, lambda uow: uow.keyword_expansions.find("fintech", "industry"))
    assert (found.hit_count, found.last_used_at) == (3, at(4))
    assert run(ws, lambda uow: uow.keyword_expansions.stats()) == ExpansionStats(2, 4, 2)
    assert run(other, lambda uow: uow.keyword_expansions.stats()) == ExpansionStats(1, 3, 1)
