"""Tenancy use cases, one module per journey, assembled into the two public services.

``TenancyService``: accounts (sign-up, users, log in), sessions (who a bearer is) and
invitations. ``TeamService``: the tenant, its members, features and API keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from lad_domain.shared.scope import TenantScope
from lad_domain.shared.secrets import new_secret
from lad_domain.tenancy.ports import PasswordHasher, TenancyUnitOfWork, TokenIssuer
from lad_domain.tenancy.services.accounts import Accounts, TenantSeeder
from lad_domain.tenancy.services.api_keys import ApiKeys, IssuedApiKey
from lad_domain.tenancy.services.features import Features, FlagValue
from lad_domain.tenancy.services.invitations import (
    INVITATION_TTL,
    Invitations,
    IssuedInvitation,
)
from lad_domain.tenancy.services.members import Member, MemberDeparture, Members
from lad_domain.tenancy.services.sessions import API_KEY_PREFIX, Me, Session, Sessions
from lad_domain.tenancy.services.tenants import Tenants

__all__ = [
    "API_KEY_PREFIX", "INVITATION_TTL", "FlagValue", "IssuedApiKey", "IssuedInvitation", "Me",
    "Member", "MemberDeparture", "Session", "TeamService", "TenancyService", "TenantSeeder",
]


@attrs.define
class TenancyService(Accounts, Sessions, Invitations):
    """Everything before and around membership: accounts, sessions, invitations."""

    scope: TenantScope[TenancyUnitOfWork]
    hasher: PasswordHasher
    tokens: TokenIssuer
    #: Run in the transaction that creates a tenant, so that other contexts give it their
    #: defaults (the leads pipeline, ...) atomically with it.
    tenant_seeders: Sequence[TenantSeeder] = ()
    _dummy_hash: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Made up front, so that even the first unknown email costs one hash, not two.
        self._dummy_hash = self.hasher.hash(new_secret())


@attrs.define
class TeamService(Tenants, Members, Features, ApiKeys):
    """One tenant's team: the tenant, its members, features and API keys."""

    scope: TenantScope[TenancyUnitOfWork]
    #: Run in the transaction that removes a member (removal or leaving), so that other
    #: contexts release or refuse what the member holds (a counsellor's caseload, ...).
    member_departures: Sequence[MemberDeparture] = ()
