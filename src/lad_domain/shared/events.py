"""Domain events: each context declares its events as frozen classes (its ``events.py``);
the tenant scope records them in the unit of work's outbox, and the unit of work stores them
in ``domain_events`` in the same transaction as the change."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs


class Event:
    """Base of every event class. A subclass is an ``@attrs.frozen`` class that names its
    ``event_type`` and ``aggregate_type``; its first field, ``aggregate_id``, says which
    aggregate changed, and its other fields are the stored payload."""

    event_type: ClassVar[str]
    aggregate_type: ClassVar[str]
    __attrs_attrs__: ClassVar[Any]  # set by @attrs.frozen on every subclass

    def aggregate_key(self) -> str:
        return str(getattr(self, "aggregate_id"))  # noqa: B009 - every subclass has it

    def payload(self) -> dict[str, Any]:
        """The fields other than ``aggregate_id``, as JSON values."""
        fields = attrs.asdict(self, recurse=False)
        fields.pop("aggregate_id", None)
        return {name: _plain(value) for name, value in fields.items()}


def _plain(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    return value


@attrs.frozen
class DomainEvent:
    """An event as stored: the envelope written to ``domain_events``."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    event_type: str
    payload: dict[str, Any]
    occurred_at: datetime
    aggregate_type: str = ""
    aggregate_id: str = ""

    @classmethod
    def of(cls, event: Event, *, id: uuid.UUID, tenant_id: uuid.UUID | None,
           occurred_at: datetime) -> DomainEvent:
        return cls(id=id, tenant_id=tenant_id, event_type=event.event_type,
                   payload=event.payload(), occurred_at=occurred_at,
                   aggregate_type=event.aggregate_type, aggregate_id=event.aggregate_key())


@attrs.define
class Outbox:
    """Events waiting for the unit of work to store them when it commits."""

    pending: list[DomainEvent] = attrs.field(factory=list)

    def add(self, event: DomainEvent) -> None:
        self.pending.append(event)

    def drain(self) -> list[DomainEvent]:
        events, self.pending = self.pending, []
        return events
