"""Every education event class has its own event_type and stores the payload it always
stored."""

from __future__ import annotations

import uuid

from lad_domain.education import events
from lad_domain.shared.events import Event
from tests.unit.shared.event_table import check_event_table

A, B = uuid.UUID(int=1), uuid.UUID(int=2)

STORED: list[tuple[Event, dict[str, object]]] = [
    (events.StudentEnrolled(A, B), {"lead_id": str(B)}),
    (events.StudentRemoved(A), {}),
    (events.CounsellorAssigned(A, None, B), {"from": None, "to": str(B)}),
    (events.CounsellorAssigned(A, B, None), {"from": str(B), "to": None}),
    (events.CounsellorAdded(A, B, "C1"), {"user_id": str(B), "counselor_code": "C1"}),
    (events.CounsellorRemoved(A, 2), {"moved": 2}),
    (events.CaseloadMoved(A, B, 3), {"to": str(B), "moved": 3}),
]


def test_each_event_class_has_its_own_type_and_stores_its_payload() -> None:
    check_event_table(events, STORED)
