"""Benchmark: posting usage on PostgreSQL, against the raw SQL baseline measured in the same
run.

    .venv/bin/python -m bench.billing_posting [--postings 4000] [--rounds 20]
                                              [--batch 1000] [--batches 10] [--repeat 5]
                                              [--clients 8] [--seconds 1.5]

It creates and drops its own database (and application role), posts a warm-up, and ANALYZEs
the tables as autovacuum would on a live database. One client first, measured in interleaved
rounds (each round runs every path in turn): a path's postings per second are its postings
over its total time, and its ratio is the median, over the rounds, of its rate over the
baseline's rate in the same round, so that load from other processes weighs on both alike
(the ratio of the totals is printed too):

- raw baseline: psycopg as the tables' owner (no row-level security, no tenant setting), one
  transaction per posting: lock the wallet row, insert the ledger row, update the wallet;
- Core reference: the same three statements through SQLAlchemy Core and the application's
  engine;
- posting: the posting transaction through the tenant-scoped unit of work (pool checkout,
  BEGIN, the tenant setting), the posting port (one call of ``billing_post_usage``), COMMIT;
  connected as the application role, RLS on;
- service call: what the target is about, ``BillingService.record_usage`` as a tenant API
  key: the request checks, then the usage ledger's one prepared call of
  ``billing_record_usage`` on an autocommit connection (the tenant scope set first, the
  tenant row the access policy reads, the posting: idempotency, pricing, quota, debit,
  ledger row, usage event, balance events), i.e. everything a caller pays.

Round trips per posting are counted exactly from a libpq trace (one per ReadyForQuery), over
100 postings on a fresh connection (so a statement's one-time preparation is counted too).
The batched path (``record_usage_batch``, ``--batch`` events per transaction) is timed as
the best of ``--repeat`` runs: the tenant scope and the access check, the reads (wallets
locked, keys seen before, prices, quotas), then the events decided in parts of 125 whose
ledger rows and usage events are sent in psycopg's pipeline mode (each table's part in one
statement), so that the server stores one part while Python decides the next; COMMIT.

Then ``--clients`` concurrent clients, each a process of its own (threads would measure the
GIL, not the database), for ``--seconds`` each, twice in turn: all against ONE hot wallet
(one tenant, its row lock serialises them), and each against its own tenant's wallet. The
raw baseline runs with the same concurrency on the same wallets; both are printed with
their ratio (not targets: the machine's cores bound them).

Targets: the service call (no check skipped) >= 0.8 x raw; batched >= 20,000 events/s.
Reconcile must find no drift. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import psycopg
import sqlalchemy as sa

from bench._postgres import postgres_database
from lad_adapters.catalog import default_catalog
from lad_adapters.sql.database import create_engine
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_adapters.sql.tables.billing import billing_ledger_transactions as ledger
from lad_adapters.sql.tables.billing import billing_wallets as wallets
from lad_domain.billing.scope import posting_context
from lad_domain.billing.validation import usage_request
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container, build_container, close

OPERATOR = Principal.operator()
EMAIL = [{"category": "email_send", "quantity": "1"}]
SINGLE_TARGET, BATCH_TARGET = 0.8, 20_000.0

_LOCK = "SELECT current_balance FROM billing_wallets WHERE tenant_id = %s AND id = %s FOR UPDATE"
_LEDGER = (
    "INSERT INTO billing_ledger_transactions (tenant_id, id, wallet_id, transaction_type, "
    "amount, balance_after, cause_type, cause_id, idempotency_key, request_hash, created_at) "
    "VALUES (%s, %s, %s, 'usage_debit', %s, %s, 'usage_event', %s, %s, %s, %s)")
_DEBIT = ("UPDATE billing_wallets SET current_balance = current_balance - %s, updated_at = %s "
          "WHERE tenant_id = %s AND id = %s")


@attrs.frozen
class Tenant:
    """A funded tenant: its id, its wallet, and the secret of a member-role API key."""

    id: uuid.UUID
    wallet: uuid.UUID
    secret: str


def container(app_url: str, state: Path) -> Container:
    return build_container(database_url=app_url, state_dir=state,
                           jwt_secret="bench-secret-" + "x" * 32, argon2_time_cost=1,
                           argon2_memory_kib=1024)


def open_tenant(lad: Container, name: str) -> Tenant:
    session = lad.tenancy().sign_up(tenant_name=name, email=f"owner@{name.lower()}.test",
                                    password="correct horse battery")
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    key = lad.team().create_api_key(owner, name="worker", role=Role.MEMBER)
    lad.billing().top_up(OPERATOR, session.tenant_id, "1000000000", idempotency_key_="fund")
    wallet = lad.billing().wallet(OPERATOR, tenant_id=session.tenant_id)
    return Tenant(session.tenant_id, wallet.id, key.secret)


def setup(app_url: str, state: Path, clients: int) -> tuple[Container, list[Tenant]]:
    lad = container(app_url, state)
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    return lad, [open_tenant(lad, f"Bench{n}") for n in range(max(1, clients))]


class Raw:
    """The baseline: three statements per transaction, psycopg, no framework."""

    def __init__(self, owner_url: str, tenant: uuid.UUID, wallet: uuid.UUID) -> None:
        conninfo = sa.make_url(owner_url).set(drivername="postgresql").render_as_string(False)
        self.conn = psycopg.connect(conninfo)
        self.tenant, self.wallet, self.run = tenant, wallet, uuid.uuid4().hex[:8]
        self.n = 0

    def post(self) -> None:
        self.n += 1
        now, price = datetime.now(UTC), Decimal("0.001")
        with self.conn.cursor() as cur:
            cur.execute(_LOCK, (self.tenant, self.wallet))
            row = cur.fetchone()
            assert row is not None
            cur.execute(_LEDGER, (self.tenant, uuid.uuid4(), self.wallet, -price,
                                  row[0] - price, uuid.uuid4(), f"raw:{self.run}:{self.n}",
                                  None, now))
            cur.execute(_DEBIT, (price, now, self.tenant, self.wallet))
        self.conn.commit()


class Core:
    """The same three statements through SQLAlchemy Core and the application's engine."""

    def __init__(self, owner_url: str, tenant: uuid.UUID, wallet: uuid.UUID) -> None:
        self.engine = create_engine(owner_url)
        self.tenant, self.wallet, self.run = tenant, wallet, uuid.uuid4().hex[:8]
        self.n = 0

    def post(self) -> None:
        self.n += 1
        now, price = datetime.now(UTC), Decimal("0.001")
        with self.engine.begin() as conn:
            balance = conn.execute(sa.select(wallets.c.current_balance).where(
                wallets.c.tenant_id == self.tenant, wallets.c.id == self.wallet
            ).with_for_update()).scalar_one()
            conn.execute(ledger.insert().values(
                tenant_id=self.tenant, id=uuid.uuid4(), wallet_id=self.wallet,
                transaction_type="usage_debit", amount=-price, balance_after=balance - price,
                cause_type="usage_event", cause_id=uuid.uuid4(),
                idempotency_key=f"core:{self.run}:{self.n}", created_at=now))
            conn.execute(wallets.update().where(
                wallets.c.tenant_id == self.tenant, wallets.c.id == self.wallet).values(
                current_balance=wallets.c.current_balance - price, updated_at=now))


class Posting:
    """The posting transaction: tenant-scoped unit of work, posting port, commit."""

    def __init__(self, lad: Container, service: Principal, tenant: uuid.UUID) -> None:
        self.uows, self.billing = lad.unit_of_work(), lad.billing()
        self.service, self.tenant, self.run = service, tenant, uuid.uuid4().hex[:8]
        self.n = 0

    def post(self) -> None:
        self.n += 1
        context = posting_context(self.billing.scope, self.service)
        request = usage_request(idempotency_key_=f"post:{self.run}:{self.n}",
                                feature_key="outreach", items=EMAIL, user_id=None,
                                occurred_at=None, now=context.now)
        with self.uows(self.tenant) as uow:
            uow.usage_postings.post([request], context)
            uow.commit()


class ServiceCall:
    """``record_usage`` as a tenant API key: checks, access policy, posting."""

    def __init__(self, lad: Container, service: Principal) -> None:
        self.billing, self.service, self.run = lad.billing(), service, uuid.uuid4().hex[:8]
        self.n = 0

    def post(self) -> None:
        self.n += 1
        self.billing.record_usage(self.service, idempotency_key=f"svc:{self.run}:{self.n}",
                                  feature_key="outreach", usage_items=EMAIL)


def interleaved(paths: dict[str, Callable[[], None]], postings: int, rounds: int
                ) -> dict[str, list[float]]:
    """Each path's postings per second in each round (``postings // rounds`` a turn)."""
    rates: dict[str, list[float]] = {name: [] for name in paths}
    chunk = max(1, postings // rounds)
    for _ in range(rounds):
        for name, post in paths.items():
            start = time.perf_counter()
            for _ in range(chunk):
                post()
            rates[name].append(chunk / (time.perf_counter() - start))
    return rates


def overall(rates: list[float]) -> float:
    """Postings over total time (the harmonic mean of equal-sized rounds)."""
    return len(rates) / sum(1 / r for r in rates)


def paired_ratio(rates: dict[str, list[float]], name: str) -> float:
    """The median over rounds of the path's rate over the baseline's in the same round:
    load from other processes shifts both alike."""
    return statistics.median(r / b for r, b in zip(rates[name], rates["raw"], strict=True))


def batched(lad: Container, service: Principal, size: int, batches: int) -> float:
    billing, run = lad.billing(), uuid.uuid4().hex[:8]
    events = [[{"idempotency_key": f"many:{run}:{b}:{i}", "feature_key": "outreach",
                "usage_items": EMAIL} for i in range(size)] for b in range(batches)]
    start = time.perf_counter()
    for batch in events:
        billing.record_usage_batch(service, batch)
    return size * batches / (time.perf_counter() - start)


def traced(engine: sa.Engine, action: Callable[[], object]) -> int:
    """Round trips of ``action``: the pool is emptied first, so that every connection it
    opens is traced from its first statement (pings, BEGIN and COMMIT included)."""
    with RoundTripTrace().watching(engine) as trace:
        action()
    return trace.round_trips()


def round_trips(raw: Raw, core: Core, posting: Posting, call: ServiceCall, lad: Container,
                n: int = 100) -> dict[str, float]:
    trace = RoundTripTrace()
    trace.attach(raw.conn)
    for _ in range(n):
        raw.post()
    raw.conn.pgconn.untrace()

    def repeat(post: Callable[[], None]) -> Callable[[], None]:
        return lambda: [post() for _ in range(n)] and None

    return {"raw": trace.round_trips() / n,
            "core": traced(core.engine, repeat(core.post)) / n,
            "posting": traced(lad.engine(), repeat(posting.post)) / n,
            "service": traced(lad.engine(), repeat(call.post)) / n}


def warm_up(paths: dict[str, Callable[[], None]], lad: Container, service: Principal,
            owner_url: str) -> None:
    """Fill the tables a little, then ANALYZE them, as autovacuum does on a live database:
    the planner's statistics of just-created tables would pick poor indexes. The pools are
    emptied, so the measured connections plan afresh."""
    interleaved(paths, 2000, 4)
    batched(lad, service, 1000, 2)
    engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    lad.engine().dispose()


def client(path: str, owner_url: str, app_url: str, tenant: Tenant, seconds: float,
           start: Any, results: Any) -> None:
    """One concurrent client (a process): warm up, wait for the others, post for
    ``seconds``, report (postings, elapsed)."""
    with tempfile.TemporaryDirectory() as state:
        lad = container(app_url, Path(state))
        if path == "raw":
            raw = Raw(owner_url, tenant.id, tenant.wallet)
            post = raw.post
        else:
            post = ServiceCall(lad, lad.tenancy().authenticate(tenant.secret)).post
        for _ in range(20):
            post()
        start.wait()
        n, begun = 0, time.perf_counter()
        while time.perf_counter() - begun < seconds:
            post()
            n += 1
        results.put((n, time.perf_counter() - begun))
        if path == "raw":
            raw.conn.close()
        close(lad)


def concurrent(path: str, owner_url: str, app_url: str, tenants: list[Tenant],
               clients: int, seconds: float) -> float:
    """Postings per second of ``clients`` processes, the i-th posting to ``tenants[i]``
    (the same tenant every time: one hot wallet)."""
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(clients), spawn.Queue()
    workers = [spawn.Process(target=client, args=(path, owner_url, app_url, tenants[i],
                                                  seconds, start, results))
               for i in range(clients)]
    for worker in workers:
        worker.start()
    done = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"a {path} client failed")
    return sum(n for n, _ in done) / max(elapsed for _, elapsed in done)


def under_load(owner_url: str, app_url: str, tenants: list[Tenant], clients: int,
               seconds: float) -> dict[str, float]:
    """Raw and service call, each with ``clients`` processes: on one hot wallet, and on a
    wallet each."""
    rates: dict[str, float] = {}
    for shape, owners in [("hot", [tenants[0]] * clients), ("spread", tenants)]:
        for path in ("raw", "service"):
            rates[f"{path} {shape}"] = concurrent(path, owner_url, app_url, owners, clients,
                                                  seconds)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    with (postgres_database("lad_bench_billing", app_role="lad_bench_billing")
          as (owner_url, app_url), tempfile.TemporaryDirectory() as state):
        lad, tenants = setup(app_url, Path(state), args.clients)
        first = tenants[0]
        service = lad.tenancy().authenticate(first.secret)
        raw, core = Raw(owner_url, first.id, first.wallet), Core(owner_url, first.id,
                                                                  first.wallet)
        posting, call = Posting(lad, service, first.id), ServiceCall(lad, service)
        paths = {"raw": raw.post, "core": core.post, "posting": posting.post,
                 "service": call.post}
        try:
            warm_up(paths, lad, service, owner_url)
            rates = interleaved(paths, args.postings, args.rounds)
            many = max(batched(lad, service, args.batch, args.batches)
                       for _ in range(args.repeat))
            trips = round_trips(raw, core, posting, call, lad)
            batch_trips = traced(lad.engine(), lambda: batched(lad, service, args.batch, 1))
            loaded = under_load(owner_url, app_url, tenants, args.clients, args.seconds)
            clean = all(lad.billing_reconciliation().reconcile(OPERATOR, tenant_id=t.id).clean
                        for t in tenants)
        finally:
            raw.conn.close()
            core.engine.dispose()
            close(lad)
    return report(rates, trips, many, batch_trips, args.batch, loaded, args.clients, clean)


def report(rates: dict[str, list[float]], trips: dict[str, float], many: float,
           batch_trips: int, batch: int, loaded: dict[str, float], clients: int,
           clean: bool) -> int:
    labels = {"raw": "raw baseline (psycopg, owner: lock, insert ledger, update)",
              "core": "Core reference (the same 3 statements, SQLAlchemy Core)",
              "posting": "posting (unit of work + posting function, app role, RLS)",
              "service": "service call (record_usage: checks + policy + posting)"}
    for name, label in labels.items():
        totals = overall(rates[name]) / overall(rates["raw"])
        ratio = "" if name == "raw" else (f"   {paired_ratio(rates, name):.2f} x raw "
                                          f"(totals {totals:.2f})")
        print(f"{label:60s} {overall(rates[name]):7.0f} postings/s  {trips[name]:4.2f} "
              f"round trips{ratio}")
    print(f"{'batched posting (' + str(batch) + ' events per transaction)':60s} "
          f"{many:7.0f} events/s    {batch_trips} round trips per batch")
    for shape, label in [("hot", "one hot wallet"), ("spread", f"{clients} wallets")]:
        raw, service = loaded[f"raw {shape}"], loaded[f"service {shape}"]
        print(f"{f'{clients} client processes, {label}: raw baseline':60s} {raw:7.0f} "
              f"postings/s")
        print(f"{f'{clients} client processes, {label}: service call':60s} {service:7.0f} "
              f"postings/s   {service / raw:.2f} x raw")
    print(f"reconcile after the run: {'no drift' if clean else 'DRIFT'}")
    single_ok = paired_ratio(rates, "service") >= SINGLE_TARGET
    batch_ok = many >= BATCH_TARGET
    print(f"targets: service call >= {SINGLE_TARGET} x raw: {'met' if single_ok else 'MISSED'}; "
          f"batched >= {BATCH_TARGET:.0f}/s: {'met' if batch_ok else 'MISSED'}")
    return 0 if single_ok and batch_ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
