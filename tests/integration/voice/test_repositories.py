"""The voice repositories on memory, SQLite and PostgreSQL (as the application role, under
row-level security): every method, with the in-memory adapter's semantics, every field
round-tripped, and another tenant's rows out of sight."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lad_adapters.sql import partitions
from lad_domain.campaigns.window import SendWindow
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import PageRequest
from lad_domain.voice.model import (
    Agent,
    AgentSettings,
    Batch,
    BatchEntry,
    BatchSettings,
    BatchStatus,
    Call,
    CallAnalysis,
    CallStatus,
    Capability,
    Decision,
    DialDecision,
    EntryStatus,
    Gender,
    Number,
    Permission,
    PhoneNumber,
    RetryPolicy,
    UserProfile,
    Voice,
)
from tests.integration.repositories import pages, run
from tests.unit.leads.workspace import Workspace

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def voice(tenant_id: uuid.UUID | None, voice_id: str = "rachel", *, minute: int = 0) -> Voice:
    return Voice(id=uuid.uuid4(), provider="elevenlabs", provider_voice_id=voice_id,
                 name=f"Voice {voice_id}", created_at=at(minute), updated_at=at(minute),
                 tenant_id=tenant_id, gender=Gender.FEMALE, language="en-US",
                 preview_url="https://voices.test/r.mp3", metadata={"accent": "us"})


def agent(ws: Workspace, *, minute: int = 0) -> Agent:
    return Agent(tenant_id=ws.tenant_id, name="Ava", language="en", created_at=at(minute),
                 updated_at=at(minute), system_prompt="Be brief.", first_message="Hi!",
                 settings=AgentSettings(provider="vapi", provider_agent_id="asst_1",
                                        max_duration_seconds=300, recording=True,
                                        recording_disclosure="This call is recorded.",
                                        extra={"temperature": 0.2}),
                 created_by=ws.owner.user_id)


def number(ws: Workspace, base: int = 5551230000, *, minute: int = 0) -> Number:
    return Number(id=uuid.uuid4(), tenant_id=ws.tenant_id,
                  phone=PhoneNumber(country_code="1", base_number=base), provider="twilio",
                  created_at=at(minute), updated_at=at(minute), provider_number_id="PN1",
                  label="Sales", capabilities=frozenset({Capability.VOICE, Capability.SMS}))


def stored_agent(ws: Workspace) -> int:
    found = agent(ws)
    run(ws, lambda uow: uow.agents.add(found))
    return found.number


SETTINGS = BatchSettings(
    window=SendWindow(days=frozenset({0, 2}), start=datetime(2026, 1, 1, 9).time(),
                      end=datetime(2026, 1, 1, 18).time()),
    concurrency=3, retry=RetryPolicy(max_attempts=4, on=frozenset({"busy"}),
                                     backoff_minutes=30),
    max_calls_per_lead_per_day=1)


def batch(ws: Workspace, agent_id: int, *, status: BatchStatus = BatchStatus.RUNNING,
          minute: int = 0) -> Batch:
    return Batch(id=uuid.uuid4(), tenant_id=ws.tenant_id, agent_id=agent_id, status=status,
                 created_at=at(minute), updated_at=at(minute), name="Spring calls",
                 settings=SETTINGS, total_calls=3, scheduled_at=at(5), started_at=at(6),
                 created_by=ws.owner.user_id)


def stored_batch(ws: Workspace) -> Batch:
    found = batch(ws, stored_agent(ws))
    run(ws, lambda uow: uow.call_batches.add(found))
    return found


def entry(ws: Workspace, batch_id: uuid.UUID, *, minute: int = 0,
          status: EntryStatus = EntryStatus.PENDING, lead_id: uuid.UUID | None = None
          ) -> BatchEntry:
    return BatchEntry(id=uuid.uuid4(), tenant_id=ws.tenant_id, batch_id=batch_id,
                      status=status, created_at=at(minute), updated_at=at(minute),
                      lead_id=lead_id, phone=PhoneNumber("44", 7700900123 + minute),
                      next_attempt_at=at(minute + 1))


def call(ws: Workspace, *, minute: float = 0, lead_id: uuid.UUID | None = None,
         batch_id: uuid.UUID | None = None, status: CallStatus = CallStatus.QUEUED,
         provider_call_id: str | None = None) -> Call:
    return Call(id=uuid.uuid4(), tenant_id=ws.tenant_id, created_at=at(minute),
                updated_at=at(minute), status=status, to=PhoneNumber("1", 2025550100),
                lead_id=lead_id, batch_id=batch_id, initiated_by_user_id=ws.owner.user_id,
                provider="vapi", provider_call_id=provider_call_id,
                metadata={"max_duration_seconds": 300})


# --- the catalog --------------------------------------------------------------------------


def test_voices_are_the_global_ones_and_the_tenants_own_live_ones(
        ws: Workspace, other: Workspace) -> None:
    shared = voice(None, "shared", minute=1)
    run(None, lambda uow: uow.voices.add(shared), ws.lad)
    mine, gone = voice(ws.tenant_id, "mine", minute=2), voice(ws.tenant_id, "gone", minute=3)
    theirs = voice(other.tenant_id, "theirs", minute=4)
    run(ws, lambda uow: [uow.voices.add(mine), uow.voices.add(gone)])
    run(other, lambda uow: uow.voices.add(theirs))
    gone.deleted_at = at(10)
    run(ws, lambda uow: uow.voices.update(gone))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.voices.list(None, PageRequest()).items == [mine, shared]
        assert uow.voices.list("cartesia", PageRequest()).items == []
        assert [uow.voices.get(v.id) for v in (shared, mine, gone, theirs)] == [
            shared, mine, None, None]
        assert uow.voices.find("elevenlabs", "mine") == mine
        assert uow.voices.find("elevenlabs", "mine", global_only=True) is None
        assert uow.voices.find("elevenlabs", "theirs") is None
    with ws.lad.unit_of_work()(None) as uow:
        assert uow.voices.list(None, PageRequest()).items == [shared]


def test_a_voice_is_in_the_catalog_once_per_scope(ws: Workspace, other: Workspace) -> None:
    run(None, lambda uow: uow.voices.add(voice(None, "shared")), ws.lad)
    for workspace, duplicate in ((None, voice(None, "shared")),
                                 (ws, voice(ws.tenant_id, "shared"))):
        with pytest.raises(Conflict, match="already in the catalog"):
            run(workspace, lambda uow, d=duplicate: uow.voices.add(d), ws.lad)
    own = voice(ws.tenant_id, "own")
    run(ws, lambda uow: uow.voices.add(own))
    run(other, lambda uow: uow.voices.add(voice(other.tenant_id, "own")))  # another scope
    with pytest.raises(Conflict, match="already in the catalog"):
        run(ws, lambda uow: uow.voices.add(voice(ws.tenant_id, "own")))
    own.deleted_at = at(1)
    run(ws, lambda uow: uow.voices.update(own))
    run(ws, lambda uow: uow.voices.add(voice(ws.tenant_id, "own")))  # the key is live rows'


def test_a_tenant_cannot_change_a_global_voice(ws: Workspace) -> None:
    shared = voice(None, "shared")
    run(None, lambda uow: uow.voices.add(shared), ws.lad)
    changed = voice(None, "shared")
    changed.id, changed.name = shared.id, "Mine now"
    run(ws, lambda uow: uow.voices.update(changed))
    assert run(ws, lambda uow: uow.voices.get(shared.id)) == shared


def test_agents_round_trip_with_increasing_ids_across_tenants(
        ws: Workspace, other: Workspace) -> None:
    first, second, third = agent(ws, minute=1), agent(other, minute=2), agent(ws, minute=3)
    run(ws, lambda uow: uow.agents.add(first))
    run(other, lambda uow: uow.agents.add(second))
    run(ws, lambda uow: uow.agents.add(third))
    assert first.number < second.number < third.number
    assert run(ws, lambda uow: uow.agents.get(first.number)) == first
    assert run(ws, lambda uow: uow.agents.get(second.number)) is None


@pytest.mark.parametrize("agent_id", [0, -1, 2**63, 10**30])
def test_an_id_no_bigint_holds_names_no_agent(ws: Workspace, agent_id: int) -> None:
    """Not an error from the driver (SQLite's integers stop at 2**63 - 1): no agent."""
    assert run(ws, lambda uow: uow.agents.get(agent_id)) is None


def test_a_deleted_agent_is_gone_and_agents_page_newest_first(ws: Workspace) -> None:
    agents = [agent(ws, minute=k) for k in range(5)]
    run(ws, lambda uow: [uow.agents.add(a) for a in agents])
    agents[2].deleted_at, agents[2].name = at(9), "Gone"
    run(ws, lambda uow: uow.agents.update(agents[2]))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.agents.get(agents[2].number) is None
        assert pages(uow.agents.list) == [[agents[4], agents[3]], [agents[1], agents[0]]]


def test_numbers_round_trip_and_are_found_by_phone(ws: Workspace) -> None:
    agent_id = stored_agent(ws)
    found = number(ws)
    found.agent_id = agent_id
    run(ws, lambda uow: uow.numbers.add(found))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.numbers.get(found.id) == found
        assert uow.numbers.find(PhoneNumber("1", 5551230000)) == found
        assert uow.numbers.find(PhoneNumber("44", 5551230000)) is None


def test_a_tenant_has_a_live_number_once(ws: Workspace, other: Workspace) -> None:
    first = number(ws)
    run(ws, lambda uow: uow.numbers.add(first))
    run(other, lambda uow: uow.numbers.add(number(other)))  # another tenant may
    with pytest.raises(Conflict, match="the tenant already has this number"):
        run(ws, lambda uow: uow.numbers.add(number(ws)))
    first.deleted_at = at(1)
    run(ws, lambda uow: uow.numbers.update(first))
    again = number(ws, minute=2)
    run(ws, lambda uow: uow.numbers.add(again))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert (uow.numbers.get(first.id), uow.numbers.list(PageRequest()).items) == (
            None, [again])


def test_numbers_page_newest_first(ws: Workspace) -> None:
    numbers = [number(ws, 5551230000 + k, minute=k) for k in range(3)]
    run(ws, lambda uow: [uow.numbers.add(n) for n in numbers])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert pages(uow.numbers.list) == [[numbers[2], numbers[1]], [numbers[0]]]


# --- members' defaults and permissions ----------------------------------------------------


def test_a_profile_is_put_whole_for_members_only(ws: Workspace) -> None:
    user_id = ws.owner.user_id
    assert user_id is not None
    agent_id = stored_agent(ws)
    profile = UserProfile(tenant_id=ws.tenant_id, user_id=user_id, created_at=NOW,
                          updated_at=NOW, default_agent_id=agent_id,
                          preferences={"language": "fr"})
    run(ws, lambda uow: uow.voice_profiles.put(profile))
    replaced = UserProfile(tenant_id=ws.tenant_id, user_id=user_id, created_at=NOW,
                           updated_at=at(1))
    run(ws, lambda uow: uow.voice_profiles.put(replaced))
    assert run(ws, lambda uow: uow.voice_profiles.get(user_id)) == replaced
    stranger = UserProfile(tenant_id=ws.tenant_id, user_id=uuid.uuid4(), created_at=NOW,
                           updated_at=NOW)
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.voice_profiles.put(stranger))


def permission(ws: Workspace, user_id: uuid.UUID | None, *, minute: int = 0,
               number_id: uuid.UUID | None = None) -> Permission:
    assert user_id is not None
    return Permission(id=uuid.uuid4(), tenant_id=ws.tenant_id, user_id=user_id,
                      created_at=at(minute), updated_at=at(minute), number_id=number_id,
                      voice_id=None if number_id else uuid.uuid4(),
                      granted_by=ws.owner.user_id)


def test_permissions_round_trip_by_member(ws: Workspace) -> None:
    shared = voice(None, "shared")
    run(None, lambda uow: uow.voices.add(shared), ws.lad)
    member = ws.member().user_id
    line = number(ws)
    run(ws, lambda uow: uow.numbers.add(line))
    grants = [permission(ws, member, minute=k, number_id=line.id) for k in range(3)]
    grants[1].number_id, grants[1].voice_id = None, shared.id
    owners = permission(ws, ws.owner.user_id, minute=9, number_id=line.id)
    run(ws, lambda uow: [uow.voice_permissions.add(p) for p in [*grants, owners]])
    grants[0].is_active, grants[0].updated_at = False, at(5)
    run(ws, lambda uow: uow.voice_permissions.update(grants[0]))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.voice_permissions.get(grants[0].id) == grants[0]
        assert uow.voice_permissions.for_user(member) == grants
        assert pages(lambda page: uow.voice_permissions.list(member, page)) == [
            [grants[2], grants[1]], [grants[0]]]
        assert uow.voice_permissions.list(None, PageRequest()).items[0] == owners


def test_a_permission_needs_a_member(ws: Workspace) -> None:
    line = number(ws)
    run(ws, lambda uow: uow.numbers.add(line))
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.voice_permissions.add(
            permission(ws, uuid.uuid4(), number_id=line.id)))


# --- batches and entries ------------------------------------------------------------------


def test_batches_round_trip_their_settings_and_list_by_status(ws: Workspace) -> None:
    agent_id = stored_agent(ws)
    running, paused = batch(ws, agent_id, minute=1), batch(ws, agent_id, minute=2)
    run(ws, lambda uow: [uow.call_batches.add(b) for b in (running, paused)])
    paused.pause(at(3))
    paused.settings = BatchSettings()
    run(ws, lambda uow: uow.call_batches.update(paused))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.call_batches.get(running.id, lock=True) == running
        assert uow.call_batches.get(paused.id) == paused
        assert uow.call_batches.list(BatchStatus.PAUSED, PageRequest()).items == [paused]
        assert pages(lambda p: uow.call_batches.list(None, p), 1) == [[paused], [running]]


def test_a_batch_needs_its_agent(ws: Workspace) -> None:
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.call_batches.add(batch(ws, 987654)))


def test_entries_round_trip_with_their_decision(ws: Workspace) -> None:
    found = entry(ws, stored_batch(ws).id, lead_id=ws.lead().id)
    run(ws, lambda uow: uow.batch_entries.add_many([found]))
    found.decide(DialDecision(decision=Decision.DIAL, reason="inside the window", at=at(2),
                              zones=("America/New_York",), local_times=("05:02",)))
    found.last_call_id, found.claim_token = uuid.uuid4(), uuid.uuid4()
    run(ws, lambda uow: uow.batch_entries.update(found))
    assert run(ws, lambda uow: uow.batch_entries.get(found.id, lock=True)) == found
    found.decide(DialDecision(decision=Decision.WAIT, reason="outside the window",
                              at=at(3), until=at(60)))
    found.finish("busy", RetryPolicy(), at(4), connected=False)
    run(ws, lambda uow: uow.batch_entries.update(found))
    assert run(ws, lambda uow: uow.batch_entries.get(found.id)) == found


def test_entries_list_oldest_first_by_status(ws: Workspace) -> None:
    batch_id = stored_batch(ws).id
    entries = [entry(ws, batch_id, minute=k) for k in range(5)]
    entries[3].status = EntryStatus.CALLING
    run(ws, lambda uow: uow.batch_entries.add_many(entries))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert pages(lambda p: uow.batch_entries.list(batch_id, None, p)) == [
            entries[0:2], entries[2:4], entries[4:]]
        pending = [e for e in entries if e.status is EntryStatus.PENDING]
        assert pages(lambda p: uow.batch_entries.list(batch_id, EntryStatus.PENDING, p),
                     3) == [pending[:3], pending[3:]]


def test_entries_are_counted_found_by_lead_and_cancelled_while_pending(ws: Workspace) -> None:
    batch_id = stored_batch(ws).id
    lead_id = ws.lead().id
    statuses = [EntryStatus.PENDING, EntryStatus.QUEUED, EntryStatus.CALLING,
                EntryStatus.COMPLETED, EntryStatus.PENDING]
    entries = [entry(ws, batch_id, minute=k, status=s, lead_id=lead_id)
               for k, s in enumerate(statuses)]
    run(ws, lambda uow: uow.batch_entries.add_many(entries))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert [e.id for e in uow.batch_entries.open_for_lead(lead_id)] == [
            e.id for e in entries if e.status.is_open]
        assert uow.batch_entries.cancel_open(batch_id, "stopped", at(9)) == 2
        cancelled = uow.batch_entries.get(entries[0].id)
        counts = uow.batch_entries.counts(batch_id)
    assert cancelled is not None
    assert (cancelled.status, cancelled.last_error, cancelled.next_attempt_at,
            cancelled.updated_at) == (EntryStatus.CANCELLED, "stopped", None, at(9))
    assert {s: c for s, c in counts.items() if c} == {
        EntryStatus.QUEUED: 1, EntryStatus.CALLING: 1, EntryStatus.COMPLETED: 1,
        EntryStatus.CANCELLED: 2}
    assert set(counts) == set(EntryStatus)


def test_an_entry_needs_its_batch(ws: Workspace) -> None:
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.batch_entries.add_many([entry(ws, uuid.uuid4())]))


# --- calls and their analysis -------------------------------------------------------------


def test_calls_round_trip_and_are_found_by_provider_id(ws: Workspace) -> None:
    placed = call(ws, lead_id=ws.lead().id, provider_call_id="call-1")
    run(ws, lambda uow: uow.calls.add(placed))
    placed.status, placed.duration_seconds = CallStatus.VOICEMAIL, 42
    placed.started_at, placed.ended_at = at(1), at(2)
    placed.cost, placed.cost_breakdown = Decimal("0.123456"), {"provider": {"llm": "0.01"}}
    placed.recording_url, placed.transcription, placed.updated_at = "https://r", "Hi", at(2)
    run(ws, lambda uow: uow.calls.update(placed))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.calls.get(placed.id, lock=True) == placed
        assert uow.calls.get_by_provider("vapi", "call-1", lock=True) == placed
        assert uow.calls.get_by_provider("retell", "call-1") is None


def test_calls_list_newest_first_within_their_filters(ws: Workspace) -> None:
    lead_id, batch_id = ws.lead().id, stored_batch(ws).id
    days = [call(ws, minute=60 * 24 * k, lead_id=lead_id if k % 2 else None,
                 batch_id=batch_id if k > 2 else None) for k in range(-40, 40, 8)]
    run(ws, lambda uow: [uow.calls.add(c) for c in days])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert [c for page in pages(uow.calls.list, 3) for c in page] == days[::-1]
        assert uow.calls.list(PageRequest(), lead_id=lead_id).items == [
            c for c in days[::-1] if c.lead_id]
        assert uow.calls.list(PageRequest(), batch_id=batch_id).items == [
            c for c in days[::-1] if c.batch_id]
        within = uow.calls.list(PageRequest(), since=days[2].created_at,
                                until=days[5].created_at).items
        assert within == days[4:1:-1]


def test_calls_placed_to_a_lead_since_and_calls_overdue(ws: Workspace) -> None:
    lead_id, uncalled = ws.lead().id, ws.lead().id
    calls = [call(ws, minute=k, lead_id=lead_id, status=s) for k, s in enumerate(
        [CallStatus.QUEUED, CallStatus.COMPLETED, CallStatus.RINGING, CallStatus.IN_PROGRESS,
         CallStatus.UNKNOWN, CallStatus.QUEUED])]
    run(ws, lambda uow: [uow.calls.add(c) for c in calls])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.calls.placed_since(lead_id, at(2)) == 4
        assert uow.calls.placed_since(uncalled, NOW) == 0
        assert [c.id for c in uow.calls.overdue(at(5), 2)] == [calls[0].id, calls[2].id]
        assert [c.id for c in uow.calls.overdue(at(5), 9)] == [
            calls[0].id, calls[2].id, calls[3].id]


def test_a_calls_analysis_is_put_once_and_replaced(ws: Workspace) -> None:
    placed = call(ws)
    run(ws, lambda uow: uow.calls.add(placed))
    first = CallAnalysis(id=uuid.uuid4(), tenant_id=ws.tenant_id, call_id=placed.id,
                         call_created_at=placed.created_at, created_at=at(1),
                         updated_at=at(1), sentiment="positive", lead_category="hot",
                         summary="Wants a demo", extraction={"budget": 5000}, model="gpt")
    run(ws, lambda uow: uow.call_analyses.put(first))
    second = CallAnalysis(id=uuid.uuid4(), tenant_id=ws.tenant_id, call_id=placed.id,
                          call_created_at=placed.created_at, created_at=at(2),
                          updated_at=at(2), sentiment="neutral")
    run(ws, lambda uow: uow.call_analyses.put(second))
    assert (second.id, second.created_at) == (first.id, first.created_at)
    assert run(ws, lambda uow: uow.call_analyses.get_for(placed.id)) == second
    assert run(ws, lambda uow: uow.call_analyses.get_for(uuid.uuid4())) is None


def test_an_analysis_needs_its_call(ws: Workspace) -> None:
    with pytest.raises(Conflict):
        run(ws, lambda uow: uow.call_analyses.put(CallAnalysis(
            id=uuid.uuid4(), tenant_id=ws.tenant_id, call_id=uuid.uuid4(),
            call_created_at=NOW, created_at=NOW, updated_at=NOW)))


# --- tenants ------------------------------------------------------------------------------


def test_another_tenants_rows_are_out_of_sight(ws: Workspace, other: Workspace) -> None:
    theirs = stored_batch(other)
    line, placed = number(other), call(other, provider_call_id="theirs", batch_id=theirs.id)
    rows = [entry(other, theirs.id)]
    run(other, lambda uow: [uow.numbers.add(line), uow.calls.add(placed),
                            uow.batch_entries.add_many(rows)])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert (uow.agents.get(theirs.agent_id), uow.numbers.get(line.id),
                uow.numbers.find(line.phone), uow.call_batches.get(theirs.id),
                uow.batch_entries.get(rows[0].id), uow.calls.get(placed.id),
                uow.calls.get_by_provider("vapi", "theirs")) == (None,) * 7
        assert [uow.agents.list(PageRequest()).items, uow.numbers.list(PageRequest()).items,
                uow.call_batches.list(None, PageRequest()).items,
                uow.batch_entries.list(theirs.id, None, PageRequest()).items,
                uow.calls.list(PageRequest()).items] == [[]] * 5
        assert sum(uow.batch_entries.counts(theirs.id).values()) == 0
        assert uow.batch_entries.cancel_open(theirs.id, "no", NOW) == 0


def _scanned(plan: dict[str, Any]) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _scanned(child)
    return found


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_calls_of_a_month_are_read_from_that_months_partition(
        backend: str, ws: Workspace, postgres_url: str) -> None:
    owner = sa.create_engine(postgres_url)
    with owner.begin() as conn:
        partitions.ensure(conn, today=date(2034, 1, 1), months_ahead=2)
    owner.dispose()
    calls = [call(ws) for _ in range(3)]
    for month, placed in enumerate(calls, start=1):
        placed.created_at = datetime(2034, month, 15, tzinfo=UTC)
    run(ws, lambda uow: [uow.calls.add(c) for c in calls])
    uows = ws.lad.unit_of_work()
    statements: list[tuple[str, Any]] = []

    def seen(*args: Any) -> None:
        statements.append((args[2], args[3]))

    sa.event.listen(uows.engine, "before_cursor_execute", seen)
    try:
        with uows(ws.tenant_id) as uow:
            found = uow.calls.list(PageRequest(), since=datetime(2034, 2, 1, tzinfo=UTC),
                                   until=datetime(2034, 3, 1, tzinfo=UTC)).items
            statement, parameters = statements[-1]
            plan = uow.db.connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()
    finally:
        sa.event.remove(uows.engine, "before_cursor_execute", seen)
    assert found == [calls[1]]
    assert _scanned(plan[0]["Plan"]) == {"voice_call_logs_p2034_02"}
