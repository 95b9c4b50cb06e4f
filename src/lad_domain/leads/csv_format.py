"""The CSV format of lead import and export: which column fills which field (by alias, or as
a column map says), and cells safe to open in a spreadsheet."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import attrs

from lad_domain.leads.header_aliases import (
    ALIASES,
    CUSTOM_ALIASES,
    FOREIGN_FIELDS,
    FOREIGN_MARKERS,
    FOREIGN_PREFIXES,
    MULTI,
    PERSON_FIELDS,
    PLACE_PARTS,
)
from lad_domain.shared.errors import FieldError, ValidationFailed

#: The fields a column may fill, as a column map names them (or ``custom.<name>``).
FIELDS = tuple(ALIASES)
_FIELD_OF = {alias: (field, tier) for field, tiers in ALIASES.items()
             for tier, aliases in enumerate(tiers) for alias in aliases}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_CUSTOM_PREFIXES = ("custom.", "custom:", "custom_")
_CHOSEN = -1  # the tier of a column the column map places: before every alias
#: Columns that identify a lead: a file needs at least one of them.
IDENTIFYING = ("first_name", "last_name", "full_name", "email", "phone")
#: The export's columns, which the import reads back.
EXPORT_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "company", "title",
                  "stage", "status", "owner", "source", "custom_fields", "created_at",
                  "updated_at")
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_COLUMN_MAP_SHAPE = ('must be a JSON object of column names to fields, e.g. '
                     '{"Work Email": "email", "Notes": null}')


@attrs.frozen
class ColumnMap:
    """Where each field is in a row of the file."""

    width: int  # cells in the header
    positions: dict[str, int]  # the column of each field; of phone, the first one tried
    phones: tuple[int, ...] = ()  # every phone column, in the order they are tried
    places: tuple[tuple[int, ...], ...] = ((), (), ())  # city, state, country columns
    custom: tuple[tuple[str, int], ...] = ()
    ignored: tuple[str, ...] = ()
    mapped: tuple[tuple[str, str], ...] = ()  # (column, field or custom.<name>), in order
    names: tuple[str, ...] = ()  # the header's cells, trimmed


def map_header(header: Sequence[str], column_map: Mapping[str, str | None] | None = None
               ) -> ColumnMap:
    """The column map of a header row: ``column_map`` places the columns it names (a field,
    ``custom.<name>``, or None to ignore one), the aliases the others. A header that names
    no column identifying a lead is refused."""
    names = tuple(cell.strip() for cell in header)
    chosen = _chosen(names, column_map) if column_map else {}
    foreign = any(_foreign(name) for name in names)
    found: dict[str, list[tuple[int, int]]] = {}
    custom: list[tuple[str, int]] = []
    ignored: list[int] = []
    for index, name in enumerate(names):
        target, tier = (chosen[index], _CHOSEN) if index in chosen else _target(name, foreign)
        if target is None:
            if name:
                ignored.append(index)
        elif target.startswith("custom."):
            custom.append((target.removeprefix("custom."), index))
        else:
            found.setdefault(target, []).append((tier, index))
    positions: dict[str, int] = {}
    several: dict[str, tuple[int, ...]] = {}
    for field, columns in found.items():
        columns.sort()
        if field in MULTI:
            several[field] = tuple(index for _, index in columns)
            positions[field] = columns[0][1]
            continue
        best = [index for tier, index in columns if tier == columns[0][0]]
        if len(best) > 1:
            first, second = sorted(best)[:2]
            raise ValidationFailed.single(
                "file", f"the columns {names[first]!r} and {names[second]!r} both mean "
                f"{field}; keep one, or say which with a column map")
        positions[field] = best[0]
        ignored.extend(index for tier, index in columns[1:])
    if not any(f in positions for f in IDENTIFYING):
        raise ValidationFailed.single("file", _no_header_message(header, positions))
    fields = {index: field for field, columns in found.items() for _, index in columns
              if field in MULTI or positions[field] == index}
    fields.update((index, f"custom.{key}") for key, index in custom)
    return ColumnMap(width=len(header), positions=positions, phones=several.get("phone", ()),
                     places=tuple(several.get(part, ()) for part in PLACE_PARTS),
                     custom=tuple(custom), ignored=tuple(names[i] for i in sorted(ignored)),
                     mapped=tuple((names[i], fields[i]) for i in sorted(fields)), names=names)


def _target(name: str, foreign: bool) -> tuple[str | None, int]:
    """The field a column fills by its name (or ``custom.<name>``, or None), and its tier."""
    lowered = name.lower()
    head, dash, tail = lowered.partition(" - ")
    if dash and _NOT_ALNUM.sub("", head) == "person":  # Pipedrive: "Person - Name"
        field, tier = _FIELD_OF.get(_NOT_ALNUM.sub("", tail), (None, 0))
        return (field, tier) if field in PERSON_FIELDS else (None, 0)
    key = _NOT_ALNUM.sub("", lowered)
    if key in CUSTOM_ALIASES:
        return f"custom.{CUSTOM_ALIASES[key]}", 0
    if key in _FIELD_OF:
        field, tier = _FIELD_OF[key]
        return (None, 0) if foreign and field in FOREIGN_FIELDS else (field, tier)
    prefix = next((p for p in _CUSTOM_PREFIXES if lowered.startswith(p)), None)
    if prefix is not None:
        custom = _custom_key(lowered[len(prefix):])
        if custom:
            return f"custom.{custom}", 0
    return None, 0


def _foreign(name: str) -> bool:
    lowered = name.lower()
    head, dash, _ = lowered.partition(" - ")
    return (_NOT_ALNUM.sub("", lowered) in FOREIGN_MARKERS
            or (bool(dash) and _NOT_ALNUM.sub("", head) in FOREIGN_PREFIXES))


def _custom_key(name: str) -> str:
    return _NOT_ALNUM.sub("_", name.lower()).strip("_")[:64]


def _chosen(names: tuple[str, ...], column_map: Mapping[str, str | None]
            ) -> dict[int, str | None]:
    """The columns a column map places, by position: a field, custom.<name> or None."""
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        exact.setdefault(name, []).append(index)
        folded.setdefault(name.casefold(), []).append(index)
    chosen: dict[int, str | None] = {}
    errors: list[FieldError] = []
    for column, field in column_map.items():
        indexes = exact.get(column.strip()) or folded.get(column.strip().casefold())
        if not indexes:
            errors.append(FieldError("column_map", f"{column!r} is not a column of the file"))
            continue
        target = (field or "").strip()
        if target.lower().startswith("custom.") and _custom_key(target[len("custom."):]):
            target = f"custom.{_custom_key(target[len('custom.'):])}"
        elif target and target not in FIELDS:
            errors.append(FieldError("column_map", f"{column!r}: {field!r} is not a lead "
                                     f"field; use one of {', '.join(FIELDS)}, custom.<name>, "
                                     "or null to ignore the column"))
            continue
        chosen.update((index, target or None) for index in indexes)
    if errors:
        raise ValidationFailed(errors)
    return chosen


def column_map_from_json(text: str) -> dict[str, str | None]:
    """A column map given as a JSON object: {"column": "field" or null}."""
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValidationFailed.single("column_map", _COLUMN_MAP_SHAPE) from None
    if not isinstance(parsed, dict) or not all(
            value is None or isinstance(value, str) for value in parsed.values()):
        raise ValidationFailed.single("column_map", _COLUMN_MAP_SHAPE)
    return parsed


def column_map_of(entries: Sequence[str]) -> dict[str, str | None]:
    """A column map given as ``COLUMN=field`` entries (``COLUMN=`` ignores the column), or
    as one JSON object."""
    if len(entries) == 1 and entries[0].lstrip().startswith("{"):
        return column_map_from_json(entries[0])
    found: dict[str, str | None] = {}
    for entry in entries:
        column, equals, field = entry.rpartition("=")
        if not equals or not column.strip():
            raise ValidationFailed.single("column_map", f"{entry!r} is not COLUMN=field")
        found[column] = field.strip() or None
    return found


def _no_header_message(header: Sequence[str], positions: dict[str, int]) -> str:
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
