"""Tenancy aggregates and values; the one-owner rule lives in Membership's transitions."""

from __future__ import annotations

import enum
import json
import re
import unicodedata
import uuid
from datetime import datetime
from typing import Any

import attrs

from lad_domain.shared.errors import Conflict, PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Role

#: Features a new tenant starts with; the rest are enabled by the plan or an operator.
DEFAULT_FEATURES = ("leads", "campaigns", "billing", "education", "icp", "voice", "enrichment")
PLAN_TIERS = ("free", "starter", "growth", "enterprise")
#: What each plan lets an owner enable by themselves; beyond it, only the operator.
PLAN_FEATURES: dict[str, frozenset[str]] = {tier: frozenset(DEFAULT_FEATURES)
                                            for tier in PLAN_TIERS}


def plan_features(plan_tier: str) -> frozenset[str]:
    return PLAN_FEATURES.get(plan_tier, frozenset())
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_METADATA_BYTES = 16_384
MAX_METADATA_DEPTH = 16


class SlugTaken(Conflict):
    """Another live tenant has this slug (raised by the adapters' unique key too)."""


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


@attrs.define
class Tenant:
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime
    status: TenantStatus = TenantStatus.ACTIVE
    plan_tier: str = "free"
    metadata: dict[str, Any] = attrs.field(factory=dict)
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.status is not TenantStatus.DELETED

    def rename(self, name: str, at: datetime) -> None:
        self.name = name
        self.updated_at = at

    def change_plan(self, plan_tier: str, at: datetime) -> None:
        if plan_tier not in PLAN_TIERS:
            raise ValidationFailed.single("plan_tier", f"must be one of {', '.join(PLAN_TIERS)}")
        self.plan_tier = plan_tier
        self.updated_at = at

    def soft_delete(self, at: datetime) -> None:
        self.status = TenantStatus.DELETED
        self.deleted_at = at
        self.updated_at = at


@attrs.define
class User:
    id: uuid.UUID
    email: str
    password_hash: str | None
    created_at: datetime
    updated_at: datetime
    primary_tenant_id: uuid.UUID | None = None
    display_name: str | None = None


@attrs.frozen
class UserIdentity:
    id: uuid.UUID
    user_id: uuid.UUID
    provider: str
    provider_user_id: str
    created_at: datetime


@attrs.define
class Membership:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    created_at: datetime
    updated_at: datetime
    invited_by: uuid.UUID | None = None

    def change_role(self, role: Role, at: datetime) -> None:
        """Any change but to or from owner; ownership moves only by transfer."""
        if self.role is Role.OWNER:
            raise Conflict("the owner's role cannot change; transfer ownership first")
        if role is Role.OWNER:
            raise Conflict("a member becomes owner only by a transfer of ownership")
        self.role = role
        self.updated_at = at

    def ensure_removable(self) -> None:
        if self.role is Role.OWNER:
            raise Conflict("the owner cannot be removed or leave; transfer ownership first")


def parse_role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed.single(
            "role", f"must be one of {', '.join(r.value for r in Role)}"
        ) from None


def may_grant(actor_role: Role | None, role: Role) -> None:
    """Nobody hands out a role above their own (the operator has no ceiling)."""
    if actor_role is not None and role.rank > actor_role.rank:
        raise PermissionDenied(f"the {actor_role} role cannot grant or change the {role} role")


def transfer_ownership(current: Membership, successor: Membership, at: datetime) -> None:
    """Swap roles so that there is exactly one owner before and after."""
    if current.role is not Role.OWNER:
        raise Conflict("only the owner can transfer ownership")
    if successor.user_id == current.user_id:
        raise Conflict("the owner already owns this tenant")
    current.role, successor.role = Role.ADMIN, Role.OWNER
    current.updated_at = successor.updated_at = at


@attrs.define
class TenantFeature:
    tenant_id: uuid.UUID
    feature_key: str
    enabled: bool
    updated_at: datetime


@attrs.frozen
class UserCapability:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    feature_key: str
    capability_key: str
    created_at: datetime
    granted_by: uuid.UUID | None = None


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


@attrs.define
class Invitation:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    token_hash: str
    expires_at: datetime
    created_at: datetime
    invited_by: uuid.UUID | None = None
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if now >= self.expires_at:
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    def revoke(self, at: datetime) -> bool:
        """Whether this revoked it: revoking twice changes nothing; an accepted invitation
        cannot be revoked."""
        state = self.state(at)
        if state is InvitationState.ACCEPTED:
            raise Conflict("the invitation was already accepted; remove the member instead")
        if state is InvitationState.REVOKED:
            return False
        self.revoked_at = at
        return True


@attrs.frozen
class FeatureFlag:
    """A flag row: global (no tenant, no user), a tenant override, or a user override."""

    id: uuid.UUID
    feature_key: str
    enabled: bool
    updated_at: datetime
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @property
    def precedence(self) -> int:
        return 2 if self.user_id is not None else 1 if self.tenant_id is not None else 0


def evaluate_flag(rows: list[FeatureFlag], default: bool = False) -> tuple[bool, str]:
    """User beats tenant beats global; returns the value and where it came from."""
    if not rows:
        return default, "default"
    best = max(rows, key=lambda row: row.precedence)
    return best.enabled, ("global", "tenant", "user")[best.precedence]


@attrs.define
class ApiKey:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    role: Role
    secret_hash: str
    prefix: str
    created_at: datetime
    created_by: uuid.UUID | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def revoke(self, at: datetime) -> bool:
        """Whether this revoked it: revoking twice changes nothing."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = at
        return True


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].strip("-")
    return slug or "tenant"


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.single(
            "password", f"must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed.single(
            "password", f"must be at most {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def check_metadata(value: object) -> dict[str, Any]:
    """Tenant metadata: a JSON object that every backend stores as given (no NaN or
    Infinity, no NUL, string keys), at most 16 KiB and 16 levels deep."""
    if not isinstance(value, dict) or not _is_json(value, MAX_METADATA_DEPTH):
        raise ValidationFailed.single(
            "metadata", f"must be a JSON object at most {MAX_METADATA_DEPTH} levels deep, "
            "with string keys, finite numbers and no NUL characters")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise ValidationFailed.single("metadata", "is too large (16 KiB at most)")
    return value


def _is_json(value: object, depth: int) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if depth == 0:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(k, depth) and _is_json(v, depth - 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(item, depth - 1) for item in value)
    return False
