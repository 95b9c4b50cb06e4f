"""Benchmark: webhook ingest on PostgreSQL (verify, dedupe, update the call log, capture),
against a raw insert-and-update of the same rows measured in the same run.

    .venv/bin/python -m bench.voice_webhooks [--events 1000] [--rounds 20] [--warm 100]

It creates and drops its own database (and application role). A funded tenant with the
``voice`` feature, an agent of provider ``local`` and a number; its calls are placed through
the real dialer (batches of leads, each call's hold taken from the wallet) with a scripted
provider in place of the network. Each path then gets calls of its own, one final event
per call (``ended``, completed, 37 seconds, the provider's costs, no analysis):

- raw baseline: psycopg as the tables' owner (no row-level security, no tenant setting),
  one transaction per event: INSERT the receipt, UPDATE the call log row (status, duration,
  ended_at, cost);
- ingest: ``lad.call_events().ingest("local", body, headers)`` as the webhook endpoint calls
  it, connected as the application role (RLS on): the local provider verifies the
  signature (HMAC over the raw bytes, the timestamp window) and normalises the payload,
  then the call-event applier's one prepared call of ``voice_apply_event`` applies it: the
  tenant scope, the call locked, the receipt deduplicated and stored, the status, the hold
  released (reservation, wallet, ledger row, event), the usage posted (pricing, debit,
  ledger row, usage event), the call's cost, the entry finished and the batch recounted,
  ``call.billed`` and ``lead.call``.

Measured in interleaved rounds (each round runs both paths in turn, ``--events //
--rounds`` events each), after ``--warm`` events of each and an ANALYZE: a path's events
per second are its events over its total time; the ratio is the median over the rounds of
ingest's rate over raw's in the same round, so that load from other processes weighs on
both alike. Round trips per event are counted exactly from a libpq trace over 100 events on
a fresh connection. The server time of the two functions (``voice_apply_event``, of which
``billing_post_usage``) is read from ``pg_stat_user_functions`` (the database tracks PL
functions), to say where ingest's time goes. Reconcile must find no drift.

Target: ingest >= 0.5 x raw. The exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import psycopg
import sqlalchemy as sa
from dependency_injector import providers

from bench._postgres import postgres_database
from lad_adapters.catalog import default_catalog
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_adapters.voice.local import sign
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import Agent, AgentSettings, Call, CallEvent, Number, PhoneNumber
from lad_domain.voice.ports import CallRequest, Limits, PlacedCall, VoiceProvider
from lad_domain.voice.services.dialer import Dialer
from lad_entrypoints.container import Container, build_container, close

OPERATOR = Principal.operator()
TARGET = 0.5
SECRET = "bench-voice-webhook-secret"
SECONDS = 37
#: The batch's concurrency limit (the most a batch allows): calls in flight per batch.
BATCH = 50

_RECEIPT = ("INSERT INTO webhook_receipts (tenant_id, provider, event_id, raw_payload, "
            "received_at) VALUES (%s, 'local', %s, %s, %s)")
_CALL = ("UPDATE voice_call_logs SET status = 'completed', duration_seconds = %s, "
         "ended_at = %s, cost = %s, updated_at = %s "
         "WHERE tenant_id = %s AND id = %s AND created_at = %s")


class ShiftedClock:
    """The system clock moved to today's 15:00 UTC (10:00 or 11:00 in New York, where the
    leads are): calls are placed in calling hours whenever the benchmark runs, in the
    current month's partition."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self._offset = now.replace(hour=15, minute=0, second=0, microsecond=0) - now

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@attrs.define
class Scripted:
    """Places calls by naming them: the dialer's provider, without a network."""

    placed: list[CallRequest] = attrs.field(factory=list)

    @property
    def name(self) -> str:
        return "local"

    def start_call(self, request: CallRequest) -> PlacedCall:
        self.placed.append(request)
        return PlacedCall(provider_call_id=f"bench-{len(self.placed)}")

    def end_call(self, provider_call_id: str) -> None:
        return None

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        return None

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        raise NotImplementedError("the scripted provider only places calls")


@attrs.define
class OneProvider:
    provider: VoiceProvider

    def get(self, name: str) -> VoiceProvider:
        return self.provider

    def names(self) -> Sequence[str]:
        return [self.provider.name]


def container(app_url: str, state: Path, clock: ShiftedClock) -> Container:
    lad = build_container(database_url=app_url, state_dir=state,
                          jwt_secret="bench-secret-" + "x" * 32, argon2_time_cost=1,
                          argon2_memory_kib=1024, voice_local_url="http://127.0.0.1:9",
                          voice_local_secret=SECRET)
    lad.clock.override(providers.Object(clock))
    return lad


def setup(lad: Container, calls: int) -> tuple[uuid.UUID, list[Call]]:
    """A funded tenant and ``calls`` calls placed through the dialer, each holding its
    estimate."""
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    session = lad.tenancy().sign_up(tenant_name="Bench Calls", email="owner@calls.test",
                                    password="correct horse battery")
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    tenant = session.tenant_id
    lad.team().set_feature(OPERATOR, "voice", True, tenant_id=tenant)
    lad.billing().top_up(OPERATOR, tenant, "1000000", idempotency_key_="fund")
    scope = lad.tenant_scope()
    now = scope.clock.now()
    with scope.uow(tenant) as uow:
        agent = Agent(tenant_id=tenant, name="Ava", language="en", created_at=now,
                      updated_at=now, first_message="Hi, this is Ava.",
                      settings=AgentSettings(provider="local", max_duration_seconds=300))
        uow.agents.add(agent)
        number = Number(id=scope.ids.new_id(), tenant_id=tenant,
                        phone=PhoneNumber("1", 2125550100), provider="twilio",
                        created_at=now, updated_at=now, agent_id=agent.id)
        uow.numbers.add(number)
        uow.commit()
    leads = [lad.leads().create_lead(owner, {"first_name": f"Lead{n}",
                                             "phone": f"+1212{2000000 + n:07d}"}).id
             for n in range(calls)]
    scripted = Scripted()
    dialer = Dialer(scope=scope, work=lad.dial_work(), providers=OneProvider(scripted),
                    phones=lad.phone_plan(), events=lad.call_events(),
                    limits=Limits(per_tenant=10**6, total=10**6))
    for start in range(0, calls, BATCH):
        lad.calling().create_batch(owner, agent_id=agent.id, number_id=number.id,
                                   lead_ids=leads[start:start + BATCH],
                                   settings={"concurrency": BATCH})
        while claims := dialer.claim(BATCH):
            for claim in claims:
                dialer.run(claim)
    placed = _calls(lad, owner)
    if len(placed) != calls or any(c.provider_call_id is None or c.reservation_id is None
                                   for c in placed):
        raise RuntimeError(f"the dialer placed {len(placed)} of {calls} calls with holds")
    return tenant, placed


def _calls(lad: Container, owner: Principal) -> list[Call]:
    found: list[Call] = []
    page = lad.calling().calls(owner, PageRequest(limit=200))
    found.extend(page.items)
    while page.next_cursor:
        page = lad.calling().calls(owner, PageRequest(limit=200, cursor=page.next_cursor))
        found.extend(page.items)
    return sorted(found, key=lambda c: (c.created_at, c.id))


def body(call: Call, tenant: uuid.UUID) -> bytes:
    """The local provider's final webhook of a call answered for ``SECONDS``."""
    started = call.created_at + timedelta(seconds=5)
    ended = started + timedelta(seconds=SECONDS)
    return json.dumps({
        "id": f"evt_{call.provider_call_id}_ended", "type": "ended",
        "occurred_at": ended.isoformat(),
        "call": {"id": call.provider_call_id, "status": "completed", "scenario": "answer",
                 "started_at": started.isoformat(), "ended_at": ended.isoformat(),
                 "duration_seconds": SECONDS, "max_duration_seconds": 300,
                 "costs": {"telephony": "0.01", "voice": "0.04"},
                 "rates": {"telephony": "0.0130", "voice": "0.0650"},
                 "transcript": "Hello. Hi, this is Ava.",
                 "recording_url": f"http://127.0.0.1:9/recordings/{call.provider_call_id}.wav",
                 "ended_reason": "customer-ended-call", "analysis": None,
                 "metadata": {"call_id": str(call.id), "tenant_id": str(tenant)}}}).encode()


class Raw:
    """The baseline: one transaction per event, psycopg, the owner, no framework."""

    def __init__(self, owner_url: str, tenant: uuid.UUID, calls: list[Call]) -> None:
        conninfo = sa.make_url(owner_url).set(drivername="postgresql").render_as_string(False)
        self.conn = psycopg.connect(conninfo)
        self.tenant, self.calls = tenant, iter(calls)

    def post(self) -> None:
        call = next(self.calls)
        now = datetime.now(UTC)
        raw = body(call, self.tenant)
        with self.conn.cursor() as cur:
            cur.execute(_RECEIPT, (self.tenant, f"{call.provider_call_id}:ended", raw, now))
            cur.execute(_CALL, (SECONDS, now, Decimal("0.070000"), now, self.tenant, call.id,
                                call.created_at))
        self.conn.commit()


class Ingest:
    """The webhook endpoint's use case, one signed delivery per call."""

    def __init__(self, lad: Container, tenant: uuid.UUID, calls: list[Call]) -> None:
        self.events, self.clock = lad.call_events(), lad.clock()
        self.tenant, self.calls = tenant, iter(calls)
        self.applied = 0

    def post(self) -> None:
        call = next(self.calls)
        raw = body(call, self.tenant)
        report = self.events.ingest("local", raw, sign(SECRET, raw, self.clock.now()))
        self.applied += report.applied


def interleaved(paths: dict[str, Callable[[], None]], events: int, rounds: int
                ) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in paths}
    chunk = max(1, events // rounds)
    for _ in range(rounds):
        for name, post in paths.items():
            start = time.perf_counter()
            for _ in range(chunk):
                post()
            rates[name].append(chunk / (time.perf_counter() - start))
    return rates


def overall(rates: list[float]) -> float:
    return len(rates) / sum(1 / r for r in rates)


def paired_ratio(rates: dict[str, list[float]]) -> float:
    return statistics.median(r / b for r, b in zip(rates["ingest"], rates["raw"],
                                                   strict=True))


def round_trips(raw: Raw, ingest: Ingest, lad: Container, n: int = 100) -> dict[str, float]:
    trace = RoundTripTrace()
    trace.attach(raw.conn)
    for _ in range(n):
        raw.post()
    raw.conn.pgconn.untrace()
    with RoundTripTrace().watching(lad.engine()) as traced:
        for _ in range(n):
            ingest.post()
    return {"raw": trace.round_trips() / n, "ingest": traced.round_trips() / n}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warm", type=int, default=100)
    args = parser.parse_args()
    per_path = args.warm + args.events + 100
    with (postgres_database("lad_bench_voice", app_role="lad_bench_voice")
          as (owner_url, app_url), tempfile.TemporaryDirectory() as state):
        _owner(owner_url, "ALTER DATABASE {database} SET track_functions = 'pl'")
        lad = container(app_url, Path(state), ShiftedClock())
        try:
            begun = time.perf_counter()
            tenant, calls = setup(lad, 2 * per_path)
            print(f"setup: {len(calls)} calls placed through the dialer in "
                  f"{time.perf_counter() - begun:.0f} s", flush=True)
            raw = Raw(owner_url, tenant, calls[0::2])
            ingest = Ingest(lad, tenant, calls[1::2])
            paths = {"raw": raw.post, "ingest": ingest.post}
            interleaved(paths, args.warm, 2)
            analyze = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
            with analyze.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
            analyze.dispose()
            lad.engine().dispose()
            rates = interleaved(paths, args.events, args.rounds)
            trips = round_trips(raw, ingest, lad)
            billed = _billed(owner_url, tenant)
            clean = lad.billing_reconciliation().reconcile(OPERATOR, tenant_id=tenant).clean
            lad.engine().dispose()  # the backends report their function statistics
            time.sleep(1)
            server = _function_times(owner_url)
        finally:
            close(lad)
    return report(rates, trips, ingest.applied, billed, clean, server)


def _owner(owner_url: str, statement: str) -> list[Any]:
    engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            result = conn.execute(sa.text(statement.format(database=f'"{database}"')))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _function_times(owner_url: str) -> dict[str, float]:
    """Milliseconds of server time per call of each tracked function."""
    return {row.funcname: row.total_time / row.calls for row in _owner(
        owner_url, "SELECT funcname, calls, total_time FROM pg_stat_user_functions "
        "WHERE calls > 0")}


def _billed(owner_url: str, tenant: uuid.UUID) -> int:
    engine = sa.create_engine(owner_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM billing_usage_events WHERE tenant_id = :t "
                "AND status = 'posted' AND idempotency_key LIKE 'voice-call:%'"),
                {"t": tenant}).scalar_one())
    finally:
        engine.dispose()


def report(rates: dict[str, list[float]], trips: dict[str, float], applied: int, billed: int,
           clean: bool, server: dict[str, float]) -> int:
    labels = {"raw": "raw baseline (psycopg, owner: insert receipt, update call)",
              "ingest": "ingest (verify, one call: dedupe, call log, hold, usage, entry)"}
    for name, label in labels.items():
        ratio = "" if name == "raw" else (
            f"   {paired_ratio(rates):.2f} x raw "
            f"(totals {overall(rates[name]) / overall(rates['raw']):.2f})")
        print(f"{label:68s} {overall(rates[name]):7.0f} events/s  {trips[name]:4.2f} "
              f"round trips{ratio}")
    for name in labels:
        print(f"  {name} per round: " + " ".join(f"{r:.0f}" for r in rates[name]))
    if "voice_apply_event" in server:
        print(f"server time per event: voice_apply_event "
              f"{server['voice_apply_event']:.3f} ms, of which billing_post_usage "
              f"{server.get('billing_post_usage', 0.0):.3f} ms")
    print(f"events applied by ingest: {applied}; calls billed: {billed}")
    print(f"reconcile after the run: {'no drift' if clean else 'DRIFT'}")
    met = paired_ratio(rates) >= TARGET and applied == billed and clean
    print(f"target: ingest >= {TARGET} x raw: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
