"""Benchmark: the first and the 100th page of a 100,000-lead tenant, through the HTTP app.

    .venv/bin/python -m bench.leads_listing [--leads 100000] [--requests 300]

Seeds the tenant (PostgreSQL, then SQLite), walks 99 pages with the API's cursors, then
times GET /v1/leads for page 1 and page 100 alternately and prints p50 / p99 of both; the
100th page must cost at most 1.5 times the first (keyset pagination: no OFFSET). It also
prints the plan of the exact statement the repository sent for each page, which must read
the (tenant_id, created_at DESC, id DESC) index and sort nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bench._leads_setup import container, sqlite_database
from bench._postgres import postgres_database
from lad_adapters.sql.database import Db
from lad_adapters.sql.tables.leads import leads
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app

PAGE = 50
TARGET = 1.5
INDEX = "ix_leads_tenant_created"


def _seed(lad: Container, count: int, owner_url: str | None) -> tuple[uuid.UUID, str]:
    """A tenant with ``count`` leads created over a year; returns (tenant, bearer token)."""
    session = lad.tenancy().sign_up(tenant_name="Listing", email="owner@listing.test",
                                    password="correct horse battery")
    rng, now = random.Random(3), datetime.now(UTC)
    rows = []
    for i in range(count):
        at = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        rows.append({"tenant_id": session.tenant_id, "id": uuid.uuid4(), "first_name": f"L{i}",
                     "email": f"lead{i}@listing.test", "stage": "new", "status": "open",
                     "custom_fields": {}, "created_at": at, "updated_at": at})
    engine = sa.create_engine(owner_url) if owner_url else lad.engine()
    with engine.begin() as conn:
        for start in range(0, count, 10_000):
            conn.execute(leads.insert(), rows[start:start + 10_000])
        conn.execute(sa.text("ANALYZE"))
    return session.tenant_id, session.access_token


def _pages(client: TestClient, token: str) -> str:
    """The cursor of page 100, by following next_cursor from page 1."""
    cursor: str | None = None
    for _ in range(99):
        params: dict[str, Any] = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        response = client.get("/v1/leads", params=params, headers=_auth(token))
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
    assert cursor is not None
    return cursor


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _time(client: TestClient, token: str, cursor: str, requests: int
          ) -> tuple[list[float], list[float]]:
    first, hundredth = [], []
    for _ in range(requests):
        for params, samples in (({"limit": PAGE}, first),
                                ({"limit": PAGE, "cursor": cursor}, hundredth)):
            start = time.perf_counter()
            response = client.get("/v1/leads", params=params, headers=_auth(token))
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200 and len(response.json()["items"]) == PAGE
    return first, hundredth


def _plans(lad: Container, client: TestClient, token: str, tenant: uuid.UUID, cursor: str
           ) -> list[str]:
    """EXPLAIN of the statements the repository sends for page 1 and page 100."""
    engine: sa.Engine = lad.engine()
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any,
                _many: bool) -> None:
        if statement.lstrip().startswith("SELECT leads."):
            sent.append((statement, parameters))

    # On PostgreSQL the lead reads go straight to psycopg (Db.driver_rows), past
    # SQLAlchemy's events: both ways in are watched.
    driver_rows = Db.driver_rows

    def capture_driver(db: Db, sql: str, params: Any) -> list[tuple[Any, ...]]:
        capture(None, None, sql, params, None, False)
        return driver_rows(db, sql, params)

    sa.event.listen(engine, "before_cursor_execute", capture)
    Db.driver_rows = capture_driver  # type: ignore[method-assign]  # watched for two requests
    try:
        client.get("/v1/leads", params={"limit": PAGE}, headers=_auth(token))
        client.get("/v1/leads", params={"limit": PAGE, "cursor": cursor}, headers=_auth(token))
    finally:
        Db.driver_rows = driver_rows  # type: ignore[method-assign]  # restored
        sa.event.remove(engine, "before_cursor_execute", capture)
    postgres = engine.dialect.name == "postgresql"
    plans = []
    with engine.connect() as conn:
        if postgres:
            conn.execute(sa.text("SELECT set_config('lad.tenant_id', :t, true)"),
                         {"t": str(tenant)})
        for statement, parameters in sent:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
            plans.append("\n".join(str(row[-1]) for row in rows))
    return plans


def _percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


def run(lad: Container, dialect: str, count: int, requests: int, owner_url: str | None
        ) -> bool:
    tenant, token = _seed(lad, count, owner_url)
    client = TestClient(create_app(lad))
    cursor = _pages(client, token)
    first, hundredth = _time(client, token, cursor, requests)
    p50 = (_percentile(first, 50), _percentile(hundredth, 50))
    p99 = (_percentile(first, 99), _percentile(hundredth, 99))
    ratio = p50[1] / p50[0]
    print(f"\n{dialect}: {count:,} leads, {PAGE} per page, {requests} requests per page")
    print(f"  page   1: p50 {p50[0]:6.2f} ms   p99 {p99[0]:6.2f} ms")
    print(f"  page 100: p50 {p50[1]:6.2f} ms   p99 {p99[1]:6.2f} ms   "
          f"{ratio:.2f}x page 1 (target <= {TARGET})")
    indexed = True
    for name, plan in zip(("page 1", "page 100"), _plans(lad, client, token, tenant, cursor),
                          strict=True):
        print(f"  plan of {name}:\n    " + plan.replace("\n", "\n    "))
        indexed &= INDEX in plan and "Sort" not in plan and "TEMP B-TREE" not in plan
    print(f"  both pages read {INDEX} and sort nothing: {'yes' if indexed else 'NO'}")
    lad.engine().dispose()
    return indexed and ratio <= TARGET


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="lad-bench-") as tmp:
        state = Path(tmp)
        with postgres_database("lad_bench_listing") as (owner_url, app_url):
            ok &= run(container(app_url, state), "postgresql", args.leads, args.requests,
                      owner_url)
        sqlite_url = sqlite_database(state, "listing.sqlite3")
        ok &= run(container(sqlite_url, state), "sqlite", args.leads, args.requests, None)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
