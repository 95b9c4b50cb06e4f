"""Wallets, reservations, invoices, the catalog and the legacy credits behave the same on
every backend."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.invoice import InvoiceLine
from lad_domain.billing.model import LedgerType, LegacyTransaction, ReservationStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, InsufficientFunds
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR


def test_a_top_up_retry_returns_the_first_entry(books: Books) -> None:
    first = books.fund("10", "pay-1")
    assert books.fund("10", "pay-1") == first
    with pytest.raises(Conflict):
        books.fund("12", "pay-1")
    assert books.ledger() == [first]


def test_the_ledger_pages_newest_first(books: Books, clock: FixedClock) -> None:
    for n in range(5):
        books.fund(str(n + 1))
        clock.advance(timedelta(seconds=1))
    billing = books.lad.billing()
    first = billing.ledger(books.org.owner, PageRequest(limit=3))
    rest = billing.ledger(books.org.owner, PageRequest.parse(limit=3, cursor=first.next_cursor))
    assert [e.amount for e in [*first.items, *rest.items]] == [5, 4, 3, 2, 1]


def test_an_adjustment_below_the_floor_changes_nothing(books: Books) -> None:
    books.fund("1")
    with pytest.raises(InsufficientFunds):
        books.lad.billing().adjust(OPERATOR, books.id, "-1.5", idempotency_key_="a", note="x")
    assert books.balance() == 1 and len(books.ledger()) == 1


def test_the_store_refuses_a_wallet_below_its_floor(books: Books) -> None:
    wallet = books.wallet()
    with pytest.raises(Conflict, match="below its floor"), books.lad.unit_of_work()(
            books.id) as uow:
        wallet.current_balance = Decimal("-1")
        uow.wallets.save_balances([wallet])
        uow.commit()
    assert books.balance() == 0


def test_reservations_capture_and_release_on_every_backend(books: Books) -> None:
    books.fund("1")
    reservations = books.lad.billing_reservations()
    held = reservations.reserve(books.service, feature_key="voice", amount_="0.6",
                                idempotency_key_="c1")
    assert reservations.reserve(books.service, feature_key="voice", amount_="0.6",
                                idempotency_key_="c1") == held
    captured = reservations.capture(books.service, held.id, "0.25")
    assert (captured.status, captured.captured_amount) == (ReservationStatus.CAPTURED,
                                                           Decimal("0.25"))
    assert [e.type for e in reversed(books.ledger())] == [
        LedgerType.TOP_UP, LedgerType.RESERVATION, LedgerType.CAPTURE, LedgerType.RELEASE]
    assert books.wallet().available == Decimal("0.75") and books.reconcile().clean


def test_the_sweep_expires_overdue_holds(books: Books, clock: FixedClock) -> None:
    books.fund("1")
    reservations = books.lad.billing_reservations()
    reservations.reserve(books.service, feature_key="voice", amount_="0.6",
                         idempotency_key_="c1", hold=timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    assert reservations.sweep(OPERATOR) == 1 and reservations.sweep(OPERATOR) == 0
    assert books.wallet().reserved_balance == 0 and books.reconcile().clean


def test_invoices_are_generated_once_with_gapless_numbers(books: Books,
                                                          clock: FixedClock) -> None:
    books.fund("1")
    books.use([EMAIL, EMAIL], feature="outreach")
    reservations = books.lad.billing_reservations()
    held = reservations.reserve(books.service, feature_key="voice", amount_="0.5",
                                idempotency_key_="c1")
    reservations.capture(books.service, held.id, "0.2")
    clock.advance(timedelta(days=31))
    books.use()
    clock.advance(timedelta(days=30))
    invoices = books.lad.billing_invoices()
    [march] = invoices.generate(OPERATOR, "2026-03")
    [april] = invoices.generate(OPERATOR, "2026-04")
    assert invoices.generate(OPERATOR, "2026-03") == [march]
    assert (march.invoice_number, april.invoice_number) == (1, 2)
    assert march.lines == (InvoiceLine("outreach", "email_send", Decimal(2), Decimal("0.002")),
                           InvoiceLine("voice", "reservation", Decimal(1), Decimal("0.2")))
    assert invoices.get(books.org.owner, march.id) == march


def test_a_voided_month_can_be_invoiced_again_with_the_next_number(books: Books,
                                                                   clock: FixedClock) -> None:
    books.fund("1")
    books.use()
    clock.advance(timedelta(days=31))
    invoices = books.lad.billing_invoices()
    [first] = invoices.generate(OPERATOR, "2026-03")
    invoices.change_status(OPERATOR, books.id, first.id, "void")
    [second] = invoices.generate(OPERATOR, "2026-03")
    assert second.invoice_number == 2
    page = invoices.list(books.org.owner, PageRequest())
    assert {i.status for i in page.items} == {"void", "draft"}


def test_a_tenants_override_is_its_own(books: Books) -> None:
    other = Books.open(books.lad, "Other")
    books.lad.billing_plans().load_pricing(OPERATOR, [
        {"category": "email_send", "unit_price": "0.0005", "tenant_id": str(books.id)}])
    books.fund("1")
    other.fund("1")
    assert (books.use().total_cost, other.use().total_cost) == (Decimal("0.0005"),
                                                                Decimal("0.001"))


def test_replacing_the_catalog_keeps_history(books: Books, clock: FixedClock) -> None:
    before = clock.now()
    clock.advance(timedelta(hours=1))
    load = books.lad.billing_plans().load_pricing(
        OPERATOR, [{"category": "email_send", "unit_price": "0.003"}], mode="replace")
    assert (load.added, load.closed) == (1, 29)
    books.fund("1")
    assert books.use(occurred_at=before).total_cost == Decimal("0.001")
    assert books.use().total_cost == Decimal("0.003")


def test_legacy_credits_migrate_once_with_matching_totals(books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    for user_id, amount in ((member.user_id, "7.25"), (books.org.owner.user_id, "2")):
        with books.lad.unit_of_work()(books.id) as uow:
            uow.legacy_credits.record(LegacyTransaction(
                id=uuid.uuid4(), tenant_id=books.id, user_id=user_id, amount=Decimal(amount),
                transaction_type="purchase", created_at=books.lad.clock().now()))
            uow.commit()
    reconciliation = books.lad.billing_reconciliation()
    report = reconciliation.migrate_legacy(OPERATOR)
    again = reconciliation.migrate_legacy(OPERATOR)
    assert (report.migrated, report.migrated_total, report.totals_match) == (
        2, Decimal("9.25"), True)
    assert (again.migrated, again.already_migrated, again.totals_match) == (0, 2, True)
    assert all(c.migrated_at is not None
               for c in reconciliation.legacy_balances(books.org.owner))
    assert books.balance(member.user_id) == Decimal("7.25") and books.reconcile().clean
