"""Benchmark: a tenant's calls for one month out of 10,000,000 call-log rows over 24 monthly
partitions (PostgreSQL), through the service, against the raw query in the same run.

    .venv/bin/python -m bench.voice_call_logs [--rows 10000000] [--samples 200] [--rounds 3]
                                             [--keep]

Its own database (``--keep``: the database ``lad_bench_voice_logs`` is kept and a later run
reuses what it loaded, so two consecutive runs load once; default: created and dropped).
2,000 tenants (one signed up through the service, the measured one; the others written by
generate_series with 100 leads and an agent each), then 24 months of calls, ``--rows`` in
all, the measured tenant ~1,000 a month and the rest spread over the others.

Loading, as a dump is restored: each month is written by ``INSERT ... SELECT
generate_series`` (as the owner) into the month's table before it is attached, then
``ALTER TABLE voice_call_logs ATTACH PARTITION`` builds the parent's nine indexes on it,
adds and validates its foreign keys (tenant, agent, lead) and checks its bounds, and the
partition is analyzed (not the parent: autovacuum never analyzes a partitioned parent
either, and these plans read the partition's statistics). Nothing production has is left
out; the indexes and keys are built after the rows rather than row by row. The current
month and the next three are made by ``partitions.ensure``, empty, as production has them.

The table holds 6, then 12, then 24 months (the newest six first; older ones are attached
at each step; a kept database detaches and re-attaches the months it already holds). After
each step: the first page (50) and a page deep in (page 15, by the cursors) of the measured
tenant's calls of one month, through ``CallingService.calls`` as the tenant's owner (the
application role, row-level security), interleaved with the raw baseline: psycopg as the
owner, the same query on that month's partition directly. Printed: the EXPLAIN (ANALYZE,
BUFFERS) of the statements the repository sent, run as the application role in the
tenant's scope, with a custom plan and with a generic plan (what a prepared statement gets
after five runs), each of which must scan exactly one partition (counted in the plan's
JSON); median page times per months loaded; their ratio to the 6-month time (target: at
most 1.5x); the ratio to the raw baseline. The machine may be shared: ``--rounds`` rounds
(the later ones detach and re-attach months to hold 6, 12 and 24 again), and each ratio is
the median over the rounds of the ratio within one round. Exit status 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bench._postgres import ADMIN_URL
from lad_adapters.sql import migrate, partitions
from lad_adapters.sql.roles import ensure_app_role
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container, build_container, close

KEPT = "lad_bench_voice_logs"
TABLE = "voice_call_logs"
#: The first month after the loaded ones: its partition and the next three are empty.
CURRENT = date(2026, 12, 1)
MONTHS = 24
STEPS = (6, 12, 24)
TENANTS = 2_000
LEADS = 100
MEASURED_PER_MONTH = 1_000
#: The month whose calls are listed: the newest loaded.
MONTH = date(2026, 11, 1)
PAGE = 50
DEEP = 15
GROWTH_TARGET = 1.5

# --- the database ----------------------------------------------------------------------


def _admin() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def database(keep: bool) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner URL, application-role URL, what it holds): the kept database as it is, or a
    fresh one migrated to head; dropped at the end unless ``keep``."""
    name = KEPT if keep else f"{KEPT}_{os.getpid()}"
    role = f"{name}_app"
    admin = _admin()
    with admin.connect() as conn:
        comment = conn.execute(sa.text(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = :name"), {"name": name}).first()
        if comment is None:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    state = json.loads(comment[0]) if comment and comment[0] else {}
    owner_url = sa.make_url(ADMIN_URL).set(database=name)
    try:
        migrate.upgrade(owner_url.render_as_string(False))
        engine = sa.create_engine(owner_url)
        with engine.begin() as conn:
            ensure_app_role(conn, role)
        engine.dispose()
        app_url = owner_url.set(username=role, password=None)
        yield owner_url.render_as_string(False), app_url.render_as_string(False), state
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                with contextlib.suppress(sa.exc.DBAPIError):
                    conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def save_state(owner: sa.Engine, state: dict[str, Any]) -> None:
    with owner.connect() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        # COMMENT takes no bind parameter: the text is quoted (it holds ids and dates).
        text = json.dumps(state).replace("'", "''")
        conn.exec_driver_sql(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")
        conn.commit()


def container(app_url: str, state_dir: Path) -> Container:
    return build_container(database_url=app_url, state_dir=state_dir,
                           jwt_secret="bench-secret-" + "x" * 32, argon2_time_cost=1,
                           argon2_memory_kib=1024)


# --- loading -------------------------------------------------------------------------------


def month_list() -> list[date]:
    """The loaded months, newest first."""
    found, month = [], CURRENT
    for _ in range(MONTHS):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        found.append(month)
    return found


def seed_tenants(lad: Container, owner: sa.Engine) -> dict[str, Any]:
    """The measured tenant (signed up) and the others (generate_series), leads and agents."""
    session = lad.tenancy().sign_up(tenant_name="Measured", email="owner@measured.test",
                                    password="correct horse battery")
    at = datetime(2024, 1, 1, tzinfo=UTC)
    with owner.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO tenants (id, name, slug, created_at, updated_at) "
            "SELECT md5('tenant' || t)::uuid, 'Tenant ' || t, 'bench-' || t, :at, :at "
            "FROM generate_series(1, :n - 1) AS t"), {"at": at, "n": TENANTS})
        ids = [session.tenant_id, *conn.execute(sa.text(
            "SELECT md5('tenant' || t)::uuid FROM generate_series(1, :n - 1) AS t ORDER BY t"),
            {"n": TENANTS}).scalars()]
        conn.execute(sa.text(
            "INSERT INTO leads (tenant_id, id, email, created_at, updated_at) "
            "SELECT t, md5(t::text || ':' || k)::uuid, 'lead' || k || '@example.test', :at, :at "
            "FROM unnest(CAST(:ids AS uuid[])) AS t, generate_series(0, :leads - 1) AS k"),
            {"at": at, "ids": ids, "leads": LEADS})
        conn.execute(sa.text(
            "INSERT INTO voice_agents (tenant_id, id, name, created_at, updated_at) "
            "SELECT t, 1000000 + i, 'Agent', :at, :at "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS a(t, i)"),
            {"at": at, "ids": ids})
    return {"tenant": str(session.tenant_id), "user": str(session.user_id),
            "tenants": [str(i) for i in ids], "months": []}


#: One month of calls into the detached month table ``{child}``: n = 0 .. :m - 1 in time
#: order, every :k-th row the measured tenant's (tenant 1 of the array), the rest hashed
#: over the others; each call with its tenant's agent and one of its leads.
_FILL = """
INSERT INTO {child} (tenant_id, id, created_at, agent_id, lead_id, direction, to_country_code,
  to_base_number, status, provider, provider_call_id, started_at, ended_at, duration_seconds,
  cost, cost_breakdown, recording_url, transcription, metadata, updated_at)
SELECT g.tenant, gen_random_uuid(), g.at, 1000000 + g.i,
  md5(g.tenant::text || ':' || g.n % {leads})::uuid,
  'outbound', '1', 2125550000 + g.n % 10000, g.status, 'vapi', 'call_' || md5(g.n::text || :salt),
  g.at + interval '4 seconds', g.at + interval '4 seconds' + g.seconds * interval '1 second',
  g.seconds, g.seconds * 0.0015,
  '{{"telephony": "0.01", "voice": "0.02", "llm": "0.03"}}'::jsonb,
  CASE WHEN g.seconds > 0 THEN 'https://recordings.example.test/' || g.n || '.mp3' END,
  CASE WHEN g.seconds > 0 THEN 'Agent: Hello, this is Ava from Acme. Lead: Hi, yes. '
       'Agent: Is now a good time to talk about your pipeline? Lead: Sure, go ahead.' END,
  '{{}}'::jsonb, g.at + interval '4 seconds' + g.seconds * interval '1 second'
FROM (SELECT n, s.i, (:tenants)[s.i] AS tenant,
             :start + (n + 0.5) * (:span / :m) * interval '1 second' AS at,
             CASE WHEN n % 10 < 6 THEN 'completed' WHEN n % 10 < 8 THEN 'no_answer'
                  WHEN n % 10 = 8 THEN 'voicemail' ELSE 'busy' END AS status,
             CASE WHEN n % 10 < 6 THEN 20 + n % 280 WHEN n % 10 = 8 THEN 25 ELSE 0 END AS seconds
      FROM generate_series(0, :m - 1) AS n,
           LATERAL (SELECT CASE WHEN n % :k = 0 THEN 1
                           ELSE 2 + abs(hashint4(n + :salt_n)) % (cardinality(:tenants) - 1)
                           END AS i) AS s) AS g
"""


def load_month(owner: sa.Engine, state: dict[str, Any], month: date, rows: int) -> None:
    """One month written into its table, then attached (indexes and keys built) and
    analyzed; recorded in ``state``."""
    per_month = rows // MONTHS
    child = partitions.partition_name(TABLE, month)
    low = datetime(month.year, month.month, 1, tzinfo=UTC)
    after = partitions.next_month(month)
    high = datetime(after.year, after.month, 1, tzinfo=UTC)
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {child} "
                             f"(LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        conn.execute(sa.text(_FILL.format(child=child, leads=LEADS)), {
            "tenants": [uuid.UUID(t) for t in state["tenants"]], "m": per_month,
            "k": max(per_month // MEASURED_PER_MONTH, 1), "start": low,
            "span": (high - low).total_seconds(), "salt": month.isoformat(),
            "salt_n": month.year * 12 + month.month})
        attach(conn, month)
    with owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"ANALYZE {child}")
    state["months"].append(month.isoformat())


def attach(conn: sa.Connection, month: date) -> None:
    after = partitions.next_month(month)
    conn.exec_driver_sql(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {partitions.partition_name(TABLE, month)} "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00+00') TO ('{after.isoformat()} 00:00+00')")


def attached(owner: sa.Engine) -> set[str]:
    with owner.connect() as conn:
        return set(partitions.existing(conn).get(TABLE, []))


def hold(owner: sa.Engine, state: dict[str, Any], months: list[date], rows: int) -> float:
    """Make the table hold exactly ``months`` of data: detach the others, attach or load
    these. Returns the seconds spent loading (0 when all were loaded before)."""
    wanted = {partitions.partition_name(TABLE, m) for m in months}
    loaded, present = set(state["months"]), attached(owner)
    begun, loading = time.perf_counter(), 0.0
    with owner.begin() as conn:
        for name in sorted(present - wanted):
            if name != partitions.default_name(TABLE) and name < partitions.partition_name(
                    TABLE, CURRENT):
                conn.exec_driver_sql(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        for month in months:
            if month.isoformat() in loaded and (
                    partitions.partition_name(TABLE, month) not in present):
                attach(conn, month)
    for month in months:
        name = partitions.partition_name(TABLE, month)
        if month.isoformat() in loaded:
            continue
        started = time.perf_counter()
        load_month(owner, state, month, rows)
        loading += time.perf_counter() - started
        save_state(owner, state)
        print(f"  loaded {name}: {time.perf_counter() - started:5.1f} s", flush=True)
    print(f"  {len(months)} months held ({time.perf_counter() - begun:.1f} s, "
          f"of which loading {loading:.1f} s)", flush=True)
    return loading


# --- measuring -----------------------------------------------------------------------------

SINCE = datetime(MONTH.year, MONTH.month, 1, tzinfo=UTC)
_NEXT = partitions.next_month(MONTH)
UNTIL = datetime(_NEXT.year, _NEXT.month, 1, tzinfo=UTC)
_RAW = ("SELECT * FROM {child} WHERE tenant_id = %s AND created_at >= %s AND created_at < %s "
        "{after}ORDER BY created_at DESC, id DESC LIMIT %s")


def the_owner(lad: Container, state: dict[str, Any]) -> Principal:
    return lad.tenancy().principal_for(user_id=uuid.UUID(state["user"]),
                                       tenant_id=uuid.UUID(state["tenant"]))


class Pages:
    """The two pages, through the service and raw; each call returns the rows it read."""

    def __init__(self, lad: Container, who: Principal, owner_url: str) -> None:
        self.lad, self.who = lad, who
        self.raw = psycopg.connect(sa.make_url(owner_url).set(drivername="postgresql")
                                   .render_as_string(False), autocommit=True)
        calls, cursor = self.lad.calling(), None
        for _ in range(DEEP - 1):
            page = calls.calls(who, PageRequest(limit=PAGE, cursor=cursor), since=SINCE,
                               until=UNTIL)
            cursor, last = page.next_cursor, page.items[-1]
        assert cursor is not None
        self.cursor, self.position = cursor, (last.created_at, last.id)
        child = partitions.partition_name(TABLE, MONTH)
        self.first_sql = _RAW.format(child=child, after="")
        self.deep_sql = _RAW.format(child=child, after="AND (created_at, id) < (%s, %s) ")

    def service(self, cursor: str | None) -> int:
        return len(self.lad.calling().calls(self.who, PageRequest(limit=PAGE, cursor=cursor),
                                            since=SINCE, until=UNTIL).items)

    def raw_page(self, deep: bool) -> int:
        params: tuple[Any, ...] = (self.who.tenant_id, SINCE, UNTIL)
        if deep:
            params += self.position
        with self.raw.cursor() as cur:
            cur.execute(self.deep_sql if deep else self.first_sql, (*params, PAGE + 1))
            return len(cur.fetchall())

    def paths(self) -> dict[str, Callable[[], int]]:
        return {"service page 1": lambda: self.service(None),
                "raw page 1": lambda: self.raw_page(False),
                f"service page {DEEP}": lambda: self.service(self.cursor),
                f"raw page {DEEP}": lambda: self.raw_page(True)}


def time_pages(pages: Pages, samples: int) -> dict[str, float]:
    """Median milliseconds of each path, the paths interleaved sample by sample."""
    paths = pages.paths()
    for _ in range(30):
        for run in paths.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(samples):
        for name, run in paths.items():
            begun = time.perf_counter()
            got = run()
            times[name].append(time.perf_counter() - begun)
            assert got >= PAGE, (name, got)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def sent_statements(lad: Container, pages: Pages) -> list[tuple[str, dict[str, Any]]]:
    """The statements the repository sent for the first and the deep page."""
    engine = lad.engine()
    assert engine is not None
    sent: list[tuple[str, dict[str, Any]]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any,
             _many: bool) -> None:
        if statement.lstrip().startswith(f"SELECT {TABLE}."):
            sent.append((statement, dict(parameters)))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        pages.service(None)
        pages.service(pages.cursor)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert len(sent) == 2, sent
    return sent


def scanned(plan: dict[str, Any]) -> list[str]:
    """The call-log tables a plan reads (a partition per scan node)."""
    found = [plan["Relation Name"]] if plan.get("Relation Name", "").startswith(TABLE) else []
    for child in plan.get("Plans", []):
        found += scanned(child)
    return found


def explain(app_url: str, tenant: str, statement: str, params: dict[str, Any], *,
            generic: bool) -> tuple[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement as the application role in the tenant's
    scope: (the plan as text, the partitions it scanned from the plan's JSON). ``generic``:
    prepared and run with the generic plan, as a prepared statement is after five runs."""
    url = sa.make_url(app_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("SELECT set_config('lad.tenant_id', %s, true)", (tenant,))
        if generic:
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                if match.group(1) not in names:
                    names.append(match.group(1))
                return f"${names.index(match.group(1)) + 1}"

            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            conn.execute(("PREPARE page AS " + re.sub(r"%\((\w+)\)s", number, statement))
                         .replace("%%", "%"))
            target = "EXECUTE page(" + ", ".join(f"%({n})s" for n in names) + ")"
        else:
            target = statement
        text = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + target, params))
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + target,
                           params).fetchone()
        assert row is not None
        return text, scanned(row[0][0]["Plan"])


def plans_used(lad: Container) -> list[tuple[int, int]]:
    """(generic, custom) plans run by the pool's connection for the call-log statements
    it prepared (psycopg prepares a statement on its fifth run)."""
    engine = lad.engine()
    assert engine is not None
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE :like"), {"like": f"SELECT {TABLE}.%"}).all()
        conn.rollback()
    return [(int(r[0]), int(r[1])) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=200, help="per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the database {KEPT} and reuse what it holds")
    args = parser.parse_args()
    begun = time.perf_counter()
    with database(args.keep) as (owner_url, app_url, state), \
            tempfile.TemporaryDirectory() as tmp:
        lad = container(app_url, Path(tmp))
        owner = sa.create_engine(owner_url)
        try:
            if state.get("rows") != args.rows or not state.get("tenant"):
                if state:
                    print(f"the kept database holds {state.get('rows')} rows, not "
                          f"{args.rows}: drop it (DROP DATABASE {KEPT}) or pass --rows")
                    return 2
                state = seed_tenants(lad, owner) | {"rows": args.rows}
                save_state(owner, state)
            else:
                print(f"reusing {KEPT}: {len(state['months'])} months loaded before")
            with owner.begin() as conn:
                partitions.ensure(conn, today=CURRENT, months_ahead=3)
            return measure(lad, owner, owner_url, app_url, state, args)
        finally:
            owner.dispose()
            close(lad)
            print(f"benchmark time {time.perf_counter() - begun:.0f} s")


def measure(lad: Container, owner: sa.Engine, owner_url: str, app_url: str,
            state: dict[str, Any], args: argparse.Namespace) -> int:
    """Round 1 loads the months step by step (or attaches the kept ones); each later round
    holds 6, 12 and 24 months again by detaching and attaching, so that a round's three
    steps meet the same load from the rest of the machine."""
    who = the_owner(lad, state)
    months = month_list()
    rounds: list[dict[int, dict[str, float]]] = []
    checks: dict[str, list[str]] = {}
    loading = 0.0
    for number in range(1, args.rounds + 1):
        rounds.append({})
        for step in STEPS:
            print(f"\nround {number}, {step} months of data:", flush=True)
            loading += hold(owner, state, months[:step], args.rows)
            pages = Pages(lad, who, owner_url)
            rounds[-1][step] = times = time_pages(pages, args.samples)
            print("  " + "   ".join(f"{name} {ms:.2f} ms" for name, ms in times.items()))
            if number == 1:
                check_plans(lad, owner, app_url, state, pages, step, checks)
            pages.raw.close()
    if loading:
        print(f"\nloading took {loading:.0f} s in all ({args.rows:,} rows)")
    return report(rounds, checks)


def check_plans(lad: Container, owner: sa.Engine, app_url: str, state: dict[str, Any],
                pages: Pages, step: int, checks: dict[str, list[str]]) -> None:
    """The plans of the statements the repository sent, and the partitions they scan."""
    print(f"  {len(attached(owner))} partitions attached; plans run by the pool's connection "
          f"for the repository's statements (generic, custom): {plans_used(lad)}")
    for label, (statement, params) in zip(("page 1", f"page {DEEP}"),
                                          sent_statements(lad, pages), strict=True):
        for generic in (False, True):
            text, scans = explain(app_url, state["tenant"], statement, params,
                                  generic=generic)
            kind = "generic" if generic else "custom"
            checks[f"{step} months, {label}, {kind} plan"] = scans
            if step == STEPS[-1]:
                print(f"  EXPLAIN (ANALYZE, BUFFERS) of the repository's {label}, {kind} "
                      f"plan, {step} months:\n    " + text.replace("\n", "\n    "))


def report(rounds: list[dict[int, dict[str, float]]], checks: dict[str, list[str]]) -> int:
    ok = True
    month = partitions.partition_name(TABLE, MONTH)
    print(f"\npartitions scanned (from the plans' JSON; each must be [{month!r}]):")
    for name, scans in checks.items():
        one = scans == [month]
        ok &= one
        print(f"  {name:34s} {scans}{'' if one else '   NOT ONE PARTITION'}")
    first = STEPS[0]
    print(f"\nmedian page times (ms) over {len(rounds)} rounds; x the {first}-month time and "
          "x the raw baseline are medians over the rounds of the ratio within a round:")
    for step in STEPS:
        for page in ("page 1", f"page {DEEP}"):
            service, raw = f"service {page}", f"raw {page}"
            growth = statistics.median(r[step][service] / r[first][service] for r in rounds)
            raw_growth = statistics.median(r[step][raw] / r[first][raw] for r in rounds)
            to_raw = statistics.median(r[step][service] / r[step][raw] for r in rounds)
            met = growth <= GROWTH_TARGET
            ok &= met
            print(f"  {step:2d} months  {page:8s} service "
                  f"{statistics.median(r[step][service] for r in rounds):6.2f} "
                  f"({growth:.2f} x{'' if met else ' MISSED'})   raw "
                  f"{statistics.median(r[step][raw] for r in rounds):5.2f} "
                  f"({raw_growth:.2f} x)   service / raw {to_raw:5.2f}   rounds: " + ", ".join(
                      f"{r[step][service]:.1f}/{r[step][raw]:.1f}" for r in rounds))
    print(f"target: the page time does not grow with the months (<= {GROWTH_TARGET} x the "
          f"{first}-month time)")
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
