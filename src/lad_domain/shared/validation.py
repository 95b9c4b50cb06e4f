"""Checks on plain values that several contexts share (emails, names, keys)."""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import TypeVar

from lad_domain.shared.errors import ValidationFailed

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


def normalise_email(value: object, *, field: str = "email") -> str:
    """Trim and lower-case an address; emails are unique case-insensitively."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(field, "is required")
    email = value.strip().lower()
    local = email.rpartition("@")[0]
    if len(email) > 254 or len(local) > 64 or not _EMAIL.match(email) or ".." in email:
        raise ValidationFailed.single(field, f"{value.strip()!r} is not a valid email address")
    return email


def required_text(value: object, *, field: str, max_length: int = 200) -> str:
    """Non-blank text, trimmed. NUL and other control characters but tab and newline are
    refused: PostgreSQL text cannot hold NUL, and no user text needs an escape sequence."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(field, "is required")
    text = value.strip()
    if len(text) > max_length:
        raise ValidationFailed.single(field, f"must be at most {max_length} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise ValidationFailed.single(field, "must not contain control characters")
    return text


def plain_text(value: object, *, field: str, max_length: int = 200) -> str:
    """A required one-line name or label: no control characters at all."""
    text = required_text(value, field=field, max_length=max_length)
    if any(ch in "\t\n\r" for ch in text):
        raise ValidationFailed.single(field, "must be a single line")
    return text


def key(value: object, *, field: str) -> str:
    """A machine key (feature, flag, capability, stage): lower-case, starts with a letter."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise ValidationFailed.single(
            field, "must be 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter"
        )
    return value


E = TypeVar("E", bound=enum.StrEnum)


def choice(kind: type[E], value: object, *, field: str) -> E:
    """One of an enumeration's values, or a ValidationFailed on ``field`` listing them."""
    try:
        return kind(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "must be one of " + ", ".join(
            member.value for member in kind)) from None
