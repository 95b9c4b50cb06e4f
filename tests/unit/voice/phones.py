"""A stand-in phone plan for the voice tests until ``lad_adapters.phones.LibPhoneNumberPlan``
is merged: libphonenumber's parse and validity check, and its time zones."""

from __future__ import annotations

import phonenumbers
from dependency_injector import providers
from phonenumbers import timezone

from lad_domain.voice.model import PhoneNumber
from lad_domain.voice.ports import InvalidPhone
from lad_entrypoints.container import Container


class StandInPhonePlan:
    def parse(self, raw: str, *, region: str | None = None) -> PhoneNumber:
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            raise InvalidPhone("is not a phone number") from None
        if not phonenumbers.is_valid_number(parsed):
            raise InvalidPhone("is not a valid number in its country's numbering plan")
        return PhoneNumber(country_code=str(parsed.country_code),
                           base_number=parsed.national_number)

    def zones(self, phone: PhoneNumber) -> tuple[str, ...]:
        parsed = phonenumbers.parse(phone.e164)
        return tuple(z for z in timezone.time_zones_for_number(parsed) if "/" in z)


def use_stand_in(lad: Container) -> Container:
    lad.phone_plan.override(providers.Object(StandInPhonePlan()))
    return lad
