"""Every leads event class has its own event_type and stores the payload it always stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lad_domain.leads import events
from lad_domain.leads.activity_model import BookingStatus
from lad_domain.shared.events import Event
from tests.unit.shared.event_table import check_event_table

A, B = uuid.UUID(int=1), uuid.UUID(int=2)
AT = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
CHANGE = {"aggregate_id": A, "booking_id": B, "status": BookingStatus.FAILED, "retry_count": 2}
DELETED = {"aggregate_id": A, "key": "won", "moved_to": "lost", "moved": 3}

STORED: list[tuple[Event, dict[str, object]]] = [
    (events.LeadCreated(A, "new", "open"), {"stage": "new", "status": "open"}),
    (events.LeadUpdated(A, ("email", "phone")), {"fields": ["email", "phone"]}),
    (events.LeadOwnerAssigned(A, None), {"owner_id": None}),
    (events.LeadOwnerAssigned(A, B), {"owner_id": str(B)}),
    (events.LeadDeleted(A), {}),
    (events.LeadRestored(A), {}),
    (events.LeadStageChanged(A, "new", "won"), {"from": "new", "to": "won"}),
    (events.NoteAdded(A, B), {"note_id": str(B)}),
    (events.NoteEdited(A, B), {"note_id": str(B)}),
    (events.NoteDeleted(A, B), {"note_id": str(B)}),
    (events.AttachmentAdded(A, B), {"attachment_id": str(B)}),
    (events.AttachmentDeleted(A, B), {"attachment_id": str(B)}),
    (events.SocialUpdated(A, ("a", "b")), {"keys": ["a", "b"]}),
    (events.BookingScheduled(A, B, AT),
     {"booking_id": str(B), "scheduled_at": "2026-01-02T09:30:00+00:00"}),
    *[(cls(**CHANGE), {"booking_id": str(B), "status": "failed", "retry_count": 2})
      for cls in (events.BookingCompleted, events.BookingCancelled,
                  events.BookingAttemptFailed, events.BookingRescheduled)],
    (events.StageAdded(A, "won"), {"key": "won"}),
    (events.StatusAdded(A, "open"), {"key": "open"}),
    (events.StageRenamed(A, "won", "Won"), {"key": "won", "label": "Won"}),
    (events.StatusRenamed(A, "open", "Open"), {"key": "open", "label": "Open"}),
    (events.StagesReordered(A, ("b", "a")), {"keys": ["b", "a"]}),
    (events.StageDeleted(**DELETED), {"key": "won", "moved_to": "lost", "moved": 3}),
    (events.StatusDeleted(**DELETED), {"key": "won", "moved_to": "lost", "moved": 3}),
    (events.LeadsImported(A, 1, 2, 3, 4),
     {"created": 1, "updated": 2, "skipped": 3, "rejected": 4}),
]


def test_each_event_class_has_its_own_type_and_stores_its_payload() -> None:
    check_event_table(events, STORED)
