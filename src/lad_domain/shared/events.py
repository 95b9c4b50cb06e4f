"""Domain events: recorded by aggregates, stored in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class DomainEvent:
    id: uuid.UUID
    tenant_id: uuid.UUID | None
    event_type: str
    payload: dict[str, Any]
    occurred_at: datetime
    aggregate_type: str = ""
    aggregate_id: str = ""


@attrs.define
class Outbox:
    """Events waiting for the unit of work to store them when it commits."""

    pending: list[DomainEvent] = attrs.field(factory=list)

    def add(self, event: DomainEvent) -> None:
        self.pending.append(event)

    def drain(self) -> list[DomainEvent]:
        events, self.pending = self.pending, []
        return events
