"""Tenancy domain events: what happened to tenants, members, invitations and API keys."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import attrs

from lad_domain.shared.events import Event
from lad_domain.shared.principal import Role


@attrs.frozen
class TenantCreated(Event):
    event_type: ClassVar[str] = "tenant.created"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID
    name: str
    slug: str
    owner_id: uuid.UUID


@attrs.frozen
class TenantUpdated(Event):
    event_type: ClassVar[str] = "tenant.updated"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID
    name: str
    plan_tier: str


@attrs.frozen
class TenantDeleted(Event):
    event_type: ClassVar[str] = "tenant.deleted"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID


@attrs.frozen
class FeatureChanged(Event):
    event_type: ClassVar[str] = "feature.changed"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID
    feature_key: str
    enabled: bool


class _Handover(Event):
    """An event whose payload names ``from`` and ``to``; ``from`` is a Python keyword, so
    the field is ``from_``."""

    def payload(self) -> dict[str, Any]:
        return {"from" if name == "from_" else name: value
                for name, value in super().payload().items()}


@attrs.frozen
class OwnershipTransferred(_Handover):
    event_type: ClassVar[str] = "ownership.transferred"
    aggregate_type: ClassVar[str] = "tenant"
    aggregate_id: uuid.UUID
    from_: uuid.UUID
    to: uuid.UUID


@attrs.frozen
class _Arrival(Event):
    aggregate_type: ClassVar[str] = "membership"
    aggregate_id: uuid.UUID  # the member's user id
    user_id: uuid.UUID
    role: Role


@attrs.frozen
class MemberAdded(_Arrival):
    """An admin or the operator added an existing user."""

    event_type: ClassVar[str] = "member.added"


@attrs.frozen
class MemberJoined(_Arrival):
    """A user accepted an invitation."""

    event_type: ClassVar[str] = "member.joined"


@attrs.frozen
class MemberRoleChanged(_Handover):
    event_type: ClassVar[str] = "member.role_changed"
    aggregate_type: ClassVar[str] = "membership"
    aggregate_id: uuid.UUID
    user_id: uuid.UUID
    from_: Role
    to: Role


@attrs.frozen
class _Departure(Event):
    """A member is gone; the API keys they created were revoked with them."""

    aggregate_type: ClassVar[str] = "membership"
    aggregate_id: uuid.UUID
    user_id: uuid.UUID
    api_keys_revoked: int


@attrs.frozen
class MemberRemoved(_Departure):
    event_type: ClassVar[str] = "member.removed"


@attrs.frozen
class MemberLeft(_Departure):
    event_type: ClassVar[str] = "member.left"


@attrs.frozen
class InvitationCreated(Event):
    event_type: ClassVar[str] = "invitation.created"
    aggregate_type: ClassVar[str] = "invitation"
    aggregate_id: uuid.UUID
    email: str
    role: Role


@attrs.frozen
class ApiKeyCreated(Event):
    event_type: ClassVar[str] = "api_key.created"
    aggregate_type: ClassVar[str] = "api_key"
    aggregate_id: uuid.UUID
    name: str
    role: Role


@attrs.frozen
class ApiKeyRevoked(Event):
    event_type: ClassVar[str] = "api_key.revoked"
    aggregate_type: ClassVar[str] = "api_key"
    aggregate_id: uuid.UUID


#: Every tenancy event class, for the tests that check them as a set.
EVENTS: tuple[type[Event], ...] = (
    TenantCreated, TenantUpdated, TenantDeleted, FeatureChanged, OwnershipTransferred,
    MemberAdded, MemberJoined, MemberRoleChanged, MemberRemoved, MemberLeft,
    InvitationCreated, ApiKeyCreated, ApiKeyRevoked,
)
