"""What hangs off a lead: notes, attachments, social data and bookings."""

from __future__ import annotations

import enum
import json
import re
import unicodedata
import uuid
from datetime import datetime, timedelta
from typing import Any

import attrs

from lad_domain.leads.model import MAX_JSON_DEPTH, shallow_enough
from lad_domain.shared.clock import aware_utc
from lad_domain.shared.errors import Conflict, ValidationFailed

MAX_NOTE_LENGTH = 10_000
MAX_SOCIAL_BYTES = 64 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME = 255
#: What an attachment may be; anything else (executables, HTML, SVG with scripts) is refused.
ATTACHMENT_CONTENT_TYPES = frozenset({
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})
MAX_BOOKING_RETRIES = 3
BOOKING_BACKOFF = timedelta(minutes=15)
MAX_BOOKING_BACKOFF = timedelta(hours=24)


@attrs.define
class Note:
    id: uuid.UUID
    lead_id: uuid.UUID
    author_id: uuid.UUID | None
    content: str
    created_at: datetime
    updated_at: datetime

    def edit(self, content: str, at: datetime) -> None:
        self.content = note_content(content)
        self.updated_at = at


def note_content(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single("content", "is required")
    if len(value) > MAX_NOTE_LENGTH:
        raise ValidationFailed.single("content", f"must be at most {MAX_NOTE_LENGTH} characters")
    if "\x00" in value:
        raise ValidationFailed.single("content", "must not contain NUL characters")
    return value.strip()


@attrs.frozen
class Attachment:
    """File metadata; the bytes live behind the storage port under ``storage_key``, a key
    made of ids only, so the uploaded file name never becomes a path."""

    id: uuid.UUID
    lead_id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    storage_key: str
    checksum_sha256: str
    created_at: datetime
    uploaded_by: uuid.UUID | None = None


def attachment_content_type(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationFailed.single("content_type", "is required")
    media_type = value.split(";", 1)[0].strip().lower()
    if media_type not in ATTACHMENT_CONTENT_TYPES:
        raise ValidationFailed.single(
            "content_type", f"{media_type or 'none'!r} is not allowed; allowed: "
            + ", ".join(sorted(ATTACHMENT_CONTENT_TYPES)))
    return media_type


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|;]+")


def display_file_name(value: object) -> str:
    """A file name fit to show and to put in Content-Disposition: the last path segment,
    without control or path characters. It is never used to build a path."""
    raw = value if isinstance(value, str) else ""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", name)).strip(" .")
    return name[:MAX_FILE_NAME] or "attachment"


@attrs.define
class SocialProfile:
    """One JSON document per lead (profiles, handles, follower counts ...)."""

    lead_id: uuid.UUID
    data: dict[str, Any]
    updated_at: datetime

    def merge(self, patch: dict[str, Any], at: datetime) -> None:
        """JSON Merge Patch (RFC 7386): objects merge, null removes a key."""
        merged = merge_patch(self.data, social_document(patch))
        if len(json.dumps(merged, ensure_ascii=False).encode()) > MAX_SOCIAL_BYTES:
            raise ValidationFailed.single("data", f"must stay under {MAX_SOCIAL_BYTES} bytes")
        self.data = merged
        self.updated_at = at


def social_document(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValidationFailed.single("data", "must be a JSON object")
    if not shallow_enough(value):
        raise ValidationFailed.single("data", f"must be at most {MAX_JSON_DEPTH} levels deep")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationFailed.single("data", "must hold only JSON values") from None
    if "\\u0000" in encoded:
        raise ValidationFailed.single("data", "must not contain NUL characters")
    if len(encoded.encode()) > MAX_SOCIAL_BYTES:
        raise ValidationFailed.single("data", f"must be at most {MAX_SOCIAL_BYTES} bytes")
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class BookingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@attrs.define
class Booking:
    """A call with a lead at ``scheduled_at``. A failed attempt is retried at
    ``next_attempt_at``, after a doubling backoff, until ``MAX_BOOKING_RETRIES`` retries have
    been made; the next failure fails the booking for good."""

    id: uuid.UUID
    lead_id: uuid.UUID
    scheduled_at: datetime
    created_at: datetime
    updated_at: datetime
    status: BookingStatus = BookingStatus.SCHEDULED
    retry_count: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    notes: str | None = None
    created_by: uuid.UUID | None = None

    def complete(self, at: datetime) -> None:
        self._ensure_scheduled()
        self.status = BookingStatus.COMPLETED
        self.updated_at = at

    def cancel(self, at: datetime) -> None:
        self._ensure_scheduled()
        self.status = BookingStatus.CANCELLED
        self.updated_at = at

    def reschedule(self, scheduled_at: datetime, now: datetime) -> None:
        """A new time agreed with the lead: the retries start over."""
        self._ensure_scheduled()
        self.scheduled_at = future_time(scheduled_at, now)
        self.retry_count, self.next_attempt_at, self.last_error = 0, None, None
        self.updated_at = now

    def record_failure(self, now: datetime, error: str | None = None) -> None:
        """The attempt failed: try again after the backoff, or fail for good."""
        self._ensure_scheduled()
        self.last_error = error
        if self.retry_count >= MAX_BOOKING_RETRIES:
            self.status = BookingStatus.FAILED
            self.next_attempt_at = None
        else:
            self.retry_count += 1
            self.next_attempt_at = now + backoff(self.retry_count)
        self.updated_at = now

    @property
    def due_at(self) -> datetime:
        return self.next_attempt_at or self.scheduled_at

    def _ensure_scheduled(self) -> None:
        if self.status is not BookingStatus.SCHEDULED:
            raise Conflict(f"the booking is already {self.status}")


def backoff(retry: int) -> timedelta:
    """15 minutes, then 30, 60 ... capped at a day."""
    delay: timedelta = BOOKING_BACKOFF * (2 ** (retry - 1))
    return min(delay, MAX_BOOKING_BACKOFF)


def booking_text(value: object, *, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTE_LENGTH or "\x00" in value:
        raise ValidationFailed.single(field, f"must be text of at most {MAX_NOTE_LENGTH} "
                                      "characters")
    return value.strip() or None


def future_time(at: datetime, now: datetime, *, field: str = "scheduled_at") -> datetime:
    at = aware_utc(at, field=field)
    if at <= now:
        raise ValidationFailed.single(field, "must be in the future")
    return at
