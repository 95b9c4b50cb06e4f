"""``lad campaigns``: a tenant's campaigns, their enrollments and statistics, and settling
the sends whose outcome is unknown (as the operator)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from lad_domain.campaigns.model import Activity, Campaign, Enrollment, EnrollmentStatus
from lad_domain.campaigns.services.reconcile import Decision, Settlement
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.errors import ValidationFailed
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    read_text_file,
    tenant_id,
)
from lad_entrypoints.cli.output import console, emit, emit_one

app = typer.Typer(help="Campaigns: create, shape and run sequences; enroll leads; settle "
                  "unknown sends.", no_args_is_help=True)

CampaignId = Annotated[uuid.UUID, typer.Argument(help="The campaign's id.")]
SettingsOption = Annotated[str | None, typer.Option(
    "--settings", help="Settings as JSON, or @FILE: send_window {days, start, end}, "
    "timezone, daily_cap, stop_on_reply, stop_on_bounce, email_account_ids.")]
StepsOption = Annotated[str | None, typer.Option(
    "--steps", help="Steps as a JSON list of {type, config, title}, or @FILE.")]
LinkedInOption = Annotated[list[uuid.UUID] | None, typer.Option(
    "--linkedin-account", help="A LinkedIn account the campaign sends from (repeat).")]


def read_json(value: str, option: str) -> Any:
    """JSON given inline or, as ``@path``, in a file."""
    text = read_text_file(Path(value[1:]), option) if value.startswith("@") else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationFailed.single(option, f"is not JSON: {error}") from None


def _settings(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    found = read_json(value, "--settings")
    if not isinstance(found, dict):
        raise ValidationFailed.single("--settings", "must be a JSON object")
    return found


def campaign_row(c: Campaign) -> dict[str, object]:
    return {"id": c.id, "name": c.name, "status": c.status, "steps": len(c.steps),
            "created_at": c.created_at, "started_at": c.started_at, "ended_at": c.ended_at}


def campaign_document(c: Campaign) -> dict[str, object]:
    return {"id": c.id, "name": c.name, "status": c.status, "settings": c.settings.document(),
            "steps": [{"id": s.id, "order": s.order, "type": s.type, "config": dict(s.config),
                       "title": s.title} for s in c.steps],
            "linkedin_account_ids": list(c.linkedin_account_ids), "created_at": c.created_at,
            "updated_at": c.updated_at, "started_at": c.started_at, "ended_at": c.ended_at}


def _enrollment(e: Enrollment) -> dict[str, object]:
    return {"id": e.id, "lead_id": e.lead_id, "status": e.status, "step_order": e.step_order,
            "next_run_at": e.next_run_at, "timezone": e.timezone, "sender_id": e.sender_id,
            "stop_reason": e.stop_reason, "last_error": e.last_error}


def _send(a: Activity) -> dict[str, object]:
    return {"id": a.id, "campaign_id": a.campaign_id, "enrollment_id": a.enrollment_id,
            "step_order": a.step_order, "attempt": a.attempt, "status": a.status,
            "channel": a.channel, "recipient": a.recipient, "message_key": a.message_key,
            "created_at": a.created_at, "error": a.error}


def _settlement(s: Settlement) -> dict[str, object]:
    return {"activity_id": s.activity_id, "enrollment_id": s.enrollment_id, "result": s.result}


def _show(campaign: Campaign, as_json: bool) -> None:
    if as_json:
        emit_one(campaign_document(campaign), as_json=True)
        return
    emit_one(campaign_row(campaign), as_json=False)
    emit([{"order": s.order, "type": s.type, "config": json.dumps(dict(s.config)),
           "title": s.title} for s in campaign.steps], as_json=False, title="steps")


@app.command("list")
def list_campaigns(ctx: typer.Context, tenant: TenantOption,
                   status: Annotated[str | None, typer.Option(
                       help="Only this status (draft, active, paused, completed, "
                       "archived).")] = None,
                   as_json: JsonOption = False, limit: LimitOption = 50,
                   cursor: CursorOption = None) -> None:
    """List the tenant's campaigns, newest first."""
    found = container(ctx).campaigns().list(OPERATOR, status, page(limit, cursor),
                                            tenant_id=tenant_id(ctx, tenant))
    emit([campaign_row(c) for c in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@app.command("show")
def show(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
         as_json: JsonOption = False) -> None:
    """A campaign with its settings and steps."""
    found = container(ctx).campaigns().get(OPERATOR, campaign, tenant_id=tenant_id(ctx, tenant))
    _show(found, as_json)


@app.command("create")
def create(ctx: typer.Context, tenant: TenantOption,
           name: Annotated[str, typer.Option("--name", help="The campaign's name.")],
           settings: SettingsOption = None, steps: StepsOption = None,
           linkedin_account: LinkedInOption = None, as_json: JsonOption = False) -> None:
    """Create a draft campaign."""
    found = container(ctx).campaigns().create(
        OPERATOR, name=name, settings=_settings(settings),
        steps=read_json(steps, "--steps") if steps is not None else None,
        linkedin_account_ids=linkedin_account or (), tenant_id=tenant_id(ctx, tenant))
    _show(found, as_json)


@app.command("update")
def update(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
           name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
           settings: SettingsOption = None, linkedin_account: LinkedInOption = None,
           as_json: JsonOption = False) -> None:
    """Rename, change settings (absent keys are kept) or the LinkedIn accounts."""
    found = container(ctx).campaigns().update(
        OPERATOR, campaign, name=name, settings=_settings(settings),
        linkedin_account_ids=linkedin_account, tenant_id=tenant_id(ctx, tenant))
    _show(found, as_json)


@app.command("steps")
def set_steps(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
              steps: Annotated[str, typer.Option("--steps", help="Steps as a JSON list of "
                                                 "{type, config, title}, or @FILE.")],
              as_json: JsonOption = False) -> None:
    """Replace the steps (draft campaigns only)."""
    found = container(ctx).campaigns().set_steps(OPERATOR, campaign,
                                                 read_json(steps, "--steps"),
                                                 tenant_id=tenant_id(ctx, tenant))
    _show(found, as_json)


def _move(action: str, doc: str) -> None:
    def command(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
                as_json: JsonOption = False) -> None:
        service = container(ctx).campaigns()
        found = getattr(service, action)(OPERATOR, campaign, tenant_id=tenant_id(ctx, tenant))
        emit_one(campaign_row(found), as_json=as_json)

    command.__doc__ = doc
    app.command(action)(command)


_move("activate", "Start sending: every enrolled lead becomes due.")
_move("pause", "Claim nothing more; every enrollment keeps its place.")
_move("resume", "Go on where each enrollment was; no sent step is sent again.")
_move("complete", "End the campaign: nothing more is sent.")
_move("archive", "Archive the campaign (the end of its life).")


@app.command("enroll")
def enroll(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
           lead: Annotated[list[uuid.UUID] | None, typer.Option(
               "--lead", help="A lead's id (repeat); or filter with the options below.")
           ] = None,
           stage: Annotated[str | None, typer.Option(help="Leads in this stage.")] = None,
           status: Annotated[str | None, typer.Option(help="Leads with this status.")] = None,
           owner: Annotated[uuid.UUID | None, typer.Option(
               help="Leads this member owns.")] = None,
           q: Annotated[str | None, typer.Option(
               "--q", help="Text in name, email or company.")] = None,
           every_lead: Annotated[bool, typer.Option(
               "--all", help="Every live lead of the tenant.")] = False,
           as_json: JsonOption = False) -> None:
    """Enroll leads by id or by the leads list's filters (each at most once)."""
    filtered = every_lead or any(v is not None for v in (stage, status, owner, q))
    lead_filter = LeadFilter(stage=stage, status=status, owner_id=owner, text=q) \
        if filtered else None
    report = container(ctx).campaigns().enroll(
        OPERATOR, campaign, lead_ids=lead or None, lead_filter=lead_filter,
        tenant_id=tenant_id(ctx, tenant))
    emit_one({"enrolled": report.enrolled, "already_enrolled": report.already_enrolled,
              "more": report.more}, as_json=as_json)


@app.command("enrollments")
def enrollments(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
                status: Annotated[str | None, typer.Option(
                    help="Only this status (queued, active, waiting, completed, stopped, "
                    "failed).")] = None,
                as_json: JsonOption = False, limit: LimitOption = 50,
                cursor: CursorOption = None) -> None:
    """The campaign's enrollments."""
    found = container(ctx).campaigns().list_enrollments(
        OPERATOR, campaign, status, page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    emit([_enrollment(e) for e in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@app.command("enrollment")
def enrollment(ctx: typer.Context, campaign: CampaignId,
               enrollment_id: Annotated[uuid.UUID, typer.Argument(
                   help="The enrollment's id.")],
               tenant: TenantOption, as_json: JsonOption = False) -> None:
    """One enrollment with its send ledger."""
    detail = container(ctx).campaigns().enrollment(OPERATOR, campaign, enrollment_id,
                                                   tenant_id=tenant_id(ctx, tenant))
    if as_json:
        emit_one({**_enrollment(detail.enrollment),
                  "ledger": [_send(a) for a in detail.ledger]}, as_json=True)
        return
    emit_one(_enrollment(detail.enrollment), as_json=False)
    emit([_send(a) for a in detail.ledger], as_json=False, title="send ledger")


@app.command("stats")
def stats(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
          as_json: JsonOption = False) -> None:
    """Enrollments by status; sends by step and sender."""
    by_status, steps = container(ctx).campaigns().stats(OPERATOR, campaign,
                                                        tenant_id=tenant_id(ctx, tenant))
    rows = [{"step": s.step_order, "sender_id": s.sender_id, "sent": s.sent,
             "failed": s.failed, "deferred": s.deferred, "unknown": s.unknown,
             "opened": s.opened, "replied": s.replied, "bounced": s.bounced,
             "accepted": s.accepted} for s in steps]
    counts = {str(s): by_status.get(s, 0) for s in EnrollmentStatus}
    if as_json:
        emit_one({"enrollments": counts, "steps": rows}, as_json=True)
        return
    emit_one(counts, as_json=False)
    emit(rows, as_json=False, title="sends by step and sender")


@app.command("simulate")
def simulate(ctx: typer.Context, campaign: CampaignId, tenant: TenantOption,
             days: Annotated[int, typer.Option(min=1, max=90, help="How far ahead.")] = 14,
             as_json: JsonOption = False) -> None:
    """The timeline the engine would follow for the enrolled leads over the next DAYS days
    (windows, caps, warm-up, spacing, waits, the wallet); sends and charges nothing."""
    timeline = container(ctx).campaigns().simulate(OPERATOR, campaign, days=days,
                                                   tenant_id=tenant_id(ctx, tenant))
    summary = {"start": timeline.start, "end": timeline.end,
               "total_sends": timeline.total_sends, "total_cost": str(timeline.total_cost),
               "completing": timeline.completing,
               "funds_run_out_at": timeline.funds_run_out_at,
               "waiting": dict(timeline.waiting)}
    days_rows = [{"day": d.day.isoformat(), "sends": d.sends, "cost": str(d.cost),
                  "by_step": {str(k): v for k, v in d.by_step.items()}}
                 for d in timeline.days]
    if as_json:
        emit_one({**summary, "days": days_rows}, as_json=True)
        return
    emit_one(summary, as_json=False)
    emit(days_rows, as_json=False, title="sends per day (UTC)")


@app.command("unknown")
def unknown(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
            limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """Sends whose outcome is unknown: settle them with ``reconcile``."""
    found = container(ctx).campaign_reconciliation().unknown_sends(
        OPERATOR, page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    emit([_send(a) for a in found.items], as_json=as_json, next_cursor=found.next_cursor)


@app.command("reconcile")
def reconcile(ctx: typer.Context, tenant: TenantOption,
              decide: Annotated[tuple[str, str] | None, typer.Option(
                  "--decide", metavar="ACTIVITY sent|not_sent",
                  help="Settle one unknown send by hand instead.")] = None,
              as_json: JsonOption = False) -> None:
    """Mark sends stuck in sending unknown, settle those the mailbox's sent folder can tell
    about, and print every unknown one; or settle one with --decide."""
    reconciliation = container(ctx).campaign_reconciliation()
    tenant_uuid = tenant_id(ctx, tenant)
    if decide is not None and decide[0] is not None:
        activity, decision = decide
        try:
            activity_id = uuid.UUID(activity)
        except ValueError:
            raise ValidationFailed.single("--decide", f"{activity!r} is not a send's id"
                                          ) from None
        settled = reconciliation.decide(OPERATOR, activity_id, decision,
                                        tenant_id=tenant_uuid)
        emit_one(_settlement(settled), as_json=as_json)
        return
    report = reconciliation.reconcile(OPERATOR, tenant_id=tenant_uuid)
    emit([_settlement(s) for s in report], as_json=as_json, title="unknown sends")
    if not as_json:
        left = sum(1 for s in report if s.result.startswith("unknown"))
        console.print(f"{len(report)} unknown sends, {left} left to decide "
                      f"(--decide ACTIVITY {'|'.join(d.value for d in Decision)})")
