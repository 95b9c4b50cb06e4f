"""The voice context's domain events. A call's events name its lead too, so that a lead's
history shows its calls."""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class VoiceSetupChanged(Event):
    """An agent, number, voice, profile or grant was added, changed or removed."""

    aggregate_type: ClassVar[str] = "voice"
    event_type: ClassVar[str] = "voice.setup_changed"
    aggregate_id: uuid.UUID | int
    what: str
    change: str


@attrs.frozen
class BatchEvent(Event):
    aggregate_type: ClassVar[str] = "call_batch"
    aggregate_id: uuid.UUID


@attrs.frozen
class BatchCreated(BatchEvent):
    event_type: ClassVar[str] = "call_batch.created"
    entries: int
    skipped: int


@attrs.frozen
class BatchStatusChanged(BatchEvent):
    event_type: ClassVar[str] = "call_batch.status_changed"
    status: str


@attrs.frozen
class LeadCallChanged(Event):
    """A call to a lead was placed, or moved (ringing, answered, ended): on the lead's
    history (its aggregate is the lead)."""

    aggregate_type: ClassVar[str] = "lead"
    event_type: ClassVar[str] = "lead.call"
    aggregate_id: uuid.UUID
    call_id: uuid.UUID
    status: str
    duration_seconds: int | None = None
    cost: str | None = None


@attrs.frozen
class CallBilled(Event):
    aggregate_type: ClassVar[str] = "call"
    event_type: ClassVar[str] = "call.billed"
    aggregate_id: uuid.UUID
    lead_id: uuid.UUID | None
    amount: str
    seconds: int
    adjustment: bool = False


@attrs.frozen
class DoNotCallRequested(Event):
    """The lead asked during a call not to be called again: suppressed, entries cancelled."""

    aggregate_type: ClassVar[str] = "lead"
    event_type: ClassVar[str] = "lead.do_not_call"
    aggregate_id: uuid.UUID
    call_id: uuid.UUID
    cancelled_entries: int
