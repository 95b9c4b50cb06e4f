"""Voice calling routes: batches of calls, one call to one lead, and the call log (a
batch's, a lead's, a month's). Reads need the viewer role on the ``voice`` feature, calls
the member role within their grants (``lad_domain.voice.policy.require_call``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from lad_domain.campaigns.window import DAY_NAMES
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import (
    RETRYABLE_OUTCOMES,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallAnalysis,
    CallStatus,
    Decision,
    EntryStatus,
)
from lad_domain.voice.services.calling import (
    MAX_BATCH,
    BatchProgress,
    BatchReport,
    CallDetail,
    CallingService,
)
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import DecimalText, Instant, PageOut, Strict

router = APIRouter(prefix="/v1/voice", tags=["voice"])

Calling = Annotated[CallingService, Depends(provided(lambda c: c.calling()))]



# --- batches ------------------------------------------------------------------------------

HH_MM: dict[str, Any] = {"pattern": r"^\d{2}:\d{2}$", "examples": ["09:00"]}


class CallWindowIn(Strict):
    """Days and hours in each lead's local time; the legal 08:00-21:00 applies on top.
    Without the window: every day, 08:00-21:00."""

    days: list[str] | None = Field(default=None, description=", ".join(DAY_NAMES)
                                   + " (default mon-fri)")
    start: str | None = Field(default=None, description="Default 09:00",
                              json_schema_extra=HH_MM)
    end: str | None = Field(default=None, description="Excluded; default 17:00",
                            json_schema_extra=HH_MM)


class RetryIn(Strict):
    max_attempts: int = Field(default=3, description="Attempts per lead, 1-10")
    on: list[str] = Field(default=["no_answer", "busy"], description="Outcomes tried again: "
                          + ", ".join(RETRYABLE_OUTCOMES))
    backoff_minutes: int = Field(default=60, description="The wait before attempt n+1 is "
                                 "this times n")


class BatchSettingsIn(Strict):
    """An absent setting takes its default."""

    window: CallWindowIn | None = None
    concurrency: int | None = Field(default=None, description="Calls of this batch in "
                                    "flight at once, 1-50 (default 5)")
    retry: RetryIn | None = None
    max_calls_per_lead_per_day: int | None = Field(default=None, description="Across all "
                                                   "the tenant's batches, 1-10 (default 2)")


class LeadFilterIn(Strict):
    """The leads list's filters (GET /v1/leads); ``text`` is its ``q``."""

    stage: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    owner_id: uuid.UUID | None = None
    text: str | None = Field(default=None, max_length=200)
    created_from: Instant | None = None
    created_to: Instant | None = None

    def of(self) -> LeadFilter:
        return LeadFilter(**self.model_dump())


class BatchIn(Strict):
    """Leads by id or by the leads list's filter (one of the two), at most 5000."""

    agent_id: int = Field(description="The agent placing the calls")
    number_id: uuid.UUID | None = Field(default=None, description="The number calls come "
                                        "from (default: your default number)")
    lead_ids: list[uuid.UUID] | None = Field(default=None, description=f"1 to {MAX_BATCH}")
    lead_filter: LeadFilterIn | None = None
    name: str | None = Field(default=None, max_length=200)
    settings: BatchSettingsIn | None = None
    start_at: Instant | None = Field(default=None, description="No call before this time")


class CallIn(Strict):
    agent_id: int = Field(description="The agent placing the call")
    number_id: uuid.UUID | None = Field(default=None, description="Default: your default "
                                        "number")


class BatchOut(BaseModel):
    id: uuid.UUID
    name: str | None
    status: BatchStatus
    agent_id: int
    number_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    settings: dict[str, Any]
    total_calls: int = Field(description="Entries")
    completed_calls: int
    failed_calls: int = Field(description="Failed and skipped entries")
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: Batch) -> BatchOut:
        return cls(id=b.id, name=b.name, status=b.status, agent_id=b.agent_id,
                   number_id=b.number_id, campaign_id=b.campaign_id,
                   settings=b.settings.document(), total_calls=b.total_calls,
                   completed_calls=b.completed_calls, failed_calls=b.failed_calls,
                   scheduled_at=b.scheduled_at, started_at=b.started_at,
                   finished_at=b.finished_at, created_by=b.created_by,
                   created_at=b.created_at, updated_at=b.updated_at)


def _counts(found: dict[EntryStatus, int]) -> dict[str, int]:
    return {s.value: found.get(s, 0) for s in EntryStatus}


class BatchProgressOut(BatchOut):
    counts: dict[str, int] = Field(description="Entries by status")

    @classmethod
    def progress(cls, p: BatchProgress) -> BatchProgressOut:
        return cls(**BatchOut.of(p.batch).model_dump(), counts=_counts(p.counts))


class BatchCreatedOut(BatchProgressOut):
    skipped: int = Field(description="Entries never called, each with its reason (no "
                         "phone, an invalid number)")
    duplicates: int = Field(description="Leads given more than once (one entry each)")

    @classmethod
    def created(cls, r: BatchReport, p: BatchProgress) -> BatchCreatedOut:
        return cls(**BatchProgressOut.progress(p).model_dump(), skipped=r.skipped,
                   duplicates=r.duplicates)


class DecisionOut(BaseModel):
    decision: Decision
    reason: str
    at: datetime
    zones: list[str] = Field(description="The zones the lead's local time was read in")
    local_times: list[str] = Field(description="The lead's clock then, HH:MM per zone")
    until: datetime | None = Field(description="When a wait ends")


class EntryOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID | None
    phone: str | None = Field(description="E.164")
    status: EntryStatus
    decision: DecisionOut | None = Field(description="The last check at dial time")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_call_id: uuid.UUID | None
    last_outcome: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, e: BatchEntry) -> EntryOut:
        d = e.decision
        return cls(id=e.id, lead_id=e.lead_id, phone=e.phone.e164 if e.phone else None,
                   status=e.status, decision=None if d is None else DecisionOut(
                       decision=d.decision, reason=d.reason, at=d.at, zones=list(d.zones),
                       local_times=list(d.local_times), until=d.until),
                   attempts=e.attempts, next_attempt_at=e.next_attempt_at,
                   last_error=e.last_error, last_call_id=e.last_call_id,
                   last_outcome=e.last_outcome, created_at=e.created_at,
                   updated_at=e.updated_at)


def _created(calling: CallingService, principal: Principal, report: BatchReport,
             response: Response) -> BatchCreatedOut:
    response.headers["Location"] = f"{router.prefix}/batches/{report.batch.id}"
    return BatchCreatedOut.created(report, calling.batch(principal, report.batch.id))


@router.post("/batches", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/batches/{id}"), responses=problems(404))
def create_batch(body: BatchIn, principal: CurrentPrincipal, calling: Calling,
                 response: Response) -> BatchCreatedOut:
    """Calls by one agent to leads given by id or by filter (members, within their
    grants). Each lead is an entry; the worker dials them under the checks at dial time."""
    report = calling.create_batch(
        principal, agent_id=body.agent_id, number_id=body.number_id, lead_ids=body.lead_ids,
        lead_filter=body.lead_filter.of() if body.lead_filter is not None else None,
        name=body.name, settings=(body.settings.model_dump(exclude_none=True)
                                  if body.settings is not None else None),
        start_at=body.start_at)
    return _created(calling, principal, report, response)


@router.get("/batches")
def list_batches(principal: CurrentPrincipal, calling: Calling, page: Paging,
                 status: BatchStatus | None = None) -> PageOut[BatchOut]:
    """Newest first."""
    found = calling.batches(principal, page, status=status)
    return PageOut(items=[BatchOut.of(b) for b in found.items], next_cursor=found.next_cursor)


@router.get("/batches/{batch_id}")
def get_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling
              ) -> BatchProgressOut:
    return BatchProgressOut.progress(calling.batch(principal, batch_id))


@router.get("/batches/{batch_id}/entries")
def list_entries(batch_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling,
                 page: Paging, status: EntryStatus | None = None) -> PageOut[EntryOut]:
    """Each lead's entry: its status, the last decision at dial time and why, attempts."""
    found = calling.entries(principal, batch_id, page, status=status)
    return PageOut(items=[EntryOut.of(e) for e in found.items], next_cursor=found.next_cursor)


@router.post("/batches/{batch_id}/pause")
def pause_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling
                ) -> BatchOut:
    """No new call is placed; calls in flight finish."""
    return BatchOut.of(calling.pause(principal, batch_id))


@router.post("/batches/{batch_id}/resume")
def resume_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling
                 ) -> BatchOut:
    return BatchOut.of(calling.resume(principal, batch_id))


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(batch_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling
                 ) -> BatchOut:
    """The waiting entries are cancelled; calls in flight finish and are billed."""
    return BatchOut.of(calling.cancel(principal, batch_id))


# --- calls --------------------------------------------------------------------------------

class CallOut(BaseModel):
    id: uuid.UUID
    status: CallStatus
    direction: str
    to: str = Field(description="E.164")
    agent_id: int | None
    number_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    batch_id: uuid.UUID | None
    batch_entry_id: uuid.UUID | None
    initiated_by_user_id: uuid.UUID | None
    provider: str | None
    provider_call_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    cost: DecimalText | None = Field(description="What the tenant was charged (null until "
                                     "billed)")
    cost_breakdown: dict[str, Any]
    recording_url: str | None
    transcription: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Call) -> CallOut:
        return cls(id=c.id, status=c.status, direction=c.direction, to=c.to.e164,
                   agent_id=c.agent_id, number_id=c.number_id, lead_id=c.lead_id,
                   campaign_id=c.campaign_id, batch_id=c.batch_id,
                   batch_entry_id=c.batch_entry_id,
                   initiated_by_user_id=c.initiated_by_user_id, provider=c.provider,
                   provider_call_id=c.provider_call_id, started_at=c.started_at,
                   ended_at=c.ended_at, duration_seconds=c.duration_seconds, cost=c.cost,
                   cost_breakdown=c.cost_breakdown, recording_url=c.recording_url,
                   transcription=c.transcription, metadata=c.metadata,
                   created_at=c.created_at, updated_at=c.updated_at)


class AnalysisOut(BaseModel):
    sentiment: str | None
    lead_category: str | None
    summary: str | None
    extraction: dict[str, Any]
    model: str | None
    updated_at: datetime

    @classmethod
    def of(cls, a: CallAnalysis) -> AnalysisOut:
        return cls(sentiment=a.sentiment, lead_category=a.lead_category, summary=a.summary,
                   extraction=a.extraction, model=a.model, updated_at=a.updated_at)


class CallDetailOut(CallOut):
    analysis: AnalysisOut | None = Field(description="Once the provider has analysed it")

    @classmethod
    def detail(cls, d: CallDetail) -> CallDetailOut:
        return cls(**CallOut.of(d.call).model_dump(), analysis=AnalysisOut.of(d.analysis)
                   if d.analysis is not None else None)


@router.get("/calls", responses=problems(404))
def list_calls(principal: CurrentPrincipal, calling: Calling, page: Paging,
               lead_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None,
               since: Instant | None = None, until: Instant | None = None
               ) -> PageOut[CallOut]:
    """Newest first; ``since`` (inclusive) and ``until`` (exclusive) bound when calls were
    placed."""
    found = calling.calls(principal, page, lead_id=lead_id, batch_id=batch_id,
                          since=since, until=until)
    return PageOut(items=[CallOut.of(c) for c in found.items], next_cursor=found.next_cursor)


@router.get("/calls/{call_id}")
def get_call(call_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling
             ) -> CallDetailOut:
    return CallDetailOut.detail(calling.call(principal, call_id))


@router.get("/leads/{lead_id}/calls")
def lead_calls(lead_id: uuid.UUID, principal: CurrentPrincipal, calling: Calling,
               page: Paging) -> PageOut[CallOut]:
    """A lead's call history, newest first."""
    found = calling.calls(principal, page, lead_id=lead_id)
    return PageOut(items=[CallOut.of(c) for c in found.items], next_cursor=found.next_cursor)


@router.post("/leads/{lead_id}/call", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/batches/{id}"))
def call_lead(lead_id: uuid.UUID, body: CallIn, principal: CurrentPrincipal,
              calling: Calling, response: Response) -> BatchCreatedOut:
    """One call to one lead: a batch of one, dialed by the worker under the same checks."""
    report = calling.call_lead(principal, lead_id, agent_id=body.agent_id,
                               number_id=body.number_id)
    return _created(calling, principal, report, response)
