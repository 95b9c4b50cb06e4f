"""Tenancy routes: sign-up and tokens, me, the tenant, members, invitations, features,
flags and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    ApiKey,
    Invitation,
    Tenant,
)
from lad_domain.tenancy.services import Member, Session
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, Team, Tenancy
from lad_entrypoints.http.idempotency import idempotent
from lad_entrypoints.http.limits import charge_login
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import (
    EMAIL,
    KEY,
    NOT_BLANK,
    KeyPath,
    PageOut,
    Strict,
    json_response,
)

router = APIRouter(prefix="/v1")


# --- schemas ---------------------------------------------------------------------------


class SignupIn(Strict):
    tenant_name: str = Field(max_length=200, json_schema_extra=NOT_BLANK)
    email: str = Field(max_length=320, json_schema_extra=EMAIL)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class TokenIn(Strict):
    email: str = Field(max_length=320, json_schema_extra=EMAIL)
    password: str = Field(max_length=1024)
    tenant_id: uuid.UUID | None = None


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role

    @classmethod
    def of(cls, session: Session) -> SessionOut:
        return cls(access_token=session.access_token, tenant_id=session.tenant_id,
                   user_id=session.user_id, role=session.role)


class TenantOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    status: str
    plan_tier: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Tenant) -> TenantOut:
        return cls(id=t.id, name=t.name, slug=t.slug, status=str(t.status),
                   plan_tier=t.plan_tier, metadata=t.metadata, created_at=t.created_at,
                   updated_at=t.updated_at)


class TenantPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None


class MeOut(BaseModel):
    kind: str = Field(description="user or api_key")
    user_id: uuid.UUID | None
    email: str | None
    api_key_id: uuid.UUID | None
    role: Role
    tenant: TenantOut


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    role: Role
    joined_at: datetime

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return cls(user_id=m.membership.user_id, email=m.email, role=m.membership.role,
                   joined_at=m.membership.created_at)


class RoleIn(Strict):
    role: Role


class TransferIn(Strict):
    user_id: uuid.UUID


class InvitationIn(Strict):
    email: str = Field(max_length=320, json_schema_extra=EMAIL)
    role: Role = Role.MEMBER


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    expires_at: datetime
    created_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, i: Invitation) -> InvitationOut:
        return cls(id=i.id, email=i.email, role=i.role, expires_at=i.expires_at,
                   created_at=i.created_at, accepted_at=i.accepted_at, revoked_at=i.revoked_at)


class IssuedInvitationOut(InvitationOut):
    token: str = Field(description="Shown once: only its digest is stored")


class AcceptIn(Strict):
    token: str = Field(max_length=512)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class FeatureOut(BaseModel):
    feature_key: str
    enabled: bool


class FeatureIn(Strict):
    enabled: StrictBool


class FlagOut(BaseModel):
    flag_key: str
    enabled: bool
    source: str = Field(description="user, tenant, global or default")


class IdentityIn(Strict):
    provider: str = Field(max_length=64, json_schema_extra=KEY)
    provider_user_id: str = Field(max_length=255, json_schema_extra=NOT_BLANK)


class IdentityOut(BaseModel):
    id: uuid.UUID
    provider: str
    provider_user_id: str
    created_at: datetime


class ApiKeyIn(Strict):
    name: str = Field(max_length=100, json_schema_extra=NOT_BLANK)
    role: Role = Role.MEMBER


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        return cls(id=k.id, name=k.name, role=k.role, prefix=k.prefix, created_at=k.created_at,
                   last_used_at=k.last_used_at, revoked_at=k.revoked_at)


class IssuedApiKeyOut(ApiKeyOut):
    secret: str = Field(description="Shown once: use it as the bearer token")


# --- routes ----------------------------------------------------------------------------


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/tenant"), tags=["auth"])
def sign_up(body: SignupIn, tenancy: Tenancy) -> SessionOut:
    """Create a tenant and its owner; returns an access token for the owner."""
    return SessionOut.of(tenancy.sign_up(tenant_name=body.tenant_name, email=body.email,
                                         password=body.password))


@router.post("/auth/token", tags=["auth"], responses=problems(401, 429))
async def token(body: TokenIn, request: Request, tenancy: Tenancy) -> SessionOut:
    """Log in; without tenant_id, the user's primary (or first) tenant. Attempts are
    limited per email and per client address (429 with Retry-After), and when too many
    passwords are being checked at once the answer is 503 with Retry-After."""
    # Counted before the password is hashed: a refused attempt costs no hashing.
    await charge_login(request, body.email)
    session = await run_in_threadpool(tenancy.log_in, email=body.email,
                                      password=body.password, tenant_id=body.tenant_id)
    return SessionOut.of(session)


@router.get("/me", tags=["me"], responses=problems(404), response_model=MeOut)
def me(principal: CurrentPrincipal, tenancy: Tenancy) -> Response:
    """The bearer: a member (with their email) or a tenant API key."""
    found = tenancy.me(principal)
    t = found.tenant
    return json_response({
        "kind": "user" if found.user else "api_key",
        "user_id": found.user.id if found.user else None,
        "email": found.user.email if found.user else None,
        "api_key_id": found.api_key_id, "role": str(found.role),
        "tenant": {"id": t.id, "name": t.name, "slug": t.slug, "status": str(t.status),
                   "plan_tier": t.plan_tier, "metadata": t.metadata,
                   "created_at": t.created_at, "updated_at": t.updated_at}})


@router.post("/me/identities", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/me/identities/{id}"), tags=["me"])
def link_identity(body: IdentityIn, principal: CurrentPrincipal, tenancy: Tenancy
                  ) -> IdentityOut:
    i = tenancy.link_identity(principal, provider=body.provider,
                              provider_user_id=body.provider_user_id)
    return IdentityOut(id=i.id, provider=i.provider, provider_user_id=i.provider_user_id,
                       created_at=i.created_at)


@router.get("/tenant", tags=["tenant"])
def get_tenant(principal: CurrentPrincipal, team: Team) -> TenantOut:
    return TenantOut.of(team.get_tenant(principal))


@router.patch("/tenant", tags=["tenant"])
def update_tenant(body: TenantPatch, principal: CurrentPrincipal, team: Team) -> TenantOut:
    return TenantOut.of(team.update_tenant(principal, name=body.name, metadata=body.metadata))


@router.delete("/tenant", status_code=status.HTTP_204_NO_CONTENT, tags=["tenant"])
def delete_tenant(principal: CurrentPrincipal, team: Team) -> Response:
    """Soft-delete the tenant (owner only)."""
    team.delete_tenant(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tenant/leave", status_code=status.HTTP_204_NO_CONTENT, tags=["tenant"])
def leave(principal: CurrentPrincipal, team: Team) -> Response:
    team.leave(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tenant/transfer-ownership", tags=["tenant"])
def transfer_ownership(body: TransferIn, principal: CurrentPrincipal, team: Team
                       ) -> MemberOut:
    return MemberOut.of(team.transfer_ownership(principal, body.user_id))


@router.get("/members", tags=["members"])
def list_members(principal: CurrentPrincipal, team: Team, page: Paging) -> PageOut[MemberOut]:
    found = team.list_members(principal, page)
    return PageOut(items=[MemberOut.of(m) for m in found.items], next_cursor=found.next_cursor)


@router.patch("/members/{user_id}", tags=["members"])
def change_role(user_id: uuid.UUID, body: RoleIn, principal: CurrentPrincipal, team: Team
                ) -> MemberOut:
    return MemberOut.of(team.change_role(principal, user_id, body.role))


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["members"])
def remove_member(user_id: uuid.UUID, principal: CurrentPrincipal, team: Team) -> Response:
    team.remove_member(principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/members/{user_id}/capabilities/{feature_key}/{capability_key}",
            status_code=status.HTTP_204_NO_CONTENT, tags=["members"])
def grant_capability(user_id: uuid.UUID, feature_key: KeyPath, capability_key: KeyPath,
                     principal: CurrentPrincipal, team: Team) -> Response:
    team.grant_capability(principal, user_id, feature_key=feature_key,
                          capability_key=capability_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/members/{user_id}/capabilities/{feature_key}/{capability_key}",
               status_code=status.HTTP_204_NO_CONTENT, tags=["members"])
def revoke_capability(user_id: uuid.UUID, feature_key: KeyPath, capability_key: KeyPath,
                      principal: CurrentPrincipal, team: Team) -> Response:
    team.revoke_capability(principal, user_id, feature_key=feature_key,
                           capability_key=capability_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations", status_code=status.HTTP_201_CREATED,
             openapi_extra=idempotent(created_at("/v1/invitations/{id}")),
             tags=["invitations"])
def invite(body: InvitationIn, principal: CurrentPrincipal, tenancy: Tenancy
           ) -> IssuedInvitationOut:
    issued = tenancy.invite(principal, email=body.email, role=body.role)
    return IssuedInvitationOut(**InvitationOut.of(issued.invitation).model_dump(),
                               token=issued.token)


@router.get("/invitations", tags=["invitations"])
def list_invitations(principal: CurrentPrincipal, tenancy: Tenancy, page: Paging
                     ) -> PageOut[InvitationOut]:
    found = tenancy.list_invitations(principal, page)
    return PageOut(items=[InvitationOut.of(i) for i in found.items],
                   next_cursor=found.next_cursor)


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=["invitations"])
def revoke_invitation(invitation_id: uuid.UUID, principal: CurrentPrincipal,
                      tenancy: Tenancy) -> Response:
    tenancy.revoke_invitation(principal, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations/accept", tags=["invitations"],
             responses=problems(401, 404, 410))
def accept_invitation(body: AcceptIn, tenancy: Tenancy) -> SessionOut:
    """Join with an invitation token: a new account, or the existing one by its password."""
    return SessionOut.of(tenancy.accept_invitation(token=body.token, password=body.password))


@router.get("/features/{feature_key}", tags=["features"])
def get_feature(feature_key: KeyPath, principal: CurrentPrincipal, team: Team) -> FeatureOut:
    f = team.get_feature(principal, feature_key)
    return FeatureOut(feature_key=f.feature_key, enabled=f.enabled)


@router.put("/features/{feature_key}", tags=["features"])
def set_feature(feature_key: KeyPath, body: FeatureIn, principal: CurrentPrincipal, team: Team
                ) -> FeatureOut:
    f = team.set_feature(principal, feature_key, body.enabled)
    return FeatureOut(feature_key=f.feature_key, enabled=f.enabled)


@router.get("/flags/{flag_key}", tags=["features"])
def evaluate_flag(flag_key: KeyPath, principal: CurrentPrincipal, team: Team) -> FlagOut:
    v = team.evaluate_flag(principal, flag_key)
    return FlagOut(flag_key=v.feature_key, enabled=v.enabled, source=v.source)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/api-keys/{id}"), tags=["api keys"])
def create_api_key(body: ApiKeyIn, principal: CurrentPrincipal, team: Team) -> IssuedApiKeyOut:
    issued = team.create_api_key(principal, name=body.name, role=body.role)
    return IssuedApiKeyOut(**ApiKeyOut.of(issued.api_key).model_dump(), secret=issued.secret)


@router.get("/api-keys", tags=["api keys"])
def list_api_keys(principal: CurrentPrincipal, team: Team, page: Paging) -> PageOut[ApiKeyOut]:
    found = team.list_api_keys(principal, page)
    return PageOut(items=[ApiKeyOut.of(k) for k in found.items], next_cursor=found.next_cursor)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["api keys"])
def revoke_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, team: Team) -> Response:
    team.revoke_api_key(principal, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
