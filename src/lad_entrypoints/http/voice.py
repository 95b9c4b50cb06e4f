"""Voice setup routes: the voice catalog and a tenant's own voices, agents, phone numbers,
members' defaults (profiles) and call grants (permissions). Reads need the viewer role on
the ``voice`` feature, changes the admin role; a member sets their own defaults. The calls
themselves are in ``voice_calls``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import (
    Agent,
    Capability,
    Gender,
    Number,
    Permission,
    UserProfile,
)
from lad_domain.voice.model import Voice as CatalogVoice
from lad_domain.voice.services.setup import VoiceSetupService
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.schemas import NOT_BLANK, PageOut, Strict

router = APIRouter(prefix="/v1/voice", tags=["voice"])

Setup = Annotated[VoiceSetupService, Depends(provided(lambda c: c.voice_setup()))]
LANGUAGE = Field(default=None, max_length=16, description="BCP 47, e.g. en-US")


def _given(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# --- voices -------------------------------------------------------------------------------

class VoicePatch(Strict):
    """An absent field is kept; null clears an optional one."""

    provider: str | None = Field(default=None, max_length=32, description="elevenlabs, "
                                 "openai, cartesia, google, ...")
    provider_voice_id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200, json_schema_extra=NOT_BLANK)
    gender: Gender | None = None
    language: str | None = LANGUAGE
    preview_url: str | None = Field(default=None, max_length=2048,
                                    description="An https:// URL of a sample")


class VoiceIn(VoicePatch):
    provider: str = Field(max_length=32, description="elevenlabs, openai, cartesia, "
                          "google, ...")
    provider_voice_id: str = Field(max_length=128, description="The voice's id there")
    name: str = Field(max_length=200, json_schema_extra=NOT_BLANK)


class VoiceOut(BaseModel):
    id: uuid.UUID
    provider: str
    provider_voice_id: str
    name: str
    gender: Gender | None
    language: str | None
    preview_url: str | None
    catalog: bool = Field(description="A voice of the platform's catalog (not the "
                          "tenant's own): only the operator changes it")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: CatalogVoice) -> VoiceOut:
        return cls(id=v.id, provider=v.provider, provider_voice_id=v.provider_voice_id,
                   name=v.name, gender=v.gender, language=v.language,
                   preview_url=v.preview_url, catalog=v.tenant_id is None,
                   created_at=v.created_at, updated_at=v.updated_at)


@router.get("/voices")
def list_voices(principal: CurrentPrincipal, setup: Setup, page: Paging,
                provider: str | None = None) -> PageOut[VoiceOut]:
    """The catalog's voices and the tenant's own."""
    found = setup.list_voices(principal, provider, page)
    return PageOut(items=[VoiceOut.of(v) for v in found.items], next_cursor=found.next_cursor)


@router.post("/voices", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/voices/{id}"))
def add_voice(body: VoiceIn, principal: CurrentPrincipal, setup: Setup) -> VoiceOut:
    """A voice of the tenant's own (admins)."""
    return VoiceOut.of(setup.add_voice(principal, _given(body)))


@router.get("/voices/{voice_id}")
def get_voice(voice_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup) -> VoiceOut:
    return VoiceOut.of(setup.get_voice(principal, voice_id))


@router.patch("/voices/{voice_id}")
def update_voice(voice_id: uuid.UUID, body: VoicePatch, principal: CurrentPrincipal,
                 setup: Setup) -> VoiceOut:
    """Change one of the tenant's own voices (a catalog voice: 403)."""
    return VoiceOut.of(setup.update_voice(principal, voice_id, _given(body)))


@router.delete("/voices/{voice_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_voice(voice_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup) -> Response:
    setup.remove_voice(principal, voice_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- agents -------------------------------------------------------------------------------

class AgentPatch(Strict):
    """An absent field is kept; null clears an optional one."""

    name: str | None = Field(default=None, max_length=200, json_schema_extra=NOT_BLANK)
    voice_id: uuid.UUID | None = Field(default=None, description="A live voice of the "
                                       "catalog or of the tenant")
    language: str | None = LANGUAGE
    system_prompt: str | None = None
    first_message: str | None = Field(default=None, description="What the agent says first")
    config: dict[str, Any] | None = Field(default=None, description=(
        "provider, provider_agent_id, max_duration_seconds (10-14400), recording, "
        "recording_disclosure; other keys are kept as given"))


class AgentIn(AgentPatch):
    name: str = Field(max_length=200, json_schema_extra=NOT_BLANK)


class AgentOut(BaseModel):
    id: int
    name: str
    voice_id: uuid.UUID | None
    language: str
    system_prompt: str | None
    first_message: str | None
    config: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Agent) -> AgentOut:
        return cls(id=a.number, name=a.name, voice_id=a.voice_id, language=a.language,
                   system_prompt=a.system_prompt, first_message=a.first_message,
                   config=a.settings.document(), created_by=a.created_by,
                   created_at=a.created_at, updated_at=a.updated_at)


@router.get("/agents")
def list_agents(principal: CurrentPrincipal, setup: Setup, page: Paging) -> PageOut[AgentOut]:
    found = setup.list_agents(principal, page)
    return PageOut(items=[AgentOut.of(a) for a in found.items], next_cursor=found.next_cursor)


@router.post("/agents", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/agents/{id}"))
def create_agent(body: AgentIn, principal: CurrentPrincipal, setup: Setup) -> AgentOut:
    """An AI voice agent (admins); its id is a whole number."""
    return AgentOut.of(setup.create_agent(principal, _given(body)))


@router.get("/agents/{agent_id}")
def get_agent(agent_id: int, principal: CurrentPrincipal, setup: Setup) -> AgentOut:
    return AgentOut.of(setup.get_agent(principal, agent_id))


@router.patch("/agents/{agent_id}")
def update_agent(agent_id: int, body: AgentPatch, principal: CurrentPrincipal, setup: Setup
                 ) -> AgentOut:
    return AgentOut.of(setup.update_agent(principal, agent_id, _given(body)))


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_agent(agent_id: int, principal: CurrentPrincipal, setup: Setup) -> Response:
    """The numbers it answered keep no agent."""
    setup.remove_agent(principal, agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- numbers ------------------------------------------------------------------------------

class NumberPatch(Strict):
    agent_id: int | None = Field(default=None, description="The tenant's agent answering it")
    label: str | None = Field(default=None, max_length=100)
    capabilities: list[Capability] | None = Field(default=None, min_length=1)


class NumberIn(NumberPatch):
    phone: str = Field(max_length=64, description="E.164 (+14155552671) or international "
                       "text (+1 415 555 2671)")
    provider: str = Field(max_length=32, description="twilio, vonage, ...")
    provider_number_id: str | None = Field(default=None, max_length=128)


class NumberOut(BaseModel):
    id: uuid.UUID
    phone: str = Field(description="E.164")
    country_code: str
    base_number: int
    provider: str
    provider_number_id: str | None
    agent_id: int | None
    label: str | None
    capabilities: list[Capability]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: Number) -> NumberOut:
        return cls(id=n.id, phone=n.phone.e164, country_code=n.phone.country_code,
                   base_number=n.phone.base_number, provider=n.provider,
                   provider_number_id=n.provider_number_id, agent_id=n.agent_id,
                   label=n.label, capabilities=sorted(n.capabilities),
                   created_at=n.created_at, updated_at=n.updated_at)


@router.get("/numbers")
def list_numbers(principal: CurrentPrincipal, setup: Setup, page: Paging
                 ) -> PageOut[NumberOut]:
    found = setup.list_numbers(principal, page)
    return PageOut(items=[NumberOut.of(n) for n in found.items], next_cursor=found.next_cursor)


@router.post("/numbers", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/numbers/{id}"))
def add_number(body: NumberIn, principal: CurrentPrincipal, setup: Setup) -> NumberOut:
    """One of the tenant's phone numbers (admins)."""
    return NumberOut.of(setup.add_number(principal, _given(body)))


@router.get("/numbers/{number_id}")
def get_number(number_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup) -> NumberOut:
    return NumberOut.of(setup.get_number(principal, number_id))


@router.patch("/numbers/{number_id}")
def update_number(number_id: uuid.UUID, body: NumberPatch, principal: CurrentPrincipal,
                  setup: Setup) -> NumberOut:
    """The agent answering it, its label, its capabilities."""
    return NumberOut.of(setup.update_number(principal, number_id, _given(body)))


@router.delete("/numbers/{number_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_number(number_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup
                  ) -> Response:
    setup.remove_number(principal, number_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- profiles -----------------------------------------------------------------------------

class ProfileIn(Strict):
    """An absent field is kept; null clears it."""

    default_agent_id: int | None = None
    default_number_id: uuid.UUID | None = None
    preferences: dict[str, Any] | None = None


class ProfileOut(BaseModel):
    user_id: uuid.UUID
    default_agent_id: int | None
    default_number_id: uuid.UUID | None
    preferences: dict[str, Any]
    updated_at: datetime

    @classmethod
    def of(cls, p: UserProfile) -> ProfileOut:
        return cls(user_id=p.user_id, default_agent_id=p.default_agent_id,
                   default_number_id=p.default_number_id, preferences=p.preferences,
                   updated_at=p.updated_at)


def _me(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise ValidationFailed.single("user_id", "an API key has no profile: name the member")
    return principal.user_id


@router.get("/profiles/me")
def get_my_profile(principal: CurrentPrincipal, setup: Setup) -> ProfileOut:
    return ProfileOut.of(setup.get_profile(principal, _me(principal)))


@router.put("/profiles/me")
def put_my_profile(body: ProfileIn, principal: CurrentPrincipal, setup: Setup) -> ProfileOut:
    """Your own defaults (members who may call)."""
    return ProfileOut.of(setup.put_profile(principal, _me(principal), _given(body)))


@router.get("/profiles/{user_id}")
def get_profile(user_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup) -> ProfileOut:
    return ProfileOut.of(setup.get_profile(principal, user_id))


@router.put("/profiles/{user_id}")
def put_profile(user_id: uuid.UUID, body: ProfileIn, principal: CurrentPrincipal,
                setup: Setup) -> ProfileOut:
    """A member's defaults: your own, or anyone's (admins)."""
    return ProfileOut.of(setup.put_profile(principal, user_id, _given(body)))


# --- permissions --------------------------------------------------------------------------

class PermissionIn(Strict):
    """A number (any voice), a voice (any number), or both together."""

    user_id: uuid.UUID = Field(description="A member")
    number_id: uuid.UUID | None = None
    voice_id: uuid.UUID | None = None


class PermissionOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    number_id: uuid.UUID | None
    voice_id: uuid.UUID | None
    is_active: bool = Field(description="False once revoked")
    granted_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Permission) -> PermissionOut:
        return cls(id=p.id, user_id=p.user_id, number_id=p.number_id, voice_id=p.voice_id,
                   is_active=p.is_active, granted_by=p.granted_by, created_at=p.created_at,
                   updated_at=p.updated_at)


@router.get("/permissions")
def list_permissions(principal: CurrentPrincipal, setup: Setup, page: Paging,
                     user_id: uuid.UUID | None = None) -> PageOut[PermissionOut]:
    """Grants, revoked ones too, newest first."""
    found = setup.list_permissions(principal, user_id, page)
    return PageOut(items=[PermissionOut.of(p) for p in found.items],
                   next_cursor=found.next_cursor)


@router.post("/permissions", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/voice/permissions/{id}"))
def grant(body: PermissionIn, principal: CurrentPrincipal, setup: Setup) -> PermissionOut:
    """Let a member call (admins)."""
    return PermissionOut.of(setup.grant(principal, body.user_id, number_id=body.number_id,
                                        voice_id=body.voice_id))


@router.delete("/permissions/{permission_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(permission_id: uuid.UUID, principal: CurrentPrincipal, setup: Setup) -> Response:
    """The grant stays, inactive (``is_active`` false)."""
    setup.revoke(principal, permission_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
