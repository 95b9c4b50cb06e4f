"""Reconcile wallets with their ledger; read and migrate the legacy credits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import attrs

from lad_adapters.memory.store import InMemoryStore
from lad_domain.billing.model import LedgerType, LegacyTransaction
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


def test_books_kept_by_the_use_cases_have_no_drift(books: Books) -> None:
    books.fund("1")
    books.use()
    assert books.reconcile().clean


def test_a_wallet_changed_behind_the_ledger_is_reported(books: Books) -> None:
    books.fund("1")
    store: InMemoryStore = books.lad.unit_of_work().store
    wallets = store.tables["billing_wallets"]
    [(slot, wallet)] = wallets.items()
    wallets[slot] = attrs.evolve(wallet, current_balance=Decimal(5))
    [drift] = books.reconcile().drifts
    assert (drift.figure, drift.stored, drift.expected) == ("current_balance", 5, 1)


def _legacy(books: Books, user_id: uuid.UUID | None, amount: str) -> None:
    with books.lad.unit_of_work()(books.id) as uow:
        uow.legacy_credits.record(LegacyTransaction(
            id=uuid.uuid4(), tenant_id=books.id, user_id=user_id or uuid.uuid4(),
            amount=Decimal(amount), transaction_type="purchase",
            created_at=books.lad.clock().now()))
        uow.commit()


def test_legacy_balances_move_into_the_wallets_once(books: Books) -> None:
    member = books.org.member(Role.MEMBER)
    _legacy(books, member.user_id, "7.5")
    _legacy(books, books.org.owner.user_id, "2")
    reconciliation = books.lad.billing_reconciliation()
    report = reconciliation.migrate_legacy(OPERATOR)
    assert (report.migrated, report.legacy_total, report.totals_match) == (
        2, Decimal("9.5"), True)
    again = reconciliation.migrate_legacy(OPERATOR)
    assert (again.migrated, again.already_migrated, again.totals_match) == (0, 2, True)
    assert books.balance(member.user_id) == Decimal("7.5")
    assert [e.type for e in books.ledger()] == [LedgerType.LEGACY_MIGRATION] * 2
    assert books.reconcile().clean


def test_a_negative_legacy_balance_is_reported_not_moved(books: Books) -> None:
    _legacy(books, books.org.owner.user_id, "-3")
    report = books.lad.billing_reconciliation().migrate_legacy(OPERATOR)
    assert report.skipped_negative[0][2] == Decimal(-3) and report.migrated == 0


def test_legacy_credits_stay_readable(books: Books) -> None:
    _legacy(books, books.org.owner.user_id, "4")
    reconciliation = books.lad.billing_reconciliation()
    [credit] = reconciliation.legacy_balances(books.org.owner)
    page = reconciliation.legacy_transactions(books.org.owner, PageRequest())
    assert credit.balance == 4 and page.items[0].transaction_type == "purchase"
