"""The local provider end to end, on every backend: a batch of 50 leads in four time zones
dialed by the worker at a moment when only some zones may be called, through the real
local call service (the scenario from each number's last digit), its signed webhooks
posted back over HTTP; then the books: each connected call billed once by the second,
the others released, nothing held, no drift, the batch's counters right, a do-not-call
request suppressing the number. Then the webhook chaos of the real service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import httpx
import pytest

from lad_adapters.phones import LibPhoneNumberPlan
from lad_adapters.voice.local import Chaos, Delivery, Scenario, scenario_for
from lad_domain.billing.model import ReservationStatus
from lad_domain.leads.model import Lead
from lad_domain.outreach.model import Channel
from lad_domain.voice.funding import minutes
from lad_domain.voice.model import BatchStatus, CallStatus, Decision, EntryStatus
from lad_domain.voice.services.dialer import TIMEOUT_GRACE
from lad_entrypoints.worker import Worker
from tests.integration.voice.conftest import Switchboard

#: Tuesday 3 March 2026, 14:30 UTC (before the US moves its clocks): 09:30 in New York,
#: 08:30 in Chicago, 07:30 in Denver, 06:30 in Los Angeles.
NOW = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
AREAS = {"212": "America/New_York", "312": "America/Chicago", "303": "America/Denver",
         "415": "America/Los_Angeles"}
#: When 08:00 comes in each zone (now, where it has come).
OPENS = {"America/New_York": NOW, "America/Chicago": NOW,
         "America/Denver": datetime(2026, 3, 3, 15, tzinfo=UTC),
         "America/Los_Angeles": datetime(2026, 3, 3, 16, tzinfo=UTC)}
CONNECTED = {Scenario.ANSWERED, Scenario.VOICEMAIL, Scenario.LONG, Scenario.DO_NOT_CALL}
FINAL = {Scenario.ANSWERED: CallStatus.COMPLETED, Scenario.LONG: CallStatus.COMPLETED,
         Scenario.DO_NOT_CALL: CallStatus.COMPLETED, Scenario.VOICEMAIL: CallStatus.VOICEMAIL,
         Scenario.NO_ANSWER: CallStatus.NO_ANSWER, Scenario.BUSY: CallStatus.BUSY,
         Scenario.FAILED: CallStatus.FAILED}


@pytest.fixture
def clock_start() -> datetime:
    return NOW


@attrs.frozen
class Planned:
    lead: Lead
    zones: tuple[str, ...]

    @property
    def opens_at(self) -> datetime:
        return max(OPENS[z] for z in self.zones)

    @property
    def scenario(self) -> Scenario:
        assert self.lead.phone is not None
        return scenario_for(self.lead.phone)


@attrs.frozen
class Day:
    batch_id: uuid.UUID
    plan: dict[uuid.UUID, Planned]
    start_balance: Decimal


def _leads(sb: Switchboard) -> list[Planned]:
    """50 leads, the four areas in turn, each area's numbers ending in every digit (every
    scenario); some carry their own zone (``timezone``): two Chicago numbers whose leads
    live in Los Angeles wait for it, a New York number whose lead is in Chicago does not."""
    planned = []
    for i in range(50):
        area, k = list(AREAS)[i % 4], i // 4
        own = ("America/Los_Angeles" if area == "312" and k < 2 else
               "America/Chicago" if area == "212" and k == 1 else None)
        lead = sb.lead(f"+1{area}555{i:03d}{k % 10}", first_name=f"Lead{i}",
                       custom_fields={"timezone": own} if own else {})
        planned.append(Planned(lead, tuple(sorted({AREAS[area], own or AREAS[area]}))))
    return planned


@pytest.fixture
def day(backend: str, switchboard: Switchboard) -> Day:
    plan = {p.lead.id: p for p in _leads(switchboard)}
    batch_id = switchboard.batch([p.lead for p in plan.values()],
                                 settings={"concurrency": 10, "retry": {"on": []}})
    return Day(batch_id, plan, Decimal(switchboard.wallet().current_balance))


def test_only_the_calls_allowed_now_are_placed(switchboard: Switchboard, day: Day) -> None:
    switchboard.work()
    placed = {c.lead_id for c in switchboard.calls()}
    assert placed == {i for i, p in day.plan.items() if p.opens_at == NOW}
    assert len(placed) == 24
    waiting = [e for e in switchboard.entries(day.batch_id) if e.lead_id not in placed]
    assert len(waiting) == 26
    for entry in waiting:
        assert entry.lead_id is not None and entry.decision is not None
        planned = day.plan[entry.lead_id]
        assert entry.status is EntryStatus.PENDING and entry.attempts == 0
        assert entry.decision.decision is Decision.WAIT
        assert entry.decision.reason.startswith("outside calling hours: ")
        assert entry.decision.zones == planned.zones
        assert entry.next_attempt_at == entry.decision.until == planned.opens_at > NOW


def test_a_day_of_calls_is_billed_once_and_the_rest_released(switchboard: Switchboard,
                                                             day: Day) -> None:
    for moment in sorted({p.opens_at for p in day.plan.values()}):
        switchboard.clock.set(moment)
        switchboard.work()
    calls = switchboard.calls()
    assert sorted(c.lead_id for c in calls) == sorted(day.plan)
    charges = switchboard.charges(calls)
    connected = {c.id for c in calls if day.plan[c.lead_id].scenario in CONNECTED}
    assert set(charges) == connected and 0 < len(connected) < 50
    for call in calls:
        provider = switchboard.service.document(call.provider_call_id or "")
        assert provider is not None
        scenario = day.plan[call.lead_id].scenario
        assert provider["scenario"] == scenario and provider["status"] == FINAL[scenario]
        assert call.status is FINAL[scenario]
        assert call.reservation_id is not None
        with switchboard.lad.tenant_scope().uow(switchboard.tenant_id) as uow:
            hold = uow.reservations.get(call.reservation_id)
        assert hold is not None and hold.status is ReservationStatus.RELEASED
        if call.id in connected:
            assert call.duration_seconds == provider["duration_seconds"] > 0
            items = {i.category: i.quantity for i in charges[call.id].items}
            assert items["telephony_minute"] == minutes(provider["duration_seconds"])
            assert call.cost == charges[call.id].total_cost > 0
        else:
            assert call.cost is None
    debits = switchboard.ledger("usage_debit")
    paid = sum((u.total_cost for u in charges.values()), Decimal(0))
    assert len(debits) == len(connected) and -sum(d.amount for d in debits) == paid
    wallet = switchboard.wallet()
    assert day.start_balance - wallet.current_balance == paid
    assert wallet.reserved_balance == 0 and switchboard.reconciles()


def test_the_batch_counts_its_entries_and_a_do_not_call_suppresses(
        switchboard: Switchboard, day: Day) -> None:
    for moment in sorted({p.opens_at for p in day.plan.values()}):
        switchboard.clock.set(moment)
        switchboard.work()
    progress = switchboard.lad.calling().batch(switchboard.owner, day.batch_id)
    entries = switchboard.entries(day.batch_id)
    connected = sum(1 for p in day.plan.values() if p.scenario in CONNECTED)
    assert {s: n for s, n in progress.counts.items() if n} == {
        EntryStatus.COMPLETED: connected,
        EntryStatus.FAILED: 50 - connected}
    assert sum(1 for e in entries if e.status is EntryStatus.COMPLETED) == connected
    batch = progress.batch
    assert (batch.status, batch.total_calls, batch.completed_calls, batch.failed_calls) \
        == (BatchStatus.COMPLETED, 50, connected, 50 - connected)
    refusing = [p.lead.phone for p in day.plan.values()
                if p.scenario is Scenario.DO_NOT_CALL]
    assert refusing
    with switchboard.lad.tenant_scope().uow(switchboard.tenant_id) as uow:
        for phone in refusing:
            assert uow.suppressions.find(Channel.VOICE, phone or "") is not None
        assert uow.suppressions.find(Channel.VOICE, "+12125550006") is None


# --- webhook chaos against the real service ----------------------------------------------

#: Numbers by scenario (the last digit): answered, voicemail, no answer, busy,
#: do-not-call, failed.
MIXED = ("+12125550106", "+12125550112", "+12125550120", "+12125550131",
         "+12125550145", "+12125550154")


def _past_timeout(switchboard: Switchboard, seconds: int, *, twice: bool = False) -> None:
    """Move past a call's timeout (its maximum duration and the grace), or past the
    point where a call the provider still calls live is given up."""
    switchboard.clock.advance(timedelta(seconds=seconds * (2 if twice else 1))
                              + TIMEOUT_GRACE + timedelta(seconds=1))


@pytest.mark.parametrize("chaos", [Chaos(duplicates=3, shuffle=True, seed=7),
                                   Chaos(duplicates=2, delay_final=40)],
                         ids=["duplicated-shuffled", "duplicated-delayed"])
def test_webhooks_in_any_order_bill_each_call_once(backend: str, switchboard: Switchboard,
                                                   chaos: Chaos) -> None:
    switchboard.service.chaos = chaos
    start = Decimal(switchboard.wallet().current_balance)
    switchboard.batch([switchboard.lead(p) for p in MIXED], settings={"retry": {"on": []}})
    switchboard.work()
    calls = {c.to.e164: c for c in switchboard.calls()}
    assert [calls[p].status.value for p in MIXED] == [
        "completed", "voicemail", "no_answer", "busy", "completed", "failed"]
    assert len(switchboard.service.deliveries) >= 2 * 14  # 14 events, each sent twice +
    charges = switchboard.charges(list(calls.values()))
    assert set(charges) == {calls[p].id for p in (MIXED[0], MIXED[1], MIXED[4])}
    paid = sum((u.total_cost for u in charges.values()), Decimal(0))
    assert len(switchboard.ledger("usage_debit")) == 3
    assert start - switchboard.wallet().current_balance == paid
    assert switchboard.wallet().reserved_balance == 0 and switchboard.reconciles()
    with switchboard.lad.tenant_scope().uow(switchboard.tenant_id) as uow:
        assert uow.suppressions.find(Channel.VOICE, MIXED[4]) is not None
    assert_every_event_accepted(switchboard.service.deliveries)


def assert_every_event_accepted(deliveries: Sequence[Delivery]) -> None:
    """No delivery was answered with an error, and every event was accepted in the end.
    An attempt with no answer (the server slower than the delivery timeout on a loaded
    machine) is retried by the call service, as a provider retries."""
    assert [d for d in deliveries if d.status is not None and not 200 <= d.status < 300] == []
    accepted = {d.event_id for d in deliveries if d.status is not None}
    assert {d.event_id for d in deliveries} == accepted


def test_dropped_final_webhooks_are_fetched_and_settled_by_the_sweep(
        backend: str, switchboard: Switchboard) -> None:
    switchboard.service.chaos = Chaos(drop_final=True)
    switchboard.batch([switchboard.lead(p) for p in MIXED[:3]], settings={"retry": {"on": []}})
    worker = switchboard.work()
    assert {c.status for c in switchboard.calls()} <= {CallStatus.RINGING,
                                                      CallStatus.IN_PROGRESS}
    _past_timeout(switchboard, switchboard.agent.settings.max_duration_seconds)
    worker.sweep_calls()
    assert worker.report.swept == {"fetched": 3, "unknown": 0}
    calls = {c.to.e164: c for c in switchboard.calls()}
    assert [calls[p].status.value for p in MIXED[:3]] == ["completed", "voicemail",
                                                         "no_answer"]
    charges = switchboard.charges(list(calls.values()))
    assert set(charges) == {calls[MIXED[0]].id, calls[MIXED[1]].id}
    assert all(calls[p].duration_seconds == switchboard.service.document(
        calls[p].provider_call_id or "")["duration_seconds"] for p in MIXED[:2])
    assert switchboard.wallet().reserved_balance == 0 and switchboard.reconciles()


def test_a_call_service_that_is_down_leaves_the_call_unknown_and_released(
        backend: str, switchboard: Switchboard) -> None:
    switchboard.service.chaos = Chaos(drop_final=True)
    start = Decimal(switchboard.wallet().current_balance)
    batch_id = switchboard.batch([switchboard.lead(MIXED[0])])
    worker = switchboard.work()
    switchboard.service.stop()
    _past_timeout(switchboard, switchboard.agent.settings.max_duration_seconds)
    worker.sweep_calls()
    assert worker.report.swept == {"fetched": 0, "unknown": 1}
    [call] = switchboard.calls()
    [entry] = switchboard.entries(batch_id)
    assert call.status is CallStatus.UNKNOWN and call.cost is None
    assert entry.status is EntryStatus.FAILED and "unknown" in (entry.last_error or "")
    wallet = switchboard.wallet()
    assert wallet.reserved_balance == 0 and wallet.current_balance == start
    assert switchboard.charges([call]) == {} and switchboard.reconciles()


def test_a_final_report_after_unknown_is_billed_as_a_new_ledger_entry(
        backend: str, switchboard: Switchboard) -> None:
    hour = switchboard.lad.voice_setup().create_agent(switchboard.owner, {
        "name": "Max", "config": {"provider": "local", "max_duration_seconds": 3600}})
    batch_id = switchboard.batch([switchboard.lead("+12125550103")], agent=hour)  # long
    worker = Worker.of(switchboard.lad)
    worker.run(once=True)
    [call] = switchboard.calls()
    provider_id = call.provider_call_id or ""
    assert switchboard.service.wait_status(provider_id, CallStatus.IN_PROGRESS)
    _past_timeout(switchboard, 3600, twice=True)
    worker.sweep_calls()  # the provider says it is still talking, long past its end
    assert worker.report.swept == {"fetched": 0, "unknown": 1}
    assert switchboard.wallet().reserved_balance == 0 and switchboard.ledger("release")
    switchboard.lad.voice_providers().get("local").end_call(provider_id)
    assert switchboard.service.wait_settled()
    [call] = switchboard.calls()
    [charge] = switchboard.charges([call]).values()
    [debit] = switchboard.ledger("usage_debit")
    assert call.status is CallStatus.COMPLETED and call.cost == charge.total_cost == -debit.amount
    assert call.metadata["unknown_reason"] and debit.created_at == switchboard.clock.now()
    assert [e.status for e in switchboard.entries(batch_id)] == [EntryStatus.COMPLETED]
    assert switchboard.wallet().reserved_balance == 0 and switchboard.reconciles()


# --- make run: lad serve places a simulated call -------------------------------------------

#: Numbers ending in 6 (answered) in zones around the world: one of them is inside its
#: calling hours whenever the test runs.
AROUND_THE_WORLD = ("+12125550126", "+14155550126", "+442079460126", "+81312345626",
                    "+61292345626", "+911123456726")
OPERATOR_TOKEN = "operator-" + "e2e" * 12


def _callable_now() -> str:
    plan = LibPhoneNumberPlan()
    now = datetime.now(UTC)
    for phone in AROUND_THE_WORLD:
        zones = plan.zones(plan.parse(phone))
        if all(time(9) <= now.astimezone(ZoneInfo(z)).time() <= time(20) for z in zones):
            return phone
    raise AssertionError("no candidate number is inside its calling hours now")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[httpx.Client]:
    """``lad db upgrade`` then ``lad serve`` on SQLite, a free port, calls simulated at
    100x by the embedded call service, the embedded worker polling every 0.1 s."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAD_")} | {
        "LAD_DATABASE_URL": f"sqlite:///{tmp_path / 'lad.sqlite3'}",
        "LAD_STATE_DIR": str(tmp_path), "LAD_PUBLIC_URL": base, "LAD_PORT": str(port),
        "LAD_JWT_SECRET": "e2e-" + "x" * 40, "LAD_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "LAD_VOICE_LOCAL_SPEED": "100", "LAD_WORKER_POLL_SECONDS": "0.1",
        "LAD_ARGON2_TIME_COST": "1", "LAD_ARGON2_MEMORY_KIB": "1024"}
    lad = str(Path(sys.executable).with_name("lad"))
    subprocess.run([lad, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([lad, "serve", "--no-access-log"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            _until(lambda: _answers(client), what="the server to answer")
            yield client
    finally:
        server.terminate()
        server.wait(timeout=15)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _until(done: Callable[[], object], *, what: str, seconds: float = 15) -> Any:
    """A subprocess has no wait helper: poll until ``done`` answers, at most ``seconds``."""
    deadline = monotonic() + seconds
    while monotonic() < deadline:
        found = done()
        if found:
            return found
        threading.Event().wait(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_lad_serve_places_a_simulated_call_and_bills_it(served: httpx.Client) -> None:
    signup = served.post("/v1/auth/signup", json={
        "tenant_name": "Acme", "email": "owner@acme.test", "password": "correct horse battery"})
    owner = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    tenant = signup.json()["tenant_id"]
    funded = served.post(f"/v1/operator/tenants/{tenant}/top-ups", json={"amount": "10"},
                         headers={"Authorization": f"Bearer {OPERATOR_TOKEN}",
                                  "Idempotency-Key": "fund-1"})
    assert funded.status_code == 201, funded.text
    agent = served.post("/v1/voice/agents", headers=owner, json={
        "name": "Ava", "config": {"provider": "local", "max_duration_seconds": 120}})
    lead = served.post("/v1/leads", headers=owner, json={"first_name": "Ada",
                                                         "phone": _callable_now()})
    assert (agent.status_code, lead.status_code) == (201, 201), agent.text + lead.text
    placed = served.post(f"/v1/voice/leads/{lead.json()['id']}/call", headers=owner,
                         json={"agent_id": agent.json()["id"]})
    assert placed.status_code == 201, placed.text

    def billed() -> dict[str, Any] | None:
        calls = served.get("/v1/voice/calls", headers=owner,
                           params={"lead_id": lead.json()["id"]}).json()["items"]
        return calls[0] if calls and calls[0]["cost"] is not None else None

    call = _until(billed, what="the call to be completed and billed")
    assert call["status"] == "completed" and Decimal(call["cost"]) > 0
    wallet = served.get("/v1/billing/wallet", headers=owner).json()
    assert Decimal(wallet["current_balance"]) == Decimal(10) - Decimal(call["cost"])
    assert Decimal(wallet["reserved_balance"]) == 0
