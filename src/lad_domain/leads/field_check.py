"""Checking a lead's fields as a caller gives them (create and update): every problem at once,
each naming its field."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from lad_domain.leads.model import (
    MAX_COMPANY,
    MAX_NAME,
    MAX_SOURCE,
    MAX_TITLE,
    InvalidPhoneNumber,
    custom_fields,
    optional_text,
)
from lad_domain.leads.ports import PhoneNumberParser
from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_domain.shared.validation import normalise_email

TEXT_FIELDS = {"first_name": MAX_NAME, "last_name": MAX_NAME, "company": MAX_COMPANY,
               "title": MAX_TITLE, "source": MAX_SOURCE}
#: What create and update accept; ``phone_region`` only helps read ``phone``.
LEAD_FIELDS = frozenset({*TEXT_FIELDS, "email", "phone", "phone_region", "stage", "status",
                         "owner_id", "custom_fields"})
IDENTIFYING = ("first_name", "last_name", "email", "phone")


def clean_lead_fields(values: Mapping[str, object], phones: PhoneNumberParser
                      ) -> dict[str, Any]:
    """The given fields, trimmed and normalised (a blank or null value becomes None).

    Stage, status and owner are only shaped here; whether they exist in the tenant is the
    use case's check."""
    errors: list[FieldError] = [FieldError(k, "is not a lead field")
                                for k in values if k not in LEAD_FIELDS]
    clean: dict[str, Any] = {}
    for name, limit in TEXT_FIELDS.items():
        if name in values:
            clean[name] = optional_text(values[name], field=name, max_length=limit,
                                        errors=errors)
    if "email" in values:
        clean["email"] = _email(values["email"], errors)
    if "phone" in values:
        clean["phone"] = _phone(values["phone"], values.get("phone_region"), phones, errors)
    for name in ("stage", "status"):
        if name in values:
            clean[name] = optional_text(values[name], field=name, max_length=64, errors=errors)
    if "owner_id" in values:
        clean["owner_id"] = _owner(values["owner_id"], errors)
    if "custom_fields" in values:
        raw = values["custom_fields"]
        try:
            clean["custom_fields"] = {} if raw is None else custom_fields(raw)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def ensure_identifiable(fields: Mapping[str, Any]) -> None:
    if not any(fields.get(name) for name in IDENTIFYING):
        raise ValidationFailed.single(
            "email", "a lead needs at least a first name, a last name, an email or a phone")


def _email(value: object, errors: list[FieldError]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return normalise_email(value)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
        return None


def _phone(value: object, region: object, phones: PhoneNumberParser,
           errors: list[FieldError]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        errors.append(FieldError("phone", "must be text"))
        return None
    if region is not None and not (isinstance(region, str) and len(region) == 2
                                   and region.isalpha()):
        errors.append(FieldError("phone_region", "must be a two-letter country code"))
        return None
    try:
        return phones.to_e164(value, region=region.upper() if region else None)
    except InvalidPhoneNumber as invalid:
        errors.append(FieldError("phone", str(invalid)))
        return None


def _owner(value: object, errors: list[FieldError]) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        errors.append(FieldError("owner_id", "is not a valid UUID"))
        return None
