"""Benchmark: the ICP assistant's offline extraction, and Apollo people becoming leads.

    .venv/bin/python -m bench.icp_enrichment [--people 10000] [--turns 300] [--repeat 2]

1. Offline extraction: messages per second of the rules extractor on one core (a loop over
   real-sounding requests, nothing else), and the latency of one assistant turn through the
   container, database round trips included (hold, extraction, messages, ICP, usage event),
   as p50/p99 over ``--turns`` turns, on SQLite and on PostgreSQL (application role,
   row-level security on).
2. Importing ``--people`` Apollo people from a cached search as leads
   (``EnrichmentService.import_people``: the cached records read, people imported before
   looked up by Apollo id, then the leads import path) against the CSV import of the same
   rows (``LeadImportService.import_leads``), each into a fresh tenant, in the same run.
   Printed: rows per second of both and their ratio (target: at least 0.5x). Each figure is
   the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench._leads_setup import container, sign_up, sqlite_database
from bench._postgres import postgres_database
from lad_adapters.llm.rules import RulesExtractor
from lad_domain.enrichment.model import Person
from lad_domain.enrichment.services.search import PERSON_COLUMNS, person_record
from lad_domain.icp.model import IcpDocument
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container

IMPORT_TARGET = 0.5
OPERATOR = Principal.operator()
MESSAGES = [
    "We sell to VPs of Sales at B2B SaaS companies with 50-200 employees in Germany",
    "Our buyers are CTOs and heads of engineering at fintech startups in London",
    "Target marketing directors at e-commerce brands between 200 and 1000 people in the US",
    "Founders and CEOs of small businesses in Texas and California",
    "Actually make it France instead of Germany",
    "Procurement managers at manufacturing companies with more than 1000 employees",
    "Senior software engineers using Kubernetes at enterprise companies in the Nordics",
    "HR directors at healthcare providers in Canada, 500-5000 employees",
    "IT managers in logistics companies headquartered in the Netherlands",
    "Heads of growth at mid-market insurance companies in Spain and Italy",
]
_FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret"]
_LAST = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton"]
_TITLES = ["Head of Sales", "CTO", "VP Marketing", "Founder", "Account Executive"]
_PLACES = [("Berlin", None, "Germany"), ("London", None, "United Kingdom"),
           ("Austin", "Texas", "United States"), ("Paris", None, "France")]


def extraction_rate(seconds: float) -> tuple[float, float]:
    """Messages per second of the rules extractor, and the mean microseconds of one."""
    extractor = RulesExtractor()
    current = IcpDocument()
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for message in MESSAGES:
            extractor.extract(message, (), current)
        done += len(MESSAGES)
    elapsed = time.perf_counter() - started
    return done / elapsed, elapsed / done * 1e6


def _enable(lad: Container, owner: Principal) -> None:
    for feature in ("icp", "enrichment", "leads"):
        lad.team().set_feature(OPERATOR, feature, True, tenant_id=owner.tenant_id)
    lad.billing().top_up(OPERATOR, owner.tenant_id, "1000", idempotency_key_="fund")


def turn_latency(lad: Container, turns: int) -> tuple[float, float]:
    """p50 and p99 milliseconds of one assistant turn through the container."""
    owner = sign_up(lad, "Bench ICP")
    _enable(lad, owner)
    assistant = lad.icp_assistant()
    times: list[float] = []
    conversation = assistant.start(owner)
    for i in range(turns):
        if i % 10 == 0:
            conversation = assistant.start(owner)
        message = MESSAGES[i % len(MESSAGES)]
        started = time.perf_counter()
        assistant.say(owner, conversation.id, message)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def people(count: int) -> list[Person]:
    out = []
    for i in range(count):
        city, state, country = _PLACES[i % len(_PLACES)]
        out.append(Person(
            apollo_id=f"bench{i:08x}", first_name=_FIRST[i % len(_FIRST)],
            last_name=_LAST[(i // len(_FIRST)) % len(_LAST)], title=_TITLES[i % len(_TITLES)],
            linkedin_url=f"https://www.linkedin.com/in/bench-{i}", city=city, state=state,
            country=country, organization_id=f"org{i % 900:05d}",
            organization_name=f"Company {i % 900}", organization_domain=f"company{i % 900}.com"))
    return out


def _csv(rows: list[Person]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PERSON_COLUMNS)
    writer.writerows(person_record(p) for p in rows)
    return buffer.getvalue().encode()


def import_rates(lad: Container, rows: list[Person], repeat: int) -> tuple[float, float]:
    """Rows per second: (people from the cache, the same rows as CSV), best of ``repeat``."""
    best_people, best_csv = 0.0, 0.0
    data = _csv(rows)
    for _ in range(repeat):
        owner = sign_up(lad, "Bench people")
        _enable(lad, owner)
        now = lad.clock().now()
        with lad.unit_of_work()(owner.tenant_id) as uow:
            uow.people_cache.put_many(rows, now, now + timedelta(days=7))
            uow.commit()
        ids = [p.apollo_id for p in rows]
        started = time.perf_counter()
        result = lad.enrichment().import_people(owner, ids)
        elapsed = time.perf_counter() - started
        assert result.report.created == len(rows), result.report
        best_people = max(best_people, len(rows) / elapsed)

        owner = sign_up(lad, "Bench CSV")
        _enable(lad, owner)
        started = time.perf_counter()
        report = lad.lead_import().import_leads(owner, io.BytesIO(data))
        elapsed = time.perf_counter() - started
        assert report.created == len(rows), report
        best_csv = max(best_csv, len(rows) / elapsed)
    return best_people, best_csv


def run_backend(name: str, lad: Container, args: argparse.Namespace) -> bool:
    p50, p99 = turn_latency(lad, args.turns)
    print(f"[{name}] one assistant turn (rules extractor, database included): "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms over {args.turns} turns")
    rows = people(args.people)
    from_cache, from_csv = import_rates(lad, rows, args.repeat)
    ratio = from_cache / from_csv
    met = ratio >= IMPORT_TARGET
    print(f"[{name}] {args.people:,} people from a cached search -> leads: "
          f"{from_cache:,.0f} rows/s; the same rows as CSV: {from_csv:,.0f} rows/s; "
          f"ratio {ratio:.2f}x (target >= {IMPORT_TARGET}x) {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    rate, micros = extraction_rate(args.seconds)
    print(f"offline extraction (rules, one core): {rate:,.0f} messages/s "
          f"({micros:.0f} us per message)")
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        lad = container(sqlite_database(state, "icp.db"), state)
        try:
            met &= run_backend("sqlite", lad, args)
        finally:
            lad.engine().dispose()
        with postgres_database("lad_bench_icp") as (_owner_url, app_url):
            lad = container(app_url, state)
            try:
                met &= run_backend("postgresql", lad, args)
            finally:
                lad.engine().dispose()
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
