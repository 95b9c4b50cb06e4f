"""Money is Decimal, never float, with a fixed scale that matches the NUMERIC columns."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from lad_domain.shared.errors import ValidationFailed

#: Amounts (balances, ledger entries, invoice totals): NUMERIC(20, 6).
AMOUNT_SCALE = 6
#: Unit prices (an LLM token costs fractions of a cent): NUMERIC(20, 10).
UNIT_PRICE_SCALE = 10

_AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_UNIT_PRICE_QUANTUM = Decimal(1).scaleb(-UNIT_PRICE_SCALE)
ZERO = Decimal("0").quantize(_AMOUNT_QUANTUM)


def amount(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """An amount of money at the ledger's scale; rounding is banker's rounding."""
    return _to_decimal(value, field).quantize(_AMOUNT_QUANTUM, rounding=ROUND_HALF_EVEN)


def unit_price(value: Decimal | int | str, *, field: str = "unit_price") -> Decimal:
    return _to_decimal(value, field).quantize(_UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _to_decimal(value: Decimal | int | str, field: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationFailed.single(field, "must be a decimal string, not a float")
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed.single(field, f"{value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ValidationFailed.single(field, "must be a finite number")
    return result
