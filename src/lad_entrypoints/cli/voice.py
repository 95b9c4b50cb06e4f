"""``lad voice``: a tenant's voices, agents, numbers, members' defaults and call grants (as
the operator), and loading the platform's voice catalog from a data file. The calls
(batches, one call, the call log, the sweep) are ``voice_calls``'s commands, on the same
``lad voice``."""

from __future__ import annotations

import uuid
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from lad_adapters.catalog import read_catalog
from lad_domain.voice.model import (
    Agent,
    Number,
    Permission,
    UserProfile,
    Voice,
)
from lad_entrypoints.cli import voice_calls
from lad_entrypoints.cli.campaigns import read_json
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
voice_calls.install(app)

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
    """The tenant's voice agents, newest first."""
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
        return read_text_file(Path(value[1:]), "@FILE")
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
    """One voice agent: its provider, voice, language, prompt and first message."""
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
    """The tenant's phone numbers and the agent answering each."""
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
    """Remove a phone number from the tenant."""
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
    """A member's voice profile: their default agent, number and preferences."""
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
