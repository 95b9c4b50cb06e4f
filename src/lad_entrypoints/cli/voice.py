"""``lad voice``: a tenant's voices, agents, numbers, members' defaults and call grants (as
the operator), loading the platform's voice catalog from a data file; batches of calls,
one call to one lead, the call log, and the timeout sweep."""

from __future__ import annotations

import uuid
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from lad_adapters.catalog import read_catalog
from lad_domain.billing.scope import each_tenant
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.clock import aware_utc
from lad_domain.shared.errors import ValidationFailed
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    EntryStatus,
    Number,
    Permission,
    UserProfile,
    Voice,
)
from lad_domain.voice.services.calling import BatchProgress, BatchReport, CallDetail
from lad_entrypoints.cli.campaigns import read_json
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one

app = typer.Typer(help="Voice: voices, agents, numbers, grants, members' defaults; "
                  "batches, calls, the sweep.", no_args_is_help=True)
voices = typer.Typer(help="Voices: list, add (the tenant's own), load (the catalog).",
                     no_args_is_help=True)
agents = typer.Typer(help="AI voice agents: list, create, show, update, remove.",
                     no_args_is_help=True)
numbers = typer.Typer(help="Phone numbers: list, add, update, remove.", no_args_is_help=True)
permissions = typer.Typer(help="Who may call with which number or voice: list, grant, "
                          "revoke.", no_args_is_help=True)
profiles = typer.Typer(help="A member's voice defaults: show, set.", no_args_is_help=True)
app.add_typer(voices, name="voices")
app.add_typer(agents, name="agents")
app.add_typer(numbers, name="numbers")
app.add_typer(permissions, name="permissions")
app.add_typer(profiles, name="profiles")
batches = typer.Typer(help="Batches of calls: create, list, show, entries, pause, resume, "
                      "cancel (the worker dials them: lad worker).", no_args_is_help=True)
calls = typer.Typer(help="The call log: list, show.", no_args_is_help=True)
app.add_typer(batches, name="batches")
app.add_typer(calls, name="calls")

AgentId = Annotated[int, typer.Argument(help="The agent's id (a whole number).")]
NumberId = Annotated[uuid.UUID, typer.Argument(help="The number's id.")]
UserId = Annotated[uuid.UUID, typer.Argument(help="The member's user id.")]
Language = Annotated[str | None, typer.Option(help="BCP 47, e.g. en-US.")]
Config = Annotated[str | None, typer.Option(
    help="Call settings as JSON, or @FILE: provider, provider_agent_id, "
    "max_duration_seconds, recording, recording_disclosure.")]
AgentOption = Annotated[int | None, typer.Option("--agent", help="The agent answering it.")]
Label = Annotated[str | None, typer.Option(help="A label.")]
Capabilities = Annotated[list[str] | None, typer.Option(
    "--capability", help="voice or sms (repeat for both).")]


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _voice(v: Voice) -> dict[str, object]:
    return {"id": v.id, "provider": v.provider, "provider_voice_id": v.provider_voice_id,
            "name": v.name, "gender": v.gender, "language": v.language,
            "catalog": v.tenant_id is None, "preview_url": v.preview_url}


def _agent(a: Agent) -> dict[str, object]:
    return {"id": a.id, "name": a.name, "language": a.language,
            "provider": a.settings.provider, "voice_id": a.voice_id}


def _agent_detail(a: Agent) -> dict[str, object]:
    return {**_agent(a), "system_prompt": a.system_prompt, "first_message": a.first_message,
            "config": a.settings.document()}


def _number(n: Number) -> dict[str, object]:
    return {"id": n.id, "phone": n.phone.e164, "provider": n.provider,
            "provider_number_id": n.provider_number_id, "agent_id": n.agent_id,
            "label": n.label, "capabilities": ", ".join(sorted(n.capabilities))}


def _permission(p: Permission) -> dict[str, object]:
    return {"id": p.id, "user_id": p.user_id, "number_id": p.number_id,
            "voice_id": p.voice_id, "is_active": p.is_active, "created_at": p.created_at}


def _profile(p: UserProfile) -> dict[str, object]:
    return {"user_id": p.user_id, "default_agent_id": p.default_agent_id,
            "default_number_id": p.default_number_id, "preferences": p.preferences}


# --- voices -------------------------------------------------------------------------------

@voices.command("list")
def list_voices(ctx: typer.Context, tenant: TenantOption,
                provider: Annotated[str | None, typer.Option(help="Only this provider.")
                                    ] = None,
                as_json: JsonOption = False, limit: LimitOption = 50,
                cursor: CursorOption = None) -> None:
    """The catalog's voices and the tenant's own."""
    found = container(ctx).voice_setup().list_voices(OPERATOR, provider, page(limit, cursor),
                                                     tenant_id=tenant_id(ctx, tenant))
    emit([_voice(v) for v in found.items], as_json=as_json, next_cursor=found.next_cursor)


@voices.command("add")
def add_voice(
    ctx: typer.Context, tenant: TenantOption,
    provider: Annotated[str, typer.Option(help="elevenlabs, openai, cartesia, google, ...")],
    provider_voice_id: Annotated[str, typer.Option(help="The voice's id there.")],
    name: Annotated[str, typer.Option(help="Its name.")],
    gender: Annotated[str | None, typer.Option(help="female, male or neutral.")] = None,
    language: Language = None,
    preview_url: Annotated[str | None, typer.Option(help="An https:// sample.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a voice of the tenant's own."""
    added = container(ctx).voice_setup().add_voice(
        OPERATOR, _given(provider=provider, provider_voice_id=provider_voice_id, name=name,
                         gender=gender, language=language, preview_url=preview_url),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_voice(added), as_json=as_json)


@voices.command("load")
def load_voices(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(
        help="{\"voices\": [...]}; default: the catalog shipped with LAD "
        "(src/lad_adapters/catalog/voices.json).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the platform's voice catalog: add, update, or leave each voice; nothing is
    written when any row is invalid."""
    with resources.as_file(resources.files("lad_adapters.catalog") / "voices.json"
                           ) as shipped:
        document = read_catalog(file or shipped)
    report = container(ctx).voice_setup().load_catalog(OPERATOR, document)
    emit_one({"added": report.added, "updated": report.updated,
              "unchanged": report.unchanged}, as_json=as_json)


# --- agents -------------------------------------------------------------------------------

@agents.command("list")
def list_agents(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    found = container(ctx).voice_setup().list_agents(OPERATOR, page(limit, cursor),
                                                     tenant_id=tenant_id(ctx, tenant))
    emit([_agent(a) for a in found.items], as_json=as_json, next_cursor=found.next_cursor)


def _agent_fields(name: str | None, voice: uuid.UUID | None, language: str | None,
                  system_prompt: str | None, first_message: str | None,
                  config: str | None) -> dict[str, Any]:
    return _given(name=name, voice_id=voice, language=language, system_prompt=system_prompt,
                  first_message=first_message,
                  config=read_json(config, "--config") if config is not None else None)


VoiceOption = Annotated[uuid.UUID | None, typer.Option("--voice", help="A voice's id.")]
Prompt = Annotated[str | None, typer.Option(help="The system prompt, or @FILE.")]
FirstMessage = Annotated[str | None, typer.Option(help="What the agent says first.")]


def _text(value: str | None) -> str | None:
    if value is not None and value.startswith("@"):
        return Path(value[1:]).read_text(encoding="utf-8")
    return value


@agents.command("create")
def create_agent(ctx: typer.Context, tenant: TenantOption,
                 name: Annotated[str, typer.Option(help="The agent's name.")],
                 voice: VoiceOption = None, language: Language = None,
                 system_prompt: Prompt = None, first_message: FirstMessage = None,
                 config: Config = None, as_json: JsonOption = False) -> None:
    """Create an AI voice agent."""
    created = container(ctx).voice_setup().create_agent(
        OPERATOR, _agent_fields(name, voice, language, _text(system_prompt), first_message,
                                config), tenant_id=tenant_id(ctx, tenant))
    emit_one(_agent_detail(created), as_json=as_json)


@agents.command("show")
def show_agent(ctx: typer.Context, agent: AgentId, tenant: TenantOption,
               as_json: JsonOption = False) -> None:
    found = container(ctx).voice_setup().get_agent(OPERATOR, agent,
                                                   tenant_id=tenant_id(ctx, tenant))
    emit_one(_agent_detail(found), as_json=as_json)


@agents.command("update")
def update_agent(ctx: typer.Context, agent: AgentId, tenant: TenantOption,
                 name: Annotated[str | None, typer.Option(help="A new name.")] = None,
                 voice: VoiceOption = None, language: Language = None,
                 system_prompt: Prompt = None, first_message: FirstMessage = None,
                 config: Config = None, as_json: JsonOption = False) -> None:
    """Change what is given; the rest is kept."""
    changed = container(ctx).voice_setup().update_agent(
        OPERATOR, agent, _agent_fields(name, voice, language, _text(system_prompt),
                                       first_message, config),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_agent_detail(changed), as_json=as_json)


@agents.command("remove")
def remove_agent(ctx: typer.Context, agent: AgentId, tenant: TenantOption) -> None:
    """Remove an agent; the numbers it answered keep no agent."""
    container(ctx).voice_setup().remove_agent(OPERATOR, agent, tenant_id=tenant_id(ctx, tenant))


# --- numbers ------------------------------------------------------------------------------

@numbers.command("list")
def list_numbers(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                 limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    found = container(ctx).voice_setup().list_numbers(OPERATOR, page(limit, cursor),
                                                      tenant_id=tenant_id(ctx, tenant))
    emit([_number(n) for n in found.items], as_json=as_json, next_cursor=found.next_cursor)


@numbers.command("add")
def add_number(
    ctx: typer.Context, tenant: TenantOption,
    phone: Annotated[str, typer.Option(help="E.164 or international text.")],
    provider: Annotated[str, typer.Option(help="twilio, vonage, ...")],
    provider_number_id: Annotated[str | None, typer.Option(help="Its id there.")] = None,
    agent: AgentOption = None, label: Label = None, capability: Capabilities = None,
    as_json: JsonOption = False,
) -> None:
    """Add one of the tenant's phone numbers."""
    added = container(ctx).voice_setup().add_number(
        OPERATOR, _given(phone=phone, provider=provider, provider_number_id=provider_number_id,
                         agent_id=agent, label=label, capabilities=capability or None),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_number(added), as_json=as_json)


@numbers.command("update")
def update_number(ctx: typer.Context, number: NumberId, tenant: TenantOption,
                  agent: AgentOption = None, label: Label = None,
                  capability: Capabilities = None, as_json: JsonOption = False) -> None:
    """Change the agent answering it, its label or its capabilities."""
    changed = container(ctx).voice_setup().update_number(
        OPERATOR, number, _given(agent_id=agent, label=label,
                                 capabilities=capability or None),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_number(changed), as_json=as_json)


@numbers.command("remove")
def remove_number(ctx: typer.Context, number: NumberId, tenant: TenantOption) -> None:
    container(ctx).voice_setup().remove_number(OPERATOR, number,
                                               tenant_id=tenant_id(ctx, tenant))


# --- permissions --------------------------------------------------------------------------

@permissions.command("list")
def list_permissions(ctx: typer.Context, tenant: TenantOption,
                     user: Annotated[uuid.UUID | None, typer.Option(
                         help="Only this member's.")] = None,
                     as_json: JsonOption = False, limit: LimitOption = 50,
                     cursor: CursorOption = None) -> None:
    """Grants, revoked ones too."""
    found = container(ctx).voice_setup().list_permissions(
        OPERATOR, user, page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    emit([_permission(p) for p in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@permissions.command("grant")
def grant(ctx: typer.Context, tenant: TenantOption,
          user: Annotated[uuid.UUID, typer.Option(help="The member.")],
          number: Annotated[uuid.UUID | None, typer.Option(help="A number's id.")] = None,
          voice: Annotated[uuid.UUID | None, typer.Option(help="A voice's id.")] = None,
          as_json: JsonOption = False) -> None:
    """Let a member call from a number, with a voice, or both together."""
    granted = container(ctx).voice_setup().grant(OPERATOR, user, number_id=number,
                                                 voice_id=voice,
                                                 tenant_id=tenant_id(ctx, tenant))
    emit_one(_permission(granted), as_json=as_json)


@permissions.command("revoke")
def revoke(ctx: typer.Context,
           permission: Annotated[uuid.UUID, typer.Argument(help="The grant's id.")],
           tenant: TenantOption) -> None:
    """The grant stays, inactive."""
    container(ctx).voice_setup().revoke(OPERATOR, permission, tenant_id=tenant_id(ctx, tenant))


# --- profiles -----------------------------------------------------------------------------

@profiles.command("show")
def show_profile(ctx: typer.Context, user: UserId, tenant: TenantOption,
                 as_json: JsonOption = False) -> None:
    found = container(ctx).voice_setup().get_profile(OPERATOR, user,
                                                     tenant_id=tenant_id(ctx, tenant))
    emit_one(_profile(found), as_json=as_json)


@profiles.command("set")
def set_profile(ctx: typer.Context, user: UserId, tenant: TenantOption,
                agent: Annotated[int | None, typer.Option(
                    "--agent", help="The default agent.")] = None,
                number: Annotated[uuid.UUID | None, typer.Option(
                    "--number", help="The default number.")] = None,
                as_json: JsonOption = False) -> None:
    """Set a member's default agent and number (what is given)."""
    saved = container(ctx).voice_setup().put_profile(
        OPERATOR, user, _given(default_agent_id=agent, default_number_id=number),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_profile(saved), as_json=as_json)


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


@app.command("call")
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


@app.command("sweep")
def sweep(ctx: typer.Context,
          tenant: Annotated[str | None, typer.Option(
              "--tenant", "-t", help="Tenant slug or id (default: every tenant).")] = None,
          as_json: JsonOption = False) -> None:
    """Settle calls whose final event never came, now (the worker does it every minute):
    asked of their provider, else released and marked unknown."""
    lad = container(ctx)
    tenants = [tenant_id(ctx, tenant)] if tenant else list(each_tenant(lad.tenant_scope()))
    report = {"tenants": len(tenants), "fetched": 0, "unknown": 0}
    for found in tenants:
        for key, value in lad.dialer().sweep(found).items():
            report[key] = report.get(key, 0) + value
    emit_one(report, as_json=as_json)
