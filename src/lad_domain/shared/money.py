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


#: Beyond any real figure and within every column (NUMERIC(20, 6) holds < 1e14).
LARGEST = Decimal("1e13")


def amount(value: Decimal | int | str, *, field: str = "amount", exact: bool = False
           ) -> Decimal:
    """An amount of money at the ledger's scale. Computed figures round half to even;
    ``exact`` (a caller's input) refuses more decimal places than the ledger keeps."""
    return _at_scale(value, field, AMOUNT_SCALE, _AMOUNT_QUANTUM, exact)


def unit_price(value: Decimal | int | str, *, field: str = "unit_price", exact: bool = False
               ) -> Decimal:
    return _at_scale(value, field, UNIT_PRICE_SCALE, _UNIT_PRICE_QUANTUM, exact)


def _at_scale(value: Decimal | int | str, field: str, scale: int, quantum: Decimal,
              exact: bool) -> Decimal:
    number = _to_decimal(value, field)
    if abs(number) >= LARGEST:
        raise ValidationFailed.single(field, f"must be less than {LARGEST:f} either way")
    rounded = number.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if exact and rounded != number:
        raise ValidationFailed.single(field, f"has more than {scale} decimal places")
    return rounded


def _to_decimal(value: Decimal | int | str, field: str) -> Decimal:
    # bool is an int: JSON true must not become 1.
    if isinstance(value, float | bool):
        raise ValidationFailed.single(field, "must be a decimal string (not a float or a boolean)")
    try:
        result = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed.single(field, f"{value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ValidationFailed.single(field, "must be a finite number")
    return result
