"""The phone plan: numbers split into country code and national number, their reasons
when refused, and the time zones their area codes give."""

from __future__ import annotations

import pytest

from lad_adapters.phones import LibPhoneNumberPlan
from lad_domain.voice.model import PhoneNumber
from lad_domain.voice.ports import InvalidPhone, PhonePlan

PLAN: PhonePlan = LibPhoneNumberPlan()


def test_a_us_number_is_split_into_country_code_and_national_number() -> None:
    phone = PLAN.parse("+1 (212) 555-0123")

    assert phone == PhoneNumber(country_code="1", base_number=2125550123)
    assert phone.e164 == "+12125550123"


def test_a_national_number_is_read_in_the_region_given() -> None:
    assert PLAN.parse("020 7946 0000", region="GB") == PhoneNumber("44", 2079460000)


@pytest.mark.parametrize(("raw", "zones"), [
    ("+12125550123", ("America/New_York",)),
    ("+14155550123", ("America/Los_Angeles",)),
    ("+13125550123", ("America/Chicago",)),
    ("+13035550123", ("America/Denver",)),
    ("+442079460000", ("Europe/London",)),
])
def test_an_area_code_gives_its_time_zone(raw: str, zones: tuple[str, ...]) -> None:
    assert PLAN.zones(PLAN.parse(raw)) == zones


def test_a_toll_free_number_may_be_in_any_zone_of_its_plan_sorted() -> None:
    zones = PLAN.zones(PLAN.parse("+18005550199"))

    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(zones)
    assert list(zones) == sorted(zones)


def test_a_number_the_data_cannot_place_has_no_zone() -> None:
    assert PLAN.zones(PhoneNumber(country_code="44", base_number=7700900123)) == ()
    assert PLAN.zones(PhoneNumber(country_code="x", base_number=1)) == ()


@pytest.mark.parametrize(("raw", "reason"), [
    ("not a number", "is not a phone number"),
    ("+999 123 4567", "has an unknown country code"),
    ("555 0123", "has no country code"),
    ("+1 212", "is too short"),
    ("+1 212 555 01234567", "is too long"),
    ("+1 212 155 0123", "is not a valid phone number"),
    ("+1" + "2" * 80, "is too long"),
])
def test_invalid_input_is_refused_with_its_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        PLAN.parse(raw)


def test_a_leading_zero_the_stored_form_would_lose_is_refused() -> None:
    with pytest.raises(InvalidPhone, match="leading zero"):
        PLAN.parse("+39 06 1234 5678")
