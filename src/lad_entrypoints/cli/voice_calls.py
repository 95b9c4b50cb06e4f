"""``lad voice`` calling commands: batches of calls (create, list, show, entries, pause,
resume, cancel), one call to one lead, the call log and the timeout sweep, installed on
``lad voice`` by ``install``."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from lad_domain.billing.scope import each_tenant
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.clock import aware_utc
from lad_domain.shared.errors import ValidationFailed
from lad_domain.voice.model import (
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    EntryStatus,
)
from lad_domain.voice.services.calling import BatchProgress, BatchReport, CallDetail
from lad_entrypoints.cli.campaigns import read_json
from lad_entrypoints.cli.common import (
    OPERATOR,
    AnyTenantOption,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one

batches = typer.Typer(help="Batches of calls: create, list, show, entries, pause, resume, "
                      "cancel (the worker dials them: lad worker).", no_args_is_help=True)
calls = typer.Typer(help="The call log: list, show.", no_args_is_help=True)

# --- batches ------------------------------------------------------------------------------

BatchId = Annotated[uuid.UUID, typer.Argument(help="The batch's id.")]
CallAgent = Annotated[int, typer.Option("--agent", help="The agent placing the calls.")]
CallNumber = Annotated[uuid.UUID | None, typer.Option(
    "--number", help="The number calls come from (default: none).")]


def _batch(b: Batch) -> dict[str, object]:
    return {"id": b.id, "name": b.name, "status": b.status, "agent_id": b.agent_id,
            "number_id": b.number_id, "total": b.total_calls,
            "completed": b.completed_calls, "failed": b.failed_calls,
            "created_at": b.created_at}


def _progress(p: BatchProgress) -> dict[str, object]:
    return {**_batch(p.batch), "settings": p.batch.settings.document(),
            "started_at": p.batch.started_at, "finished_at": p.batch.finished_at,
            "counts": {s.value: p.counts.get(s, 0) for s in EntryStatus}}


def _entry(e: BatchEntry) -> dict[str, object]:
    d = e.decision
    return {"id": e.id, "lead_id": e.lead_id, "phone": e.phone.e164 if e.phone else None,
            "status": e.status, "decision": d.decision if d else None,
            "reason": d.reason if d else None,
            "zones": ", ".join(d.zones) if d else None,
            "local_times": ", ".join(d.local_times) if d else None,
            "until": d.until if d else None, "attempts": e.attempts,
            "next_attempt_at": e.next_attempt_at, "last_error": e.last_error,
            "last_call_id": e.last_call_id, "last_outcome": e.last_outcome}


def _created(report: BatchReport, progress: BatchProgress) -> dict[str, object]:
    return {**_progress(progress), "skipped": report.skipped,
            "duplicates": report.duplicates}


def _lead_ids(leads: list[uuid.UUID] | None, file: Path | None) -> list[uuid.UUID] | None:
    """From --lead (repeatable) and --file (one id a line; blank lines and # comments
    skipped), in that order; None when neither is given."""
    if not leads and file is None:
        return None
    found = list(leads or [])
    if file is not None:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                found.append(uuid.UUID(text))
            except ValueError:
                raise ValidationFailed.single(f"--file line {number}",
                                              f"{text!r} is not a lead id") from None
    return found


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(option, f"{value!r} is not an ISO 8601 time "
                                      "(e.g. 2026-01-31T09:00Z)") from None
    return aware_utc(at, field=option)


@batches.command("create")
def create_batch(
    ctx: typer.Context, tenant: TenantOption, agent: CallAgent, number: CallNumber = None,
    lead: Annotated[list[uuid.UUID] | None, typer.Option(
        "--lead", help="A lead's id (repeat for more).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="Lead ids, one a line.")] = None,
    stage: Annotated[str | None, typer.Option(help="Leads in this stage.")] = None,
    status: Annotated[str | None, typer.Option(help="Leads with this status.")] = None,
    text: Annotated[str | None, typer.Option(help="Text in name, email or company.")
                    ] = None,
    name: Annotated[str | None, typer.Option(help="The batch's name.")] = None,
    settings: Annotated[str | None, typer.Option(
        help="JSON or @FILE: window {days, start, end}, concurrency, retry {max_attempts, "
        "on, backoff_minutes}, max_calls_per_lead_per_day.")] = None,
    start_at: Annotated[str | None, typer.Option(
        help="No call before this ISO 8601 time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """A batch of calls by one agent: leads by --lead/--file, or by filter (--stage,
    --status, --text); at most 5000. The worker dials them (lad worker)."""
    ids = _lead_ids(lead, file)
    wanted = None
    if ids is None:
        wanted = LeadFilter(stage=stage, status=status, text=text)
    elif stage or status or text:
        raise ValidationFailed.single("--lead", "give lead ids or a filter, not both")
    calling = container(ctx).calling()
    tenant_ = tenant_id(ctx, tenant)
    report = calling.create_batch(
        OPERATOR, agent_id=agent, number_id=number, lead_ids=ids, lead_filter=wanted,
        name=name, settings=read_json(settings, "--settings") if settings else None,
        start_at=_instant(start_at, "--start-at"), tenant_id=tenant_)
    emit_one(_created(report, calling.batch(OPERATOR, report.batch.id, tenant_id=tenant_)),
             as_json=as_json)


@batches.command("list")
def list_batches(ctx: typer.Context, tenant: TenantOption,
                 status: Annotated[BatchStatus | None, typer.Option(
                     help="Only batches in this status.")] = None,
                 as_json: JsonOption = False, limit: LimitOption = 50,
                 cursor: CursorOption = None) -> None:
    """Newest first."""
    found = container(ctx).calling().batches(OPERATOR, page(limit, cursor), status=status,
                                             tenant_id=tenant_id(ctx, tenant))
    emit([_batch(b) for b in found.items], as_json=as_json, next_cursor=found.next_cursor)


@batches.command("show")
def show_batch(ctx: typer.Context, batch: BatchId, tenant: TenantOption,
               as_json: JsonOption = False) -> None:
    """The batch and its entries' counts by status."""
    found = container(ctx).calling().batch(OPERATOR, batch, tenant_id=tenant_id(ctx, tenant))
    emit_one(_progress(found), as_json=as_json)


@batches.command("entries")
def list_entries(ctx: typer.Context, batch: BatchId, tenant: TenantOption,
                 status: Annotated[EntryStatus | None, typer.Option(
                     help="Only entries in this status.")] = None,
                 as_json: JsonOption = False, limit: LimitOption = 50,
                 cursor: CursorOption = None) -> None:
    """Each lead's entry: its status, the last decision at dial time and why."""
    found = container(ctx).calling().entries(OPERATOR, batch, page(limit, cursor),
                                             status=status, tenant_id=tenant_id(ctx, tenant))
    emit([_entry(e) for e in found.items], as_json=as_json, next_cursor=found.next_cursor)


@batches.command("pause")
def pause_batch(ctx: typer.Context, batch: BatchId, tenant: TenantOption,
                as_json: JsonOption = False) -> None:
    """No new call is placed; calls in flight finish."""
    emit_one(_batch(container(ctx).calling().pause(OPERATOR, batch,
                                                   tenant_id=tenant_id(ctx, tenant))),
             as_json=as_json)


@batches.command("resume")
def resume_batch(ctx: typer.Context, batch: BatchId, tenant: TenantOption,
                 as_json: JsonOption = False) -> None:
    """Resume a paused batch: the worker dials its waiting entries again."""
    emit_one(_batch(container(ctx).calling().resume(OPERATOR, batch,
                                                    tenant_id=tenant_id(ctx, tenant))),
             as_json=as_json)


@batches.command("cancel")
def cancel_batch(ctx: typer.Context, batch: BatchId, tenant: TenantOption,
                 as_json: JsonOption = False) -> None:
    """The waiting entries are cancelled; calls in flight finish and are billed."""
    emit_one(_batch(container(ctx).calling().cancel(OPERATOR, batch,
                                                    tenant_id=tenant_id(ctx, tenant))),
             as_json=as_json)


# --- calls --------------------------------------------------------------------------------

def _call(c: Call) -> dict[str, object]:
    return {"id": c.id, "status": c.status, "to": c.to.e164, "lead_id": c.lead_id,
            "batch_id": c.batch_id, "agent_id": c.agent_id, "provider": c.provider,
            "duration_seconds": c.duration_seconds, "cost": c.cost,
            "created_at": c.created_at}


def _call_detail(d: CallDetail) -> dict[str, object]:
    c, a = d.call, d.analysis
    return {**_call(d.call), "number_id": c.number_id, "provider_call_id": c.provider_call_id,
            "started_at": c.started_at, "ended_at": c.ended_at,
            "cost_breakdown": c.cost_breakdown, "recording_url": c.recording_url,
            "transcription": c.transcription, "metadata": c.metadata,
            "analysis": None if a is None else {
                "sentiment": a.sentiment, "lead_category": a.lead_category,
                "summary": a.summary, "extraction": a.extraction, "model": a.model}}


@calls.command("list")
def list_calls(ctx: typer.Context, tenant: TenantOption,
               lead: Annotated[uuid.UUID | None, typer.Option(help="A lead's calls.")] = None,
               batch: Annotated[uuid.UUID | None, typer.Option(help="A batch's calls.")
                                ] = None,
               since: Annotated[str | None, typer.Option(
                   help="Placed at or after (ISO 8601 with a zone).")] = None,
               until: Annotated[str | None, typer.Option(help="Placed before.")] = None,
               as_json: JsonOption = False, limit: LimitOption = 50,
               cursor: CursorOption = None) -> None:
    """Newest first."""
    found = container(ctx).calling().calls(
        OPERATOR, page(limit, cursor), lead_id=lead, batch_id=batch,
        since=_instant(since, "--since"), until=_instant(until, "--until"),
        tenant_id=tenant_id(ctx, tenant))
    emit([_call(c) for c in found.items], as_json=as_json, next_cursor=found.next_cursor)


@calls.command("show")
def show_call(ctx: typer.Context,
              call: Annotated[uuid.UUID, typer.Argument(help="The call's id.")],
              tenant: TenantOption, as_json: JsonOption = False) -> None:
    """A call, its transcript, cost and analysis."""
    emit_one(_call_detail(container(ctx).calling().call(OPERATOR, call,
                                                        tenant_id=tenant_id(ctx, tenant))),
             as_json=as_json)



def call_lead(ctx: typer.Context,
              lead: Annotated[uuid.UUID, typer.Argument(help="The lead's id.")],
              tenant: TenantOption, agent: CallAgent, number: CallNumber = None,
              as_json: JsonOption = False) -> None:
    """Call one lead: a batch of one, dialed by the worker under the same checks."""
    calling = container(ctx).calling()
    tenant_ = tenant_id(ctx, tenant)
    report = calling.call_lead(OPERATOR, lead, agent_id=agent, number_id=number,
                               tenant_id=tenant_)
    emit_one(_created(report, calling.batch(OPERATOR, report.batch.id, tenant_id=tenant_)),
             as_json=as_json)



def sweep(ctx: typer.Context,
          tenant: AnyTenantOption = None, as_json: JsonOption = False) -> None:
    """Settle calls whose final event never came, now (the worker does it every minute):
    asked of their provider, else released and marked unknown. Without --tenant: every
    tenant's."""
    lad = container(ctx)
    tenants = [tenant_id(ctx, tenant)] if tenant else list(each_tenant(lad.tenant_scope()))
    report = {"tenants": len(tenants), "fetched": 0, "unknown": 0}
    for found in tenants:
        for key, value in lad.dialer().sweep(found).items():
            report[key] = report.get(key, 0) + value
    emit_one(report, as_json=as_json)


def install(app: typer.Typer) -> None:
    """The calling commands on ``lad voice``."""
    app.add_typer(batches, name="batches")
    app.add_typer(calls, name="calls")
    app.command("call")(call_lead)
    app.command("sweep")(sweep)
