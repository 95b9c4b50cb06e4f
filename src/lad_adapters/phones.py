"""Phone numbers to E.164 with Google's libphonenumber (the ``phonenumbers`` package)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from lad_domain.leads.model import InvalidPhoneNumber

MAX_INPUT = 64
_SEPARATORS = re.compile(r"[\s().\-/]+")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has no valid country code",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_LONG: "is too long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "has no valid country code",
    ValidationResult.TOO_SHORT: "is too short",
    ValidationResult.TOO_LONG: "is too long",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
}


class LibPhoneNumberParser:
    """Implements the domain's PhoneNumberParser.

    A number already written as ``+<country code><digits>`` (the common case in bulk
    imports) skips the general parser, which costs about twice as much, and only has its
    validity checked against the country's numbering plan; anything else, and any number
    the fast path does not accept, goes through ``phonenumbers.parse``, whose answer
    (including the reason for a refusal) is authoritative.
    """

    def to_e164(self, raw: str, *, region: str | None = None) -> str:
        text = raw.strip()
        if len(text) > MAX_INPUT:
            raise InvalidPhoneNumber(f"{text[:20]!r}... is too long")
        if text.startswith("+"):
            fast = self._international(text)
            if fast is not None:
                return fast
        return self._parse(text, region)

    @staticmethod
    def _international(text: str) -> str | None:
        compact = _SEPARATORS.sub("", text)
        if not _INTERNATIONAL.fullmatch(compact):
            return None
        digits = compact[1:]
        for size in (1, 2, 3):
            country_code = int(digits[:size])
            if country_code in COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                if not national or national[0] == "0":
                    return None  # a trunk prefix or Italian leading zero: the full parser
                number = phonenumbers.PhoneNumber(country_code=country_code,
                                                  national_number=int(national))
                return compact if phonenumbers.is_valid_number(number) else None
        return None

    @staticmethod
    def _parse(text: str, region: str | None) -> str:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException as error:
            reason = _PARSE_REASONS.get(error.error_type, "is not a phone number")
            if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
                reason = ("has an unknown country code" if text.startswith("+") else
                          "has no country code: write it as +<country code> <number>")
            raise InvalidPhoneNumber(f"{text!r} {reason}") from None
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
            raise InvalidPhoneNumber(
                f"{text!r} {_LENGTH_REASONS.get(possible, 'is not a phone number')}")
        if not phonenumbers.is_valid_number(number):
            where = phonenumbers.region_code_for_number(number) or region
            suffix = f" in {where}" if where and where != "ZZ" else ""
            raise InvalidPhoneNumber(f"{text!r} is not a valid phone number{suffix}")
        return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))
