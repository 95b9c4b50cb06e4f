"""Who is acting: a member of a tenant (by login or API key) or the platform operator."""

from __future__ import annotations

import enum
import uuid

import attrs


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class PrincipalKind(enum.StrEnum):
    USER = "user"
    API_KEY = "api_key"
    OPERATOR = "operator"


@attrs.frozen
class Principal:
    """The acting principal handed to every use case.

    ``user_id`` is None for an API key (it acts for the tenant, not a person) and for the
    operator. The operator has no tenant of its own: the use case names the tenant.
    """

    kind: PrincipalKind
    tenant_id: uuid.UUID | None
    role: Role | None
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    capabilities: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def operator(cls) -> Principal:
        return cls(kind=PrincipalKind.OPERATOR, tenant_id=None, role=None)

    @property
    def is_operator(self) -> bool:
        return self.kind is PrincipalKind.OPERATOR
