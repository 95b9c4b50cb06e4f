"""Benchmark: bulk lead import against a raw baseline measured in the same run.

    .venv/bin/python -m bench.leads_import [--rows 200000] [--repeat 2] [--million-rows N]

On PostgreSQL the baseline COPYs the same valid rows into the same ``leads`` table (same
indexes); on SQLite it inserts them with one ``executemany`` transaction. The LAD import runs
through the container, on PostgreSQL as the application role (row-level security on).
Printed: rows per second, the import's stage split (read+map, validate, dedupe, write), the
ratios with their targets, and the peak memory (VmHWM of a child process) of importing a
million rows. Each figure is the best of ``--repeat`` runs. During the SQLite million-row
import another process writes another tenant's leads (one short transaction at a time,
with the server's busy timeout) and its write latency is printed: the import holds
SQLite's single write lock only to match and merge, never while it reads and stages.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._leads_setup import (
    Canonical,
    Container,
    container,
    generate,
    sign_up,
    sqlite_database,
)
from bench._postgres import postgres_database
from lad_domain.shared.ids import Uuid7Generator
from lad_domain.shared.principal import Principal

COLUMNS = ("tenant_id", "id", "first_name", "last_name", "email", "phone_e164", "company",
           "title", "stage", "status", "source", "custom_fields", "created_by", "created_at",
           "updated_at")
TARGETS = {"postgresql": (0.8, 0.6), "sqlite": (0.6, 0.6)}
BASELINES = {"postgresql": "raw COPY", "sqlite": "raw executemany"}
MEMORY_TARGET_MB = 150
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _baseline_rows(valid: list[Canonical], owner: Principal) -> list[tuple[Any, ...]]:
    ids, now = Uuid7Generator(), datetime.now(UTC)
    return [(owner.tenant_id, ids.new_id(), first, last, email, phone, company, title, "new",
             "open", "import", "{}", owner.user_id, now, now)
            for first, last, email, company, title, phone in valid]


def _postgres_baseline(owner_url: str, rows: list[tuple[Any, ...]]) -> float:
    """COPY as the tables' owner (PostgreSQL refuses COPY FROM under row-level security)."""
    engine = sa.create_engine(owner_url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        start = time.perf_counter()
        with raw.cursor() as cursor, cursor.copy(
                f"COPY leads ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        elapsed = time.perf_counter() - start
    _empty_postgres(engine)
    return elapsed


def _empty_postgres(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE leads CASCADE"))
    engine.dispose()


def _sqlite_baseline(url: str, rows: list[tuple[Any, ...]]) -> float:
    """One executemany transaction, values stored as SQLAlchemy stores them on SQLite."""
    stored = [(r[0].hex, r[1].hex, *r[2:12], r[12].hex, r[13].strftime(SQLITE_TIME),
               r[14].strftime(SQLITE_TIME)) for r in rows]
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO leads ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, stored)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _import(url: str, state: Path, owner: Principal, csv_path: Path) -> dict[str, float]:
    lad = container(url, state)
    try:
        start = time.perf_counter()
        with csv_path.open("rb") as source:
            report = lad.lead_import().import_leads(owner, source)
        elapsed = time.perf_counter() - start
    finally:
        lad.engine().dispose()
    return {"whole": elapsed, "created": report.created, **report.timings}


def run_postgres(csv_path: Path, valid: list[Canonical], repeat: int, state: Path
                 ) -> dict[str, Any]:
    with postgres_database("lad_bench_import", "lad_bench_import_app") as (owner_url, app_url):
        lad = container(app_url, state)
        owner = sign_up(lad)
        lad.engine().dispose()
        rows = _baseline_rows(valid, owner)
        baselines, imports = [], []
        for _ in range(repeat):
            baselines.append(_postgres_baseline(owner_url, rows))
            imports.append(_import(app_url, state, owner, csv_path))
            _empty_postgres(sa.create_engine(owner_url))
    return _best("postgresql", len(rows), baselines, imports)


def run_sqlite(csv_path: Path, valid: list[Canonical], repeat: int, state: Path
               ) -> dict[str, Any]:
    template_url = sqlite_database(state, "template.sqlite3")
    lad = container(template_url, state)
    owner = sign_up(lad)
    lad.engine().dispose()
    rows = _baseline_rows(valid, owner)
    baselines, imports = [], []
    for _ in range(repeat):
        baselines.append(_sqlite_baseline(_copy(template_url, state, "baseline"), rows))
        imports.append(_import(_copy(template_url, state, "import"), state, owner, csv_path))
    return _best("sqlite", len(rows), baselines, imports)


def _copy(template_url: str, state: Path, name: str) -> str:
    target = state / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template_url.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


def _best(dialect: str, valid: int, baselines: list[float], imports: list[dict[str, float]]
          ) -> dict[str, Any]:
    best = min(imports, key=lambda r: r["whole"])
    if best["created"] != valid:
        raise SystemExit(f"{dialect}: the import created {best['created']} leads, the "
                         f"baseline wrote {valid}")
    return {"dialect": dialect, "rows": valid, "baseline": min(baselines),
            "write_best": min(r["dedupe"] + r["write"] for r in imports), **best}


def report(result: dict[str, Any], total_rows: int) -> bool:
    dialect, rows = result["dialect"], result["rows"]
    whole_target, write_target = TARGETS[dialect]
    base_rate = rows / result["baseline"]
    whole_rate = rows / result["whole"]
    write_rate = rows / result["write_best"]
    whole_ratio, write_ratio = whole_rate / base_rate, write_rate / base_rate
    print(f"\n{dialect}: {total_rows:,} CSV rows, {rows:,} valid and unique leads written")
    print(f"  {BASELINES[dialect]:<28}{result['baseline']:8.2f} s {base_rate:>10,.0f} rows/s")
    print(f"  {'LAD import, whole':<28}{result['whole']:8.2f} s {whole_rate:>10,.0f} rows/s"
          f"   {whole_ratio:.2f}x baseline (target >= {whole_target})")
    for stage, label in (("read", "read + map"), ("validate", "validate"),
                         ("dedupe", "dedupe (SQL)"), ("write", "write (stage+insert)")):
        print(f"    {label:<26}{result[stage]:8.2f} s")
    print(f"  {'LAD write stage (dedupe+write)':<28}{result['write_best']:6.2f} s "
          f"{write_rate:>10,.0f} rows/s   {write_ratio:.2f}x baseline (target >= "
          f"{write_target})")
    return whole_ratio >= whole_target and write_ratio >= write_target


def memory_child(url: str, tenant: str, user: str, csv_path: str) -> None:
    """Run in a child process: import the file, print the peak resident memory."""
    lad = container(url, Path(tempfile.gettempdir()))
    owner = lad.tenancy().principal_for(user_id=uuid.UUID(user), tenant_id=uuid.UUID(tenant))
    start = time.perf_counter()
    with open(csv_path, "rb") as source:
        created = lad.lead_import().import_leads(owner, source).created
    print(json.dumps({"created": created, "seconds": time.perf_counter() - start,
                      "peak_mb": _peak_kib() / 1024,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _peak_kib() -> int:
    """This process's peak resident set. Linux's VmHWM belongs to the address space made at
    exec, whereas ru_maxrss also carries the parent's peak across fork and exec (so the memory
    run goes first); elsewhere ru_maxrss is what there is."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure_memory(url: str, owner: Principal, csv_path: Path,
                    other: OtherWriter | None = None) -> dict[str, Any]:
    child = subprocess.Popen([sys.executable, "-m", "bench.leads_import", "--child", url,
                              str(owner.tenant_id), str(owner.user_id), str(csv_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if other is not None:
        other.start()
    out, err = child.communicate()
    if other is not None:
        other.stop()
    if child.returncode != 0:
        raise SystemExit(f"the import child failed:\n{err}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def busy_timeout_s(lad: Container) -> float:
    """The busy timeout the server's connections wait for SQLite's write lock: a write that
    waits longer fails (HTTP 503), so another tenant's writer must never wait that long."""
    with lad.engine().connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()) / 1000


class OtherWriter:
    """Another tenant's writes, from this process while the child imports: one lead per
    short ``BEGIN IMMEDIATE`` transaction, with the application's busy timeout."""

    def __init__(self, path: str, tenant: Principal, busy_timeout: float) -> None:
        self._path, self._tenant, self.busy_timeout = path, tenant, busy_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.latencies: list[float] = []
        self.timeouts = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self.busy_timeout)
        tenant, user = self._tenant.tenant_id, self._tenant.user_id
        assert tenant is not None and user is not None
        sql = (f"INSERT INTO leads ({', '.join(COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(COLUMNS))})")
        while not self._stop.wait(0.02):
            now = datetime.now(UTC).strftime(SQLITE_TIME)
            row = (tenant.hex, uuid.uuid4().hex, "Other", "Writer", None, None, None, None,
                   "new", "open", "bench", "{}", user.hex, now, now)
            start = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql, row)
                conn.execute("COMMIT")
            except sqlite3.OperationalError:  # the busy timeout ran out: a 503 in the app
                self.timeouts += 1
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self.latencies.append(time.perf_counter() - start)
        conn.close()

    def report(self) -> bool:
        waits = sorted(self.latencies) or [0.0]
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(f"  another tenant's writer during the SQLite import: {len(self.latencies)} "
              f"writes, max {waits[-1] * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, "
              f"{self.timeouts} busy timeouts (target: none, max < the server's busy timeout "
              f"of {self.busy_timeout:g} s)")
        return self.timeouts == 0 and waits[-1] < self.busy_timeout


def run_memory(rows: int, state: Path) -> bool:
    csv_path = state / "million.csv"
    generate(csv_path, rows, seed=7, keep=False)
    print(f"\npeak memory importing {rows:,} rows ({csv_path.stat().st_size / 2**20:.0f} MiB "
          f"CSV), in a child process (target < {MEMORY_TARGET_MB} MB):")
    ok = True
    with postgres_database("lad_bench_import_memory", "lad_bench_import_memory_app") as (
            _owner_url, app_url):
        lad = container(app_url, state)
        owner = sign_up(lad)
        lad.engine().dispose()
        ok &= _print_memory("postgresql", _measure_memory(app_url, owner, csv_path))
    url = sqlite_database(state, "memory.sqlite3")
    lad = container(url, state)
    owner = sign_up(lad)
    other = OtherWriter(url.removeprefix("sqlite:///"), sign_up(lad, "Other"),
                        busy_timeout_s(lad))
    lad.engine().dispose()
    ok &= _print_memory("sqlite", _measure_memory(url, owner, csv_path, other))
    ok &= other.report()
    return ok


def _print_memory(dialect: str, result: dict[str, Any]) -> bool:
    print(f"  {dialect:<12}{result['peak_mb']:8.1f} MB peak (VmHWM; ru_maxrss "
          f"{result['maxrss_mb']:.1f} MB)   {result['created']:,} leads in "
          f"{result['seconds']:.1f} s")
    return bool(result["peak_mb"] < MEMORY_TARGET_MB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--million-rows", type=int, default=1_000_000,
                        help="Rows of the memory run (0: skip it)")
    parser.add_argument("--only", choices=["postgresql", "sqlite"], default=None)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        memory_child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="lad-bench-") as tmp:
        state = Path(tmp)
        ok = True
        if args.million_rows:
            # First, while this process is small: a child's ru_maxrss starts from it.
            ok &= run_memory(args.million_rows, state)
        csv_path = state / "leads.csv"
        valid = generate(csv_path, args.rows)
        if args.only in (None, "postgresql"):
            ok &= report(run_postgres(csv_path, valid, args.repeat, state), args.rows)
        if args.only in (None, "sqlite"):
            ok &= report(run_sqlite(csv_path, valid, args.repeat, state), args.rows)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
