"""Money parsing: Decimal at fixed scales, never a float, a boolean or a silent rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.money import amount, unit_price


@pytest.mark.parametrize("value", [True, 1.5, "abc", "NaN", "Infinity", "1" + "0" * 40,
                                   "1.5e400"])
def test_what_is_not_an_amount_names_the_field(value: object) -> None:
    with pytest.raises(ValidationFailed, match=r"^top_up: "):
        amount(value, field="top_up")  # type: ignore[arg-type]


def test_computed_figures_round_half_to_even() -> None:
    assert amount("0.0000025") == Decimal("0.000002")


def test_input_with_more_places_than_kept_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="more than 6 decimal places"):
        amount("1.123456789", exact=True)
    with pytest.raises(ValidationFailed, match="more than 10 decimal places"):
        unit_price("0.00000000004", exact=True)


def test_exact_input_keeps_its_value() -> None:
    assert amount("100.5", exact=True) == Decimal("100.500000")
