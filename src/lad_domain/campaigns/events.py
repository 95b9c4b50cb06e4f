"""The campaigns context's domain events."""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from lad_domain.shared.events import Event


@attrs.frozen
class CampaignEvent(Event):
    aggregate_type: ClassVar[str] = "campaign"
    aggregate_id: uuid.UUID


@attrs.frozen
class CampaignCreated(CampaignEvent):
    event_type: ClassVar[str] = "campaign.created"
    name: str


@attrs.frozen
class CampaignChanged(CampaignEvent):
    """Renamed, settings or steps changed."""

    event_type: ClassVar[str] = "campaign.changed"
    what: str


@attrs.frozen
class CampaignStatusChanged(CampaignEvent):
    event_type: ClassVar[str] = "campaign.status_changed"
    status: str


@attrs.frozen
class LeadsEnrolled(CampaignEvent):
    event_type: ClassVar[str] = "campaign.leads_enrolled"
    enrolled: int
    skipped: int


@attrs.frozen
class EnrollmentEvent(Event):
    aggregate_type: ClassVar[str] = "enrollment"
    aggregate_id: uuid.UUID


@attrs.frozen
class EnrollmentStopped(EnrollmentEvent):
    event_type: ClassVar[str] = "enrollment.stopped"
    campaign_id: uuid.UUID
    reason: str


@attrs.frozen
class StepSent(EnrollmentEvent):
    event_type: ClassVar[str] = "enrollment.step_sent"
    campaign_id: uuid.UUID
    activity_id: uuid.UUID
    step_order: int
    channel: str


@attrs.frozen
class StepFailed(EnrollmentEvent):
    event_type: ClassVar[str] = "enrollment.step_failed"
    campaign_id: uuid.UUID
    activity_id: uuid.UUID
    reason: str


@attrs.frozen
class SendSettled(EnrollmentEvent):
    """An ``unknown`` send settled by reconcile (sent or not)."""

    event_type: ClassVar[str] = "enrollment.send_settled"
    activity_id: uuid.UUID
    sent: bool
    how: str


@attrs.frozen
class ReplyReceived(EnrollmentEvent):
    event_type: ClassVar[str] = "enrollment.reply_received"
    campaign_id: uuid.UUID
    channel: str
