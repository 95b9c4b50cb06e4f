"""Benchmark: HTTP requests served by ``lad serve`` on PostgreSQL and SQLite, against a bare
FastAPI app served by the same uvicorn with the same settings, in the same run.

    .venv/bin/python -m bench.http_load [--duration 3] [--rounds 2] [--connections 32]
                                        [--workers 2] [--loader auto|wrk|python]

It creates and drops its own PostgreSQL database (``lad_bench_http_*``, application role
``lad_bench_http_app``: row-level security binds it, and that URL is what is served) and a
SQLite file; seeds a tenant with 10,000 leads, loads the default price catalog, funds the
wallet, logs the owner in (a bearer token) and creates an API key (for usage events). It
starts three servers, each with ``--workers`` processes and no access log: ``lad serve``
on PostgreSQL, ``lad serve`` on SQLite, and ``bench._bare_app`` (one sync route answering
``{"items": [], "next_cursor": null}``) under ``uvicorn`` with the same settings.

Load: ``wrk`` (Debian package ``wrk``; ``apt-get install -y wrk``) with ``--connections``
keep-alive connections for ``--duration`` seconds and a Lua script that sets the headers and
builds each POST body (a unique email, a unique Idempotency-Key: a per-thread counter).
Without wrk, a bounded Python load generator (asyncio, the same number of keep-alive
connections, the same duration) stands in, and every line says so: it shares the two cores
with the servers, so its ratios are lower than wrk's.

Rounds are interleaved: for each endpoint, bare, lad-pg and lad-sqlite in turn, and the
whole sequence is repeated ``--rounds`` times; an endpoint's ratio is the median over the
rounds of its requests/s over the bare app's in the same round. A warm-up load precedes
the first round. Any non-2xx answer fails the run.

Round trips to PostgreSQL per request are counted exactly, in this process, from a libpq
trace of the application's connections (one per ReadyForQuery: BEGIN and COMMIT count, a
multi-statement message is one), on the same app and database, after a warm-up of ten
requests per endpoint (psycopg prepares a statement on its fifth use: a round trip once per
connection, not per request).

Targets on PostgreSQL: ``GET /v1/me`` and ``GET /v1/leads/{id}`` >= 0.3 x the bare app,
``GET /v1/leads?limit=50`` >= 0.15 x; at most 2 round trips for each of these
authenticated reads. The exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bench._leads_setup import settings_overrides, sqlite_database
from bench._postgres import postgres_database
from lad_adapters.catalog import default_catalog
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_adapters.sql.tables.leads import leads
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.http.app import create_app

OPERATOR = Principal.operator()
LEADS = 10_000
#: Minimum ratio to the bare app on PostgreSQL, by endpoint.
TARGETS = {"me": 0.3, "lead": 0.3, "page": 0.15}
MAX_ROUND_TRIPS = 2.0
ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Seeded:
    token: str
    api_key: str
    lead_id: uuid.UUID


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    credential: str  # "token" or "key"
    #: The JSON body, with ``%s`` where each request's unique text goes, if anywhere.
    body: str | None = None
    keyed: bool = False  # sends the unique text as Idempotency-Key too

    def url_path(self, seeded: Seeded) -> str:
        return self.path.replace("{lead_id}", str(seeded.lead_id))

    def bearer(self, seeded: Seeded) -> str:
        return seeded.token if self.credential == "token" else seeded.api_key

    def request(self, seeded: Seeded, unique: str) -> tuple[dict[str, str], bytes | None]:
        headers = {"Authorization": f"Bearer {self.bearer(seeded)}"}
        if self.keyed:
            headers["Idempotency-Key"] = unique
        if self.body is None:
            return headers, None
        headers["Content-Type"] = "application/json"
        return headers, (self.body.replace("%s", unique)).encode()


ENDPOINTS = [
    Endpoint("me", "GET", "/v1/me", "token"),
    Endpoint("page", "GET", "/v1/leads?limit=50", "token"),
    Endpoint("lead", "GET", "/v1/leads/{lead_id}", "token"),
    Endpoint("create", "POST", "/v1/leads", "token",
             body='{"first_name": "Load", "email": "load-%s@bench.test"}'),
    Endpoint("usage", "POST", "/v1/billing/usage-events", "key", keyed=True,
             body='{"feature_key": "outreach", "usage_items": '
                  '[{"category": "email_send", "quantity": "1"}]}'),
]


# --- the data ---------------------------------------------------------------------------

def seed(lad: Container, engine: sa.Engine) -> Seeded:
    """A funded tenant with ``LEADS`` leads, its owner's bearer token and an API key."""
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    session = lad.tenancy().sign_up(tenant_name="Load", email="owner@load.test",
                                    password="correct horse battery")
    tenant = session.tenant_id
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=tenant)
    key = lad.team().create_api_key(owner, name="load", role=Role.MEMBER)
    lad.billing().top_up(OPERATOR, tenant, "1000000000", idempotency_key_="fund")
    rng, now = random.Random(7), datetime.now(UTC)
    rows = []
    for i in range(LEADS):
        at = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        rows.append({"tenant_id": tenant, "id": uuid.uuid4(), "first_name": f"Lead{i}",
                     "last_name": "Load", "email": f"lead{i}@load.test", "company": "Acme",
                     "title": "CTO", "stage": "new", "status": "open",
                     "custom_fields": {"tier": i % 3}, "created_at": at, "updated_at": at})
    with engine.begin() as conn:
        conn.execute(leads.insert(), rows)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    return Seeded(token=session.access_token, api_key=key.secret, lead_id=rows[0]["id"])


def count_round_trips(lad: Container, seeded: Seeded, requests: int = 20) -> dict[str, float]:
    """Round trips to PostgreSQL per request of each endpoint, from a libpq trace."""
    found: dict[str, float] = {}
    with RoundTripTrace().watching(lad.engine()) as trace, TestClient(create_app(lad)) as client:
        for endpoint in ENDPOINTS:
            for warm in range(10):
                _call(client, endpoint, seeded, f"warm-{warm}-{uuid.uuid4().hex}")
            before = trace.round_trips()
            for n in range(requests):
                _call(client, endpoint, seeded, f"rt-{n}-{uuid.uuid4().hex}")
            found[endpoint.name] = (trace.round_trips() - before) / requests
    return found


def _call(client: TestClient, endpoint: Endpoint, seeded: Seeded, unique: str) -> None:
    headers, body = endpoint.request(seeded, unique)
    response = client.request(endpoint.method, endpoint.url_path(seeded), headers=headers,
                              content=body)
    if not 200 <= response.status_code < 300:
        raise SystemExit(f"{endpoint.method} {endpoint.path}: {response.status_code} "
                         f"{response.text[:300]}")


# --- the servers --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """A server process, answering on ``port`` until the block ends."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"{command[0]} exited:\n{log.read_text()[-2000:]}")
                with contextlib.suppress(OSError), urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"no answer on port {port}:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def lad_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-c", "from lad_entrypoints.cli.main import main; main()",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log"]


def bare_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "bench._bare_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log"]


def lad_env(url: str, state: Path) -> dict[str, str]:
    overrides = settings_overrides()
    return {"LAD_DATABASE_URL": url, "LAD_STATE_DIR": str(state),
            "LAD_JWT_SECRET": str(overrides["jwt_secret"]),
            "LAD_ARGON2_TIME_COST": str(overrides["argon2_time_cost"]),
            "LAD_ARGON2_MEMORY_KIB": str(overrides["argon2_memory_kib"]),
            # The limiter runs (its cost is part of what is measured) but never refuses.
            "LAD_RATE_LIMIT_PER_KEY": "100000000/minute",
            "LAD_RATE_LIMIT_PER_TENANT": "100000000/minute"}


# --- the load ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers and socket errors


class Loader:
    name = "?"

    def run(self, port: int, endpoint: Endpoint, seeded: Seeded, unique: str,
            connections: int, duration: float) -> Load:
        raise NotImplementedError


_LUA = """
local method, path, auth, body, keyed, prefix = %s, %s, %s, %s, %s, %s
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local unique = prefix .. "-" .. tostring(tid) .. "-" .. tostring(n)
  local headers = {["Authorization"] = auth}
  local payload = nil
  if keyed then headers["Idempotency-Key"] = unique end
  if body ~= nil then
    headers["Content-Type"] = "application/json"
    payload = string.gsub(body, "%%%%s", unique)
  end
  return wrk.format(method, path, headers, payload)
end
"""


def _lua_string(text: str | None) -> str:
    return "nil" if text is None else json.dumps(text)


class Wrk(Loader):
    name = "wrk"

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory

    def run(self, port: int, endpoint: Endpoint, seeded: Seeded, unique: str,
            connections: int, duration: float) -> Load:
        script = self.directory / f"{endpoint.name}.lua"
        script.write_text(_LUA % (
            _lua_string(endpoint.method), _lua_string(endpoint.url_path(seeded)),
            _lua_string(f"Bearer {endpoint.bearer(seeded)}"), _lua_string(endpoint.body),
            "true" if endpoint.keyed else "false", _lua_string(unique)))
        out = subprocess.run(
            [self.binary, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s",
             "--timeout", "30s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True).stdout
        return parse_wrk(out)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_wrk(out: str) -> Load:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if found is None:
            raise SystemExit(f"wrk printed no {percent}% latency:\n{out}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise SystemExit(f"wrk printed no Requests/sec:\n{out}")
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    if socket_errors is not None:
        failed += sum(int(n) for n in socket_errors.groups())
    return Load(float(rps.group(1)), latency("50"), latency("99"), failed)


class PythonLoad(Loader):
    """The fallback when wrk is absent: asyncio, keep-alive connections, bounded time."""

    name = "python (fallback: no wrk)"

    def run(self, port: int, endpoint: Endpoint, seeded: Seeded, unique: str,
            connections: int, duration: float) -> Load:
        return asyncio.run(self._run(port, endpoint, seeded, unique, connections, duration))

    async def _run(self, port: int, endpoint: Endpoint, seeded: Seeded, unique: str,
                   connections: int, duration: float) -> Load:
        latencies: list[float] = []
        failed = 0
        deadline = time.perf_counter() + duration

        async def connection(index: int) -> None:
            nonlocal failed
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            n = 0
            try:
                while time.perf_counter() < deadline:
                    n += 1
                    headers, body = endpoint.request(seeded, f"{unique}-{index}-{n}")
                    head = [f"{endpoint.method} {endpoint.url_path(seeded)} HTTP/1.1",
                            f"Host: 127.0.0.1:{port}",
                            *(f"{k}: {v}" for k, v in headers.items()),
                            f"Content-Length: {len(body or b'')}"]
                    started = time.perf_counter()
                    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
                    status = int((await reader.readline()).split()[1])
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await reader.readexactly(length)
                    latencies.append((time.perf_counter() - started) * 1e3)
                    failed += not 200 <= status < 300
            finally:
                writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(connection(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
        latencies.sort()

        def at(q: float) -> float:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

        return Load(len(latencies) / elapsed, at(0.50), at(0.99), failed)


# --- the run --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per load")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server processes each")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--endpoints", default=",".join(e.name for e in ENDPOINTS),
                        help="which to load, by name (the targets apply to those run)")
    args = parser.parse_args()
    chosen = args.endpoints.split(",")
    ENDPOINTS[:] = [e for e in ENDPOINTS if e.name in chosen]
    wrk = shutil.which("wrk")
    if args.loader == "wrk" and wrk is None:
        print("wrk is not installed (apt-get install -y wrk)")
        return 2
    with tempfile.TemporaryDirectory() as tmp, \
            postgres_database("lad_bench_http", "lad_bench_http_app") as (owner_url, app_url):
        state = Path(tmp)
        loader: Loader = (Wrk(wrk, state) if wrk and args.loader != "python"
                          else PythonLoad())
        seeded, round_trips = {}, {}
        pg = build_container(database_url=app_url, migration_database_url=owner_url,
                             state_dir=state, **settings_overrides())
        owner_engine = sa.create_engine(owner_url)
        try:
            seeded["lad-pg"] = seed(pg, owner_engine)
            round_trips = count_round_trips(pg, seeded["lad-pg"])
        finally:
            owner_engine.dispose()
            close(pg)
        sqlite_url = sqlite_database(state, "http_load.sqlite3")
        lite = build_container(database_url=sqlite_url, state_dir=state, **settings_overrides())
        try:
            engine = lite.engine()
            assert engine is not None
            seeded["lad-sqlite"] = seed(lite, engine)
        finally:
            close(lite)
        seeded["bare"] = seeded["lad-pg"]
        ports = {name: free_port() for name in ("bare", "lad-pg", "lad-sqlite")}
        print(f"load: {loader.name}, {args.connections} connections, {args.duration:g} s "
              f"a load, {args.rounds} interleaved rounds; servers: {args.workers} worker(s) "
              "each, uvicorn, no access log", flush=True)
        with server(bare_command(ports["bare"], args.workers), {}, ports["bare"],
                    state / "bare.log"), \
                server(lad_command(ports["lad-pg"], args.workers), lad_env(app_url, state),
                       ports["lad-pg"], state / "lad-pg.log"), \
                server(lad_command(ports["lad-sqlite"], args.workers),
                       lad_env(sqlite_url, state), ports["lad-sqlite"],
                       state / "lad-sqlite.log"):
            loads = measure(loader, ports, seeded, args)
        return report(loads, round_trips, loader.name)


Loads = dict[tuple[str, str], list[Load]]


def measure(loader: Loader, ports: dict[str, int], seeded: dict[str, Seeded],
            args: argparse.Namespace) -> Loads:
    run = uuid.uuid4().hex[:8]
    loads: Loads = {}

    def load(target: str, endpoint: Endpoint, unique: str, seconds: float) -> Load:
        return loader.run(ports[target], endpoint, seeded[target], f"{run}-{unique}",
                          args.connections, seconds)

    for endpoint in ENDPOINTS:
        for target in ports:
            load(target, endpoint, f"warm-{target}", 1)
    for round_ in range(args.rounds):
        for endpoint in ENDPOINTS:
            for target in ports:
                loads.setdefault((endpoint.name, target), []).append(
                    load(target, endpoint, f"{round_}-{target}", args.duration))
    return loads


def report(loads: Loads, round_trips: dict[str, float], loader: str) -> int:
    missed: list[str] = []
    print(f"\n{'endpoint':<34} {'server':<11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'x bare':>7} {'RT/req':>7}")
    for endpoint in ENDPOINTS:
        bare = loads[(endpoint.name, "bare")]
        for target in ("bare", "lad-pg", "lad-sqlite"):
            runs = loads[(endpoint.name, target)]
            ratio = statistics.median(r.rps / b.rps for r, b in zip(runs, bare, strict=True))
            rps = statistics.median(r.rps for r in runs)
            p50 = statistics.median(r.p50_ms for r in runs)
            p99 = statistics.median(r.p99_ms for r in runs)
            trips = f"{round_trips[endpoint.name]:.1f}" if target == "lad-pg" else ""
            label = f"{endpoint.method} {endpoint.path}" if target == "bare" else ""
            print(f"{label:<34} {target:<11} {rps:>8.0f} {p50:>8.2f} {p99:>8.2f} "
                  f"{ratio:>6.2f}x {trips:>7}")
            failed = sum(r.failed for r in runs)
            if failed:
                missed.append(f"{endpoint.name} on {target}: {failed} failed requests")
            target_ratio = TARGETS.get(endpoint.name)
            if target == "lad-pg" and target_ratio is not None:
                if ratio < target_ratio:
                    missed.append(f"{endpoint.name}: {ratio:.2f}x < {target_ratio}x")
                if round_trips[endpoint.name] > MAX_ROUND_TRIPS:
                    missed.append(f"{endpoint.name}: {round_trips[endpoint.name]:.1f} round "
                                  f"trips > {MAX_ROUND_TRIPS:g}")
    print(f"\nload generator: {loader}; x bare: median over the rounds of req/s over the "
          "bare app's in the same round; RT/req: PostgreSQL round trips per request")
    print("targets (PostgreSQL): " + ", ".join(f"{k} >= {v}x" for k, v in TARGETS.items())
          + f"; <= {MAX_ROUND_TRIPS:g} round trips for me, page, lead")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
