"""Invoices: a month's posted usage by feature and category, numbered without gaps."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.invoice import InvoiceLine, InvoiceStatus, Period
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, PermissionDenied, ValidationFailed
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR

LLM = {"category": "llm_input_tokens", "provider": "openai", "model": "gpt-4o",
       "quantity": "1000"}


def _month_with_usage(books: Books, clock: FixedClock) -> None:
    books.fund("10")
    books.use([EMAIL, LLM], feature="icp")
    books.use([EMAIL], feature="outreach")
    books.use([EMAIL], feature="outreach")
    clock.advance(timedelta(days=30))


def test_an_invoice_sums_posted_usage_by_feature_and_category(books: Books,
                                                              clock: FixedClock) -> None:
    _month_with_usage(books, clock)
    [invoice] = books.lad.billing_invoices().generate(OPERATOR, "2026-03")
    assert invoice.lines == (
        InvoiceLine("icp", "email_send", Decimal(1), Decimal("0.001")),
        InvoiceLine("icp", "llm_input_tokens", Decimal(1000), Decimal("0.0025")),
        InvoiceLine("outreach", "email_send", Decimal(2), Decimal("0.002")))
    assert (invoice.total, invoice.invoice_number, invoice.status) == (
        Decimal("0.0055"), 1, InvoiceStatus.DRAFT)


def test_generating_a_month_twice_changes_nothing(books: Books, clock: FixedClock) -> None:
    _month_with_usage(books, clock)
    [first] = books.lad.billing_invoices().generate(OPERATOR, "2026-03")
    assert books.lad.billing_invoices().generate(OPERATOR, Period(2026, 3)) == [first]


def test_numbers_follow_each_other_per_tenant(books: Books, clock: FixedClock) -> None:
    _month_with_usage(books, clock)
    books.use()
    other = Books.open(books.lad, "Other")
    other.fund("1")
    other.use()
    clock.advance(timedelta(days=31))
    invoices = books.lad.billing_invoices()
    assert [i.invoice_number for i in invoices.generate(OPERATOR, "2026-03")] == [1]
    assert sorted(i.invoice_number for i in invoices.generate(OPERATOR, "2026-04")) == [1, 2]


def test_a_month_that_has_not_ended_is_not_invoiced(books: Books) -> None:
    with pytest.raises(ValidationFailed, match="not ended"):
        books.lad.billing_invoices().generate(OPERATOR, "2026-03")


def test_an_invoice_is_issued_then_paid_and_then_stays_paid(books: Books,
                                                           clock: FixedClock) -> None:
    _month_with_usage(books, clock)
    invoices = books.lad.billing_invoices()
    [invoice] = invoices.generate(OPERATOR, "2026-03")
    invoices.change_status(OPERATOR, books.id, invoice.id, "issued")
    paid = invoices.change_status(OPERATOR, books.id, invoice.id, "paid")
    assert paid.paid_at == clock.now()
    with pytest.raises(Conflict):
        invoices.change_status(OPERATOR, books.id, invoice.id, "void")


def test_owners_read_invoices_but_only_the_operator_changes_them(books: Books,
                                                                 clock: FixedClock) -> None:
    _month_with_usage(books, clock)
    invoices = books.lad.billing_invoices()
    [invoice] = invoices.generate(OPERATOR, "2026-03")
    assert invoices.get(books.org.owner, invoice.id) == invoice
    with pytest.raises(PermissionDenied):
        invoices.change_status(books.org.owner, books.id, invoice.id, "void")


def test_a_bad_period_names_the_field(books: Books) -> None:
    with pytest.raises(ValidationFailed, match="period"):
        books.lad.billing_invoices().generate(OPERATOR, "2026-13")
