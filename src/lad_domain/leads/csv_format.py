"""The CSV format of lead import and export: header names and their aliases, and cells safe
to open in a spreadsheet."""

from __future__ import annotations

import re

import attrs

from lad_domain.shared.errors import ValidationFailed

#: Column names a header may use, by the field they fill. Headers are compared lower-cased
#: with everything but letters and digits removed, so "E-mail", "e_mail" and "EMAIL" agree.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "full_name": ("name", "fullname", "contactname", "contact"),
    "email": ("email", "emailaddress", "mail", "workemail", "businessemail"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell",
              "workphone"),
    "company": ("company", "companyname", "organisation", "organization", "account",
                "employer"),
    "title": ("title", "jobtitle", "position", "role"),
    "stage": ("stage", "pipelinestage", "leadstage"),
    "status": ("status", "leadstatus"),
    "owner": ("owner", "owneremail", "assignedto"),
    "source": ("source", "leadsource"),
    "custom_fields": ("customfields",),
}
_FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CUSTOM_PREFIXES = ("custom.", "custom:", "custom_")
#: Columns that identify a lead: a file needs at least one of them.
IDENTIFYING = ("first_name", "last_name", "full_name", "email", "phone")
#: The export's columns, which the import reads back.
EXPORT_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "company", "title",
                  "stage", "status", "owner", "source", "custom_fields", "created_at",
                  "updated_at")
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@attrs.frozen
class ColumnMap:
    """Where each field is in a row of the file."""

    width: int  # cells in the header
    positions: dict[str, int]
    custom: tuple[tuple[str, int], ...] = ()
    ignored: tuple[str, ...] = ()


def map_header(header: list[str]) -> ColumnMap:
    """The column map of a header row; a header that names no known column is refused."""
    positions: dict[str, int] = {}
    custom: list[tuple[str, int]] = []
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = raw.strip()
        lowered = name.lower()
        field = _FIELD_OF.get(_NOT_ALNUM.sub("", lowered))
        prefix = next((p for p in _CUSTOM_PREFIXES if lowered.startswith(p)), None)
        if field is None and prefix is not None:
            key = _NOT_ALNUM.sub("_", lowered[len(prefix):]).strip("_")
            if key:
                custom.append((key[:64], index))
                continue
        if field is None:
            if name:
                ignored.append(name)
            continue
        if field in positions:
            first = header[positions[field]].strip()
            raise ValidationFailed.single(
                "file", f"the columns {first!r} and {name!r} both mean {field}; keep one")
        positions[field] = index
    if not any(f in positions for f in IDENTIFYING):
        raise ValidationFailed.single("file", _no_header_message(header, positions))
    return ColumnMap(width=len(header), positions=positions, custom=tuple(custom),
                     ignored=tuple(ignored))


def _no_header_message(header: list[str], positions: dict[str, int]) -> str:
    expected = "first_name, last_name, name, email, phone"
    if any("@" in cell or cell.strip().lstrip("+").replace(" ", "").isdigit()
           for cell in header):
        return ("has no header row: the first row looks like data; add a first row naming "
                f"the columns (at least one of {expected})")
    if not positions:
        shown = ", ".join(repr(c.strip()) for c in header if c.strip())[:200] or "none"
        return f"none of its columns is known ({shown}); name at least one of {expected}"
    return f"needs at least one column identifying a lead: {expected}"


def unescape_cell(value: str) -> str:
    """Undo the export's formula escaping, so an exported file imports back unchanged."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def safe_cell(value: str) -> str:
    """Make a text cell inert in a spreadsheet: a leading formula character gets a quote.
    Phone numbers we normalised to E.164 (digits after a plus) are left as they are."""
    if value.startswith(FORMULA_STARTS) and not _E164.match(value):
        return "'" + value
    return value
