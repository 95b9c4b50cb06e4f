"""The per-row check of an import: the hot loop, so it works on plain lists and tuples and
raises nothing for a valid row."""

from __future__ import annotations

import json
import re
import uuid
from functools import partial
from itertools import chain
from urllib.parse import urlsplit, urlunsplit

from lad_domain.leads.csv_format import ColumnMap, unescape_cell
from lad_domain.leads.model import (
    MAX_COMPANY,
    MAX_CUSTOM_FIELDS_BYTES,
    MAX_NAME,
    MAX_SOURCE,
    MAX_TITLE,
    InvalidPhoneNumber,
    Pipeline,
)
from lad_domain.leads.ports import ImportRow, PhoneNumberParser
from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_domain.shared.ids import IdGenerator
from lad_domain.shared.validation import UNDELIVERABLE_TLDS, normalise_email

IMPORT_SOURCE = "import"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: The common clean address once lower-cased: ASCII atoms joined by single dots, then host
#: labels. It is a subset of what ``normalise_email`` accepts, so one match gives its answer.
_CLEAN_EMAIL = re.compile(rf"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@{_LABEL}(?:\.{_LABEL})+")
_ID_BLOCK = 1000
_LIMITS = (("first_name", MAX_NAME), ("last_name", MAX_NAME), ("company", MAX_COMPANY),
           ("title", MAX_TITLE), ("source", MAX_SOURCE))
MAX_LINKEDIN_URL = 500
MAX_LOCATION = 255


class RowCheck:
    """Turns the cells of one row into an ImportRow, or into the list of its problems."""

    def __init__(self, columns: ColumnMap, pipeline: Pipeline, owners: dict[str, uuid.UUID],
                 phones: PhoneNumberParser, region: str | None, ids: IdGenerator) -> None:
        positions = columns.positions
        self._width = columns.width
        # Absent columns point at one extra, always empty, cell: no bounds checks per field.
        blank = self._width
        self._at = {f: positions.get(f, blank) for f in (
            "first_name", "last_name", "full_name", "email", "phone", "company", "title",
            "stage", "status", "owner", "source", "custom_fields", "linkedin_url",
            "location")}
        # The phone columns after the first, tried in turn when it holds no valid number.
        self._more_phones = tuple((i, columns.names[i]) for i in columns.phones[1:])
        self._first_phone = columns.names[columns.phones[0]] if columns.phones else ""
        self._places = tuple(part for part in columns.places if part)
        self._custom = columns.custom
        # Most files fill no custom field: their rows skip that part of the check.
        self._custom_document = bool(
            columns.custom or self._places
            or {"custom_fields", "linkedin_url", "location"} & positions.keys())
        self._stages = _lookup([(s.key, s.label) for s in pipeline.stages])
        self._statuses = _lookup([(s.key, s.label) for s in pipeline.statuses])
        self._default_stage = pipeline.default_stage
        self._default_status = pipeline.default_status
        self._owners = {email: owner.hex for email, owner in owners.items()}
        self._phones = phones
        self._region = region
        # Ids come in blocks, as the driver takes them: one call per block, not per row.
        self._next_id = chain.from_iterable(
            iter(partial(ids.new_hex_ids, _ID_BLOCK), None)).__next__

    def row(self, row_no: int, cells: list[str]) -> ImportRow | list[FieldError] | None:
        """None for a blank row, which is skipped silently."""
        joined = "".join(cells)
        if not joined.strip():
            return None
        n = len(cells)
        if n > self._width and "".join(cells[self._width:]).strip():
            return [FieldError("row", f"has {n} cells but the header names {self._width}; "
                                      "is a comma missing its quotes?")]
        if n <= self._width:
            cells = cells + [""] * (self._width + 1 - n)
        else:
            cells = [*cells[:self._width], ""]
        if "\x00" in joined:
            return [FieldError("row", "contains a NUL character")]
        at = self._at
        errors: list[FieldError] = []
        texts: list[str | None] = []
        for field, limit in _LIMITS:
            value = cells[at[field]].strip()
            if value:
                if value[0] == "'":
                    value = unescape_cell(value)
                if len(value) > limit:
                    errors.append(FieldError(field, f"must be at most {limit} characters"))
                texts.append(value)
            else:
                texts.append(None)
        first, last, company, title, source = texts
        if first is None and last is None:
            first, last = _split_name(cells[at["full_name"]].strip())
        email = cells[at["email"]].strip() or None
        if email is not None:
            try:
                email = import_email(email)
            except ValidationFailed as failed:
                errors.extend(failed.errors)
        phone = cells[at["phone"]].strip() or None
        if phone is not None:
            try:
                phone = self._phones.to_e164(unescape_cell(phone), region=self._region)
            except InvalidPhoneNumber as invalid:
                if self._more_phones:
                    phone = self._other_phone(cells, errors,
                                              [f"{self._first_phone}: {invalid}"]) or phone
                else:
                    errors.append(FieldError("phone", str(invalid)))
        elif self._more_phones:
            phone = self._other_phone(cells, errors, [])
        stage = self._choice(cells[at["stage"]], self._stages, self._default_stage, "stage",
                             errors)
        status = self._choice(cells[at["status"]], self._statuses, self._default_status,
                              "status", errors)
        owner = None
        owner_email = cells[at["owner"]].strip()
        if owner_email:
            owner = self._owners.get(owner_email.lower())
            if owner is None:
                errors.append(FieldError("owner", f"{owner_email!r} is not a member's email"))
        custom = self._custom_fields(cells, errors) if self._custom_document else None
        if first is None and last is None and email is None and phone is None:
            errors.append(FieldError("email", "a lead needs at least a name, an email or a "
                                              "phone"))
        if errors:
            return errors
        return (row_no, self._next_id(), first, last, email, phone, company, title, stage,
                status, owner, source or IMPORT_SOURCE, custom)

    @staticmethod
    def _choice(raw: str, known: dict[str, str], default: str, field: str,
                errors: list[FieldError]) -> str:
        value = raw.strip()
        if not value:
            return default
        key = known.get(value.lower())
        if key is None:
            errors.append(FieldError(field, f"{value!r} is not a {field} of this pipeline"))
            return default
        return key

    def _other_phone(self, cells: list[str], errors: list[FieldError], problems: list[str]
                     ) -> str | None:
        """The first valid number of the other phone columns. With none, the row is
        rejected if any of them held something (``problems`` has what the first one held),
        and what the first of them held is returned, as an invalid cell is elsewhere."""
        held = None
        for index, name in self._more_phones:
            value = cells[index].strip()
            if value:
                try:
                    return self._phones.to_e164(unescape_cell(value), region=self._region)
                except InvalidPhoneNumber as invalid:
                    problems.append(f"{name}: {invalid}")
                    held = held or value
        if problems:
            errors.append(FieldError("phone", "no phone column holds a valid number ("
                                              + "; ".join(problems) + ")"))
        return held

    def _location(self, cells: list[str]) -> str:
        """The location column's cell; without one, the first city, state and country
        cells joined ("Leeds, England, United Kingdom")."""
        whole = cells[self._at["location"]].strip()
        if whole or not self._places:
            return unescape_cell(whole)
        parts: list[str] = []
        for columns in self._places:
            for index in columns:
                part = unescape_cell(cells[index].strip())
                if part:
                    if not parts or parts[-1].casefold() != part.casefold():
                        parts.append(part)  # "Singapore, Singapore" once
                    break
        return ", ".join(parts)

    def _custom_fields(self, cells: list[str], errors: list[FieldError]) -> str | None:
        raw = cells[self._at["custom_fields"]].strip()
        document: dict[str, object] = {}
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                errors.append(FieldError("custom_fields", "must be a JSON object"))
                return None
            document.update(parsed)
        for key, index in self._custom:
            value = cells[index].strip()
            if value:
                document[key] = value
        profile = cells[self._at["linkedin_url"]].strip()
        if profile:
            try:
                document["linkedin_url"] = linkedin_url(profile)
            except ValueError as invalid:
                errors.append(FieldError("linkedin_url", str(invalid)))
        location = self._location(cells)
        if len(location) > MAX_LOCATION:
            errors.append(FieldError("location", f"must be at most {MAX_LOCATION} characters"))
        elif location:
            document["location"] = location
        if not document:
            return None
        encoded = json.dumps(document, ensure_ascii=False)
        if len(encoded) > MAX_CUSTOM_FIELDS_BYTES:
            errors.append(FieldError("custom_fields",
                                     f"must be at most {MAX_CUSTOM_FIELDS_BYTES} bytes"))
        return encoded


def import_email(cell: str) -> str:
    """``normalise_email`` of a trimmed cell, with one regular expression for the clean
    address most rows hold; anything else gets the full check (and its message)."""
    email = cell.lower()
    if len(email) <= 254 and _CLEAN_EMAIL.fullmatch(email) and email.index("@") <= 64:
        top = email.rpartition(".")[2]
        if not top.isdigit() and top not in UNDELIVERABLE_TLDS and "xn--" not in email:
            return email  # punycode goes to the full check, which stores it in Unicode
    return normalise_email(cell)


def linkedin_url(cell: str) -> str:
    """A LinkedIn page's address on https (``www.linkedin.com/in/ada`` may omit the
    scheme); ValueError, with the reason, for anything else."""
    value = unescape_cell(cell.strip())
    if not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a bad port or bracketed host
        raise ValueError(_not_linkedin(cell)) from None
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")) or port is not None \
            or "@" in parts.netloc or " " in value or not value.isprintable():
        raise ValueError(_not_linkedin(cell))
    url = urlunsplit(("https", host, parts.path, parts.query, parts.fragment))
    if len(url) > MAX_LINKEDIN_URL:
        raise ValueError(f"must be at most {MAX_LINKEDIN_URL} characters")
    return url


def _not_linkedin(cell: str) -> str:
    shown = cell.strip() if len(cell.strip()) <= 80 else cell.strip()[:80] + "..."
    return f"{shown!r} is not a LinkedIn address (https://www.linkedin.com/in/...)"


def _lookup(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """A stage or status by its key or its label, case-insensitively."""
    found: dict[str, str] = {}
    for key, label in pairs:
        found.setdefault(label.lower(), key)
    for key, _ in pairs:
        found[key.lower()] = key
    return found


def _split_name(full: str) -> tuple[str | None, str | None]:
    if not full:
        return None, None
    first, _, last = unescape_cell(full).partition(" ")
    return first[:MAX_NAME] or None, last.strip()[:MAX_NAME] or None
