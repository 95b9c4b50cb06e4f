"""Benchmark: the campaign send engine on PostgreSQL with fake channels, against the raw SQL
baseline measured in the same run, and the claim's plan and cost at 1,000,000 enrollments.

    .venv/bin/python -m bench.campaign_engine [--steps 150] [--rounds 3] [--workers 4]
                                              [--enrollments 1000000] [--due 1000]

It creates and drops its own database (and application role). Throughput: one-step email
campaigns over four tenants (a mailbox each, no cap or spacing in the way), the clock fixed
inside the send window, the email channel a recording fake (nothing leaves). In interleaved
rounds, each round gives every path ``--steps`` fresh due enrollments (per worker) and
times it until nothing is due:

- engine: ``SendEngine.run_due`` (claim through ``campaigns_claim_due`` as the application
  role under row-level security; then per enrollment prepare: the checks, the mailbox and
  the wallet locked, the hold, the ledger row ``sending``, commit; the send; settle: the
  ledger row ``sent``, the usage posted, the enrollment completed, commit);
- raw baseline: psycopg as the tables' owner, the same protocol with nothing else: one
  transaction claims a due enrollment (``FOR UPDATE SKIP LOCKED``), inserts its ledger row
  and updates the enrollment, commit; then one transaction settles both; READ COMMITTED,
  as the engine.

First one worker each (in this process), then ``--workers`` worker processes each (threads
would measure the GIL). A path's steps per second are its steps over its time; the ratio
is the median over the rounds of engine / raw in the same round (load from other processes
weighs on both alike). Target: engine >= 0.5 x raw, with one worker and with several.

Then the claim: ``--enrollments`` rows written with generate_series (a tenant of them
due, half of the rest ended, half due later), the plan of each statement inside
``campaigns_claim_due`` (auto_explain, ANALYZE and BUFFERS), which must read the due index
and scan no table, and the time of one claim of 100 with 1,000 / 100,000 / 1,000,000
enrollments not due: it must not grow with them (at most 3x the smallest). Exit status 1
when a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import psycopg
import sqlalchemy as sa
from dependency_injector import providers
from tests.fakes.channels import RecordingEmail

from bench._postgres import postgres_database
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_adapters.sql.tables.leads import leads
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container, build_container, close

OPERATOR = Principal.operator()
#: Wednesday noon UTC: inside the default send window (Mon-Fri 09:00-17:00).
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
TENANTS = 4
RATIO_TARGET = 0.5
GROWTH_TARGET = 3.0
CLAIM = 16
INDEX = "ix_campaign_leads_due"

_CLAIM_ONE = (
    "SELECT tenant_id, id, campaign_id, lead_id FROM campaign_leads "
    "WHERE next_run_at IS NOT NULL AND next_run_at <= %s ORDER BY next_run_at LIMIT 1 "
    "FOR UPDATE SKIP LOCKED")
_LEDGER = (
    "INSERT INTO campaign_lead_activities (tenant_id, id, campaign_lead_id, campaign_id, "
    "lead_id, step_id, step_order, attempt, status, channel, sender_id, message_key, "
    "recipient, created_at, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, 1, 1, 'sending', 'email', %s, %s, %s, %s, %s)")
_HOLD = ("UPDATE campaign_leads SET next_run_at = %s, claim_token = %s, updated_at = %s "
         "WHERE tenant_id = %s AND id = %s")
_SENT = ("UPDATE campaign_lead_activities SET status = 'sent', updated_at = %s, "
         "completed_at = %s WHERE tenant_id = %s AND id = %s")
_DONE = ("UPDATE campaign_leads SET status = 'completed', next_run_at = NULL, "
         "claim_token = NULL, updated_at = %s WHERE tenant_id = %s AND id = %s")


@attrs.frozen
class Tenant:
    id: uuid.UUID
    owner: Principal
    mailbox: uuid.UUID


def container(app_url: str, state: Path) -> Container:
    lad = build_container(database_url=app_url, state_dir=state,
                          jwt_secret="bench-secret-" + "x" * 32, argon2_time_cost=1,
                          argon2_memory_kib=1024)
    lad.clock.override(providers.Object(FixedClock(NOW)))
    lad.email_channel.override(providers.Object(RecordingEmail()))
    return lad


def open_tenant(lad: Container, n: int) -> Tenant:
    session = lad.tenancy().sign_up(tenant_name=f"Engine{n}", email=f"owner@engine{n}.test",
                                    password="correct horse battery")
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    lad.billing().top_up(OPERATOR, session.tenant_id, "1000000", idempotency_key_="fund")
    outreach = lad.outreach()
    account, _ = outreach.add_email_account(owner, {
        "email": f"sales@engine{n}.test", "smtp_host": "smtp.example.test", "smtp_port": 587,
        "daily_cap": 100_000, "min_spacing_seconds": 0, "jitter_seconds": 0}, verify=False)
    outreach.save_template(owner, channel="email", key_="hello", subject="Hello",
                           body="Hello {{ lead.email }}\n{{ unsubscribe_url }}")
    return Tenant(session.tenant_id, owner, account.id)


class Batches:
    """Fresh due enrollments on demand: a one-step campaign per tenant, its enrollments
    enrolled and activated through the services, then set aside (nothing due) until a
    round releases them."""

    def __init__(self, lad: Container, owner: sa.Engine, tenants: list[Tenant]) -> None:
        self.lad, self.owner, self.tenants = lad, owner, tenants

    def make(self, count: int) -> list[uuid.UUID]:
        """``count`` enrollments spread over the tenants; returns their campaigns."""
        campaigns = []
        for k, tenant in enumerate(self.tenants):
            n = count // len(self.tenants) + (1 if k < count % len(self.tenants) else 0)
            if n == 0:
                continue
            lead_ids = [uuid.uuid4() for _ in range(n)]
            with self.owner.begin() as conn:
                conn.execute(leads.insert(), [
                    {"tenant_id": tenant.id, "id": i, "email": f"{i.hex}@example.test",
                     "stage": "new", "status": "open", "custom_fields": {}, "created_at": NOW,
                     "updated_at": NOW} for i in lead_ids])
            service = self.lad.campaigns()
            campaign = service.create(tenant.owner, name=f"c{uuid.uuid4().hex[:8]}", settings={
                "email_account_ids": [str(tenant.mailbox)], "timezone": "UTC"},
                steps=[{"type": "email", "config": {"template_key": "hello"}}])
            service.enroll(tenant.owner, campaign.id, lead_ids=lead_ids)
            service.activate(tenant.owner, campaign.id)
            campaigns.append(campaign.id)
        self._set_due(campaigns, None)
        return campaigns

    def release(self, campaigns: list[uuid.UUID]) -> None:
        self._set_due(campaigns, NOW - timedelta(minutes=1))

    def _set_due(self, campaigns: list[uuid.UUID], at: datetime | None) -> None:
        with self.owner.begin() as conn:
            conn.execute(sa.text("UPDATE campaign_leads SET next_run_at = :at "
                                 "WHERE campaign_id = ANY(:ids)"), {"at": at, "ids": campaigns})

    def step_ids(self, campaigns: list[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]:
        """Each campaign's (first step, mailbox), for the raw path's ledger rows."""
        with self.owner.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT s.campaign_id, s.id, c.config->'email_account_ids'->>0 FROM "
                "campaign_steps s JOIN campaigns c ON c.tenant_id = s.tenant_id "
                "AND c.id = s.campaign_id WHERE s.campaign_id = ANY(:ids)"),
                {"ids": campaigns}).all()
        return {r[0]: (r[1], uuid.UUID(r[2])) for r in rows}


# --- the two paths, one worker -------------------------------------------------------------

def engine_steps(lad: Container) -> int:
    """Run the engine until nothing is due: the steps it ran."""
    engine, done = lad.send_engine(), 0
    while True:
        counts = engine.run_due(CLAIM)
        if not counts:
            return done
        done += sum(counts.values())


def raw_steps(conn: psycopg.Connection[Any],
              steps: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]) -> int:
    """The baseline until nothing is due: the steps it ran."""
    done, lease = 0, NOW + timedelta(minutes=10)
    while True:
        with conn.cursor() as cur:
            cur.execute(_CLAIM_ONE, (NOW,))
            row = cur.fetchone()
            if row is None:
                conn.commit()
                return done
            tenant, enrollment, campaign, lead = row
            step, sender = steps[campaign]
            activity = uuid.uuid4()
            cur.execute(_LEDGER, (tenant, activity, enrollment, campaign, lead, step, sender,
                                  f"<{activity}@engine.test>", f"{lead.hex}@example.test",
                                  NOW, NOW))
            cur.execute(_HOLD, (lease, uuid.uuid4(), NOW, tenant, enrollment))
        conn.commit()
        with conn.cursor() as cur:
            cur.execute(_SENT, (NOW, NOW, tenant, activity))
            cur.execute(_DONE, (NOW, tenant, enrollment))
        conn.commit()
        done += 1


def raw_connection(owner_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(sa.make_url(owner_url).set(drivername="postgresql")
                           .render_as_string(False))


# --- several worker processes ---------------------------------------------------------------

def client(path: str, owner_url: str, app_url: str,
           steps: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]], ready: Any, go: Any,
           results: Any) -> None:
    """One worker process: connect, then at each ``go`` run its path until nothing is due
    and report (steps, seconds); a None ends it."""
    with tempfile.TemporaryDirectory() as state:
        lad = container(app_url, Path(state))
        conn = raw_connection(owner_url)
        lad.send_engine().claim(1)  # connected and warm (nothing is due yet)
        ready.put(True)
        while go.get() is not None:
            begun = time.perf_counter()
            done = engine_steps(lad) if path == "engine" else raw_steps(conn, steps)
            results.put((done, time.perf_counter() - begun))
        conn.close()
        close(lad)


@attrs.define
class Pool:
    """``size`` worker processes of one path, started once and reused by every round."""

    path: str
    size: int
    owner_url: str
    app_url: str
    steps: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]
    processes: list[Any] = attrs.field(factory=list)
    queues: list[Any] = attrs.field(factory=list)
    results: Any = None

    def start(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        ready, self.results = spawn.Queue(), spawn.Queue()
        for _ in range(self.size):
            go = spawn.Queue()
            process = spawn.Process(target=client, args=(self.path, self.owner_url, self.app_url,
                                                         self.steps, ready, go, self.results))
            process.start()
            self.processes.append(process)
            self.queues.append(go)
        for _ in range(self.size):
            ready.get(timeout=300)

    def run(self) -> tuple[int, float]:
        """One round: every process runs until nothing is due; (steps, wall seconds)."""
        begun = time.perf_counter()
        for go in self.queues:
            go.put(True)
        done = [self.results.get(timeout=600) for _ in self.queues]
        return sum(n for n, _ in done), time.perf_counter() - begun

    def stop(self) -> None:
        for go in self.queues:
            go.put(None)
        for process in self.processes:
            process.join(timeout=60)
            if process.exitcode != 0:
                raise RuntimeError(f"a {self.path} worker failed")


def throughput(lad: Container, batches: Batches, owner_url: str, app_url: str, *,
               steps: int, rounds: int, workers: int) -> dict[str, list[float]]:
    """Steps per second of each path in each round: one worker, then ``workers``."""
    per_round = {"engine 1": steps, "raw 1": steps, f"engine {workers}": steps * workers,
                 f"raw {workers}": steps * workers}
    plan = {name: [batches.make(n) for _ in range(rounds)] for name, n in per_round.items()}
    ledger_steps: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
    for runs in plan.values():
        for campaigns in runs:
            ledger_steps |= batches.step_ids(campaigns)
    with batches.owner.connect() as analyze:
        analyze.execute(sa.text("ANALYZE"))
        analyze.commit()
    rates: dict[str, list[float]] = {name: [] for name in per_round}
    conn = raw_connection(owner_url)
    pools = {"engine": Pool("engine", workers, owner_url, app_url, ledger_steps),
             "raw": Pool("raw", workers, owner_url, app_url, ledger_steps)}
    for pool in pools.values():
        pool.start()
    try:
        for r in range(rounds):
            for name in per_round:
                batches.release(plan[name][r])
                path, size = name.split()
                begun = time.perf_counter()
                if size != "1":
                    done, seconds = pools[path].run()
                elif path == "engine":
                    done, seconds = engine_steps(lad), time.perf_counter() - begun
                else:
                    done, seconds = raw_steps(conn, ledger_steps), time.perf_counter() - begun
                if done != per_round[name]:
                    raise RuntimeError(f"{name}: {done} steps run, {per_round[name]} due")
                rates[name].append(done / seconds)
    finally:
        for pool in pools.values():
            pool.stop()
        conn.close()
    return rates


def round_trips(lad: Container, batches: Batches, owner_url: str, n: int = 48
                ) -> tuple[float, float]:
    """Round trips per step (one per ReadyForQuery, from a libpq trace) of the engine and
    of the baseline, over ``n`` steps each (the claims included)."""
    engine_batch, raw_batch = batches.make(n), batches.make(n)
    batches.release(engine_batch)
    app_engine = lad.engine()
    assert app_engine is not None
    with RoundTripTrace().watching(app_engine) as trace:
        done = engine_steps(lad)
    engine = trace.round_trips() / done
    batches.release(raw_batch)
    conn = raw_connection(owner_url)
    trace = RoundTripTrace()
    trace.attach(conn)
    done = raw_steps(conn, batches.step_ids(raw_batch))
    conn.pgconn.untrace()
    conn.close()
    return engine, trace.round_trips() / done


def check_ledger(owner: sa.Engine) -> tuple[int, int]:
    """(ledger rows, rows not ``sent``): every step of the run settled, and once."""
    with owner.connect() as conn:
        total, unsettled = conn.execute(sa.text(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'sent') "
            "FROM campaign_lead_activities")).one()
        twice = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT 1 FROM campaign_lead_activities "
            "GROUP BY tenant_id, campaign_lead_id, step_id HAVING count(*) > 1) t")).scalar()
    return int(total), int(unsettled) + int(twice or 0)


# --- the claim at a million enrollments --------------------------------------------------

def fill(owner: sa.Engine, tenants: list[Tenant], campaign: uuid.UUID, upto: int,
         have: int) -> None:
    """Not-due enrollments up to ``upto`` (half ended, half due in a week), spread over the
    tenants, written by generate_series (foreign keys not checked: no lead rows)."""
    with owner.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(sa.text(
            "INSERT INTO campaign_leads (tenant_id, id, campaign_id, lead_id, status, "
            "step_order, timezone, next_run_at, created_at, updated_at) "
            "SELECT (:tenants)[1 + n % cardinality(:tenants)], gen_random_uuid(), :campaign, "
            "gen_random_uuid(), CASE WHEN n % 2 = 0 THEN 'completed' ELSE 'waiting' END, 1, "
            "'UTC', CASE WHEN n % 2 = 0 THEN NULL ELSE :later + n * interval '1 second' END, "
            ":now, :now FROM generate_series(:start, :stop - 1) AS n"),
            {"tenants": [t.id for t in tenants], "campaign": campaign, "start": have,
             "stop": upto, "now": NOW, "later": NOW + timedelta(days=7)})
    with owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE campaign_leads")


def time_claims(owner: sa.Engine, repeat: int = 15) -> float:
    """The median time of one claim of 100 (rolled back, so the due rows stay due), ms."""
    times = []
    with owner.connect() as conn:
        for _ in range(repeat):
            begun = time.perf_counter()
            got = conn.execute(sa.text(
                "SELECT count(*) FROM campaigns_claim_due(:now, 100, interval '10 minutes', "
                ":token)"), {"now": NOW, "token": uuid.uuid4()}).scalar()
            times.append(time.perf_counter() - begun)
            conn.rollback()
            assert got == 100, got
    return statistics.median(times) * 1000


def claim_plans(owner: sa.Engine) -> list[str]:
    """The plan of each statement inside the claim function (auto_explain, nested)."""
    plans: list[str] = []
    with owner.connect() as conn:
        driver = conn.connection.driver_connection
        driver.add_notice_handler(  # type: ignore[union-attr]  # a live psycopg connection
            lambda notice: plans.append(notice.message_primary or ""))
        for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                        "SET auto_explain.log_analyze = on",
                        "SET auto_explain.log_buffers = on",
                        "SET auto_explain.log_nested_statements = on",
                        "SET auto_explain.log_level = notice",
                        "SET client_min_messages = notice"):
            conn.exec_driver_sql(setting)
        conn.execute(sa.text("SELECT count(*) FROM campaigns_claim_due(:now, 100, "
                             "interval '10 minutes', :token)"),
                     {"now": NOW, "token": uuid.uuid4()})
        conn.rollback()
    return [p for p in plans if "campaign_leads" in p and "campaigns_claim_due" not in
            p.split("\n", 2)[1]]


def claim_growth(lad: Container, owner: sa.Engine, tenants: list[Tenant], total: int,
                 due: int) -> tuple[dict[int, float], list[str]]:
    """Claim times at 1,000 / 100,000 / ``total`` enrollments not due, and the plans at
    ``total``, with ``due`` enrollments due (on the first tenant)."""
    with owner.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(sa.text("DELETE FROM campaign_lead_activities"))
        conn.execute(sa.text("DELETE FROM campaign_leads"))
        campaign = conn.execute(sa.text("SELECT id FROM campaigns WHERE tenant_id = :t LIMIT 1"),
                                {"t": tenants[0].id}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO campaign_leads (tenant_id, id, campaign_id, lead_id, status, "
            "step_order, timezone, next_run_at, created_at, updated_at) "
            "SELECT :tenant, gen_random_uuid(), :campaign, gen_random_uuid(), 'active', 1, "
            "'UTC', :due - n * interval '1 second', :due, :due "
            "FROM generate_series(1, :n) AS n"),
            {"tenant": tenants[0].id, "campaign": campaign, "due": NOW, "n": due})
    times, have = {}, 0
    for size in sorted({1_000, 100_000, total}):
        fill(owner, tenants, campaign, size, have)
        have = size
        time_claims(owner, repeat=3)
        times[size] = time_claims(owner)
    return times, claim_plans(owner)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    begun = time.perf_counter()
    with (postgres_database("lad_bench_campaigns", app_role="lad_bench_campaigns")
          as (owner_url, app_url), tempfile.TemporaryDirectory() as state):
        lad = container(app_url, Path(state))
        owner = sa.create_engine(owner_url)
        try:
            tenants = [open_tenant(lad, n) for n in range(TENANTS)]
            batches = Batches(lad, owner, tenants)
            warm = batches.make(100)
            batches.release(warm)
            engine_steps(lad)
            trips = round_trips(lad, batches, owner_url)
            rates = throughput(lad, batches, owner_url, app_url, steps=args.steps,
                               rounds=args.rounds, workers=args.workers)
            rows, wrong = check_ledger(owner)
            times, plans = claim_growth(lad, owner, tenants, args.enrollments, args.due)
        finally:
            owner.dispose()
            close(lad)
    return report(rates, args.workers, trips, rows, wrong, times, plans, args.due,
                  time.perf_counter() - begun)


def report(rates: dict[str, list[float]], workers: int, trips: tuple[float, float],
           rows: int, wrong: int, times: dict[int, float], plans: list[str], due: int,
           seconds: float) -> int:
    ok = wrong == 0
    print(f"send ledger: {rows} rows, {wrong} not sent exactly once")
    print(f"round trips per step: engine {trips[0]:.1f}, raw baseline {trips[1]:.1f}")
    for size in ("1", str(workers)):
        engine, raw = rates[f"engine {size}"], rates[f"raw {size}"]
        ratio = statistics.median(e / r for e, r in zip(engine, raw, strict=True))
        total_ratio = statistics.fmean(engine) / statistics.fmean(raw)
        label = "1 worker" if size == "1" else f"{size} worker processes"
        print(f"{label:20s} engine {statistics.fmean(engine):7.1f} steps/s   raw baseline "
              f"{statistics.fmean(raw):7.1f} steps/s   {ratio:.2f} x raw (mean rates "
              f"{total_ratio:.2f}; rounds: " + ", ".join(f"{e:.0f}/{r:.0f}" for e, r in
                                                         zip(engine, raw, strict=True)) + ")")
        met = ratio >= RATIO_TARGET
        ok &= met
        print(f"{'':20s} target >= {RATIO_TARGET} x raw: {'met' if met else 'MISSED'}")
    print(f"\nthe claim's statements with {max(times):,} enrollments, {due:,} due "
          "(auto_explain, ANALYZE, BUFFERS):")
    indexed = bool(plans)
    for plan in plans:
        print("    " + plan.replace("\n", "\n    "))
        indexed &= INDEX in plan and "Seq Scan" not in plan
    print(f"every statement reads {INDEX} and scans no table: {'yes' if indexed else 'NO'}")
    smallest = times[min(times)]
    for count, ms in times.items():
        print(f"one claim of 100, {count:>9,} enrollments not due: {ms:6.2f} ms "
              f"({ms / smallest:.2f} x)")
    flat = max(times.values()) <= GROWTH_TARGET * smallest
    print(f"the claim does not grow with what is not due (<= {GROWTH_TARGET} x): "
          f"{'met' if flat else 'MISSED'}")
    print(f"benchmark time {seconds:.0f} s")
    ok &= indexed and flat
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
