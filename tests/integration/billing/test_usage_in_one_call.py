"""On PostgreSQL, ``record_usage`` is one round trip (``billing_record_usage``): the tenant
scope is set inside that call, the access data read there, and a refusal posts nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lad_adapters.sql.billing.usage_ledger import PostgresUsageLedger
from lad_adapters.sql.round_trips import RoundTripTrace
from lad_domain.shared.errors import AuthenticationFailed, NotFound, ValidationFailed
from lad_domain.shared.principal import Role
from lad_entrypoints.container import Container
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def books(lad: Container) -> Books:
    books = Books.open(lad)
    books.fund("10")
    return books


@pytest.fixture
def round_trips(lad: Container) -> Iterator[Callable[[], int]]:
    """Round trips so far on the connections opened from now on (one per ReadyForQuery in
    libpq's trace)."""
    with RoundTripTrace().watching(lad.engine()) as trace:
        yield trace.round_trips


def test_postgres_records_usage_with_the_one_call_ledger(lad: Container) -> None:
    assert type(lad.billing().usage_ledger) is PostgresUsageLedger


def test_recording_usage_is_one_round_trip(books: Books, round_trips: Callable[[], int]
                                           ) -> None:
    books.use()  # the pool's connection prepares the call once
    before = round_trips()
    for _ in range(5):
        books.use()
    assert round_trips() - before == 5
    assert books.balance() == Decimal("9.994") and books.reconcile().clean


def test_a_replayed_key_returns_the_first_event_in_the_one_call(books: Books) -> None:
    first = books.use(idempotency_key="again")
    assert books.use(idempotency_key="again") == first
    assert len(books.ledger()) == 2  # the top-up and one debit


def test_a_removed_member_is_refused_inside_the_call_and_nothing_posted(books: Books
                                                                        ) -> None:
    member = books.org.member(Role.MEMBER).user_id
    assert member is not None
    books.lad.team().remove_member(books.org.owner, member)
    with pytest.raises(ValidationFailed, match="user_id"):
        books.use(user_id=member)
    assert len(books.ledger()) == 1 and books.balance() == 10


def test_a_deleted_tenants_key_is_refused_inside_the_call_and_nothing_posted(
        books: Books) -> None:
    books.lad.team().delete_tenant(books.org.owner)
    with pytest.raises(AuthenticationFailed):
        books.use(idempotency_key="after-delete")
    with pytest.raises(NotFound):
        books.lad.billing().record_usage(OPERATOR, idempotency_key="op", tenant_id=books.id,
                                         feature_key="outreach", usage_items=[
                                             {"category": "email_send", "quantity": "1"}])
    with books.lad.unit_of_work()(books.id) as uow:
        assert uow.usage_events.get_by_keys(["after-delete", "op"]) == {}


def test_the_call_runs_as_the_application_role_under_row_level_security(
        books: Books) -> None:
    books.use()
    with books.lad.engine().connect() as conn:
        definer = conn.execute(sa.text("SELECT prosecdef FROM pg_proc WHERE proname = "
                                       "'billing_record_usage'")).scalar_one()
        bypass = conn.execute(sa.text("SELECT rolbypassrls OR rolsuper FROM pg_roles "
                                      "WHERE rolname = current_user")).scalar_one()
        seen = conn.execute(sa.text("SELECT count(*) FROM billing_usage_events")).scalar_one()
    assert (definer, bypass, seen) == (False, False, 0)  # no scope set: no rows
