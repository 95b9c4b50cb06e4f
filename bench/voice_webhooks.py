"""Benchmark: webhook ingest on PostgreSQL (verify, dedupe, update the call log, capture),
against raw psycopg writing the same rows, measured in the same run.

    .venv/bin/python -m bench.voice_webhooks [--events 1000] [--rounds 20] [--warm 100]

It creates and drops its own database (and application role). Two funded tenants with the
``voice`` feature, each with an agent of provider ``local`` and a number; their calls are
placed through the real dialer (batches of 50 leads, each call's hold taken from the
wallet) with a scripted provider in place of the network. Each path then gets calls of its
own, one final event per call (``ended``, completed, 37 seconds, the provider's costs, no
analysis), and ingest and the raw paths never touch each other's rows: the same-rows
baseline has the second tenant (its wallet, batches and ledger) to itself.

- ingest: ``lad.call_events().ingest("local", body, headers)`` as the webhook endpoint calls
  it, connected as the application role (RLS on): the local provider verifies the
  signature (HMAC over the raw bytes, the timestamp window) and normalises the payload,
  then the call-event applier's one prepared call of ``voice_apply_event`` applies it: the
  tenant scope, the call locked, the receipt deduplicated and stored, the status, the hold
  released (reservation, wallet, ledger row, event), the usage posted (pricing, debit,
  ledger row, usage event), the call's cost, the entry finished and the batch recounted,
  ``call.billed`` and ``lead.call``.
- raw, the same rows (the target's baseline): psycopg as the tables' owner (no row-level
  security, no tenant setting), one transaction per event, writing exactly the rows one
  ingest writes (checked against a database diff of one ingest, column by column), with
  the locks the function takes: SELECT ... FOR UPDATE of the call log row (its cost
  breakdown and metadata read), the batch entry, the batch, the wallet (its current
  balance read) and the hold (its amount and request hash read); then INSERT the receipt
  (the raw payload); UPDATE the reservation (released, settled_at, updated_at); UPDATE the
  wallet (reserved balance less the hold, current balance less the charge, updated_at);
  INSERT the two ledger rows (``release``: amount 0, balance_after the current balance,
  cause the reservation, key ``release:<hold>``, the hold's request hash, the actor and
  reserved change; ``usage_debit``: minus the charge, balance_after the balance after it,
  cause the usage event, key ``usage:voice-call:<call>``, the usage request hash, the
  actor); INSERT the usage event (posted, its priced items, total, keys, wallet, ledger
  row); UPDATE the entry (completed, last outcome, claim token, next attempt and error
  cleared); UPDATE the batch's counters with the function's own count query; UPDATE the
  call log row (status, started and ended, duration, cost, cost breakdown with the
  provider's costs and the charge, recording, transcript, metadata with the ended reason,
  updated_at); INSERT the three domain events (``billing.reservation_released``,
  ``call.billed``, ``lead.call``); COMMIT. Values are computed in Python: the charge is the
  one the function priced for the first ingested call (the same seconds, agent and
  providers for every call), so the raw path does no pricing look-up, no dedupe look-up
  (the unique keys stand for them) and no entitlement read.
- raw, receipt and call only (for information, no target): psycopg as the owner, one
  transaction per event: INSERT the receipt, UPDATE the call log row (status, duration,
  ended_at, cost), no lock, nothing else; on the ingest tenant.

The target is on the same-rows baseline, as the project's precedent does
(``bench/billing_posting.py``: its raw baseline writes the very rows the posting writes, in
plain psycopg as the owner), and as the issue says: ingest against "a raw insert-and-update
of the same rows". A baseline that writes 2 of the 9 tables ingest writes measures what the
event costs, not how much the framework and the function add.

Measured in interleaved rounds (each round runs the three paths in turn, ``--events //
--rounds`` events each), after ``--warm`` events of each and an ANALYZE: a path's events
per second are its events over its total time; a ratio is the median over the rounds of
ingest's rate over the baseline's in the same round, so that load from other processes
weighs on all alike. Round trips per event are counted exactly from a libpq trace over 100
events per path on a fresh connection. The server time of the two functions
(``voice_apply_event``, of which ``billing_post_usage``) is read from
``pg_stat_user_functions`` (the database tracks PL functions), to say where ingest's time
goes. Reconcile must find no drift on either tenant, and each tenant must have billed every
call its path settled.

Target: ingest >= 0.5 x raw, the same rows. The exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import hashlib
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
from psycopg.types.json import Jsonb

from bench._postgres import postgres_database
from lad_adapters.catalog import default_catalog
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_adapters.voice.local import sign
from lad_domain.shared.ids import Uuid7Generator
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


#: The raw baseline of the same rows: the locks the function takes (the call, the entry,
#: the batch, the wallet, the hold), then each row it writes.
_LOCK_CALL = ("SELECT cost_breakdown, metadata, lead_id, batch_entry_id, batch_id "
              "FROM voice_call_logs WHERE tenant_id = %s AND id = %s AND created_at = %s "
              "FOR UPDATE")
_LOCK_ENTRY = ("SELECT status FROM voice_call_batch_entries WHERE tenant_id = %s AND id = %s "
               "FOR UPDATE")
_LOCK_BATCH = ("SELECT status FROM voice_call_batches WHERE tenant_id = %s AND id = %s "
               "FOR UPDATE")
_LOCK_WALLET = ("SELECT current_balance FROM billing_wallets WHERE tenant_id = %s AND id = %s "
                "FOR UPDATE")
_LOCK_HOLD = ("SELECT amount, request_hash FROM billing_reservations WHERE tenant_id = %s "
              "AND id = %s FOR UPDATE")
_RELEASE = ("UPDATE billing_reservations SET status = 'released', settled_at = %s, "
            "updated_at = %s WHERE tenant_id = %s AND id = %s")
_WALLET = ("UPDATE billing_wallets SET reserved_balance = reserved_balance - %s, "
           "current_balance = current_balance - %s, updated_at = %s "
           "WHERE tenant_id = %s AND id = %s")
_LEDGER_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_LEDGER = ("INSERT INTO billing_ledger_transactions (tenant_id, id, wallet_id, "
           "transaction_type, amount, balance_after, cause_type, cause_id, idempotency_key, "
           "request_hash, metadata, created_at) VALUES " + ", ".join([_LEDGER_ROW] * 2))
_USAGE = ("INSERT INTO billing_usage_events (tenant_id, id, feature_key, usage_items, "
          "total_cost, status, idempotency_key, request_hash, occurred_at, posted_at, "
          "wallet_id, ledger_transaction_id, within_quota, created_at, updated_at) "
          "VALUES (%s, %s, 'voice', %s, %s, 'posted', %s, %s, %s, %s, %s, %s, false, %s, %s)")
_ENTRY = ("UPDATE voice_call_batch_entries SET status = 'completed', next_attempt_at = NULL, "
          "last_error = NULL, last_outcome = 'completed', claim_token = NULL, updated_at = %s "
          "WHERE tenant_id = %s AND id = %s")
#: The function's recount (Batch.count), word for word.
_BATCH = ("UPDATE voice_call_batches b SET total_calls = c.total, "
          "completed_calls = c.completed, failed_calls = c.failed, "
          "status = CASE WHEN b.status = 'running' AND c.open = 0 "
          "THEN 'completed' ELSE b.status END, "
          "finished_at = CASE WHEN b.status = 'running' AND c.open = 0 "
          "THEN %s ELSE b.finished_at END, updated_at = %s "
          "FROM (SELECT count(*) AS total, "
          "count(*) FILTER (WHERE e.status = 'completed') AS completed, "
          "count(*) FILTER (WHERE e.status IN ('failed', 'skipped')) AS failed, "
          "count(*) FILTER (WHERE e.status IN ('pending', 'queued', 'calling')) AS open "
          "FROM voice_call_batch_entries e WHERE e.tenant_id = %s AND e.batch_id = %s) c "
          "WHERE b.tenant_id = %s AND b.id = %s")
_CALL_ROWS = ("UPDATE voice_call_logs SET status = 'completed', started_at = %s, "
              "ended_at = %s, duration_seconds = %s, cost = %s, cost_breakdown = %s, "
              "recording_url = %s, transcription = %s, metadata = %s, updated_at = %s "
              "WHERE tenant_id = %s AND id = %s AND created_at = %s")
_EVENT_ROW = "(%s, %s, %s, %s, %s, %s, %s)"
_EVENTS = ("INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type, "
           "aggregate_id, payload, created_at) VALUES " + ", ".join([_EVENT_ROW] * 3))


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


def setup(lad: Container, calls: int, name: str) -> tuple[uuid.UUID, list[Call]]:
    """A funded tenant and ``calls`` calls placed through the dialer, each holding its
    estimate (the pricing catalog loaded first)."""
    session = lad.tenancy().sign_up(tenant_name=f"Bench {name}", email=f"owner@{name}.test",
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


@attrs.frozen
class Charge:
    """What the usage of one call of ``SECONDS`` costs, as the function priced it (the
    same for every call: one agent, one number, one duration)."""

    items: list[dict[str, Any]]
    total: Decimal


class RawRows:
    """The baseline the target is on: every row one ingest writes for the call's final
    event, with the locks the function takes, one transaction, psycopg, the owner."""

    def __init__(self, owner_url: str, tenant: uuid.UUID, calls: list[Call], charge: Charge,
                 clock: ShiftedClock) -> None:
        conninfo = sa.make_url(owner_url).set(drivername="postgresql").render_as_string(False)
        self.conn = psycopg.connect(conninfo)
        self.tenant, self.calls, self.charge, self.clock = tenant, iter(calls), charge, clock
        self.ids = Uuid7Generator()
        wallet = self.conn.execute("SELECT id FROM billing_wallets WHERE tenant_id = %s "
                                   "AND user_id IS NULL", (tenant,)).fetchone()
        self.conn.commit()
        assert wallet is not None
        self.wallet: uuid.UUID = wallet[0]
        self.posted = 0

    def post(self) -> None:
        call = next(self.calls)
        now, raw, t = self.clock.now(), body(call, self.tenant), self.tenant
        started = call.created_at + timedelta(seconds=5)
        total = self.charge.total
        usage, release, debit, *events = (self.ids.new_id() for _ in range(6))
        key, hold = f"voice-call:{call.id}", call.reservation_id
        with self.conn.cursor() as cur:
            cur.execute(_LOCK_CALL, (t, call.id, call.created_at))
            found = cur.fetchone()
            assert found is not None
            breakdown, metadata, lead, entry, batch = found
            cur.execute(_LOCK_ENTRY, (t, entry))
            cur.execute(_LOCK_BATCH, (t, batch))
            cur.execute(_LOCK_WALLET, (t, self.wallet))
            balance = _one(cur)[0]
            cur.execute(_LOCK_HOLD, (t, hold))
            amount, hold_hash = _one(cur)
            cur.execute(_RECEIPT, (t, f"{call.provider_call_id}:ended", raw, now))
            cur.execute(_RELEASE, (now, now, t, hold))
            cur.execute(_WALLET, (amount, total, now, t, self.wallet))
            released = {"actor": "system:voice"} | (
                {"reserved_change": str(-amount)} if amount else {})
            request = hashlib.sha256(
                f'{{"call":"{call.id}","seconds":{SECONDS}}}'.encode()).hexdigest()
            cur.execute(_LEDGER, (
                t, release, self.wallet, "release", Decimal(0), balance, "reservation", hold,
                f"release:{hold}", hold_hash or None, Jsonb(released), now,
                t, debit, self.wallet, "usage_debit", -total, balance - total, "usage_event",
                usage, f"usage:{key}", request, Jsonb({"actor": "system:voice"}), now))
            cur.execute(_USAGE, (t, usage, Jsonb(self.charge.items), total, key, request, now,
                                 now, self.wallet, debit, now, now))
            cur.execute(_ENTRY, (now, t, entry))
            cur.execute(_BATCH, (now, now, t, batch, t, batch))
            charged = {"seconds": SECONDS, "usage_event_id": str(usage), "status": "posted",
                       "items": {i["category"]: i["cost"] for i in self.charge.items}}
            cur.execute(_CALL_ROWS, (
                started, started + timedelta(seconds=SECONDS), SECONDS, total,
                Jsonb(breakdown | {"provider": {"telephony": "0.01", "voice": "0.04"},
                                   "charged": charged}),
                f"http://127.0.0.1:9/recordings/{call.provider_call_id}.wav",
                "Hello. Hi, this is Ava.",
                Jsonb(metadata | {"ended_reason": "customer-ended-call"}), now,
                t, call.id, call.created_at))
            cur.execute(_EVENTS, (
                t, events[0], "billing.reservation_released", "reservation", str(hold),
                Jsonb({"amount": str(amount)}), now,
                t, events[1], "call.billed", "call", str(call.id),
                Jsonb({"lead_id": str(lead), "amount": str(total), "seconds": SECONDS,
                       "adjustment": metadata.get("unknown_reason") is not None}), now,
                t, events[2], "lead.call", "lead", str(lead),
                Jsonb({"call_id": str(call.id), "status": "completed",
                       "duration_seconds": SECONDS, "cost": str(total)}), now))
        self.conn.commit()
        self.posted += 1


def _one(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cur.fetchone()
    assert row is not None
    return tuple(row)


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


def paired_ratio(rates: dict[str, list[float]], baseline: str) -> float:
    return statistics.median(r / b for r, b in zip(rates["ingest"], rates[baseline],
                                                   strict=True))


def round_trips(raws: dict[str, Raw | RawRows], ingest: Ingest, lad: Container, n: int = 100
                ) -> dict[str, float]:
    trips: dict[str, float] = {}
    for name, raw in raws.items():
        trace = RoundTripTrace()
        trace.attach(raw.conn)
        for _ in range(n):
            raw.post()
        raw.conn.pgconn.untrace()
        trips[name] = trace.round_trips() / n
    with RoundTripTrace().watching(lad.engine()) as traced:
        for _ in range(n):
            ingest.post()
    trips["ingest"] = traced.round_trips() / n
    return trips


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warm", type=int, default=100)
    args = parser.parse_args()
    per_path = args.warm + args.events + 100 + 1  # the warm-up, the rounds, the trace, one
    with (postgres_database("lad_bench_voice", app_role="lad_bench_voice")
          as (owner_url, app_url), tempfile.TemporaryDirectory() as state):
        _owner(owner_url, "ALTER DATABASE {database} SET track_functions = 'pl'")
        clock = ShiftedClock()
        lad = container(app_url, Path(state), clock)
        try:
            begun = time.perf_counter()
            lad.billing_plans().load_pricing(OPERATOR, default_catalog())
            tenant, calls = setup(lad, 2 * per_path, "ingest")
            rows_tenant, rows_calls = setup(lad, per_path, "rows")
            print(f"setup: {len(calls) + len(rows_calls)} calls placed through the dialer "
                  f"in {time.perf_counter() - begun:.0f} s", flush=True)
            ingest = Ingest(lad, tenant, calls[1::2])
            ingest.post()  # the price of a call of SECONDS, for the raw rows
            rows = RawRows(owner_url, rows_tenant, rows_calls, _charge(owner_url, tenant),
                           clock)
            raws: dict[str, Raw | RawRows] = {"rows": rows,
                                              "raw": Raw(owner_url, tenant, calls[0::2])}
            paths = {name: raw.post for name, raw in raws.items()} | {"ingest": ingest.post}
            interleaved(paths, args.warm, 2)
            analyze = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
            with analyze.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
            analyze.dispose()
            lad.engine().dispose()
            rates = interleaved(paths, args.events, args.rounds)
            trips = round_trips(raws, ingest, lad)
            billed = {"ingest": _billed(owner_url, tenant),
                      "rows": _billed(owner_url, rows_tenant)}
            posted = {"ingest": ingest.applied, "rows": rows.posted}
            clean = {name: lad.billing_reconciliation().reconcile(
                OPERATOR, tenant_id=tenant_id).clean
                for name, tenant_id in (("ingest", tenant), ("rows", rows_tenant))}
            lad.engine().dispose()  # the backends report their function statistics
            time.sleep(1)
            server = _function_times(owner_url)
        finally:
            close(lad)
    return report(rates, trips, posted, billed, clean, server)


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


def _charge(owner_url: str, tenant: uuid.UUID) -> Charge:
    """What the function charged for the first call it billed."""
    engine = sa.create_engine(owner_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT usage_items, total_cost FROM billing_usage_events "
                "WHERE tenant_id = :t AND status = 'posted'"), {"t": tenant}).one()
            return Charge(items=row.usage_items, total=row.total_cost)
    finally:
        engine.dispose()


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


LABELS = {
    "rows": "raw, the same rows (psycopg, owner: every row ingest writes, locked)",
    "raw": "raw, receipt and call only (psycopg, owner: insert, update)",
    "ingest": "ingest (verify, one call: dedupe, call log, hold, usage, entry)",
}


def report(rates: dict[str, list[float]], trips: dict[str, float], posted: dict[str, int],
           billed: dict[str, int], clean: dict[str, bool], server: dict[str, float]) -> int:
    for name, label in LABELS.items():
        print(f"{label:72s} {overall(rates[name]):6.0f} events/s  {trips[name]:5.2f} "
              "round trips")
    for baseline, note in (("rows", "the target"), ("raw", "for information")):
        print(f"ingest / {LABELS[baseline].split(' (')[0]}: {paired_ratio(rates, baseline):.2f} "
              f"x (median of the rounds; totals "
              f"{overall(rates['ingest']) / overall(rates[baseline]):.2f}) -- {note}")
    for name in LABELS:
        print(f"  {name} per round: " + " ".join(f"{r:.0f}" for r in rates[name]))
    if "voice_apply_event" in server:
        print(f"server time per event: voice_apply_event "
              f"{server['voice_apply_event']:.3f} ms, of which billing_post_usage "
              f"{server.get('billing_post_usage', 0.0):.3f} ms")
    print(f"events applied by ingest: {posted['ingest']}; calls billed: {billed['ingest']}; "
          f"events written raw with their rows: {posted['rows']}; calls billed: "
          f"{billed['rows']}")
    print("reconcile after the run: " + ", ".join(
        f"{'no drift' if ok else 'DRIFT'} ({name} tenant)" for name, ok in clean.items()))
    met = (paired_ratio(rates, "rows") >= TARGET and posted == billed
           and all(clean.values()))
    print(f"target: ingest >= {TARGET} x raw, the same rows: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
