"""Sessions: who the bearer of a token or an API key is, and what a session hands back.

Every route's principal is resolved here, so the rules of a bearer (a deleted tenant's token
or key no longer authenticates) hold for every route, present and future.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import attrs

from lad_domain.shared.access import credential_tenant
from lad_domain.shared.errors import AuthenticationFailed, NotFound
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.secrets import matches
from lad_domain.tenancy.model import ApiKey, Tenant, User
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork, TokenIssuer

API_KEY_PREFIX = "lad"
#: last_used_at is written at most this often, so an API key's every request is not a write.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@attrs.frozen
class Session:
    """What a successful sign-up, login or acceptance hands back."""

    access_token: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


@attrs.frozen
class Me:
    """Who the bearer is: a member (``user``) or a tenant API key (``api_key_id``)."""

    tenant: Tenant
    role: Role
    user: User | None = None
    api_key_id: uuid.UUID | None = None


def issue_session(tokens: TokenIssuer, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role
                  ) -> Session:
    token = tokens.issue({"sub": str(user_id), "tid": str(tenant_id), "role": str(role)})
    return Session(access_token=token, tenant_id=tenant_id, user_id=user_id, role=role)


class Sessions:
    """Part of ``TenancyService``: authenticate bearers, act as a member, say who one is."""

    scope: TenantScope[TenancyUnitOfWork]
    tokens: TokenIssuer

    @staticmethod
    def reads_database(bearer: str) -> bool:
        """Whether authenticating ``bearer`` reads the database (an API key is looked up;
        a token's signature and expiry are checked in memory): a caller on an event loop
        runs ``authenticate`` in a thread only then."""
        return bearer.startswith(API_KEY_PREFIX + "_")

    def authenticate(self, bearer: str) -> Principal:
        """A principal from a bearer token: a JWT from log_in or a tenant API key."""
        if self.reads_database(bearer):
            return self._authenticate_api_key(bearer)
        # Whether its tenant still exists is asked by the access policy, inside the use
        # case's own transaction: no extra round trip per request.
        return _token_principal(self.tokens, bearer)

    def principal_for(self, *, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Principal:
        """For library callers and the CLI: act as this member of this tenant."""
        with self.scope.uow(tenant_id) as uow:
            membership = uow.memberships.get(user_id)
        if membership is None:
            raise NotFound("no such member in this tenant")
        return Principal(kind=PrincipalKind.USER, tenant_id=tenant_id, user_id=user_id,
                         role=membership.role)

    def me(self, principal: Principal) -> Me:
        with self.scope.read(principal) as uow:
            role = self.scope.require(uow, principal, Permission.TENANT_READ)
            user = uow.users.get(principal.user_id) if principal.user_id else None
            tenant = uow.tenants.get(tenant_of(uow))
        if tenant is None or role is None:
            raise NotFound("the operator acts in no tenant of its own")
        return Me(tenant=tenant, role=role, user=user, api_key_id=principal.api_key_id)

    def _authenticate_api_key(self, bearer: str) -> Principal:
        parts = bearer.split("_", 3)
        try:
            tenant_id, key_id = uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2])
            secret = parts[3]
        except (IndexError, ValueError):
            raise AuthenticationFailed("the API key is malformed") from None
        with self.scope.uow(tenant_id) as uow:
            api_key = uow.api_keys.get(key_id)
            if api_key is None or api_key.revoked_at is not None or not matches(
                secret, api_key.secret_hash
            ):
                raise AuthenticationFailed("the API key is unknown or revoked")
            credential_tenant(uow.tenants, tenant_id)
            if _touch(api_key, self.scope.clock.now()):
                uow.api_keys.update(api_key)
                uow.commit()
        return Principal(kind=PrincipalKind.API_KEY, tenant_id=tenant_id, role=api_key.role,
                         api_key_id=api_key.id)


def _token_principal(tokens: TokenIssuer, bearer: str) -> Principal:
    claims = tokens.read(bearer)
    try:
        return Principal(
            kind=PrincipalKind.USER,
            tenant_id=uuid.UUID(claims["tid"]),
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
        )
    except (KeyError, ValueError, TypeError):
        raise AuthenticationFailed("the access token is malformed") from None


def _touch(api_key: ApiKey, now: datetime) -> bool:
    """Note the key's use, at most once per ``API_KEY_TOUCH_INTERVAL``."""
    if api_key.last_used_at is not None and now - api_key.last_used_at < API_KEY_TOUCH_INTERVAL:
        return False
    api_key.last_used_at = now
    return True
