"""Campaign ports: campaigns, enrollments, the send ledger, and the narrow cross-tenant
path the worker finds due work by."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from lad_domain.billing.ports import BillingUnitOfWork
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignStatus,
    Claim,
    Enrollment,
    EnrollmentStatus,
    Step,
    StepStats,
)
from lad_domain.leads.model import Lead
from lad_domain.outreach.ports import OutreachUnitOfWork
from lad_domain.shared.pagination import Page, PageRequest


class CampaignRepository(Protocol):
    def add(self, campaign: Campaign) -> None:
        """With its steps and LinkedIn accounts."""
        ...

    def get(self, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign | None:
        """Live campaigns only, with their steps in order; ``lock``: its row held until
        the transaction ends (a campaign's daily cap is counted under it)."""
        ...

    def update(self, campaign: Campaign) -> None:
        """The campaign's row, its steps (replaced) and its LinkedIn accounts."""
        ...

    def list(self, status: CampaignStatus | None, page: PageRequest) -> Page[Campaign]: ...


class EnrollmentRepository(Protocol):
    def add_many(self, enrollments: Sequence[Enrollment]) -> int:
        """Insert those whose lead is not yet in the campaign; returns how many were."""
        ...

    def get(self, enrollment_id: uuid.UUID, *, lock: bool = False) -> Enrollment | None: ...
    def update(self, enrollment: Enrollment) -> None: ...
    def list(self, campaign_id: uuid.UUID, status: EnrollmentStatus | None,
             page: PageRequest) -> Page[Enrollment]: ...

    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[Enrollment]:
        """The lead's open enrollments in every campaign (a reply stops them all)."""
        ...

    def park(self, campaign_id: uuid.UUID, at: datetime) -> int:
        """Pause: every open enrollment keeps its step and due time (parked), none is due."""
        ...

    def stop_open(self, campaign_id: uuid.UUID, reason: str, at: datetime) -> int:
        """Completing or archiving: every open enrollment is stopped with ``reason``."""
        ...

    def unpark(self, campaign_id: uuid.UUID, at: datetime) -> int:
        """Resume: parked enrollments are due when they were."""
        ...

    def counts(self, campaign_id: uuid.UUID) -> dict[EnrollmentStatus, int]: ...


class ActivityRepository(Protocol):
    def add(self, activity: Activity) -> None:
        """A Conflict when (enrollment, step, attempt) exists."""
        ...

    def get(self, activity_id: uuid.UUID, *, lock: bool = False) -> Activity | None: ...
    def update(self, activity: Activity) -> None: ...
    def for_enrollment(self, enrollment_id: uuid.UUID) -> Sequence[Activity]:
        """Oldest first."""
        ...

    def by_message_key(self, message_keys: Collection[str]) -> Sequence[Activity]:
        """Sends whose Message-ID (or client key) is one of these."""
        ...

    def latest_to(self, sender_id: uuid.UUID, recipient: str) -> Activity | None:
        """The newest sent activity of this sender to this recipient (LinkedIn events)."""
        ...

    def with_status(self, status: ActivityStatus, page: PageRequest) -> Page[Activity]: ...
    def sent_since(self, campaign_id: uuid.UUID, since: datetime) -> int:
        """Sends of the campaign (sending, sent, unknown) since ``since``: its daily cap."""
        ...

    def stats(self, campaign_id: uuid.UUID) -> Sequence[StepStats]: ...


@runtime_checkable
class CampaignsUnitOfWork(OutreachUnitOfWork, BillingUnitOfWork, Protocol):
    campaigns: CampaignRepository
    enrollments: EnrollmentRepository
    activities: ActivityRepository


class DueWork(Protocol):
    """Finds and claims due enrollments across tenants, without running any step: the
    narrow path (on PostgreSQL a SECURITY DEFINER function returning ids only, with
    ``FOR UPDATE SKIP LOCKED``; on SQLite one ``BEGIN IMMEDIATE`` writer). A claim moves
    ``next_run_at`` to ``now + lease`` and sets ``claim_token``, so another worker claims
    it again only after the lease, when the step in hand was lost with its worker. Fair
    across tenants: each tenant with due work gets its share of ``limit`` in turn."""

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID
              ) -> Sequence[Claim]: ...


@attrs.frozen
class QueuedCall:
    """A campaign's call handed to the voice context: its batch entry, and the number."""

    batch_id: uuid.UUID
    entry_id: uuid.UUID
    recipient: str


class VoiceSteps(Protocol):
    """How a ``voice_call`` step runs through the voice context: one call to the lead is
    queued in the step's own transaction (the voice context's checks at dial time, its
    money and its outcome apply to it); a reason, safe to show, when it cannot be."""

    def queue(self, uow: CampaignsUnitOfWork, *, campaign: Campaign, step: Step, lead: Lead,
              at: datetime) -> QueuedCall | str: ...

    def check(self, uow: CampaignsUnitOfWork, step: Step) -> str | None:
        """Why the step could not call (its agent unknown, the feature off), at activation."""
        ...
