"""The ICP assistant's domain events."""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class ConversationStarted(Event):
    aggregate_type: ClassVar[str] = "icp_conversation"
    event_type: ClassVar[str] = "icp.conversation_started"
    aggregate_id: uuid.UUID


@attrs.frozen
class IcpUpdated(Event):
    """A turn changed the conversation's ICP: the fields it changed."""

    aggregate_type: ClassVar[str] = "icp_conversation"
    event_type: ClassVar[str] = "icp.updated"
    aggregate_id: uuid.UUID
    fields: tuple[str, ...]


@attrs.frozen
class ProfileChanged(Event):
    aggregate_type: ClassVar[str] = "icp_profile"
    event_type: ClassVar[str] = "icp.profile_changed"
    aggregate_id: uuid.UUID
    change: str  # saved, updated, deleted, used
