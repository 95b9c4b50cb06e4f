"""The Lead aggregate, its stage history and the tenant's pipeline (stages and statuses)."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from lad_domain.shared.clock import aware_utc
from lad_domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed

MAX_NAME = 100
MAX_EMAIL = 254
MAX_COMPANY = 200
MAX_TITLE = 200
MAX_SOURCE = 64
MAX_LABEL = 100
MAX_CUSTOM_FIELDS_BYTES = 16 * 1024

#: What a new tenant's pipeline starts with: (key, label) in display order.
DEFAULT_STAGES = (
    ("new", "New"),
    ("contacted", "Contacted"),
    ("qualified", "Qualified"),
    ("meeting", "Meeting booked"),
    ("proposal", "Proposal sent"),
    ("won", "Won"),
    ("lost", "Lost"),
)
DEFAULT_STATUSES = (
    ("open", "Open"),
    ("follow_up", "Follow up"),
    ("unresponsive", "Unresponsive"),
    ("do_not_contact", "Do not contact"),
)


class InvalidPhoneNumber(ValueError):
    """Raised by a PhoneNumberParser; its message is the reason, safe to show."""


@attrs.frozen
class PipelineEntry:
    """A stage or a status: its key, its label and its place in the pipeline."""

    key: str
    label: str
    display_order: int
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class Stage(PipelineEntry):
    """A step of the pipeline; a lead is at one stage at a time, with a history."""


@attrs.frozen
class Status(PipelineEntry):
    """A lead's standing, independent of its stage."""


@attrs.frozen
class StageChange:
    """One entry of a lead's stage history."""

    id: uuid.UUID
    lead_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    changed_at: datetime
    changed_by: uuid.UUID | None = None


@attrs.define
class Lead:
    id: uuid.UUID
    tenant_id: uuid.UUID
    stage: str
    status: str
    created_at: datetime
    updated_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    owner_id: uuid.UUID | None = None
    source: str | None = None
    custom_fields: dict[str, Any] = attrs.field(factory=dict)
    created_by: uuid.UUID | None = None
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or self.phone or str(self.id)

    def move_to(self, stage: str, at: datetime, by: uuid.UUID | None,
                change_id: uuid.UUID) -> StageChange | None:
        """Move to ``stage``; None when the lead is already there (nothing to record)."""
        self._ensure_live()
        if stage == self.stage:
            return None
        change = StageChange(id=change_id, lead_id=self.id, from_stage=self.stage,
                             to_stage=stage, changed_at=at, changed_by=by)
        self.stage = stage
        self.updated_at = at
        return change

    def assign(self, owner_id: uuid.UUID | None, at: datetime) -> None:
        self._ensure_live()
        self.owner_id = owner_id
        self.updated_at = at

    def soft_delete(self, at: datetime) -> None:
        self._ensure_live()
        self.deleted_at = at
        self.updated_at = at

    def restore(self, at: datetime) -> None:
        if self.deleted_at is None:
            raise Conflict("this lead is not deleted")
        self.deleted_at = None
        self.updated_at = at

    def _ensure_live(self) -> None:
        if self.deleted_at is not None:
            raise NotFound("lead not found")


@attrs.frozen
class LeadFilter:
    """Filters of a lead listing; every one is optional and they combine with AND."""

    stage: str | None = None
    status: str | None = None
    owner_id: uuid.UUID | None = None
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def __attrs_post_init__(self) -> None:
        for field in ("created_from", "created_to"):
            at = getattr(self, field)
            if at is not None:
                object.__setattr__(self, field, aware_utc(at, field=field))
        if self.text is not None and len(self.text) > 200:
            raise ValidationFailed.single("q", "must be at most 200 characters")
        for field, text in (("q", self.text), ("stage", self.stage), ("status", self.status)):
            if text is not None and "\x00" in text:
                raise ValidationFailed.single(field, "must not contain NUL characters")

    def matches(self, lead: Lead) -> bool:
        """The same rule the SQL adapters apply, for the in-memory adapter."""
        if self.stage is not None and lead.stage != self.stage:
            return False
        if self.status is not None and lead.status != self.status:
            return False
        if self.owner_id is not None and lead.owner_id != self.owner_id:
            return False
        if self.created_from is not None and lead.created_at < self.created_from:
            return False
        if self.created_to is not None and lead.created_at >= self.created_to:
            return False
        if self.text:
            needle = self.text.lower()
            fields = (lead.first_name, lead.last_name, lead.email, lead.company)
            return any(f is not None and needle in f.lower() for f in fields)
        return True


@attrs.define
class Pipeline:
    """A tenant's stages (ordered) and statuses; the rules that span them live here."""

    stages: list[Stage]
    statuses: list[Status]

    def stage(self, key: str, *, field: str = "stage") -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise ValidationFailed.single(field, f"{key!r} is not a stage of this pipeline")

    def status(self, key: str, *, field: str = "status") -> Status:
        for status in self.statuses:
            if status.key == key:
                return status
        raise ValidationFailed.single(field, f"{key!r} is not a status of this pipeline")

    @property
    def default_stage(self) -> str:
        if not self.stages:
            raise Conflict("this tenant's pipeline has no stages; add one first")
        return min(self.stages, key=lambda s: s.display_order).key

    @property
    def default_status(self) -> str:
        if not self.statuses:
            raise Conflict("this tenant's pipeline has no statuses; add one first")
        return min(self.statuses, key=lambda s: (s.display_order, s.key)).key

    def reordered(self, keys: Sequence[str], at: datetime) -> list[Stage]:
        """The stages renumbered in the order of ``keys``, which must name each exactly once."""
        known = {s.key: s for s in self.stages}
        if sorted(keys) != sorted(known):
            raise ValidationFailed.single(
                "keys", f"must list every stage exactly once: {', '.join(sorted(known))}")
        return [attrs.evolve(known[k], display_order=i, updated_at=at)
                for i, k in enumerate(keys)]


class OnDuplicate(enum.StrEnum):
    """What an import does with a row whose email belongs to a live lead."""

    SKIP = "skip"
    UPDATE = "update"


def parse_on_duplicate(value: OnDuplicate | str) -> OnDuplicate:
    try:
        return OnDuplicate(value)
    except ValueError:
        raise ValidationFailed.single("on_duplicate", "must be skip or update") from None


def optional_text(value: object, *, field: str, max_length: int,
                  errors: list[FieldError]) -> str | None:
    """Trimmed text or None when blank; problems are appended to ``errors``."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be text"))
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > max_length:
        errors.append(FieldError(field, f"must be at most {max_length} characters"))
    elif "\x00" in text:
        errors.append(FieldError(field, "must not contain NUL characters"))
    return text


MAX_JSON_DEPTH = 16


def shallow_enough(value: object, depth: int = MAX_JSON_DEPTH) -> bool:
    """At most ``depth`` levels of objects and arrays (so encoding never recurses deeply)."""
    if isinstance(value, dict | list):
        if depth == 0:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(shallow_enough(item, depth - 1) for item in items)
    return True


def custom_fields(value: object, *, field: str = "custom_fields") -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValidationFailed.single(field, "must be a JSON object")
    if not shallow_enough(value):
        raise ValidationFailed.single(field, f"must be at most {MAX_JSON_DEPTH} levels deep")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationFailed.single(field, "must hold only JSON values") from None
    if len(encoded.encode()) > MAX_CUSTOM_FIELDS_BYTES:
        raise ValidationFailed.single(field, f"must be at most {MAX_CUSTOM_FIELDS_BYTES} bytes")
    if "\\u0000" in encoded:
        raise ValidationFailed.single(field, "must not contain NUL characters")
    return dict(value)
