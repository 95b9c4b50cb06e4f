"""Monthly quotas: included usage, overage charged or refused, what remains."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.model import RejectionReason
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import PermissionDenied, ValidationFailed
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


def _quota(books: Books, quota: int | None, overage: str = "charge") -> None:
    books.lad.billing_plans().set_entitlement(OPERATOR, books.id, "outreach",
                                              monthly_quota=quota, overage=overage)


def test_usage_within_the_quota_is_not_charged(books: Books) -> None:
    _quota(books, 2)
    events = [books.use(), books.use()]
    assert [e.within_quota for e in events] == [True, True]
    assert books.balance() == 0 and books.ledger() == []


def test_usage_beyond_the_quota_is_charged_when_the_plan_charges(books: Books) -> None:
    _quota(books, 1)
    books.fund("1")
    books.use()
    assert books.use().charged == Decimal("0.001")


def test_usage_beyond_the_quota_is_refused_when_the_plan_refuses(books: Books) -> None:
    _quota(books, 1, "refuse")
    books.fund("1")
    books.use()
    assert books.use().rejection_reason is RejectionReason.QUOTA_EXHAUSTED
    assert books.balance() == 1


def test_the_remaining_quota_is_queryable_and_resets_each_month(books: Books,
                                                                clock: FixedClock) -> None:
    _quota(books, 5)
    books.use()
    status = books.lad.billing_plans().entitlement(books.org.owner, "outreach")
    assert (status.used, status.remaining, status.period) == (1, 4, "2026-03")
    clock.advance(timedelta(days=31))
    assert books.lad.billing_plans().entitlement(books.org.owner, "outreach").remaining == 5


def test_an_unlimited_quota_includes_everything(books: Books) -> None:
    _quota(books, None)
    assert books.use().within_quota


def test_only_the_operator_sets_quotas(books: Books) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing_plans().set_entitlement(books.org.owner, books.id, "outreach",
                                                  monthly_quota=9, overage="charge")


def test_a_bad_overage_names_the_field(books: Books) -> None:
    with pytest.raises(ValidationFailed, match="overage"):
        _quota(books, 1, "maybe")
