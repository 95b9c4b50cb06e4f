"""The invoice aggregate: one per tenant per calendar month, numbered without gaps."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

import attrs

from lad_domain.shared.errors import Conflict, ValidationFailed
from lad_domain.shared.money import ZERO

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@attrs.frozen(order=True)
class Period:
    """A calendar month in UTC, written ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: object, *, field: str = "period") -> Period:
        match = _PERIOD.match(text) if isinstance(text, str) else None
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise ValidationFailed.single(field, "must be a month written YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Period:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the month."""
        return self.next().start

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


_NEXT: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.ISSUED, InvoiceStatus.VOID}),
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


@attrs.frozen
class InvoiceLine:
    """Posted usage of one feature and category in the period (captured reservations are
    the category ``reservation``)."""

    feature_key: str
    category: str
    quantity: Decimal
    amount: Decimal


@attrs.define
class Invoice:
    id: uuid.UUID
    tenant_id: uuid.UUID
    invoice_number: int
    period: Period
    status: InvoiceStatus
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None

    @property
    def number(self) -> str:
        return f"INV-{self.invoice_number:06d}"

    def change_status(self, to: InvoiceStatus, at: datetime) -> None:
        if to is self.status:
            return
        if to not in _NEXT[self.status]:
            raise Conflict(f"an invoice that is {self.status} cannot become {to}")
        self.status, self.updated_at = to, at
        if to is InvoiceStatus.ISSUED:
            self.issued_at = at
        elif to is InvoiceStatus.PAID:
            self.paid_at = at
        else:
            self.voided_at = at


def parse_status(value: object) -> InvoiceStatus:
    try:
        return InvoiceStatus(str(value))
    except ValueError:
        raise ValidationFailed.single(
            "status", f"must be one of {', '.join(s.value for s in InvoiceStatus)}") from None


def total_of(lines: Iterable[InvoiceLine]) -> Decimal:
    return sum((line.amount for line in lines), ZERO)
