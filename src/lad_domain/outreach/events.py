"""The outreach context's domain events: templates, sending accounts, suppressions."""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class TemplateEvent(Event):
    aggregate_type: ClassVar[str] = "template"
    aggregate_id: uuid.UUID


@attrs.frozen
class TemplateSaved(TemplateEvent):
    event_type: ClassVar[str] = "template.saved"
    channel: str
    key: str


@attrs.frozen
class TemplateRemoved(TemplateEvent):
    event_type: ClassVar[str] = "template.removed"


@attrs.frozen
class AccountEvent(Event):
    aggregate_type: ClassVar[str] = "outreach_account"
    aggregate_id: uuid.UUID


@attrs.frozen
class AccountConnected(AccountEvent):
    event_type: ClassVar[str] = "outreach_account.connected"
    channel: str


@attrs.frozen
class AccountStatusChanged(AccountEvent):
    event_type: ClassVar[str] = "outreach_account.status_changed"
    status: str
    reason: str | None = None


@attrs.frozen
class AccountRemoved(AccountEvent):
    event_type: ClassVar[str] = "outreach_account.removed"


@attrs.frozen
class AddressSuppressed(Event):
    aggregate_type: ClassVar[str] = "suppression"
    event_type: ClassVar[str] = "suppression.added"
    aggregate_id: uuid.UUID
    channel: str
    reason: str
    lead_id: uuid.UUID | None = None


@attrs.frozen
class SuppressionLifted(Event):
    aggregate_type: ClassVar[str] = "suppression"
    event_type: ClassVar[str] = "suppression.removed"
    aggregate_id: uuid.UUID
