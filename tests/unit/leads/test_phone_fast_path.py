"""The phone fast path (``+<country code> <digits>`` checked against precompiled numbering
plans) gives the full parser's answer: the same E.164 number, or the same refusal."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from lad_adapters.phones import LibPhoneNumberParser, NumberingPlans
from lad_domain.leads.model import InvalidPhoneNumber
from tests.examples import scaled

PARSER = LibPhoneNumberParser()
CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)
SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", "(", ")", "  ", " - "])


def _answer(read: Callable[[str, str | None], str], text: str, region: str | None) -> str:
    try:
        return read(text, region)
    except InvalidPhoneNumber as error:
        return f"refused: {error}"


def _full(text: str, region: str | None) -> str:
    return LibPhoneNumberParser._parse(text.strip(), region)


def _fast(text: str, region: str | None) -> str:
    return PARSER.to_e164(text, region=region)


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """Numbers as people write them: a country code, digits in groups, separators, and now
    and then a trunk zero, letters, an extension or a stray character."""
    code = draw(st.sampled_from(CODES))
    digits = draw(st.text("0123456789", min_size=1, max_size=15))
    groups = [digits[i:i + draw(st.integers(1, 4))] for i in range(0, len(digits), 3)]
    body = "".join(g + draw(SEPARATORS) for g in groups)
    prefix = draw(st.sampled_from(["+", "+", "+", "", "00", "+0", "+ "]))
    tail = draw(st.sampled_from(["", "", "", " ext 12", "x3", "#", "abc", "\u0660", "+"]))
    return f"{prefix}{code}{draw(SEPARATORS)}{body}{tail}"


@st.composite
def example_numbers(draw: st.DrawFn) -> str:
    """Real numbers of every region and type, as E.164 or internationally formatted, and
    with their last digit changed."""
    region = draw(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
    kind = draw(st.integers(0, 10))
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        number = phonenumbers.example_number(region)
    assert number is not None
    style = draw(st.sampled_from([phonenumbers.PhoneNumberFormat.E164,
                                  phonenumbers.PhoneNumberFormat.INTERNATIONAL]))
    text = phonenumbers.format_number(number, style)
    if draw(st.booleans()):
        text = text[:-1] + str(draw(st.integers(0, 9)))
    return text


REGIONS = st.sampled_from([None, "GB", "US", "DE", "IT"])


@settings(max_examples=scaled(400))
@given(written_numbers(), REGIONS)
@example("+1 (415) 555-2671", None)
@example("+44 (0) 20 7946 0958", None)
@example("+39 06 6982 1234", None)
@example("+800 1234 5678", None)
def test_written_numbers_get_the_full_parsers_answer(text: str, region: str | None) -> None:
    assert _answer(_fast, text, region) == _answer(_full, text, region)


@settings(max_examples=scaled(400))
@given(example_numbers(), REGIONS)
def test_real_numbers_get_the_full_parsers_answer(text: str, region: str | None) -> None:
    assert _answer(_fast, text, region) == _answer(_full, text, region)


@settings(max_examples=scaled(400))
@given(st.sampled_from(CODES), st.text("0123456789", min_size=1, max_size=16))
def test_the_plans_agree_with_is_valid_number(code: int, digits: str) -> None:
    nsn = digits.lstrip("0") or "1"
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
    assert NumberingPlans().is_valid(code, nsn) == phonenumbers.is_valid_number(number)
