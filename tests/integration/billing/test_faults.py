"""A connection killed (pg_terminate_backend) in the middle of posting: nothing of that
attempt remains, and the retry with the same key posts exactly once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lad_adapters.sql.database import DatabaseUnavailable
from lad_domain.billing.model import UsageStatus
from lad_entrypoints.container import Container
from tests.unit.billing.books import EMAIL, Books

#: The attempt under test, seen from another session: waiting inside the call that posts
#: (``billing_record_usage``, or ``billing_post_usage`` in a unit of work). Only in this
#: test's database: other test sessions on the same server post too.
_STUCK = sa.text(
    "SELECT pid FROM pg_stat_activity WHERE query ~ 'billing_(record|post)_usage' "
    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
    "AND datname = current_database()")


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_posting_killed_midway_is_retried_exactly_once(lad: Container,
                                                         postgres_url: str) -> None:
    books = Books.open(lad)
    books.fund("1")
    owner = sa.create_engine(postgres_url)
    outcome: list[BaseException] = []
    try:
        with owner.connect() as blocker:
            # Hold the wallet, so the posting stops inside its one statement.
            blocker.execute(sa.text("SELECT 1 FROM billing_wallets WHERE tenant_id = :t "
                                    "FOR UPDATE"), {"t": books.id})
            attempt = threading.Thread(target=_post, args=(books, outcome))
            attempt.start()
            pid = _wait_for_stuck(owner, attempt)
            with owner.connect() as killer:
                killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            attempt.join()
            blocker.rollback()
    finally:
        owner.dispose()
    assert isinstance(outcome[0], DatabaseUnavailable)
    assert books.ledger()[0].type == "top_up" and books.balance() == 1
    event = books.use([EMAIL], idempotency_key="pay-once")
    assert books.use([EMAIL], idempotency_key="pay-once") == event
    assert event.status is UsageStatus.POSTED
    assert (books.balance(), len(books.ledger())) == (Decimal("0.999"), 2)
    assert books.reconcile().clean


def test_a_retry_sent_while_the_first_is_in_flight_does_not_run_twice(
        lad: Container, postgres_url: str) -> None:
    books = Books.open(lad)
    books.fund("1")
    owner = sa.create_engine(postgres_url)
    results: list[object] = []
    try:
        with owner.connect() as blocker:
            blocker.execute(sa.text("SELECT 1 FROM billing_wallets WHERE tenant_id = :t "
                                    "FOR UPDATE"), {"t": books.id})
            senders = [threading.Thread(target=lambda: results.append(
                books.use([EMAIL], idempotency_key="twice"))) for _ in range(2)]
            for sender in senders:
                sender.start()
            _wait_for_stuck(owner, senders[0], count=2)
            blocker.rollback()
            for sender in senders:
                sender.join()
    finally:
        owner.dispose()
    assert len(results) == 2 and results[0] == results[1]
    assert (books.balance(), len(books.ledger())) == (Decimal("0.999"), 2)


def _post(books: Books, outcome: list[BaseException]) -> None:
    try:
        books.use([EMAIL], idempotency_key="pay-once")
    except BaseException as error:  # the assertion is in the test
        outcome.append(error)


def _wait_for_stuck(owner: sa.Engine, attempt: threading.Thread, count: int = 1) -> int:
    """Poll the server until ``count`` postings wait on the lock (no sleep: each poll is a
    round trip); returns one of their backends."""
    with owner.connect() as watcher:
        while attempt.is_alive():
            pids = watcher.execute(_STUCK).scalars().all()
            watcher.rollback()
            if len(pids) >= count:
                return int(pids[0])
    raise AssertionError("the posting finished before it could be stopped")
