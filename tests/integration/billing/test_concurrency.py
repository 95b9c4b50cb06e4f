"""Many workers, one wallet, real connections: 16 workers post 200 usage events each to a
wallet that pays for only part of them; a fifth of the keys are sent twice at once, by two
workers. Nothing is lost, nothing is charged twice, no balance goes below zero, and
reconcile finds no drift."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.invoice import Invoice
from lad_domain.billing.model import LedgerEntry, UsageEvent, UsageStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR

WORKERS = 16
PER_WORKER = 200
#: email_send costs 0.001: the wallet pays for a thousand of the 3,200 events.
FUNDS = Decimal("1.000")
PAYABLE = 1000


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _keys(worker: int) -> list[str]:
    """The worker's own keys, then every fifth key of the next worker (sent twice)."""
    own = [f"w{worker}-{i}" for i in range(PER_WORKER)]
    neighbour = (worker + 1) % WORKERS
    return own + [f"w{neighbour}-{i}" for i in range(0, PER_WORKER, 5)]


def _run(books: Books) -> dict[str, list[UsageEvent]]:
    results: dict[str, list[UsageEvent]] = defaultdict(list)
    lock, start = threading.Lock(), threading.Barrier(WORKERS)
    billing = books.lad.billing()

    def work(worker: int) -> None:
        keys = _keys(worker)
        # The duplicates go first, so both senders of a key race for it.
        order = keys[PER_WORKER:] + keys[:PER_WORKER]
        start.wait()
        for key in order:
            event = billing.record_usage(books.service, idempotency_key=key,
                                         feature_key="outreach", usage_items=[EMAIL])
            with lock:
                results[key].append(event)

    with ThreadPoolExecutor(WORKERS) as pool:
        for done in [pool.submit(work, w) for w in range(WORKERS)]:
            done.result()
    return results


def test_many_workers_post_to_one_wallet_exactly_once(lad: Container) -> None:
    books = Books.open(lad)
    books.fund(str(FUNDS))
    results = _run(books)

    assert len(results) == WORKERS * PER_WORKER
    assert all(len({e.id for e in sent}) == 1 for sent in results.values()), "ran twice"
    posted = [s[0] for s in results.values() if s[0].status is UsageStatus.POSTED]
    assert len(posted) == PAYABLE
    ledger = _ledger(books)
    debits = [e for e in ledger if e.type == "usage_debit"]
    assert sorted(e.cause_id for e in debits) == sorted(e.id for e in posted)
    assert all(e.balance_after >= 0 for e in ledger)
    wallet = books.wallet()
    assert wallet.current_balance == FUNDS - PAYABLE * Decimal("0.001") == 0
    assert books.reconcile().clean
    with lad.unit_of_work()(books.id) as uow:
        stored = uow.usage_events.get_by_keys(list(results))
    assert len(stored) == WORKERS * PER_WORKER


def _ledger(books: Books) -> list[LedgerEntry]:
    billing, page = books.lad.billing(), PageRequest(limit=200)
    entries: list[LedgerEntry] = []
    while True:
        found = billing.ledger(OPERATOR, page, tenant_id=books.id)
        entries.extend(found.items)
        if found.next_cursor is None:
            return entries
        page = PageRequest.parse(limit=200, cursor=found.next_cursor)


def test_invoices_generated_at_once_get_one_number_and_no_gap(lad: Container,
                                                              clock: FixedClock) -> None:
    books = Books.open(lad)
    books.fund("1")
    books.use()
    clock.advance(timedelta(days=31))
    books.use()
    clock.advance(timedelta(days=30))
    invoices = lad.billing_invoices()
    start = threading.Barrier(4)

    def generate(period: str) -> list[Invoice]:
        start.wait()
        return invoices.generate(OPERATOR, period, tenant_id=books.id)

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(generate, ["2026-03", "2026-03", "2026-04", "2026-04"]))
    march, april = {i.id for i in found[0] + found[1]}, {i.id for i in found[2] + found[3]}
    assert len(march) == len(april) == 1
    numbers = sorted(i.invoice_number for i in found[0] + found[2])
    assert numbers == [1, 2]
