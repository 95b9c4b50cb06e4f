"""The import's email fast path gives ``normalise_email``'s answer: the same address, or
the same refusal, on generated and real-looking input."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lad_domain.leads.row_check import import_email
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.validation import normalise_email
from tests.examples import scaled

PIECES = st.sampled_from(["a", "Z", "0", ".", "..", "+", "-", "_", "@", " ", "\"", "ü", "é",
                          "xn--", "例え", "\u212a", "İ", "!", "#", "%", "'", "\t", "com",
                          "co.uk", "museum", "x" * 63, "y" * 70])


def _answer(check: Callable[[str], str], cell: str) -> str:
    try:
        return check(cell)
    except ValidationFailed as failed:
        return f"refused: {[(e.field, e.message) for e in failed.errors]}"


@settings(max_examples=scaled(600))
@given(st.emails())
@example("Ada.Lovelace.1@Example1.Com")
@example("\"quoted local\"@example.com")
@example("a+tag@b.co")
@example("a..b@c.io")
@example(".a@c.io")
@example("ü@bücher.de")
@example("\u212aelvin@x.io")
def test_real_looking_addresses_get_the_full_answer(cell: str) -> None:
    assert _answer(import_email, cell) == _answer(normalise_email, cell)


@settings(max_examples=scaled(600))
@given(st.lists(PIECES, min_size=1, max_size=12).map("".join))
def test_generated_cells_get_the_full_answer(cell: str) -> None:
    cell = cell.strip() or "x"
    assert _answer(import_email, cell) == _answer(normalise_email, cell)


@settings(max_examples=scaled(300))
@given(st.text(min_size=1, max_size=80))
def test_any_text_gets_the_full_answer(cell: str) -> None:
    cell = cell.strip() or "x"
    assert _answer(import_email, cell) == _answer(normalise_email, cell)
