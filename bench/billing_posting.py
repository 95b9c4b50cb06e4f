"""Benchmark: posting usage to one hot wallet on PostgreSQL, against the raw SQL baseline
measured in the same run.

    .venv/bin/python -m bench.billing_posting [--postings 3000] [--batch 1000]
                                              [--batches 10] [--repeat 3]

It creates and drops its own database (and application role). Three figures, each the best
of ``--repeat`` runs, one client:

- raw baseline: psycopg, as the tables' owner (no row-level security, no tenant setting),
  one transaction per posting: lock the wallet row, insert the ledger row, update the wallet;
- single posting: ``BillingService.record_usage`` through the container as a tenant API key,
  connected as the application role (row-level security on): validation, the access policy,
  the tenant scope, then the one-statement posting function;
- batched posting: ``record_usage_batch`` of ``--batch`` events per transaction.

Round trips are counted exactly, from a libpq trace (one per ReadyForQuery). Targets:
single >= 0.5 x the baseline's postings per second; batched >= 10,000 events per second.
The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from lad_adapters.catalog import default_catalog
from lad_adapters.sql import migrate
from lad_adapters.sql.roles import ensure_app_role
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container, build_container, close

ADMIN_URL = os.environ.get("LAD_BENCH_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
APP_ROLE = "lad_bench_billing"
OPERATOR = Principal.operator()
EMAIL = [{"category": "email_send", "quantity": "1"}]
SINGLE_TARGET, BATCH_TARGET = 0.5, 10_000.0

_LOCK = "SELECT current_balance FROM billing_wallets WHERE tenant_id = %s AND id = %s FOR UPDATE"
_LEDGER = (
    "INSERT INTO billing_ledger_transactions (tenant_id, id, wallet_id, transaction_type, "
    "amount, balance_after, cause_type, cause_id, idempotency_key, request_hash, created_at) "
    "VALUES (%s, %s, %s, 'usage_debit', %s, %s, 'usage_event', %s, %s, %s, %s)")
_DEBIT = ("UPDATE billing_wallets SET current_balance = current_balance - %s, updated_at = %s "
          "WHERE tenant_id = %s AND id = %s")


@contextlib.contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A fresh database at head: (owner URL, application-role URL); dropped afterwards."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lad_bench_billing_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    owner = sa.make_url(ADMIN_URL).set(database=name)
    try:
        migrate.upgrade(owner.render_as_string(False))
        engine = sa.create_engine(owner)
        with engine.begin() as conn:
            ensure_app_role(conn, APP_ROLE)
        engine.dispose()
        yield (owner.render_as_string(False),
               owner.set(username=APP_ROLE, password=None).render_as_string(False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{APP_ROLE}"'))
        admin.dispose()


class Trace:
    """Counts round trips: libpq traces every message, and each round trip ends with the
    server's ReadyForQuery."""

    def __init__(self) -> None:
        self.file = tempfile.NamedTemporaryFile("w+", suffix=".trace")  # noqa: SIM115

    def attach(self, connection: psycopg.Connection[Any]) -> None:
        connection.pgconn.trace(self.file.fileno())
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def round_trips(self) -> int:
        self.file.flush()
        with open(self.file.name, encoding="utf-8", errors="replace") as text:
            return sum(1 for line in text if "\tReadyForQuery" in line)


def setup(app_url: str, state: Path) -> tuple[Container, Principal, uuid.UUID, uuid.UUID]:
    lad = build_container(database_url=app_url, state_dir=state,
                          jwt_secret="bench-secret-" + "x" * 32, argon2_time_cost=1,
                          argon2_memory_kib=1024)
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    session = lad.tenancy().sign_up(tenant_name="Bench", email="owner@bench.test",
                                    password="correct horse battery")
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    key = lad.team().create_api_key(owner, name="worker", role=Role.MEMBER)
    lad.billing().top_up(OPERATOR, session.tenant_id, "1000000000", idempotency_key_="fund")
    wallet = lad.billing().wallet(OPERATOR, tenant_id=session.tenant_id)
    return lad, lad.tenancy().authenticate(key.secret), session.tenant_id, wallet.id


def raw_baseline(owner_url: str, tenant: uuid.UUID, wallet: uuid.UUID, n: int,
                 trace: Trace | None = None) -> float:
    """Postings per second of the three raw statements, one transaction each."""
    conninfo = sa.make_url(owner_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        if trace is not None:
            trace.attach(conn)
        price, run = Decimal("0.001"), uuid.uuid4().hex[:8]
        start = time.perf_counter()
        for i in range(n):
            now = datetime.now(UTC)
            cur.execute(_LOCK, (tenant, wallet))
            row = cur.fetchone()
            assert row is not None
            cur.execute(_LEDGER, (tenant, uuid.uuid4(), wallet, -price, row[0] - price,
                                  uuid.uuid4(), f"raw:{run}:{i}", None, now))
            cur.execute(_DEBIT, (price, now, tenant, wallet))
            conn.commit()
        return n / (time.perf_counter() - start)


def single(lad: Container, service: Principal, n: int) -> float:
    billing, run = lad.billing(), uuid.uuid4().hex[:8]
    start = time.perf_counter()
    for i in range(n):
        billing.record_usage(service, idempotency_key=f"one:{run}:{i}", feature_key="outreach",
                             usage_items=EMAIL)
    return n / (time.perf_counter() - start)


def batched(lad: Container, service: Principal, size: int, batches: int) -> float:
    billing, run = lad.billing(), uuid.uuid4().hex[:8]
    events = [[{"idempotency_key": f"many:{run}:{b}:{i}", "feature_key": "outreach",
                "usage_items": EMAIL} for i in range(size)] for b in range(batches)]
    start = time.perf_counter()
    for batch in events:
        billing.record_usage_batch(service, batch)
    return size * batches / (time.perf_counter() - start)


def traced(lad: Container, action: Callable[[], object]) -> int:
    """Round trips of ``action``: the pool is emptied first, so that every connection it
    opens is traced from its first statement (pings, BEGIN and COMMIT included)."""
    engine: sa.Engine = lad.engine()
    engine.dispose()
    trace = Trace()

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        trace.attach(dbapi_connection)

    sa.event.listen(engine, "connect", on_connect)
    try:
        action()
    finally:
        sa.event.remove(engine, "connect", on_connect)
        engine.dispose()
    return trace.round_trips()


def warm_up(lad: Container, service: Principal, owner_url: str, tenant: uuid.UUID,
            wallet: uuid.UUID) -> None:
    """Fill the tables a little, then ANALYZE them, as autovacuum does on a live database:
    the planner's statistics of just-created tables would pick poor indexes. The pool is
    emptied, so the measured connections plan afresh."""
    single(lad, service, 1000)
    batched(lad, service, 1000, 2)
    raw_baseline(owner_url, tenant, wallet, 1000)
    engine = sa.create_engine(owner_url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    engine.dispose()
    lad.engine().dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with database() as (owner_url, app_url), tempfile.TemporaryDirectory() as state:
        lad, service, tenant, wallet = setup(app_url, Path(state))
        try:
            warm_up(lad, service, owner_url, tenant, wallet)
            raw = max(raw_baseline(owner_url, tenant, wallet, args.postings)
                      for _ in range(args.repeat))
            one = max(single(lad, service, args.postings) for _ in range(args.repeat))
            many = max(batched(lad, service, args.batch, args.batches)
                       for _ in range(args.repeat))
            raw_trace = Trace()
            raw_baseline(owner_url, tenant, wallet, 100, raw_trace)
            raw_trips = raw_trace.round_trips() / 100
            one_trips = traced(lad, lambda: single(lad, service, 100)) / 100
            batch_trips = traced(lad, lambda: batched(lad, service, args.batch, 1))
            reconcile = lad.billing_reconciliation().reconcile(OPERATOR, tenant_id=tenant)
        finally:
            close(lad)
    ratio = one / raw
    print(f"raw baseline (lock, insert ledger, update; owner, psycopg): {raw:8.0f} postings/s"
          f"   {raw_trips:.1f} round trips each")
    print(f"single posting (service layer, API key, RLS on):             {one:8.0f} postings/s"
          f"   {one_trips:.1f} round trips each   ratio {ratio:.2f} (target >= "
          f"{SINGLE_TARGET})")
    print(f"batched posting ({args.batch} events per transaction):          {many:8.0f} "
          f"events/s     {batch_trips} round trips per batch   (target >= {BATCH_TARGET:.0f})")
    print(f"reconcile after the run: {'no drift' if reconcile.clean else reconcile.drifts}")
    met = ratio >= SINGLE_TARGET and many >= BATCH_TARGET and reconcile.clean
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
