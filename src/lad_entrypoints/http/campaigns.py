"""Campaign routes: a campaign's settings and steps, its life (activate, pause, resume,
complete, archive), enrolling leads, its enrollments with their send ledger, its
statistics, and settling the sends whose outcome is unknown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    Step,
    StepStats,
    StepType,
)
from lad_domain.campaigns.services.campaigns import (
    CampaignService,
    EnrollmentDetail,
    EnrollmentReport,
)
from lad_domain.campaigns.services.reconcile import Decision, SendReconciliation, Settlement
from lad_domain.campaigns.simulation import LISTED, MAX_DAYS, Timeline
from lad_domain.campaigns.window import DAY_NAMES
from lad_domain.leads.model import LeadFilter
from lad_domain.outreach.model import Channel
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import Instant, PageOut, Strict

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

Campaigns = Annotated[CampaignService, Depends(provided(lambda c: c.campaigns()))]
Reconciliation = Annotated[SendReconciliation,
                           Depends(provided(lambda c: c.campaign_reconciliation()))]

HH_MM: JsonDict = {"pattern": r"^\d{2}:\d{2}$"}


# --- settings and steps -------------------------------------------------------------------

class SendWindowIn(Strict):
    """Days and local hours (the lead's zone) sends may happen in; ``end`` excluded."""

    days: list[str] = Field(default=list(DAY_NAMES[:5]), description="mon ... sun")
    start: str = Field(default="09:00", json_schema_extra=HH_MM)
    end: str = Field(default="17:00", json_schema_extra=HH_MM)


class SettingsIn(Strict):
    """An absent setting keeps its value (its default on create)."""

    send_window: SendWindowIn | None = None
    timezone: str | None = Field(default=None, description="IANA zone of leads who have "
                                 "none (else the tenant's default, else UTC)")
    daily_cap: int | None = Field(default=None, ge=1, le=1_000_000,
                                  description="Sends of the whole campaign per UTC day")
    stop_on_reply: bool | None = None
    stop_on_bounce: bool | None = None
    email_account_ids: list[uuid.UUID] | None = Field(
        default=None, description="The mailboxes email steps go from")

    def document(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        for flag in ("stop_on_reply", "stop_on_bounce"):
            if given.get(flag, False) is None:
                del given[flag]
        if given.get("email_account_ids", ()) is None:
            given["email_account_ids"] = []
        return given


class StepIn(Strict):
    """Config by type: email ``{template_key, new_thread?}``; linkedin_invite
    ``{template_key?}`` (the note); linkedin_message ``{template_key}``; voice_call
    ``{agent_id}``; wait ``{days?, hours?, minutes?}``; condition ``{if: replied|opened|
    accepted, then: continue|stop, else: continue|stop}``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "email", "config": {"template_key": "intro"}},
        {"type": "wait", "config": {"days": 2}}]})

    type: StepType
    config: dict[str, Any] | None = None
    title: str | None = None
    order: int | None = Field(default=None, description="If given: its place, from 1")


class SendWindowOut(BaseModel):
    days: list[str]
    start: str
    end: str


class SettingsOut(BaseModel):
    send_window: SendWindowOut
    timezone: str | None
    daily_cap: int | None
    stop_on_reply: bool
    stop_on_bounce: bool
    email_account_ids: list[uuid.UUID]


class StepOut(BaseModel):
    id: uuid.UUID
    order: int
    type: StepType
    config: dict[str, Any]
    title: str | None

    @classmethod
    def of(cls, s: Step) -> StepOut:
        return cls(id=s.id, order=s.order, type=s.type, config=dict(s.config), title=s.title)


class CampaignIn(Strict):
    name: str
    settings: SettingsIn | None = None
    steps: list[StepIn] | None = None
    linkedin_account_ids: list[uuid.UUID] = Field(default_factory=list)


class CampaignPatch(Strict):
    """Absent fields are kept; steps change through PUT .../steps."""

    name: str | None = None
    settings: SettingsIn | None = None
    linkedin_account_ids: list[uuid.UUID] | None = None


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    status: CampaignStatus
    settings: SettingsOut
    steps: list[StepOut]
    linkedin_account_ids: list[uuid.UUID]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        s = c.settings
        return cls(id=c.id, name=c.name, status=c.status, settings=SettingsOut(
            send_window=SendWindowOut(**s.send_window.document()), timezone=s.timezone,
            daily_cap=s.daily_cap, stop_on_reply=s.stop_on_reply,
            stop_on_bounce=s.stop_on_bounce, email_account_ids=list(s.email_account_ids)),
            steps=[StepOut.of(x) for x in c.steps],
            linkedin_account_ids=list(c.linkedin_account_ids), created_by=c.created_by,
            created_at=c.created_at, updated_at=c.updated_at, started_at=c.started_at,
            ended_at=c.ended_at)


def _steps(steps: Sequence[StepIn]) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_unset=True) for s in steps]


# --- enrollments and the ledger -----------------------------------------------------------

class LeadFilterIn(Strict):
    """The leads list's filters."""

    stage: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    owner_id: uuid.UUID | None = None
    q: str | None = Field(default=None, max_length=200,
                          description="Text in name, email or company")
    created_from: Instant | None = Field(default=None, description="Inclusive")
    created_to: Instant | None = Field(default=None, description="Exclusive")


class EnrollIn(Strict):
    """Leads by id, or every lead the filter matches (not both)."""

    lead_ids: list[uuid.UUID] | None = None
    filter: LeadFilterIn | None = None


class EnrollOut(BaseModel):
    enrolled: int
    already_enrolled: int = Field(description="In the campaign already: at most once")
    more: bool = Field(description="The filter matched more than one call enrolls: "
                       "call again to go on")

    @classmethod
    def of(cls, r: EnrollmentReport) -> EnrollOut:
        return cls(enrolled=r.enrolled, already_enrolled=r.already_enrolled, more=r.more)


class EnrollmentOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    lead_id: uuid.UUID
    status: EnrollmentStatus
    step_order: int = Field(description="The step to run next")
    timezone: str = Field(description="The zone its send window is read in")
    next_run_at: datetime | None = Field(description="When it is due; null: nothing is "
                                         "(ended, parked, or waiting for reconcile)")
    parked_run_at: datetime | None = Field(description="While the campaign is paused: "
                                           "when it was due")
    sender_id: uuid.UUID | None
    stop_reason: str | None
    last_error: str | None
    replied_at: datetime | None
    opened_at: datetime | None
    accepted_at: datetime | None
    bounced_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, e: Enrollment) -> dict[str, Any]:
        return {"id": e.id, "campaign_id": e.campaign_id, "lead_id": e.lead_id,
                "status": e.status, "step_order": e.step_order, "timezone": e.timezone,
                "next_run_at": e.next_run_at, "parked_run_at": e.parked_run_at,
                "sender_id": e.sender_id, "stop_reason": e.stop_reason, "last_error": e.last_error,
                "replied_at": e.replied_at, "opened_at": e.opened_at,
                "accepted_at": e.accepted_at, "bounced_at": e.bounced_at,
                "created_at": e.created_at, "updated_at": e.updated_at}

    @classmethod
    def of(cls, e: Enrollment) -> EnrollmentOut:
        return cls(**cls.fields_of(e))


class ActivityOut(BaseModel):
    """A row of the send ledger: one attempted step."""

    id: uuid.UUID
    enrollment_id: uuid.UUID
    campaign_id: uuid.UUID
    lead_id: uuid.UUID
    step_id: uuid.UUID
    step_order: int
    attempt: int
    status: ActivityStatus
    channel: Channel
    sender_id: uuid.UUID
    message_key: str = Field(description="The email's Message-ID, or the LinkedIn "
                             "action's client key")
    recipient: str
    provider_id: str | None
    code: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    opened_at: datetime | None
    replied_at: datetime | None
    bounced_at: datetime | None
    accepted_at: datetime | None

    @classmethod
    def of(cls, a: Activity) -> ActivityOut:
        return cls(id=a.id, enrollment_id=a.enrollment_id, campaign_id=a.campaign_id,
                   lead_id=a.lead_id, step_id=a.step_id, step_order=a.step_order,
                   attempt=a.attempt, status=a.status, channel=a.channel,
                   sender_id=a.sender_id, message_key=a.message_key, recipient=a.recipient,
                   provider_id=a.provider_id, code=a.code, error=a.error,
                   created_at=a.created_at, updated_at=a.updated_at,
                   completed_at=a.completed_at, opened_at=a.opened_at,
                   replied_at=a.replied_at, bounced_at=a.bounced_at,
                   accepted_at=a.accepted_at)


class EnrollmentDetailOut(EnrollmentOut):
    ledger: list[ActivityOut] = Field(description="Its send ledger, oldest first")

    @classmethod
    def detail(cls, d: EnrollmentDetail) -> EnrollmentDetailOut:
        return cls(**cls.fields_of(d.enrollment), ledger=[ActivityOut.of(a) for a in d.ledger])


class StopIn(Strict):
    reason: str | None = Field(default=None, max_length=200)


COUNTS = ("sent", "failed", "deferred", "unknown", "sending", "opened", "replied", "bounced",
          "accepted")


class StepStatsOut(BaseModel):
    step_order: int
    sender_id: uuid.UUID | None
    sent: int
    failed: int
    deferred: int
    unknown: int
    sending: int
    opened: int
    replied: int
    bounced: int
    accepted: int

    @classmethod
    def of(cls, s: StepStats) -> StepStatsOut:
        return cls(step_order=s.step_order, sender_id=s.sender_id,
                   **{name: getattr(s, name) for name in COUNTS})


class TotalsOut(BaseModel):
    sent: int
    failed: int
    deferred: int
    unknown: int
    sending: int
    opened: int
    replied: int
    bounced: int
    accepted: int
    unsubscribed: int = Field(description="Enrollments stopped by an unsubscribe")


class StatsOut(BaseModel):
    enrollments: dict[EnrollmentStatus, int] = Field(description="Enrollments by status")
    totals: TotalsOut
    steps: list[StepStatsOut] = Field(description="By step and sender")


class SettlementOut(BaseModel):
    activity_id: uuid.UUID
    enrollment_id: uuid.UUID
    result: str = Field(description='"sent (...)", "not_sent (...)" or "unknown: why"')

    @classmethod
    def of(cls, s: Settlement) -> SettlementOut:
        return cls(activity_id=s.activity_id, enrollment_id=s.enrollment_id, result=s.result)


class ReconcileOut(BaseModel):
    settlements: list[SettlementOut] = Field(description="Each unknown send and what "
                                             "became of it")


class DecisionIn(Strict):
    decision: Decision = Field(description="sent: billed, the sequence goes on; not_sent: "
                               "the step is tried again")


class SimulateIn(Strict):
    days: int = Field(default=14, ge=1, le=MAX_DAYS, description="How far ahead")


class PlannedSendOut(BaseModel):
    at: datetime
    enrollment_id: uuid.UUID
    lead_id: uuid.UUID
    step_order: int
    type: StepType
    sender_id: uuid.UUID
    cost: str = Field(description="The price held and charged, a decimal string")


class DayPlanOut(BaseModel):
    day: str = Field(description="YYYY-MM-DD (UTC)")
    sends: int
    cost: str
    by_step: dict[int, int]
    by_sender: dict[uuid.UUID, int]


class TimelineOut(BaseModel):
    start: datetime
    end: datetime
    total_sends: int
    total_cost: str
    completing: int = Field(description="Enrollments that would finish within the period")
    waiting: dict[str, int] = Field(description="Why enrollments would still wait at the end")
    funds_run_out_at: datetime | None = Field(description="When the wallet would run out")
    days: list[DayPlanOut]
    first_sends: list[PlannedSendOut] = Field(description=f"The first {LISTED} sends")

    @classmethod
    def of(cls, t: Timeline) -> TimelineOut:
        return cls(start=t.start, end=t.end, total_sends=t.total_sends,
                   total_cost=str(t.total_cost), completing=t.completing,
                   waiting=dict(t.waiting), funds_run_out_at=t.funds_run_out_at,
                   days=[DayPlanOut(day=d.day.isoformat(), sends=d.sends, cost=str(d.cost),
                                    by_step=dict(d.by_step), by_sender=dict(d.by_sender))
                         for d in t.days],
                   first_sends=[PlannedSendOut(at=p.at, enrollment_id=p.enrollment_id,
                                               lead_id=p.lead_id, step_order=p.step_order,
                                               type=p.type, sender_id=p.sender_id,
                                               cost=str(p.cost)) for p in t.first_sends])


# --- routes: literal paths before the ones with a campaign id -----------------------------

@router.get("")
def list_campaigns(principal: CurrentPrincipal, campaigns: Campaigns, page: Paging,
                   status: CampaignStatus | None = None) -> PageOut[CampaignOut]:
    found = campaigns.list(principal, status, page)
    return PageOut(items=[CampaignOut.of(c) for c in found.items],
                   next_cursor=found.next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/campaigns/{id}"), responses=problems(404))
def create_campaign(body: CampaignIn, principal: CurrentPrincipal, campaigns: Campaigns
                    ) -> CampaignOut:
    """A draft campaign; steps may come now or later (PUT .../steps)."""
    return CampaignOut.of(campaigns.create(
        principal, name=body.name,
        settings=body.settings.document() if body.settings is not None else None,
        steps=_steps(body.steps) if body.steps is not None else None,
        linkedin_account_ids=body.linkedin_account_ids))


@router.get("/unknown-sends")
def unknown_sends(principal: CurrentPrincipal, reconciliation: Reconciliation, page: Paging
                  ) -> PageOut[ActivityOut]:
    """Sends whose outcome is unknown (a worker stopped mid-send): never resent blindly."""
    found = reconciliation.unknown_sends(principal, page)
    return PageOut(items=[ActivityOut.of(a) for a in found.items],
                   next_cursor=found.next_cursor)


@router.post("/reconcile")
def reconcile(principal: CurrentPrincipal, reconciliation: Reconciliation) -> ReconcileOut:
    """Mark sends stuck in ``sending`` unknown, settle those their mailbox's sent folder
    can tell about, and list every unknown one (admins)."""
    return ReconcileOut(settlements=[SettlementOut.of(s)
                                     for s in reconciliation.reconcile(principal)])


@router.post("/sends/{activity_id}/decide")
def decide_send(activity_id: uuid.UUID, body: DecisionIn, principal: CurrentPrincipal,
                reconciliation: Reconciliation) -> SettlementOut:
    """A person settles an unknown send (admins)."""
    return SettlementOut.of(reconciliation.decide(principal, activity_id, body.decision))


@router.get("/{campaign_id}")
def get_campaign(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
                 ) -> CampaignOut:
    return CampaignOut.of(campaigns.get(principal, campaign_id))


@router.patch("/{campaign_id}")
def update_campaign(campaign_id: uuid.UUID, body: CampaignPatch, principal: CurrentPrincipal,
                    campaigns: Campaigns) -> CampaignOut:
    """Rename, change settings (absent ones are kept) or the LinkedIn accounts."""
    return CampaignOut.of(campaigns.update(
        principal, campaign_id, name=body.name,
        settings=body.settings.document() if body.settings is not None else None,
        linkedin_account_ids=body.linkedin_account_ids))


@router.put("/{campaign_id}/steps")
def set_steps(campaign_id: uuid.UUID, body: list[StepIn], principal: CurrentPrincipal,
              campaigns: Campaigns) -> CampaignOut:
    """Replace the steps, in order (draft campaigns only)."""
    return CampaignOut.of(campaigns.set_steps(principal, campaign_id, _steps(body)))


@router.post("/{campaign_id}/activate")
def activate(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
             ) -> CampaignOut:
    """Start sending: every enrolled lead becomes due."""
    return CampaignOut.of(campaigns.activate(principal, campaign_id))


@router.post("/{campaign_id}/pause")
def pause(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
          ) -> CampaignOut:
    """Claim nothing more; every enrollment keeps its step and when it was due."""
    return CampaignOut.of(campaigns.pause(principal, campaign_id))


@router.post("/{campaign_id}/resume")
def resume(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
           ) -> CampaignOut:
    """Go on where each enrollment was; a sent step is never sent again."""
    return CampaignOut.of(campaigns.resume(principal, campaign_id))


@router.post("/{campaign_id}/complete")
def complete(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
             ) -> CampaignOut:
    return CampaignOut.of(campaigns.complete(principal, campaign_id))


@router.post("/{campaign_id}/archive")
def archive(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
            ) -> CampaignOut:
    """The end of a campaign (there is no DELETE): nothing more is sent or changed."""
    return CampaignOut.of(campaigns.archive(principal, campaign_id))


@router.post("/{campaign_id}/enroll")
def enroll(campaign_id: uuid.UUID, body: EnrollIn, principal: CurrentPrincipal,
           campaigns: Campaigns) -> EnrollOut:
    """Enroll leads by id (an unknown id, or another tenant's, is a 404) or by filter; a
    lead already in the campaign is counted, not added again."""
    lead_filter = None
    if body.filter is not None:
        f = body.filter
        lead_filter = LeadFilter(stage=f.stage, status=f.status, owner_id=f.owner_id,
                                 text=f.q, created_from=f.created_from,
                                 created_to=f.created_to)
    return EnrollOut.of(campaigns.enroll(principal, campaign_id, lead_ids=body.lead_ids,
                                         lead_filter=lead_filter))


@router.get("/{campaign_id}/enrollments")
def list_enrollments(campaign_id: uuid.UUID, principal: CurrentPrincipal,
                     campaigns: Campaigns, page: Paging,
                     status: EnrollmentStatus | None = None) -> PageOut[EnrollmentOut]:
    found = campaigns.list_enrollments(principal, campaign_id, status, page)
    return PageOut(items=[EnrollmentOut.of(e) for e in found.items],
                   next_cursor=found.next_cursor)


@router.get("/{campaign_id}/enrollments/{enrollment_id}")
def get_enrollment(campaign_id: uuid.UUID, enrollment_id: uuid.UUID,
                   principal: CurrentPrincipal, campaigns: Campaigns) -> EnrollmentDetailOut:
    """An enrollment with its send ledger."""
    return EnrollmentDetailOut.detail(campaigns.enrollment(principal, campaign_id,
                                                           enrollment_id))


@router.post("/{campaign_id}/enrollments/{enrollment_id}/stop")
def stop_enrollment(campaign_id: uuid.UUID, enrollment_id: uuid.UUID,
                    principal: CurrentPrincipal, campaigns: Campaigns,
                    body: StopIn | None = None) -> EnrollmentOut:
    """Stop the lead's sequence for good."""
    reason = body.reason if body is not None and body.reason else "stopped by a person"
    return EnrollmentOut.of(campaigns.stop_enrollment(principal, campaign_id, enrollment_id,
                                                      reason=reason))


@router.post("/{campaign_id}/simulate", responses=problems(404))
def simulate(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns,
             body: SimulateIn | None = None) -> TimelineOut:
    """The timeline the engine would follow for the enrolled leads over the next ``days``
    days (windows in each lead's zone, caps, warm-up, spacing, waits, the wallet), without
    sending or charging anything. Replies, opens and throttles are not foreseen."""
    days = body.days if body is not None else 14
    return TimelineOut.of(campaigns.simulate(principal, campaign_id, days=days))


@router.get("/{campaign_id}/stats")
def stats(campaign_id: uuid.UUID, principal: CurrentPrincipal, campaigns: Campaigns
          ) -> StatsOut:
    """Enrollments by status; sends by step and sender (sent, failed, deferred, unknown,
    opened, replied, bounced, accepted), and their totals."""
    by_status, steps = campaigns.stats(principal, campaign_id)
    rows = [StepStatsOut.of(s) for s in steps]
    totals = {name: sum(getattr(r, name) for r in rows) for name in COUNTS}
    unsubscribed = 0
    if by_status.get(EnrollmentStatus.STOPPED):
        unsubscribed = _unsubscribed(campaigns, principal, campaign_id)
    return StatsOut(enrollments={s: by_status.get(s, 0) for s in EnrollmentStatus},
                    totals=TotalsOut(**totals, unsubscribed=unsubscribed), steps=rows)


def _unsubscribed(campaigns: CampaignService, principal: Principal, campaign_id: uuid.UUID
                  ) -> int:
    """Stopped enrollments whose reason is an unsubscribe."""
    count = 0
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        found = campaigns.list_enrollments(principal, campaign_id, EnrollmentStatus.STOPPED,
                                           page)
        count += sum(1 for e in found.items if e.stop_reason == "unsubscribed")
        if found.next_cursor is None:
            return count
        page = PageRequest.parse(limit=MAX_LIMIT, cursor=found.next_cursor)
