"""Webhook chaos: every event of every call delivered 0, 1, 2 or 3 times, in any order,
before or after the timeout sweep, the final report sometimes missing. Whatever happens,
each call is billed at most once (exactly once when a connected report came), the wallet
never goes negative, nothing stays held, a call with no report by the sweep is released
as unknown, and the wallet agrees with its ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from dependency_injector import providers
from hypothesis import given
from hypothesis import strategies as st

from lad_domain.billing.model import UsageStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import CallEvent, CallStatus, EventKind
from lad_entrypoints.container import build_container, close
from tests.conftest import fast_settings
from tests.unit.campaigns.world import QuickPasswords
from tests.unit.voice.calls_world import CallWorld
from tests.unit.voice.conftest import START

OUTCOMES = [(CallStatus.COMPLETED, 37), (CallStatus.COMPLETED, 299),
            (CallStatus.VOICEMAIL, 12), (CallStatus.NO_ANSWER, None),
            (CallStatus.BUSY, None), (CallStatus.FAILED, None)]
SETTINGS = fast_settings("memory://")

calls_strategy = st.lists(
    st.tuples(st.sampled_from(OUTCOMES),
              # deliveries of: ringing, in progress, ended, analyzed
              st.tuples(*(st.integers(0, 3) for _ in range(4)))),
    min_size=1, max_size=4)


#: What a call should end as: its final status, its seconds, whether its report came.
Expected = dict[object, tuple[CallStatus, int | None, bool]]
LATER = START + timedelta(minutes=20)


def play(world: CallWorld, clock: FixedClock, calls: list[Any], order: Any, sweep_at: int
         ) -> tuple[Decimal, Expected]:
    """Place a call per drawn outcome, then deliver each of its events (ringing, in
    progress, ended, analyzed) as many times as drawn, shuffled, with the timeout sweep
    (the clock past every call's timeout) before delivery ``sweep_at``, or after the last.
    Returns the balance before the calls and what each call should end as."""
    start_balance = world.wallet().current_balance
    world.batch([world.lead() for _ in calls], settings={"concurrency": 10,
                                                         "retry": {"on": []}})
    world.dial_all()
    requests = {r.call_id: r for r in world.provider.started}
    assert len(requests) == len(calls)
    deliveries: list[CallEvent] = []
    expected: Expected = {}
    for request, ((status, seconds), counts) in zip(requests.values(), calls, strict=True):
        events = [
            world.provider.event(request, CallStatus.RINGING, kind=EventKind.STATUS),
            world.provider.event(request, CallStatus.IN_PROGRESS, kind=EventKind.STATUS),
            world.provider.event(request, status, seconds=seconds),
            world.provider.event(request, status, kind=EventKind.ANALYZED, seconds=seconds)]
        expected[request.call_id] = (status, seconds, counts[2] + counts[3] > 0)
        deliveries.extend(e for e, n in zip(events, counts, strict=True) for _ in range(n))
    order.shuffle(deliveries)
    for index, event in enumerate([*deliveries, None]):
        if index == sweep_at or (event is None and sweep_at > len(deliveries)):
            clock.set(LATER)
            world.dialer.sweep(world.tenant_id)
        if event is not None:
            world.events.apply(event, b"{}")
    return start_balance, expected


def assert_billed_once(world: CallWorld, start_balance: Decimal, expected: Expected) -> None:
    """Each call billed at most once, exactly once when a connected report came, for its
    seconds; nothing held, nothing negative; the ledger, the wallet and reconcile agree."""
    wallet = world.wallet()
    assert wallet.reserved_balance == 0
    assert wallet.current_balance >= 0
    calls_now = {c.id: c for c in world.calls()}
    with world.lad.tenant_scope().uow(world.tenant_id) as uow:
        usage = list(uow.usage_events.get_by_keys(
            [f"voice-call:{call_id}" for call_id in expected]).values())
        ledger = uow.ledger.list(PageRequest(limit=200)).items
    assert all(u.status is UsageStatus.POSTED for u in usage)
    paid = sum((u.total_cost for u in usage), Decimal(0))
    assert -sum((e.amount for e in ledger if e.type.value == "usage_debit"),
                Decimal(0)) == paid
    assert start_balance - wallet.current_balance == paid
    for call_id, (status, seconds, reported) in expected.items():
        call = calls_now[call_id]
        billed = [u for u in usage if u.idempotency_key == f"voice-call:{call_id}"]
        if reported:
            assert call.status is status
            assert len(billed) == (1 if status.connected else 0)
            if status.connected:
                assert call.cost == billed[0].total_cost > 0
                assert call.duration_seconds == seconds
        else:
            assert call.status is CallStatus.UNKNOWN
            assert billed == [] and call.cost is None
    report = world.lad.billing_reconciliation().reconcile(Principal.operator(),
                                                          tenant_id=world.tenant_id)
    assert report.drifts == []


@given(calls=calls_strategy, order=st.randoms(use_true_random=False),
       sweep_at=st.integers(0, 12))
def test_each_call_is_billed_exactly_once(calls, order, sweep_at) -> None:  # type: ignore[no-untyped-def]
    lad = build_container(SETTINGS)
    lad.password_hasher.override(providers.Object(QuickPasswords()))
    clock = FixedClock(START)
    lad.clock.override(providers.Object(clock))
    try:
        world = CallWorld.open(lad, clock, funds="20")
        start_balance, expected = play(world, clock, calls, order, sweep_at)
        assert_billed_once(world, start_balance, expected)
    finally:
        close(lad)
