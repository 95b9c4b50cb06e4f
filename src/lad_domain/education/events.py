"""The education context's domain events: students and counsellors."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class StudentEvent(Event):
    aggregate_type: ClassVar[str] = "student"
    aggregate_id: uuid.UUID


@attrs.frozen
class CounsellorEvent(Event):
    aggregate_type: ClassVar[str] = "counsellor"
    aggregate_id: uuid.UUID


@attrs.frozen
class StudentEnrolled(StudentEvent):
    event_type: ClassVar[str] = "student.enrolled"
    lead_id: uuid.UUID


@attrs.frozen
class StudentRemoved(StudentEvent):
    event_type: ClassVar[str] = "student.removed"


@attrs.frozen
class CounsellorAssigned(StudentEvent):
    """The student moved from one caseload (or none) to another (or none)."""

    event_type: ClassVar[str] = "student.counsellor_assigned"
    from_counsellor: uuid.UUID | None
    to_counsellor: uuid.UUID | None

    def payload(self) -> dict[str, Any]:
        return {"from": _text(self.from_counsellor), "to": _text(self.to_counsellor)}


@attrs.frozen
class CounsellorAdded(CounsellorEvent):
    event_type: ClassVar[str] = "counsellor.added"
    user_id: uuid.UUID
    counselor_code: str


@attrs.frozen
class CounsellorRemoved(CounsellorEvent):
    event_type: ClassVar[str] = "counsellor.removed"
    moved: int  # students moved to another caseload in the same step


@attrs.frozen
class CaseloadMoved(CounsellorEvent):
    event_type: ClassVar[str] = "counsellor.caseload_moved"
    to: uuid.UUID
    moved: int


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
