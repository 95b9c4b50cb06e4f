"""The leads context's domain events: leads, what hangs off them, the pipeline and imports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

import attrs

from lad_domain.leads.activity_model import BookingStatus
from lad_domain.shared.events import Event


@attrs.frozen
class LeadEvent(Event):
    """Something happened to a lead, or to what hangs off it."""

    aggregate_type: ClassVar[str] = "lead"
    aggregate_id: uuid.UUID


@attrs.frozen
class PipelineEvent(Event):
    """The tenant's pipeline changed; its id is the tenant's."""

    aggregate_type: ClassVar[str] = "pipeline"
    aggregate_id: uuid.UUID


# --- leads ----------------------------------------------------------------------------------


@attrs.frozen
class LeadCreated(LeadEvent):
    event_type: ClassVar[str] = "lead.created"
    stage: str
    status: str


@attrs.frozen
class LeadUpdated(LeadEvent):
    event_type: ClassVar[str] = "lead.updated"
    fields: tuple[str, ...]  # the names the caller changed, sorted


@attrs.frozen
class LeadOwnerAssigned(LeadEvent):
    event_type: ClassVar[str] = "lead.owner_assigned"
    owner_id: uuid.UUID | None


@attrs.frozen
class LeadDeleted(LeadEvent):
    event_type: ClassVar[str] = "lead.deleted"


@attrs.frozen
class LeadRestored(LeadEvent):
    event_type: ClassVar[str] = "lead.restored"


@attrs.frozen
class LeadStageChanged(LeadEvent):
    event_type: ClassVar[str] = "lead.stage_changed"
    from_stage: str
    to_stage: str

    def payload(self) -> dict[str, Any]:
        return {"from": self.from_stage, "to": self.to_stage}


# --- what hangs off a lead (the aggregate is the lead) -------------------------------------


@attrs.frozen
class NoteChanged(LeadEvent):
    """A note was added, edited or deleted; each subclass names which."""

    note_id: uuid.UUID


@attrs.frozen
class NoteAdded(NoteChanged):
    event_type: ClassVar[str] = "lead.note_added"


@attrs.frozen
class NoteEdited(NoteChanged):
    event_type: ClassVar[str] = "lead.note_edited"


@attrs.frozen
class NoteDeleted(NoteChanged):
    event_type: ClassVar[str] = "lead.note_deleted"


@attrs.frozen
class AttachmentChanged(LeadEvent):
    """An attachment was added or deleted; each subclass names which."""

    attachment_id: uuid.UUID


@attrs.frozen
class AttachmentAdded(AttachmentChanged):
    event_type: ClassVar[str] = "lead.attachment_added"


@attrs.frozen
class AttachmentDeleted(AttachmentChanged):
    event_type: ClassVar[str] = "lead.attachment_deleted"


@attrs.frozen
class SocialUpdated(LeadEvent):
    event_type: ClassVar[str] = "lead.social_updated"
    keys: tuple[str, ...]  # the keys merged, sorted


@attrs.frozen
class BookingScheduled(LeadEvent):
    event_type: ClassVar[str] = "lead.booking_scheduled"
    booking_id: uuid.UUID
    scheduled_at: datetime


@attrs.frozen
class BookingChanged(LeadEvent):
    """A booking moved on; each subclass names how."""

    booking_id: uuid.UUID
    status: BookingStatus
    retry_count: int


@attrs.frozen
class BookingCompleted(BookingChanged):
    event_type: ClassVar[str] = "lead.booking_completed"


@attrs.frozen
class BookingCancelled(BookingChanged):
    event_type: ClassVar[str] = "lead.booking_cancelled"


@attrs.frozen
class BookingAttemptFailed(BookingChanged):
    event_type: ClassVar[str] = "lead.booking_attempt_failed"


@attrs.frozen
class BookingRescheduled(BookingChanged):
    event_type: ClassVar[str] = "lead.booking_rescheduled"


# --- the pipeline (the aggregate is the tenant's pipeline: its id is the tenant's) ---------


@attrs.frozen
class EntryAdded(PipelineEvent):
    """A stage or status was added at the end; each subclass names which."""

    key: str


@attrs.frozen
class StageAdded(EntryAdded):
    event_type: ClassVar[str] = "pipeline.stage_added"


@attrs.frozen
class StatusAdded(EntryAdded):
    event_type: ClassVar[str] = "pipeline.status_added"


@attrs.frozen
class EntryRenamed(PipelineEvent):
    key: str
    label: str


@attrs.frozen
class StageRenamed(EntryRenamed):
    event_type: ClassVar[str] = "pipeline.stage_renamed"


@attrs.frozen
class StatusRenamed(EntryRenamed):
    event_type: ClassVar[str] = "pipeline.status_renamed"


@attrs.frozen
class EntryDeleted(PipelineEvent):
    """A stage or status was deleted; ``moved`` leads went to ``moved_to``."""

    key: str
    moved_to: str
    moved: int


@attrs.frozen
class StageDeleted(EntryDeleted):
    event_type: ClassVar[str] = "pipeline.stage_deleted"


@attrs.frozen
class StatusDeleted(EntryDeleted):
    event_type: ClassVar[str] = "pipeline.status_deleted"


@attrs.frozen
class StagesReordered(PipelineEvent):
    event_type: ClassVar[str] = "pipeline.stages_reordered"
    keys: tuple[str, ...]


# --- imports (the aggregate is the tenant) --------------------------------------------------


@attrs.frozen
class LeadsImported(Event):
    event_type: ClassVar[str] = "leads.imported"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID
    created: int
    updated: int
    skipped: int
    rejected: int
