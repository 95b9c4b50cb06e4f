"""The per-row check of an import: the hot loop, so it works on plain lists and tuples and
raises nothing for a valid row."""

from __future__ import annotations

import json
import re
import uuid
from functools import partial
from itertools import chain

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
from lad_domain.shared.validation import normalise_email

IMPORT_SOURCE = "import"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: The common clean address once lower-cased: ASCII atoms joined by single dots, then host
#: labels. It is a subset of what ``normalise_email`` accepts, so one match gives its answer.
_CLEAN_EMAIL = re.compile(rf"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@{_LABEL}(?:\.{_LABEL})+")
_ID_BLOCK = 1000
_LIMITS = (("first_name", MAX_NAME), ("last_name", MAX_NAME), ("company", MAX_COMPANY),
           ("title", MAX_TITLE), ("source", MAX_SOURCE))


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
            "stage", "status", "owner", "source", "custom_fields")}
        self._custom = columns.custom
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
                errors.append(FieldError("phone", str(invalid)))
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
        custom = self._custom_fields(cells, errors)
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
        return email
    return normalise_email(cell)


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
