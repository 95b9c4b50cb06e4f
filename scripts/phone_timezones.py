"""Write src/lad_adapters/phone_timezones.json: libphonenumber's time-zone prefix map, which
voice's calling hours read, copied out of the full ``phonenumbers`` package.

LAD depends on ``phonenumberslite`` (parsing and validation only, without the 40 MB of
geocoder, carrier and time-zone data); the time zones are the one piece of that data it reads,
so it ships this copy of them instead (under 60 kB). Regenerate it when the phonenumberslite
bound moves, in a throwaway virtual environment holding the full package at the same version:

    python3 -m venv /tmp/tz
    /tmp/tz/bin/pip install phonenumbers==<version> attrs   # --check imports LAD from src/
    /tmp/tz/bin/python scripts/phone_timezones.py            # writes the file
    /tmp/tz/bin/python scripts/phone_timezones.py --check    # compares; exit 1 on a difference

``--check`` looks up the example number of every region and number type, every North
American area code and numbers under every prefix of the map, both with
``phonenumbers.timezone.time_zones_for_number`` and with ``lad_adapters.phones``'
``zones_for_number`` on the written file, and prints each difference.

The data is libphonenumber's (resources/timezones/map_data.txt), Copyright (C) 2011-2026 The
Libphonenumber Authors, licensed under the Apache License, Version 2.0
(http://www.apache.org/licenses/LICENSE-2.0); the file written says so in its header fields.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import phonenumbers
from phonenumbers.tzdata import TIMEZONE_DATA

TARGET = Path(__file__).resolve().parent.parent / "src" / "lad_adapters" / "phone_timezones.json"


def build() -> dict[str, object]:
    """The prefix map with each zone list written as indexes into one sorted list of zones."""
    zones = sorted({zone for found in TIMEZONE_DATA.values() for zone in found})
    index = {zone: position for position, zone in enumerate(zones)}
    prefixes = {prefix: [index[zone] for zone in TIMEZONE_DATA[prefix]]
                for prefix in sorted(TIMEZONE_DATA, key=lambda p: (len(p), p))}
    return {
        "about": "Time zones of phone number prefixes (E.164 digits without '+'): each prefix "
                 "maps to indexes into 'zones'; the longest matching prefix wins.",
        "source": "libphonenumber resources/timezones/map_data.txt, as shipped in the "
                  f"phonenumbers package {phonenumbers.__version__}",
        "copyright": "Copyright (C) 2011-2026 The Libphonenumber Authors",
        "license": "Apache-2.0 (http://www.apache.org/licenses/LICENSE-2.0); "
                   "converted to this layout, values unchanged",
        "generated_by": "python scripts/phone_timezones.py",
        "phonenumbers_version": phonenumbers.__version__,
        "zones": zones,
        "prefixes": prefixes,
    }


def write() -> None:
    """One field a line, and one zone or prefix a line inside the two tables, so that a
    regeneration's diff shows what libphonenumber changed."""
    lines = ["{"]
    for name, value in build().items():
        if isinstance(value, list):
            rows = [json.dumps(item) for item in value]
        elif isinstance(value, dict):
            rows = [f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}"
                    for k, v in value.items()]
        else:
            lines.append(f"{json.dumps(name)}:{json.dumps(value)},")
            continue
        opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
        lines.append(f"{json.dumps(name)}:{opening}")
        lines.append(",\n".join(rows))
        lines.append(f"{closing},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes, {len(TIMEZONE_DATA)} prefixes)")


def _samples() -> list[phonenumbers.PhoneNumber]:
    numbers: list[phonenumbers.PhoneNumber] = []
    kinds = [value for name, value in vars(phonenumbers.PhoneNumberType).items()
             if name.isupper() and isinstance(value, int)]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.append(example)
    for area in range(200, 1000):  # every North American area code, valid or not
        numbers.append(phonenumbers.parse(f"+1{area}5550123"))
        numbers.append(phonenumbers.parse(f"+1{area}2345678"))
    for prefix in TIMEZONE_DATA:  # every prefix of the map, filled to 9 to 12 digits
        for size in range(max(9, len(prefix) + 1), 13):
            try:
                numbers.append(phonenumbers.parse("+" + (prefix + "2345678901")[:size]))
            except phonenumbers.NumberParseException:
                continue
    return numbers


def check() -> int:
    sys.path.insert(0, str(TARGET.parent.parent))
    from phonenumbers.timezone import time_zones_for_number

    from lad_adapters.phones import zones_for_number

    differences = 0
    samples = _samples()
    for number in samples:
        expected = tuple(sorted(z for z in time_zones_for_number(number) if z != "Etc/Unknown"))
        found = zones_for_number(number)
        if found != expected:
            differences += 1
            print(f"+{number.country_code}{number.national_number}: "
                  f"phonenumbers {expected}, LAD {found}")
    print(f"{len(samples)} numbers compared, {differences} differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare lookups on the written file with phonenumbers'")
    if parser.parse_args().check:
        return check()
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
