"""ICP assistant routes: conversations in which a member describes who they sell to (each
turn read into the conversation's ICP document), saved ICP profiles, the people an ICP
finds (a preview over Apollo), importing them as leads, and keyword expansion. Viewers
read; members talk to the assistant (its tokens are billed) and save profiles."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from lad_domain.enrichment.model import MAX_PAGE, MAX_PER_PAGE
from lad_domain.enrichment.services.search import DEFAULT_PER_PAGE
from lad_domain.icp.model import (
    MAX_MESSAGE,
    SENIORITIES,
    Conversation,
    ConversationStatus,
    ExpansionStats,
    IcpDocument,
    IcpProfile,
    Message,
    Role,
)
from lad_domain.icp.services.assistant import (
    CONTEXTS,
    AssistantTurn,
    ExpansionAnswer,
    IcpAssistant,
)
from lad_domain.icp.services.profiles import IcpProfiles
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.enrichment import (
    Enrichment,
    PersonOut,
    SearchPageOut,
    import_people,
    people_page,
)
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import EMAIL, PageOut, Strict

router = APIRouter(prefix="/v1/icp", tags=["icp"])

Assistant = Annotated[IcpAssistant, Depends(provided(lambda c: c.icp_assistant()))]
Profiles = Annotated[IcpProfiles, Depends(provided(lambda c: c.icp_profiles()))]

ICP_IN = ("An ICP document: titles, seniorities (" + ", ".join(SENIORITIES) + "), "
          "headcounts ([{\"min\": 50, \"max\": 200}], ranges that do not overlap), "
          "person_locations, organization_locations, industries, keywords, domains (lists "
          "of strings), include_similar_titles (true/false)")


class HeadcountOut(BaseModel):
    min: int
    max: int


class IcpOut(BaseModel):
    """Every list sorted and without duplicates."""

    titles: list[str]
    seniorities: list[str]
    headcounts: list[HeadcountOut] = Field(description="Company sizes in employees, both "
                                           "ends included")
    person_locations: list[str]
    organization_locations: list[str]
    industries: list[str]
    keywords: list[str]
    domains: list[str]
    include_similar_titles: bool
    source: str = Field(description="What extracted it: rules (offline), a model's name, "
                        "or user (typed)")

    @classmethod
    def of(cls, d: IcpDocument) -> IcpOut:
        return cls.model_validate(d.to_json())


class ConversationOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID = Field(description="The member it belongs to")
    status: ConversationStatus
    title: str | None
    icp: IcpOut
    missing: list[str] = Field(description="What a search still needs")
    search_params: dict[str, Any] = Field(description="The ICP as Apollo's people filters")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(id=c.id, user_id=c.user_id, status=c.status, title=c.title,
                   icp=IcpOut.of(c.icp), missing=c.icp.missing(),
                   search_params=c.search_params, created_at=c.created_at,
                   updated_at=c.updated_at)


class MessageOut(BaseModel):
    id: uuid.UUID
    role: Role
    content: str
    tokens_used: int
    model: str | None
    metadata: dict[str, Any] = Field(description="An answer's: the ICP after the turn, "
                                     "the update read, changed, missing, related")
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(id=m.id, role=m.role, content=m.content, tokens_used=m.tokens_used,
                   model=m.model, metadata=dict(m.metadata), created_at=m.created_at)


class TurnOut(BaseModel):
    question: MessageOut
    answer: MessageOut
    icp: IcpOut = Field(description="The conversation's ICP after the turn")
    changed: list[str] = Field(description="The ICP's fields this turn changed")
    missing: list[str] = Field(description="What a search still needs")
    related: dict[str, list[str]] = Field(description="New keywords' related terms")
    search_params: dict[str, Any]

    @classmethod
    def of(cls, t: AssistantTurn) -> TurnOut:
        return cls(question=MessageOut.of(t.question), answer=MessageOut.of(t.answer),
                   icp=IcpOut.of(t.conversation.icp), changed=list(t.changed),
                   missing=list(t.missing),
                   related={k: list(v) for k, v in t.related.items()},
                   search_params=t.conversation.search_params)


class ProfileOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    icp: IcpOut
    search_params: dict[str, Any]
    user_id: uuid.UUID | None = Field(description="Who saved it")
    source_conversation_id: uuid.UUID | None
    usage_count: int = Field(description="Searches started from it")
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: IcpProfile) -> ProfileOut:
        return cls(id=p.id, name=p.name, description=p.description, icp=IcpOut.of(p.icp),
                   search_params=p.search_params, user_id=p.user_id,
                   source_conversation_id=p.source_conversation_id,
                   usage_count=p.usage_count, last_used_at=p.last_used_at,
                   created_at=p.created_at, updated_at=p.updated_at)


class StartIn(Strict):
    title: str | None = Field(default=None, max_length=200)
    member: str | None = Field(default=None, json_schema_extra=EMAIL, description="The "
                               "member it is for, by email (API keys; a member starts "
                               "their own)")


class ConversationPatch(Strict):
    """An absent field is kept."""

    status: ConversationStatus | None = Field(default=None, description="active to "
                                              "continue it, completed or archived")
    icp: dict[str, Any] | None = Field(default=None, description=ICP_IN + "; replaces "
                                       "the document the turns built")


class MessageIn(Strict):
    content: str = Field(description=f"What the member says: 1-{MAX_MESSAGE:,} characters")


class ProfileIn(Strict):
    """Its ICP typed (``icp``) or taken from a conversation (``conversation_id``)."""

    name: str = Field(max_length=200, description="Unique among the tenant's profiles")
    description: str | None = Field(default=None, max_length=2000)
    icp: dict[str, Any] | None = Field(default=None, description=ICP_IN)
    conversation_id: uuid.UUID | None = None


class ProfilePatch(Strict):
    """An absent field is kept; a null description clears it."""

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    icp: dict[str, Any] | None = Field(default=None, description=ICP_IN)


class PreviewIn(Strict):
    """A saved profile's ICP (its use counted) or a conversation's: one of the two."""

    profile_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    page: int = Field(default=1, description=f"1-{MAX_PAGE}")
    per_page: int = Field(default=DEFAULT_PER_PAGE, description=f"1-{MAX_PER_PAGE}")


class PreviewOut(BaseModel):
    search_params: dict[str, Any] = Field(description="The ICP as Apollo's people filters")
    people: SearchPageOut[PersonOut]


class ExpandIn(Strict):
    keyword: str = Field(max_length=100)
    context: str | None = Field(default=None, description=", ".join(CONTEXTS)
                                + " (default keyword)")


class ExpansionOut(BaseModel):
    keyword: str
    context: str
    keywords: list[str] = Field(description="Related terms")
    cached: bool = Field(description="From the cache: free")

    @classmethod
    def of(cls, e: ExpansionAnswer) -> ExpansionOut:
        return cls(keyword=e.keyword, context=e.context, keywords=list(e.keywords),
                   cached=e.cached)


class ExpansionStatsOut(BaseModel):
    entries: int
    hits: int = Field(description="Lookups the cache answered")
    misses: int = Field(description="Lookups that asked the model")
    hit_rate: float

    @classmethod
    def of(cls, s: ExpansionStats) -> ExpansionStatsOut:
        return cls(entries=s.entries, hits=s.hits, misses=s.misses, hit_rate=s.hit_rate)


# --- conversations -----------------------------------------------------------------------

@router.post("/conversations", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/icp/conversations/{id}"))
def start_conversation(body: StartIn, principal: CurrentPrincipal, assistant: Assistant
                       ) -> ConversationOut:
    """A new conversation with the assistant, for the acting member (or, for an API key,
    the member named)."""
    return ConversationOut.of(assistant.start(principal, title=body.title,
                                              member=body.member))


@router.get("/conversations")
def list_conversations(principal: CurrentPrincipal, assistant: Assistant, page: Paging,
                       mine: bool = False) -> PageOut[ConversationOut]:
    """Newest first; ``mine``: only the caller's."""
    found = assistant.list(principal, page, mine=mine)
    return PageOut(items=[ConversationOut.of(c) for c in found.items],
                   next_cursor=found.next_cursor)


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: uuid.UUID, principal: CurrentPrincipal,
                     assistant: Assistant) -> ConversationOut:
    return ConversationOut.of(assistant.get(principal, conversation_id))


@router.patch("/conversations/{conversation_id}")
def update_conversation(conversation_id: uuid.UUID, body: ConversationPatch,
                        principal: CurrentPrincipal, assistant: Assistant
                        ) -> ConversationOut:
    """Edit the ICP directly, and/or set the status (archive it, or make it active to
    continue it). A member changes their own conversations, admins anyone's."""
    given = body.model_dump(exclude_unset=True)
    found = None
    if given.get("icp") is not None:
        found = assistant.set_icp(principal, conversation_id, given["icp"])
    if given.get("status") is not None:
        found = assistant.set_status(principal, conversation_id, given["status"])
    return ConversationOut.of(found or assistant.get(principal, conversation_id))


@router.get("/conversations/{conversation_id}/messages")
def list_messages(conversation_id: uuid.UUID, principal: CurrentPrincipal,
                  assistant: Assistant, page: Paging) -> PageOut[MessageOut]:
    """Oldest first: the conversation as it was said."""
    found = assistant.messages(principal, conversation_id, page)
    return PageOut(items=[MessageOut.of(m) for m in found.items],
                   next_cursor=found.next_cursor)


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/icp/conversations/{conversation_id}/messages"),
             responses=problems(402))
def say(conversation_id: uuid.UUID, body: MessageIn, principal: CurrentPrincipal,
        assistant: Assistant) -> TurnOut:
    """One turn: the message read by the model into the ICP, the assistant's answer (what
    it understood, what it still needs), both stored and the tokens billed; when the model
    fails, nothing is stored (503, with Retry-After when known)."""
    return TurnOut.of(assistant.say(principal, conversation_id, body.content))


# --- profiles ----------------------------------------------------------------------------

@router.post("/profiles", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/icp/profiles/{id}"), responses=problems(404))
def save_profile(body: ProfileIn, principal: CurrentPrincipal, profiles: Profiles
                 ) -> ProfileOut:
    """Save an ICP under a name: typed, or a conversation's."""
    return ProfileOut.of(profiles.save(principal, body.model_dump(exclude_none=True)))


@router.get("/profiles")
def list_profiles(principal: CurrentPrincipal, profiles: Profiles, page: Paging
                  ) -> PageOut[ProfileOut]:
    """Newest first."""
    found = profiles.list(principal, page)
    return PageOut(items=[ProfileOut.of(p) for p in found.items],
                   next_cursor=found.next_cursor)


@router.get("/profiles/{profile_id}")
def get_profile(profile_id: uuid.UUID, principal: CurrentPrincipal, profiles: Profiles
                ) -> ProfileOut:
    return ProfileOut.of(profiles.get(principal, profile_id))


@router.patch("/profiles/{profile_id}")
def update_profile(profile_id: uuid.UUID, body: ProfilePatch, principal: CurrentPrincipal,
                   profiles: Profiles) -> ProfileOut:
    """Whoever saved it changes it; admins change any."""
    return ProfileOut.of(profiles.update(principal, profile_id,
                                         body.model_dump(exclude_unset=True)))


@router.delete("/profiles/{profile_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(profile_id: uuid.UUID, principal: CurrentPrincipal, profiles: Profiles
                   ) -> Response:
    """Soft delete: the name is free again."""
    profiles.delete(principal, profile_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- searching and importing -------------------------------------------------------------

@router.post("/search/preview", responses=problems(404))
def preview(body: PreviewIn, principal: CurrentPrincipal, enrichment: Enrichment
            ) -> PreviewOut:
    """The people an ICP finds (people search is free; cached pages say so), with the
    search parameters it was turned into."""
    params, found = enrichment.preview(principal, profile_id=body.profile_id,
                                       conversation_id=body.conversation_id,
                                       page=body.page, per_page=body.per_page)
    return PreviewOut(search_params=params, people=people_page(found))


router.post("/import", responses=problems(402))(import_people)


# --- keywords ----------------------------------------------------------------------------

@router.post("/keywords/expand", responses=problems(402))
def expand_keyword(body: ExpandIn, principal: CurrentPrincipal, assistant: Assistant
                   ) -> ExpansionOut:
    """A keyword's related terms: from the cache when known (free), else from the model
    (billed) and kept for every later ask."""
    return ExpansionOut.of(assistant.expand(principal, body.keyword, body.context))


@router.get("/keywords/stats")
def keyword_stats(principal: CurrentPrincipal, assistant: Assistant) -> ExpansionStatsOut:
    """How well the expansion cache serves."""
    return ExpansionStatsOut.of(assistant.expansion_stats(principal))
