"""Students and counsellors, and the checks on their fields."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from lad_domain.leads.model import optional_text
from lad_domain.shared.errors import FieldError, NotFound, ValidationFailed

MAX_PARENT_NAME = 200
MAX_GRADE = 32
MAX_PROGRAMME = 200
MAX_DISPLAY_NAME = 200
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
STUDENT_FIELDS = frozenset({"student_parent_name", "grade", "intended_programme", "country"})


@attrs.define
class Counsellor:
    """A member who counsels students; known to students by their counselor_code."""

    id: uuid.UUID
    user_id: uuid.UUID
    counselor_code: str
    created_at: datetime
    updated_at: datetime
    display_name: str | None = None
    deleted_at: datetime | None = None


@attrs.define
class Student:
    """A lead's student profile, optionally on one counsellor's caseload."""

    id: uuid.UUID
    lead_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    student_parent_name: str | None = None
    grade: str | None = None
    intended_programme: str | None = None
    country: str | None = None
    counsellor_id: uuid.UUID | None = None
    counsellor_assigned_at: datetime | None = None
    created_by: uuid.UUID | None = None
    deleted_at: datetime | None = None

    def assign(self, counsellor_id: uuid.UUID | None, at: datetime) -> bool:
        """Put the student on a caseload (None: on none); False when nothing changes."""
        if self.deleted_at is not None:
            raise NotFound("student not found")
        if counsellor_id == self.counsellor_id:
            return False
        self.counsellor_id = counsellor_id
        self.counsellor_assigned_at = at if counsellor_id is not None else None
        self.updated_at = at
        return True


def _country_filter(value: str | None) -> str | None:
    """A country to filter by, read as a stored one is ("gb" finds "GB")."""
    return country_code(value)


@attrs.frozen
class StudentFilter:
    counsellor_id: uuid.UUID | None = None
    grade: str | None = None
    country: str | None = attrs.field(default=None, converter=_country_filter)

    def __attrs_post_init__(self) -> None:
        if self.grade is not None and "\x00" in self.grade:
            raise ValidationFailed.single("grade", "must not contain NUL characters")

    def matches(self, student: Student) -> bool:
        return (self.counsellor_id in (None, student.counsellor_id)
                and self.grade in (None, student.grade)
                and self.country in (None, student.country))


def counselor_code(value: object) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CODE.match(code):
        raise ValidationFailed.single(
            "counselor_code", "must be 1-32 letters, digits, '_' or '-', starting with a "
            "letter or digit")
    return code


def country_code(value: object, *, field: str = "country") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationFailed.single(field, "must be a two-letter ISO 3166 country code")
    return code


def display_name(value: object) -> str | None:
    errors: list[FieldError] = []
    name = optional_text(value, field="display_name", max_length=MAX_DISPLAY_NAME,
                         errors=errors)
    if errors:
        raise ValidationFailed(errors)
    return name


def clean_student_fields(values: Mapping[str, object]) -> dict[str, Any]:
    """The given profile fields, trimmed; blank or null clears one."""
    errors = [FieldError(k, "is not a student field") for k in values if k not in STUDENT_FIELDS]
    clean: dict[str, Any] = {}
    for name, limit in (("student_parent_name", MAX_PARENT_NAME), ("grade", MAX_GRADE),
                        ("intended_programme", MAX_PROGRAMME)):
        if name in values:
            clean[name] = optional_text(values[name], field=name, max_length=limit,
                                        errors=errors)
    if "country" in values:
        try:
            clean["country"] = country_code(values["country"])
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean
