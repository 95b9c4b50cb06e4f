"""``lad icp``: the ICP assistant's conversations (for a member, named by email), saved
profiles, the people an ICP finds, importing them, and keyword expansion (as the
operator, for a tenant)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from lad_domain.enrichment.services.search import DEFAULT_PER_PAGE
from lad_domain.icp.model import Conversation, ConversationStatus, IcpProfile, Message
from lad_domain.leads.model import OnDuplicate
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
from lad_entrypoints.cli.enrichment import (
    DryRunOption,
    EnrichOption,
    IdsFile,
    OnDuplicateOption,
    PageOption,
    PerPageOption,
    PersonIds,
    emit_page,
    person_document,
    person_row,
    run_import,
)
from lad_entrypoints.cli.output import emit, emit_one

app = typer.Typer(help="The ICP assistant: conversations, profiles, preview, import, "
                  "keywords.", no_args_is_help=True)
conversations = typer.Typer(help="Conversations with the assistant: start, list, show, "
                            "say, messages, archive.", no_args_is_help=True)
profiles = typer.Typer(help="Saved ICP profiles: save, list, show, update, delete.",
                       no_args_is_help=True)
app.add_typer(conversations, name="conversations")
app.add_typer(profiles, name="profiles")

ConversationId = Annotated[uuid.UUID, typer.Argument(help="The conversation's id.")]
ProfileId = Annotated[uuid.UUID, typer.Argument(help="The profile's id.")]
IcpOption = Annotated[str | None, typer.Option(
    "--icp", help="The ICP as JSON, or @FILE: titles, seniorities, headcounts "
    "([{\"min\": 50, \"max\": 200}]), person_locations, organization_locations, "
    "industries, keywords, domains.")]


def _conversation(c: Conversation) -> dict[str, object]:
    return {"id": c.id, "user_id": c.user_id, "status": c.status, "title": c.title,
            "updated_at": c.updated_at}


def _conversation_detail(c: Conversation, as_json: bool) -> dict[str, object]:
    icp: object = c.icp.to_json() if as_json else _summary(c.icp.to_json())
    return {**_conversation(c), "icp": icp, "missing": c.icp.missing() if as_json
            else "; ".join(c.icp.missing()), "search_params": c.search_params,
            "created_at": c.created_at}


def _summary(icp: dict[str, Any]) -> str:
    parts = []
    for name, value in icp.items():
        if name == "headcounts" and value:
            parts.append("headcounts: " + ", ".join(f"{r['min']}-{r['max']}" for r in value))
        elif isinstance(value, list) and value:
            parts.append(f"{name}: " + ", ".join(value))
    return "; ".join(parts)


def _message(m: Message) -> dict[str, object]:
    return {"id": m.id, "role": m.role, "content": m.content, "tokens_used": m.tokens_used,
            "created_at": m.created_at}


def _profile(p: IcpProfile, as_json: bool) -> dict[str, object]:
    return {"id": p.id, "name": p.name, "description": p.description,
            "icp": p.icp.to_json() if as_json else _summary(p.icp.to_json()),
            "usage_count": p.usage_count, "source_conversation_id": p.source_conversation_id,
            "updated_at": p.updated_at}


# --- conversations -----------------------------------------------------------------------

@conversations.command("start")
def start(ctx: typer.Context, tenant: TenantOption,
          member: Annotated[str, typer.Option("--member", help="The member it is for "
                                              "(email).")],
          title: Annotated[str | None, typer.Option(help="A title (default: the first "
                                                    "message).")] = None,
          as_json: JsonOption = False) -> None:
    """Start a conversation with the assistant for a member."""
    found = container(ctx).icp_assistant().start(OPERATOR, title=title, member=member,
                                                 tenant_id=tenant_id(ctx, tenant))
    emit_one(_conversation_detail(found, as_json), as_json=as_json)


@conversations.command("list")
def list_conversations(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                       limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """The tenant's ICP conversations, newest first."""
    found = container(ctx).icp_assistant().list(OPERATOR, page(limit, cursor),
                                                tenant_id=tenant_id(ctx, tenant))
    emit([_conversation(c) for c in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@conversations.command("show")
def show(ctx: typer.Context, conversation: ConversationId, tenant: TenantOption,
         as_json: JsonOption = False) -> None:
    """One ICP conversation: the profile gathered so far, what is missing, the search it
    makes."""
    found = container(ctx).icp_assistant().get(OPERATOR, conversation,
                                               tenant_id=tenant_id(ctx, tenant))
    emit_one(_conversation_detail(found, as_json), as_json=as_json)


@conversations.command("say")
def say(ctx: typer.Context, conversation: ConversationId,
        message: Annotated[str, typer.Argument(help="What the member says.")],
        tenant: TenantOption, as_json: JsonOption = False) -> None:
    """One turn: the message read into the ICP; prints the assistant's answer."""
    turn = container(ctx).icp_assistant().say(OPERATOR, conversation, message,
                                              tenant_id=tenant_id(ctx, tenant))
    if as_json:
        emit_one({"question": _message(turn.question), "answer": _message(turn.answer),
                  "icp": turn.conversation.icp.to_json(), "changed": list(turn.changed),
                  "missing": list(turn.missing),
                  "related": {k: list(v) for k, v in turn.related.items()},
                  "search_params": turn.conversation.search_params}, as_json=True)
        return
    print(turn.answer.content)


@conversations.command("messages")
def messages(ctx: typer.Context, conversation: ConversationId, tenant: TenantOption,
             as_json: JsonOption = False, limit: LimitOption = 50,
             cursor: CursorOption = None) -> None:
    """Oldest first."""
    found = container(ctx).icp_assistant().messages(OPERATOR, conversation,
                                                    page(limit, cursor),
                                                    tenant_id=tenant_id(ctx, tenant))
    emit([_message(m) for m in found.items], as_json=as_json, next_cursor=found.next_cursor)


@conversations.command("archive")
def archive(ctx: typer.Context, conversation: ConversationId, tenant: TenantOption,
            as_json: JsonOption = False) -> None:
    """Archive a conversation (it is kept, no longer active)."""
    found = container(ctx).icp_assistant().set_status(
        OPERATOR, conversation, ConversationStatus.ARCHIVED, tenant_id=tenant_id(ctx, tenant))
    emit_one(_conversation(found), as_json=as_json)


# --- profiles ----------------------------------------------------------------------------

def _fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@profiles.command("save")
def save(ctx: typer.Context, tenant: TenantOption,
         name: Annotated[str, typer.Option(help="Unique among the tenant's profiles.")],
         icp: IcpOption = None,
         conversation: Annotated[uuid.UUID | None, typer.Option(
             "--conversation", help="Take the ICP of this conversation.")] = None,
         description: Annotated[str | None, typer.Option(help="A description.")] = None,
         as_json: JsonOption = False) -> None:
    """Save an ICP under a name: typed (--icp) or a conversation's (--conversation)."""
    found = container(ctx).icp_profiles().save(OPERATOR, _fields(
        name=name, description=description, conversation_id=conversation,
        icp=read_json(icp, "--icp") if icp is not None else None),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_profile(found, as_json), as_json=as_json)


@profiles.command("list")
def list_profiles(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                  limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """The tenant's saved ICP profiles, newest first."""
    found = container(ctx).icp_profiles().list(OPERATOR, page(limit, cursor),
                                               tenant_id=tenant_id(ctx, tenant))
    emit([_profile(p, as_json) for p in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@profiles.command("show")
def show_profile(ctx: typer.Context, profile: ProfileId, tenant: TenantOption,
                 as_json: JsonOption = False) -> None:
    """One saved ICP profile and the search parameters it makes."""
    found = container(ctx).icp_profiles().get(OPERATOR, profile,
                                              tenant_id=tenant_id(ctx, tenant))
    emit_one({**_profile(found, as_json), "search_params": found.search_params},
             as_json=as_json)


@profiles.command("update")
def update_profile(ctx: typer.Context, profile: ProfileId, tenant: TenantOption,
                   name: Annotated[str | None, typer.Option(help="A new name.")] = None,
                   description: Annotated[str | None, typer.Option(
                       help="A new description.")] = None,
                   icp: IcpOption = None, as_json: JsonOption = False) -> None:
    """Change a saved ICP profile's name, description or ICP."""
    found = container(ctx).icp_profiles().update(OPERATOR, profile, _fields(
        name=name, description=description,
        icp=read_json(icp, "--icp") if icp is not None else None),
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_profile(found, as_json), as_json=as_json)


@profiles.command("delete")
def delete_profile(ctx: typer.Context, profile: ProfileId, tenant: TenantOption,
                   as_json: JsonOption = False) -> None:
    """Soft delete: the name is free again."""
    container(ctx).icp_profiles().delete(OPERATOR, profile, tenant_id=tenant_id(ctx, tenant))
    emit_one({"deleted": profile}, as_json=as_json)


# --- searching, importing, keywords --------------------------------------------------------

@app.command("preview")
def preview(ctx: typer.Context, tenant: TenantOption,
            profile: Annotated[uuid.UUID | None, typer.Option(
                "--profile", help="A saved profile (its use is counted).")] = None,
            conversation: Annotated[uuid.UUID | None, typer.Option(
                "--conversation", help="A conversation's ICP.")] = None,
            page_: PageOption = 1, per_page: PerPageOption = DEFAULT_PER_PAGE,
            as_json: JsonOption = False) -> None:
    """The people an ICP finds (free), with the search parameters it became."""
    params, found = container(ctx).enrichment().preview(
        OPERATOR, profile_id=profile, conversation_id=conversation, page=page_,
        per_page=per_page, tenant_id=tenant_id(ctx, tenant))
    emit_page(found, [person_row(p) for p in found.items],
              [person_document(p) for p in found.items], as_json=as_json,
              extra={"search_params": params})


@app.command("import")
def import_people(ctx: typer.Context, tenant: TenantOption, ids: PersonIds = None,
                  file: IdsFile = None, enrich: EnrichOption = False,
                  on_duplicate: OnDuplicateOption = OnDuplicate.SKIP,
                  dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Make leads of people a preview found (as ``lad enrichment import``)."""
    run_import(ctx, tenant, ids, file, enrich, on_duplicate, dry_run, as_json)


@app.command("expand")
def expand(ctx: typer.Context, keyword: Annotated[str, typer.Argument(help="A keyword.")],
           tenant: TenantOption,
           context: Annotated[str | None, typer.Option(
               help="keyword, industry, title or location (default keyword).")] = None,
           as_json: JsonOption = False) -> None:
    """A keyword's related terms: from the cache (free) or the model (billed, then kept)."""
    found = container(ctx).icp_assistant().expand(OPERATOR, keyword, context,
                                                  tenant_id=tenant_id(ctx, tenant))
    emit_one({"keyword": found.keyword, "context": found.context,
              "keywords": list(found.keywords) if as_json else ", ".join(found.keywords),
              "cached": found.cached}, as_json=as_json)


@app.command("keyword-stats")
def keyword_stats(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False
                  ) -> None:
    """How well the keyword-expansion cache serves."""
    found = container(ctx).icp_assistant().expansion_stats(OPERATOR,
                                                           tenant_id=tenant_id(ctx, tenant))
    emit_one({"entries": found.entries, "hits": found.hits, "misses": found.misses,
              "hit_rate": round(found.hit_rate, 4)}, as_json=as_json)
