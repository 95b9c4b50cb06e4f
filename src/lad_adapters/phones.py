"""Phone numbers to E.164, and split for calls with their time zones, with Google's
libphonenumber (the ``phonenumberslite`` package: parsing and validation only).

The time zones come from LAD's copy of libphonenumber's time-zone prefix map
(``phone_timezones.json`` beside this module, written by ``scripts/phone_timezones.py``):
the lite package leaves out ``phonenumbers.timezone``'s data along with the geocoder's and
the carriers', and nothing here reads the other two."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from importlib import resources

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers.phonemetadata import (
    REGION_CODE_FOR_NON_GEO_ENTITY,
    PhoneMetadata,
    PhoneNumberDesc,
)
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from lad_domain.leads.model import InvalidPhoneNumber
from lad_domain.voice.model import PhoneNumber
from lad_domain.voice.ports import InvalidPhone

MAX_INPUT = 64
_SEPARATORS = re.compile(r"[\s().\-/]+")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")
#: What libphonenumber's time-zone data answers for a number it cannot place.
_UNKNOWN_ZONE = "Etc/Unknown"

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


#: The number types libphonenumber tries, fixed line and mobile first: a national number is
#: valid when it fits the plan's general pattern and the pattern of any one type.
_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
          "personal_number", "pager", "uan", "voicemail")

#: Whether a national significant number fits one pattern (its lengths, then the pattern).
NumberCheck = Callable[[str], bool]


def _fits(desc: PhoneNumberDesc | None) -> str | None:
    """libphonenumber's ``_is_number_matching_desc`` as one regular expression over the
    number's digits: its possible lengths (a lookahead), then its pattern in full."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = sorted(set(desc.possible_length or ()))
    if lengths and lengths[-1] < 0:
        return None  # [-1]: the plan has no numbers of this kind
    length = (f"(?=(?:{'|'.join(f'[0-9]{{{n}}}' for n in lengths)})\\Z)" if lengths else "")
    return f"{length}(?:{desc.national_number_pattern})"


def _plan_check(metadata: PhoneMetadata) -> NumberCheck:
    """``_number_type_helper(nsn, metadata) != UNKNOWN``: the general pattern and one type,
    compiled into a single expression (the general one in a lookahead, then the types as
    alternatives, each of which must match the whole number)."""
    general = _fits(metadata.general_desc)
    types = [fits for fits in (_fits(getattr(metadata, name)) for name in _TYPES)
             if fits is not None]
    if general is None or not types:
        return lambda nsn: False
    plan = re.compile(f"(?=(?:{general})\\Z)(?:{'|'.join(f'(?:{t})' for t in types)})")
    fullmatch = plan.fullmatch
    return lambda nsn: fullmatch(nsn) is not None


class NumberingPlans:
    """``phonenumbers.is_valid_number`` for a country code and a national significant number
    without a leading zero, with every pattern compiled once per country code (the library
    looks each one up again on every call, which is most of an import's validation time).
    It follows the library step by step: the region of the number (the only one, or the
    first whose leading digits or patterns fit), then that region's plan."""

    def __init__(self) -> None:
        self._codes: dict[int, Callable[[str], bool]] = {}

    def is_valid(self, country_code: int, nsn: str) -> bool:
        check = self._codes.get(country_code)
        if check is None:
            check = self._codes[country_code] = _country_check(country_code)
        return check(nsn)


def _region_check(country_code: int, region: str) -> NumberCheck:
    """``is_valid_number_for_region``."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
    if metadata is None or (region != REGION_CODE_FOR_NON_GEO_ENTITY
                            and metadata.country_code != country_code):
        return lambda nsn: False
    return _plan_check(metadata)


def _country_check(country_code: int) -> NumberCheck:
    """``is_valid_number``: ``region_code_for_number``, then ``is_valid_number_for_region``."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return lambda nsn: False
    if len(regions) == 1:
        return _region_check(country_code, regions[0])
    candidates: list[tuple[Callable[[str], object] | None, NumberCheck]] = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue  # the library skips it too
        leading = (re.compile(metadata.leading_digits).match
                   if metadata.leading_digits is not None else None)
        candidates.append((leading, _region_check(country_code, region)))

    def check(nsn: str) -> bool:
        for leading, valid in candidates:
            if leading is not None:
                if leading(nsn):
                    return valid(nsn)
            elif valid(nsn):
                return True
        return False
    return check


_PLANS = NumberingPlans()


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
                return compact if _PLANS.is_valid(country_code, national) else None
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


class LibPhoneNumberPlan:
    """Implements the voice context's PhonePlan: a number parsed and validated as
    ``LibPhoneNumberParser`` does (the same reasons), split into the country calling code
    and the national number, and the time zones libphonenumber's prefix data gives it.

    A number whose national part starts with a zero that is part of the number (Italian
    fixed lines, ``+39 06 ...``) is refused: the stored form (an integer national number)
    cannot keep that zero, and dropping it would dial someone else."""

    def __init__(self) -> None:
        self._parser = LibPhoneNumberParser()

    def parse(self, raw: str, *, region: str | None = None) -> PhoneNumber:
        try:
            e164 = self._parser.to_e164(raw, region=region)
        except InvalidPhoneNumber as error:
            raise InvalidPhone(str(error)) from None
        number = phonenumbers.parse(e164, None)
        if number.italian_leading_zero:
            raise InvalidPhone(f"{e164!r} starts with a zero that cannot be stored: "
                               "numbers with a leading zero are not supported for calls")
        return PhoneNumber(country_code=str(number.country_code),
                           base_number=number.national_number or 0)

    def zones(self, phone: PhoneNumber) -> tuple[str, ...]:
        if not phone.country_code.isdigit() or phone.base_number <= 0:
            return ()
        return zones_for_number(phonenumbers.PhoneNumber(
            country_code=int(phone.country_code), national_number=phone.base_number))


ZONE_DATA = "phone_timezones.json"


@functools.cache
def _zone_prefixes() -> tuple[dict[str, tuple[str, ...]], int]:
    """The prefix map (digits -> its zones, sorted, without the unknown zone) and the length
    of its longest prefix, read once."""
    text = resources.files("lad_adapters").joinpath(ZONE_DATA).read_text(encoding="utf-8")
    data = json.loads(text)
    names: list[str] = data["zones"]
    prefixes = {prefix: tuple(sorted(names[i] for i in found if names[i] != _UNKNOWN_ZONE))
                for prefix, found in data["prefixes"].items()}
    return prefixes, max(map(len, prefixes))


def zones_for_number(number: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """``phonenumbers.timezone.time_zones_for_number`` on LAD's copy of its data, sorted,
    and empty where the library answers only ``Etc/Unknown``.

    As the library does: a number of no known type has no zone; a number whose type is not
    tied to a place (toll-free, and mobiles in most plans) takes every zone of its country
    calling code (the code's own digits, then shorter prefixes of them down to two digits);
    any other takes the zones of the longest prefix of its E.164 digits in the map."""
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return ()
    prefixes, longest = _zone_prefixes()
    code = number.country_code or 0
    if phonenumbers.is_number_type_geographical(kind, code):
        digits = str(phonenumbers.format_number(number, PhoneNumberFormat.E164))[1:]
        sizes = range(longest, 0, -1)
    else:
        digits = str(code)
        sizes = range(longest + 1, 1, -1)
    for size in sizes:
        found = prefixes.get(digits[:size])
        if found is not None:
            return found
    return ()
