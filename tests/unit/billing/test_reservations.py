"""Reservations: hold, capture the actual amount, release the rest, expire."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.model import Reservation, ReservationStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, Expired, InsufficientFunds, ValidationFailed
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


def _reserve(books: Books, amount: str = "0.5", key: str = "call-1",
             hold: timedelta | None = None) -> Reservation:
    return books.lad.billing_reservations().reserve(
        books.service, feature_key="voice", amount_=amount, idempotency_key_=key, hold=hold)


def test_a_reservation_holds_part_of_the_available_balance(books: Books) -> None:
    books.fund("1")
    _reserve(books)
    wallet = books.wallet()
    assert (wallet.current_balance, wallet.reserved_balance, wallet.available) == (
        1, Decimal("0.5"), Decimal("0.5"))


def test_capture_pays_the_actual_amount_and_releases_the_rest(books: Books) -> None:
    books.fund("1")
    held = _reserve(books)
    captured = books.lad.billing_reservations().capture(books.service, held.id, "0.2")
    wallet = books.wallet()
    assert captured.status is ReservationStatus.CAPTURED
    assert (wallet.current_balance, wallet.reserved_balance) == (Decimal("0.8"), 0)
    assert books.reconcile().clean


def test_capturing_more_than_the_reservation_is_refused(books: Books) -> None:
    books.fund("1")
    held = _reserve(books)
    with pytest.raises(ValidationFailed, match="exceeds the reservation"):
        books.lad.billing_reservations().capture(books.service, held.id, "0.6")


def test_capturing_again_returns_the_reservation_unless_the_amount_differs(books: Books
                                                                           ) -> None:
    books.fund("1")
    held = _reserve(books)
    first = books.lad.billing_reservations().capture(books.service, held.id, "0.2")
    assert books.lad.billing_reservations().capture(books.service, held.id, "0.2") == first
    with pytest.raises(Conflict):
        books.lad.billing_reservations().capture(books.service, held.id, "0.3")


def test_release_gives_the_whole_hold_back(books: Books) -> None:
    books.fund("1")
    held = _reserve(books)
    released = books.lad.billing_reservations().release(books.service, held.id)
    assert released.status is ReservationStatus.RELEASED
    assert books.wallet().available == 1


def test_a_reservation_beyond_the_available_balance_is_refused(books: Books) -> None:
    books.fund("0.4")
    with pytest.raises(InsufficientFunds):
        _reserve(books)
    assert books.wallet().reserved_balance == 0


def test_a_retried_reservation_returns_the_first(books: Books) -> None:
    books.fund("1")
    first = _reserve(books)
    assert _reserve(books) == first
    with pytest.raises(Conflict):
        _reserve(books, amount="0.6")


def test_the_sweep_releases_expired_reservations(books: Books, clock: FixedClock) -> None:
    books.fund("1")
    held = _reserve(books, hold=timedelta(minutes=5))
    _reserve(books, key="call-2", amount="0.1")
    clock.advance(timedelta(minutes=6))
    assert books.lad.billing_reservations().sweep(OPERATOR) == 1
    assert books.wallet().reserved_balance == Decimal("0.1")
    assert books.lad.billing_reservations().release(books.service, held.id).status is (
        ReservationStatus.EXPIRED)


def test_capture_after_expiry_is_refused(books: Books, clock: FixedClock) -> None:
    books.fund("1")
    held = _reserve(books, hold=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Expired):
        books.lad.billing_reservations().capture(books.service, held.id, "0.1")
