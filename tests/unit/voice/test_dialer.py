"""The dialer: the checks at dial time (calling hours in the lead's zones, do-not-call,
recording disclosure, the daily cap, the wallet), each decision stored with its reason;
money held before dialing and settled once; retries by outcome; pause, resume, cancel;
counters that agree with the entries."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.outreach.model import Channel, SuppressionReason
from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_domain.voice.model import (
    Analysis,
    BatchStatus,
    CallStatus,
    Decision,
    EntryStatus,
    EventKind,
)
from lad_domain.voice.ports import Limits, ProviderError, ProviderErrorKind
from lad_domain.voice.services.dialer import DialResult
from lad_domain.voice.services.events import Applied
from tests.unit.voice.calls_world import CallWorld
from tests.unit.voice.conftest import START

#: At START (15:00 UTC, a Tuesday): 10:00 New York, 09:00 Chicago, 08:00 Denver, 07:00 LA.


def test_only_leads_inside_calling_hours_are_dialed_the_rest_wait_with_a_reason(
        world: CallWorld) -> None:
    leads = [world.lead(z) for z in ("America/New_York", "America/Chicago",
                                     "America/Denver", "America/Los_Angeles")]
    batch_id = world.batch(leads)
    results = world.dial_all()
    assert Counter(results) == {DialResult.PLACED: 3, DialResult.WAITING: 1}
    by_lead = {e.lead_id: e for e in world.entries(batch_id)}
    la = by_lead[leads[3].id]
    assert la.status is EntryStatus.PENDING and la.decision is not None
    assert la.decision.decision is Decision.WAIT
    assert "07:00 in America/Los_Angeles" in la.decision.reason
    # 08:00 in Los Angeles is 16:00 UTC.
    assert la.next_attempt_at == START + timedelta(hours=1)
    assert by_lead[leads[0].id].decision.decision is Decision.DIAL  # type: ignore[union-attr]
    assert len(world.provider.started) == 3
    world.at(START + timedelta(hours=1))
    assert world.dial_all() == [DialResult.PLACED]


def test_the_tenants_window_narrows_the_legal_hours(world: CallWorld) -> None:
    lead = world.lead("America/New_York")
    batch_id = world.batch([lead], settings={"window": {"days": ["tue"], "start": "11:00",
                                                       "end": "12:00"}})
    assert world.dial_all() == [DialResult.WAITING]
    entry = world.entries(batch_id)[0]
    assert entry.next_attempt_at == START + timedelta(hours=1)


def test_a_window_outside_the_legal_hours_is_refused() -> None:
    from lad_domain.voice.model import batch_settings

    with pytest.raises(ValidationFailed, match=r"settings\.window"):
        batch_settings({"window": {"start": "21:00", "end": "23:00"}})


def test_an_area_spanning_zones_waits_for_the_latest(world: CallWorld) -> None:
    """A lead whose own zone differs from the number's: both must be inside the hours."""
    lead = world.lead("America/New_York", custom_fields={"timezone": "Pacific/Honolulu"})
    world.batch([lead])
    assert world.dial_all() == [DialResult.WAITING]


def test_refusals_are_stored_with_their_reason(world: CallWorld) -> None:
    suppressed = world.lead()
    from lad_domain.outreach.services import add_suppression

    scope = world.lad.tenant_scope()
    with scope.uow(world.tenant_id) as uow:
        add_suppression(scope, uow, Channel.VOICE, suppressed.phone or "",
                        SuppressionReason.DO_NOT_CONTACT, source="test")
        uow.commit()
    no_phone = world.ws.lead(first_name="Nophone")
    london = world.lead(phone="+442071838750")  # a zone the plan knows: London
    batch_id = world.batch([suppressed, no_phone, london])
    world.dial_all()
    by_lead = {e.lead_id: e for e in world.entries(batch_id)}
    assert by_lead[suppressed.id].status is EntryStatus.SKIPPED
    assert "do-not-call" in (by_lead[suppressed.id].last_error or "")
    assert by_lead[no_phone.id].status is EntryStatus.SKIPPED
    assert by_lead[no_phone.id].last_error == "the lead has no phone number"
    # 15:00 in London: inside the hours, dialed.
    assert by_lead[london.id].status is EntryStatus.CALLING


def test_an_agent_that_records_without_a_disclosure_places_no_call(lad, clock) -> None:  # type: ignore[no-untyped-def]
    world = CallWorld.open(lad, clock, recording=True)
    batch_id = world.batch([world.lead()])
    assert world.dial_all() == [DialResult.REFUSED]
    assert "recording disclosure" in (world.entries(batch_id)[0].last_error or "")
    assert world.provider.started == []


def test_the_disclosure_is_said_first(lad, clock) -> None:  # type: ignore[no-untyped-def]
    world = CallWorld.open(lad, clock, recording=True,
                           recording_disclosure="This call is recorded.")
    world.batch([world.lead()])
    world.dial_all()
    assert world.provider.started[0].first_message == "This call is recorded. Hi, this is Ava."


def test_money_is_held_before_dialing_and_the_call_billed_once_by_the_second(
        world: CallWorld) -> None:
    before = world.wallet().current_balance
    world.batch([world.lead()])
    world.dial_all()
    request = world.provider.started[0]
    held = world.wallet()
    # 300 s max: 5 min x (twilio 0.014 + local voice 0.08) + the attempt 0.01 = 0.48
    assert held.reserved_balance == Decimal("0.48")
    event = world.provider.event(request, CallStatus.COMPLETED, seconds=61)
    assert world.events.apply(event, b"{}") is Applied.APPLIED
    assert world.events.apply(event, b"{}") is Applied.DUPLICATE
    after = world.wallet()
    assert after.reserved_balance == 0
    # 61 s = 1.016667 min x 0.094 + 0.01
    expected = (Decimal("1.016667") * Decimal("0.0140")).quantize(Decimal("0.000001")) + (
        Decimal("1.016667") * Decimal("0.0800")).quantize(Decimal("0.000001")) + Decimal(
        "0.01")
    assert before - after.current_balance == expected
    call = world.calls()[0]
    assert call.status is CallStatus.COMPLETED and call.cost == expected
    assert call.transcription == "Hello."


def test_a_call_that_never_connects_releases_everything_and_is_retried(
        world: CallWorld) -> None:
    before = world.wallet().current_balance
    batch_id = world.batch([world.lead()], settings={"retry": {"max_attempts": 2,
                                                                "backoff_minutes": 30}})
    world.dial_all()
    world.events.apply(world.provider.event(world.provider.started[0], CallStatus.NO_ANSWER),
                       b"")
    wallet = world.wallet()
    assert wallet.current_balance == before and wallet.reserved_balance == 0
    entry = world.entries(batch_id)[0]
    assert entry.status is EntryStatus.PENDING and entry.attempts == 1
    assert entry.next_attempt_at == START + timedelta(minutes=30)
    world.at(START + timedelta(minutes=30))
    assert world.dial_all() == [DialResult.PLACED]
    world.events.apply(world.provider.event(world.provider.started[1], CallStatus.BUSY), b"")
    entry = world.entries(batch_id)[0]
    assert entry.status is EntryStatus.FAILED and "after 2 attempt" in (entry.last_error or "")
    progress = world.calling.batch(world.owner, batch_id)
    assert progress.batch.status is BatchStatus.COMPLETED
    assert progress.batch.failed_calls == 1 and progress.batch.total_calls == 1


def test_the_daily_cap_holds_across_batches(world: CallWorld) -> None:
    lead = world.lead()
    for _ in range(3):
        world.batch([lead], settings={"max_calls_per_lead_per_day": 2})
    results = world.dial_all()
    assert Counter(results) == {DialResult.PLACED: 2, DialResult.WAITING: 1}


def test_a_wallet_that_cannot_pay_makes_the_entry_wait(lad, clock) -> None:  # type: ignore[no-untyped-def]
    world = CallWorld.open(lad, clock, funds=None)
    batch_id = world.batch([world.lead()])
    assert world.dial_all() == [DialResult.WAITING]
    entry = world.entries(batch_id)[0]
    assert entry.status is EntryStatus.PENDING and "wallet" in (entry.last_error or
                                                                  entry.decision.reason)  # type: ignore[union-attr]
    assert world.calls() == []


def test_a_throttled_start_places_nothing_and_waits_for_retry_after(world: CallWorld) -> None:
    world.provider.fail_with.append(ProviderError(ProviderErrorKind.THROTTLED, "slow down",
                                                  retry_after=90))
    batch_id = world.batch([world.lead()])
    assert world.dial_all() == [DialResult.NOT_PLACED]
    entry = world.entries(batch_id)[0]
    assert entry.status is EntryStatus.PENDING and entry.attempts == 0
    assert entry.next_attempt_at == START + timedelta(seconds=90)
    assert world.wallet().reserved_balance == 0
    assert world.calls()[0].status is CallStatus.CANCELLED


def test_concurrency_limits_hold_for_the_batch_and_the_tenant(lad, clock) -> None:  # type: ignore[no-untyped-def]
    world = CallWorld.open(lad, clock, limits=Limits(per_tenant=3, total=10))
    world.batch([world.lead() for _ in range(5)], settings={"concurrency": 2})
    world.batch([world.lead() for _ in range(5)], settings={"concurrency": 5})
    placed = world.dial_all()
    assert placed.count(DialResult.PLACED) == 3
    # one call ends: one more may go
    world.events.apply(world.provider.event(world.provider.started[0], CallStatus.COMPLETED,
                                            seconds=5), b"")
    assert world.dial_all() == [DialResult.PLACED]


def test_pause_resume_and_cancel(world: CallWorld) -> None:
    leads = [world.lead() for _ in range(3)]
    batch_id = world.batch(leads, settings={"concurrency": 1})
    world.dial_all()
    world.calling.pause(world.owner, batch_id)
    world.events.apply(world.provider.event(world.provider.started[0], CallStatus.COMPLETED,
                                            seconds=5), b"")
    assert world.dial_all() == []
    world.calling.resume(world.owner, batch_id)
    assert world.dial_all() == [DialResult.PLACED]
    batch = world.calling.cancel(world.owner, batch_id)
    assert batch.status is BatchStatus.CANCELLED
    counts = Counter(e.status for e in world.entries(batch_id))
    assert counts == {EntryStatus.COMPLETED: 1, EntryStatus.CALLING: 1,
                      EntryStatus.CANCELLED: 1}
    progress = world.calling.batch(world.owner, batch_id)
    assert progress.batch.total_calls == 3 and progress.batch.completed_calls == 1


def test_a_do_not_call_request_suppresses_at_once_and_cancels_pending_entries(
        world: CallWorld) -> None:
    lead = world.lead()
    first = world.batch([lead])
    second = world.batch([lead], start_at=START + timedelta(days=1))
    world.dial_all()
    event = world.provider.event(world.provider.started[0], CallStatus.COMPLETED,
                                 kind=EventKind.ANALYZED, seconds=30,
                                 analysis=Analysis(do_not_call=True, sentiment="negative"))
    world.events.apply(event, b"")
    assert world.entries(second)[0].status is EntryStatus.CANCELLED
    assert world.entries(first)[0].status is EntryStatus.COMPLETED
    scope = world.lad.tenant_scope()
    with scope.uow(world.tenant_id) as uow:
        assert uow.suppressions.find(Channel.VOICE, lead.phone or "") is not None
    detail = world.calling.call(world.owner, world.calls()[0].id)
    assert detail.analysis is not None and detail.analysis.sentiment == "negative"


def test_the_status_only_moves_forward(world: CallWorld) -> None:
    world.batch([world.lead()])
    world.dial_all()
    request = world.provider.started[0]
    world.events.apply(world.provider.event(request, CallStatus.COMPLETED, seconds=20), b"")
    world.events.apply(world.provider.event(request, CallStatus.RINGING,
                                            kind=EventKind.STATUS), b"")
    assert world.calls()[0].status is CallStatus.COMPLETED


def test_a_call_with_no_final_event_is_fetched_then_given_up_as_unknown(
        world: CallWorld) -> None:
    before = world.wallet().current_balance
    batch_id = world.batch([world.lead(), world.lead()])
    world.dial_all()
    first, second = world.provider.started
    world.provider.known[world.provider.by_call[str(first.call_id)]] = world.provider.event(
        first, CallStatus.COMPLETED, seconds=42, echo=False)
    world.at(START + timedelta(minutes=16))
    assert world.dialer.sweep(world.tenant_id) == {"fetched": 1, "unknown": 1}
    calls = {c.id: c for c in world.calls()}
    assert calls[first.call_id].status is CallStatus.COMPLETED
    assert calls[second.call_id].status is CallStatus.UNKNOWN
    wallet = world.wallet()
    assert wallet.reserved_balance == 0
    billed_first = before - wallet.current_balance
    assert billed_first > 0
    entries = {e.last_call_id: e for e in world.entries(batch_id)}
    assert entries[second.call_id].status is EntryStatus.FAILED
    # The report comes late after all: billed then, as a new ledger entry.
    world.events.apply(world.provider.event(second, CallStatus.COMPLETED, seconds=42), b"")
    assert before - world.wallet().current_balance == 2 * billed_first
    assert {c.id: c for c in world.calls()}[second.call_id].status is CallStatus.COMPLETED


def test_an_event_naming_another_tenants_call_changes_nothing(lad, clock) -> None:  # type: ignore[no-untyped-def]
    mine = CallWorld.open(lad, clock)
    theirs = CallWorld.open(lad, clock)
    mine.batch([mine.lead()])
    mine.dial_all()
    request = mine.provider.started[0]
    forged = mine.provider.event(request, CallStatus.COMPLETED, seconds=100)
    import attrs

    forged = attrs.evolve(forged, tenant_id=theirs.tenant_id)
    assert theirs.events.apply(forged, b"") is Applied.IGNORED
    assert mine.calls()[0].status is CallStatus.QUEUED


def test_unknown_leads_and_agents_are_not_found(world: CallWorld) -> None:
    import uuid

    with pytest.raises(NotFound, match="lead"):
        world.calling.create_batch(world.owner, agent_id=world.agent.id,
                                   lead_ids=[uuid.uuid4()])
    with pytest.raises(NotFound, match="agent 999"):
        world.calling.create_batch(world.owner, agent_id=999, lead_ids=[world.lead().id])
    with pytest.raises(ValidationFailed, match="lead_ids"):
        world.calling.create_batch(world.owner, agent_id=world.agent.id,
                                   lead_ids=[world.lead().id] * 5001)


def test_times_without_a_zone_are_refused_naming_the_field(world: CallWorld) -> None:
    from datetime import datetime

    from lad_domain.shared.pagination import PageRequest

    with pytest.raises(ValidationFailed, match="start_at"):
        world.calling.create_batch(world.owner, agent_id=world.agent.id,
                                   lead_ids=[world.lead().id],
                                   start_at=datetime(2026, 3, 4, 9, 0))
    with pytest.raises(ValidationFailed, match="since"):
        world.calling.calls(world.owner, PageRequest(), since=datetime(2026, 3, 1))


def test_a_window_given_in_part_takes_the_rest_from_the_legal_hours() -> None:
    from datetime import time

    from lad_domain.voice.model import batch_settings

    window = batch_settings({"window": {"start": "10:00"}}).window
    assert window.days == frozenset(range(7))
    assert (window.start, window.end) == (time(10), time(21))
