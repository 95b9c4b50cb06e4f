"""The call-event applier on PostgreSQL (``voice_apply_event``, migration 0402) against the
domain's rule it mirrors (``apply_event``): the same event sequences, played in two tenants
of one database, one through the rule alone and one with the applier, leave the same rows
(call log, reservations, ledger rows by type and amount, usage events, entries, batch
counters, receipts, domain events); what the applier does not handle falls back to the rule
with nothing written twice. Then the webhook chaos property, on PostgreSQL with the applier
on; reconcile finds no drift anywhere."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lad_domain.shared.clock import FixedClock
from lad_domain.shared.idempotency import fingerprint
from lad_domain.shared.ids import IdGenerator
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import Analysis, CallEvent, CallStatus, EventKind
from lad_domain.voice.ports import Applied, CallEventApplier, CallRequest
from lad_entrypoints.container import Container
from tests.conftest import _empty_postgres as empty_postgres
from tests.examples import scaled
from tests.unit.voice import test_webhook_chaos as chaos
from tests.unit.voice.calls_world import CallWorld

START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
LATER = START + timedelta(minutes=20)
OPERATOR = Principal.operator()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def clock_start() -> datetime:
    return START


@attrs.define
class Counting:
    """The container's applier, counting what it answered."""

    inner: CallEventApplier
    answers: list[Applied | None] = attrs.field(factory=list)

    def apply(self, tenant_id: uuid.UUID, event: CallEvent, raw: bytes, now: datetime,
              ids: IdGenerator, *, receipt: bool = True) -> Applied | None:
        answer = self.inner.apply(tenant_id, event, raw, now, ids, receipt=receipt)
        self.answers.append(answer)
        return answer


def with_applier(lad: Container, world: CallWorld) -> Counting:
    applier = lad.call_event_applier()
    assert applier is not None
    counting = Counting(applier)
    world.events.applier = counting
    return counting


# --- playing one script in a world -------------------------------------------------------

#: A step: (call index, what) where what makes the event from the world's request and it
#: is delivered; ("known", (call index, what)): the provider knows it (see ``fetched``);
#: ("sweep", minutes after START).
Make = Callable[[CallWorld, CallRequest], CallEvent]
Step = tuple[Any, Any]


def ended(status: CallStatus, seconds: int | None = None, **fields: Any) -> Make:
    def make(world: CallWorld, request: CallRequest) -> CallEvent:
        return attrs.evolve(world.provider.event(request, status, seconds=seconds), **fields)
    return make


def moved(status: CallStatus) -> Make:
    return lambda world, request: world.provider.event(request, status, kind=EventKind.STATUS)


def analysed(status: CallStatus, seconds: int | None, analysis: Analysis | None) -> Make:
    return lambda world, request: world.provider.event(
        request, status, kind=EventKind.ANALYZED, seconds=seconds, analysis=analysis)


def by_provider_id(make: Make) -> Make:
    """The event without our call id (found by the provider's id, in the tenant)."""
    return lambda world, request: attrs.evolve(make(world, request), call_id=None)


def fetched(index: int, make: Make) -> Step:
    """What the provider answers about call ``index`` when the sweep asks (applied
    without a receipt): known to the provider, never delivered."""
    return ("known", (index, make))


def play(lad: Container, clock: FixedClock, world: CallWorld, calls: int,
         steps: list[Step], settings_: dict[str, Any] | None = None) -> list[str]:
    clock.set(START)
    world.batch([world.lead() for _ in range(calls)],
                settings=settings_ or {"concurrency": 10})
    world.dial_all()
    requests = world.provider.started[-calls:]
    answers: list[str] = []
    for first, second in steps:
        if first == "sweep":
            clock.set(START + timedelta(minutes=second))
            answers.append(json.dumps(world.dialer.sweep(world.tenant_id), sort_keys=True))
        elif first == "known":
            index, make = second
            event = make(world, requests[index])
            world.provider.known[event.provider_call_id] = event
        else:
            assert isinstance(first, int)
            event = second(world, requests[first])
            answers.append(str(world.events.apply(event, f"raw:{event.dedupe_key}".encode())))
    return answers


# --- the rows of one tenant, ids named by role -------------------------------------------

def snapshot(owner_url: str, world: CallWorld) -> dict[str, Any]:
    engine = sa.create_engine(owner_url)
    tenant = world.tenant_id
    try:
        with engine.connect() as conn:
            def rows(sql: str) -> list[dict[str, Any]]:
                return [dict(r._mapping) for r in conn.execute(sa.text(sql), {"t": tenant})]

            calls = rows("SELECT * FROM voice_call_logs WHERE tenant_id = :t "
                         "ORDER BY provider_call_id")
            names: dict[str, str] = {str(tenant): "tenant"}
            for index, call in enumerate(calls):
                names[str(call["id"])] = f"call{index}"
                for column, role in [("lead_id", "lead"), ("batch_entry_id", "entry"),
                                     ("billing_reservation_id", "hold")]:
                    if call[column] is not None:
                        names[str(call[column])] = f"{role}{index}"
            for call in calls:
                charged = (call["cost_breakdown"] or {}).get("charged")
                if charged:
                    names[charged["usage_event_id"]] = "usage:" + names[str(call["id"])]
            drop = {"tenant_id", "id", "agent_id", "number_id", "to_country_code",
                    "to_base_number", "request_hash", "wallet_id", "claim_token",
                    "ledger_transaction_id", "batch_id"}

            def named(found: list[dict[str, Any]], *, keep: bool = False) -> list[str]:
                return sorted(json.dumps(_named({k: v for k, v in row.items()
                                                 if keep or k not in drop}, names),
                                         sort_keys=True, default=str) for row in found)

            return {
                "calls": named(calls),
                "reservations": named(rows(
                    "SELECT * FROM billing_reservations WHERE tenant_id = :t")),
                "ledger": named(rows(
                    "SELECT transaction_type, amount, balance_after, cause_type, "
                    "idempotency_key, metadata, created_at FROM billing_ledger_transactions "
                    "WHERE tenant_id = :t AND transaction_type <> 'top_up'"), keep=True),
                "usage": named(rows(
                    "SELECT * FROM billing_usage_events WHERE tenant_id = :t")),
                "entries": named(rows(
                    "SELECT * FROM voice_call_batch_entries WHERE tenant_id = :t")),
                "batches": named(rows(
                    "SELECT * FROM voice_call_batches WHERE tenant_id = :t")),
                "receipts": named(rows(
                    "SELECT * FROM webhook_receipts WHERE tenant_id = :t")),
                "events": named(rows(
                    "SELECT event_type, aggregate_type, aggregate_id, payload, created_at "
                    "FROM domain_events WHERE tenant_id = :t AND event_type NOT LIKE "
                    "'tenant.%' AND event_type NOT LIKE 'lead.created'"), keep=True),
                "wallet": named(rows(
                    "SELECT current_balance, reserved_balance FROM billing_wallets "
                    "WHERE tenant_id = :t"), keep=True),
            }
    finally:
        engine.dispose()


def _named(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    if isinstance(value, uuid.UUID):
        return names.get(str(value), "<id>")
    if isinstance(value, str):
        return UUID.sub(lambda m: names.get(m.group(0), "<id>"), value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode()
    if isinstance(value, Decimal | datetime):
        return str(value)
    return value


def hashes_match(owner_url: str, world: CallWorld) -> None:
    """Each usage event of a call carries the rule's fingerprint of its payload."""
    engine = sa.create_engine(owner_url)
    try:
        with engine.connect() as conn:
            for key, digest, breakdown in conn.execute(sa.text(
                    "SELECT u.idempotency_key, u.request_hash, c.cost_breakdown "
                    "FROM billing_usage_events u JOIN voice_call_logs c "
                    "ON c.tenant_id = u.tenant_id AND u.idempotency_key = 'voice-call:' || c.id "
                    "WHERE u.tenant_id = :t"), {"t": world.tenant_id}):
                call = key.removeprefix("voice-call:")
                assert digest == fingerprint({"call": call,
                                              "seconds": breakdown["charged"]["seconds"]})
    finally:
        engine.dispose()


@pytest.fixture
def owner_url(postgres_url: str) -> str:
    return postgres_url


def twins(lad: Container, clock: FixedClock, owner_url: str, calls: int, steps: list[Step],
          settings_: dict[str, Any] | None = None, *, funds: str = "50"
          ) -> tuple[Counting, list[str]]:
    """The script through the rule (one tenant), then with the applier (another): the same
    answers, the same rows, no drift. Returns the applier's answers and the script's."""
    clock.set(START)
    rule = CallWorld.open(lad, clock, funds=funds)
    by_rule = play(lad, clock, rule, calls, steps, settings_)
    clock.set(START)
    fast = CallWorld.open(lad, clock, funds=funds)
    counting = with_applier(lad, fast)
    by_function = play(lad, clock, fast, calls, steps, settings_)
    assert by_function == by_rule
    fast_rows, rule_rows = snapshot(owner_url, fast), snapshot(owner_url, rule)
    for table in rule_rows:
        assert (table, set(fast_rows[table]) - set(rule_rows[table])) == (
            table, set(rule_rows[table]) - set(fast_rows[table]))
    assert fast_rows == rule_rows
    for world in (rule, fast):
        hashes_match(owner_url, world)
        report = lad.billing_reconciliation().reconcile(OPERATOR, tenant_id=world.tenant_id)
        assert report.drifts == []
    return counting, by_rule


# --- the contract ------------------------------------------------------------------------

def test_every_outcome_with_duplicates_and_late_moves_gives_the_rules_rows(
        lad: Container, clock: FixedClock, owner_url: str) -> None:
    outcomes = [(CallStatus.COMPLETED, 37), (CallStatus.VOICEMAIL, 12),
                (CallStatus.NO_ANSWER, None), (CallStatus.BUSY, None),
                (CallStatus.FAILED, None), (CallStatus.COMPLETED, 299),
                (CallStatus.CANCELLED, None)]
    steps: list[Step] = []
    for index, (status, seconds) in enumerate(outcomes):
        steps += [(index, moved(CallStatus.RINGING)), (index, moved(CallStatus.IN_PROGRESS)),
                  (index, ended(status, seconds, ended_reason="hangup")),
                  (index, ended(status, seconds)),  # the same delivery again
                  (index, moved(CallStatus.RINGING)),  # late: the status stays
                  (index, analysed(status, seconds, None))]
    counting, answers = twins(lad, clock, owner_url, len(outcomes), steps)
    assert answers.count("duplicate") == 2 * len(outcomes)
    assert None not in counting.answers
    assert counting.answers.count(Applied.APPLIED) == answers.count("applied")


def test_retries_and_their_limits_follow_the_batch_policy(
        lad: Container, clock: FixedClock, owner_url: str) -> None:
    steps: list[Step] = [(0, ended(CallStatus.NO_ANSWER)), (1, ended(CallStatus.BUSY)),
                         (2, ended(CallStatus.FAILED)), (3, ended(CallStatus.COMPLETED, 61))]
    counting, _ = twins(lad, clock, owner_url, 4, steps, {
        "concurrency": 10, "retry": {"max_attempts": 2, "on": ["no_answer", "failed"],
                                     "backoff_minutes": 7}})
    assert counting.answers == [Applied.APPLIED] * 4


def test_found_by_the_providers_id_and_fetched_by_the_sweep(
        lad: Container, clock: FixedClock, owner_url: str) -> None:
    steps: list[Step] = [(0, by_provider_id(moved(CallStatus.RINGING))),
                         (0, by_provider_id(ended(CallStatus.COMPLETED, 44))),
                         fetched(1, ended(CallStatus.VOICEMAIL, 9)),
                         fetched(2, ended(CallStatus.NO_ANSWER)),
                         ("sweep", 20)]
    counting, answers = twins(lad, clock, owner_url, 3, steps)
    assert json.loads(answers[-1]) == {"fetched": 2, "unknown": 0}
    assert counting.answers == [Applied.APPLIED] * 4


def test_a_call_given_up_as_unknown_and_reported_late_is_billed_once(
        lad: Container, clock: FixedClock, owner_url: str) -> None:
    steps: list[Step] = [(0, moved(CallStatus.RINGING)), ("sweep", 20),
                         (0, ended(CallStatus.COMPLETED, 40)),
                         (0, analysed(CallStatus.COMPLETED, 40, None)),
                         (1, ended(CallStatus.NO_ANSWER)),
                         (2, moved(CallStatus.IN_PROGRESS))]
    counting, _ = twins(lad, clock, owner_url, 3, steps)
    assert counting.answers == [Applied.APPLIED] * 5


def test_what_the_function_does_not_handle_falls_back_to_the_rule(
        lad: Container, clock: FixedClock, owner_url: str) -> None:
    dnc = Analysis(sentiment="negative", summary="Asked not to be called.", do_not_call=True)
    steps: list[Step] = [
        (0, ended(CallStatus.COMPLETED, 30)),
        (0, analysed(CallStatus.COMPLETED, 45, None)),  # a longer report: a correction
        (1, ended(CallStatus.COMPLETED, 20)),
        (1, analysed(CallStatus.COMPLETED, 20, dnc)),  # an analysis: the rule alone
        (2, ended(CallStatus.COMPLETED, 25, provider_call_id="someone-else")),  # ignored
        (2, ended(CallStatus.COMPLETED, 25, provider="vapi")),  # another provider: ignored
        (2, ended(CallStatus.COMPLETED, 25)),
    ]
    counting, answers = twins(lad, clock, owner_url, 3, steps)
    assert answers == ["applied"] * 4 + ["ignored"] * 2 + ["applied"]
    assert counting.answers == [Applied.APPLIED, None, Applied.APPLIED, None,
                                Applied.IGNORED, Applied.IGNORED, Applied.APPLIED]


# --- chaos, with the applier ---------------------------------------------------------------

@pytest.fixture
def chaos_world(lad: Container, clock: FixedClock, owner_url: str
                ) -> Iterator[Callable[[], CallWorld]]:
    """A new world per example, in an emptied database (the dialer claims across tenants:
    an example must not see another's entries)."""
    def open_world() -> CallWorld:
        empty_postgres(owner_url)
        clock.set(START)
        world = CallWorld.open(lad, clock, funds="20")
        with_applier(lad, world)
        return world
    yield open_world


@settings(max_examples=scaled(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=chaos.calls_strategy, order=st.randoms(use_true_random=False),
       sweep_at=st.integers(0, 12))
def test_chaos_on_postgres_each_call_is_billed_exactly_once(  # type: ignore[no-untyped-def]
        chaos_world, clock, calls, order, sweep_at) -> None:
    world = chaos_world()
    start_balance, expected = chaos.play(world, clock, calls, order, sweep_at)
    chaos.assert_billed_once(world, start_balance, expected)
    # No analysis and no correction here: the function handled every event.
    assert isinstance(world.events.applier, Counting)
    assert None not in world.events.applier.answers
