"""Voice's time zones from LAD's copy of libphonenumber's prefix map: the same answers the full
``phonenumbers`` package's ``time_zones_for_number`` gave (each expected value below was
computed with phonenumbers 9.0.43 before the switch to phonenumberslite), and nothing reads
the geocoder, carrier or time-zone data the lite package leaves out."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from lad_adapters.phones import ZONE_DATA, LibPhoneNumberPlan
from lad_domain.voice.model import PhoneNumber

PLAN = LibPhoneNumberPlan()
ROOT = Path(__file__).resolve().parents[3]

NANP = (
    "America/Adak", "America/Anchorage", "America/Anguilla", "America/Antigua",
    "America/Barbados", "America/Boise", "America/Cayman", "America/Chicago", "America/Denver",
    "America/Dominica", "America/Edmonton", "America/Fort_Nelson", "America/Grand_Turk",
    "America/Grenada", "America/Halifax", "America/Jamaica", "America/Juneau",
    "America/Los_Angeles", "America/Lower_Princes", "America/Montserrat", "America/Nassau",
    "America/New_York", "America/North_Dakota/Center", "America/Phoenix",
    "America/Port_of_Spain", "America/Puerto_Rico", "America/Regina", "America/Santo_Domingo",
    "America/St_Johns", "America/St_Kitts", "America/St_Lucia", "America/St_Thomas",
    "America/St_Vincent", "America/Toronto", "America/Tortola", "America/Vancouver",
    "America/Winnipeg", "Atlantic/Bermuda", "Pacific/Guam", "Pacific/Honolulu",
    "Pacific/Pago_Pago", "Pacific/Saipan",
)


@pytest.mark.parametrize(("raw", "zones"), [
    # US and Canadian area codes across their zones (fixed line or mobile: NANP numbers are
    # geographic either way)
    ("+12125550123", ("America/New_York",)),
    ("+13125550123", ("America/Chicago",)),
    ("+13035550123", ("America/Denver",)),
    ("+16025550123", ("America/Phoenix",)),
    ("+17025550123", ("America/Los_Angeles",)),
    ("+14155550123", ("America/Los_Angeles",)),
    ("+19075550123", ("America/Adak", "America/Anchorage")),
    ("+18085550123", ("Pacific/Honolulu",)),
    ("+13065550123", ("America/Regina",)),
    # a toll-free number is not tied to a place: every zone of +1
    ("+18005550199", NANP),
    # United Kingdom: a London fixed line, and a mobile (every zone of +44)
    ("+442079460000", ("Europe/London",)),
    ("+447911123456",
     ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London")),
    # Germany, India, China, Brazil: fixed lines and mobiles
    ("+4930123456", ("Europe/Berlin",)),
    ("+4915123456789", ("Europe/Berlin",)),
    ("+911123456789", ("Asia/Calcutta",)),
    ("+919812345678", ("Asia/Calcutta",)),
    ("+862012345678", ("Asia/Shanghai",)),
    ("+8613812345678", ("Asia/Shanghai",)),
    ("+551133334444", ("America/Sao_Paulo",)),
    ("+5511912345678", ("America/Sao_Paulo",)),
    # Australia: Sydney, Perth's prefix (shared with Adelaide in the data), and a mobile
    ("+61212345678", ("Australia/Sydney",)),
    ("+61892345678", ("Australia/Adelaide", "Australia/Perth")),
    ("+61412345678",
     ("Australia/Adelaide", "Australia/Brisbane", "Australia/Eucla", "Australia/Lord_Howe",
      "Australia/Perth", "Australia/Sydney", "Indian/Christmas", "Indian/Cocos")),
    # Russia: Moscow's fixed lines, and a mobile that may be anywhere on +7
    ("+74951234567", ("Europe/Moscow",)),
    ("+79161234567",
     ("Asia/Almaty", "Asia/Anadyr", "Asia/Aqtobe", "Asia/Irkutsk", "Asia/Kamchatka",
      "Asia/Krasnoyarsk", "Asia/Magadan", "Asia/Novosibirsk", "Asia/Omsk", "Asia/Sakhalin",
      "Asia/Vladivostok", "Asia/Yakutsk", "Asia/Yekaterinburg", "Europe/Bucharest",
      "Europe/Moscow", "Europe/Samara")),
    # a Spanish mobile (mainland or the Canaries), a French mobile and fixed line, Mongolia
    ("+34612345678", ("Atlantic/Canary", "Europe/Madrid")),
    ("+33612345678", ("Europe/Paris",)),
    ("+33123456789", ("Europe/Paris",)),
    ("+97611123456", ("Asia/Ulaanbaatar",)),
    # non-geographic codes the data does not place: libphonenumber's "Etc/Unknown"
    ("+80012345678", ()),
    ("+881612345678", ()),
])
def test_a_number_gets_the_zones_libphonenumber_gave_it(raw: str, zones: tuple[str, ...]) -> None:
    assert PLAN.zones(PLAN.parse(raw)) == zones


def test_a_number_of_no_known_type_has_no_zone() -> None:
    # +44 77009 is Ofcom's range for drama: a valid length, but no type in the plan
    assert PLAN.zones(PhoneNumber(country_code="44", base_number=7700900123)) == ()
    assert PLAN.zones(PhoneNumber(country_code="1", base_number=5555550123)) == ()


def test_the_data_ships_in_the_package_with_libphonenumbers_attribution() -> None:
    data = json.loads(resources.files("lad_adapters").joinpath(ZONE_DATA).read_text("utf-8"))

    assert data["license"].startswith("Apache-2.0")
    assert "Libphonenumber Authors" in data["copyright"]
    assert len(data["prefixes"]) > 3000
    assert all(0 <= i < len(data["zones"]) for found in data["prefixes"].values() for i in found)
    assert "*.json" in tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["*"]


def test_lad_depends_on_phonenumberslite_not_the_full_package() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in dependencies}

    assert "phonenumberslite" in names
    assert "phonenumbers" not in names


def test_parsing_and_zones_work_without_geocoder_carrier_or_timezone_data() -> None:
    """A fresh interpreter in which importing phonenumbers' geocoder, carrier or time-zone
    modules (or their data packages) fails, as it does with phonenumberslite: the container's
    phone adapters still parse numbers and give their zones."""
    program = """
import importlib.abc, sys
BLOCKED = ("phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone",
           "phonenumbers.geodata", "phonenumbers.carrierdata", "phonenumbers.tzdata")
class Lite(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(BLOCKED):
            raise ImportError(f"{name} is not in phonenumberslite")
        return None
sys.meta_path.insert(0, Lite())
import lad_entrypoints.container
from lad_adapters.phones import LibPhoneNumberParser, LibPhoneNumberPlan
plan = LibPhoneNumberPlan()
assert LibPhoneNumberParser().to_e164("020 7946 0000", region="GB") == "+442079460000"
assert plan.zones(plan.parse("+1 212 555 0123")) == ("America/New_York",)
print("ok", sorted(m for m in sys.modules if m.startswith(BLOCKED)))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok []"
