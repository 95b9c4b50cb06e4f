"""API keys of a tenant: created by an admin, shown once, revoked at will."""

from __future__ import annotations

import uuid

import attrs

from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.secrets import digest, new_secret
from lad_domain.shared.validation import plain_text
from lad_domain.tenancy.events import ApiKeyCreated, ApiKeyRevoked
from lad_domain.tenancy.model import ApiKey, may_grant, parse_role
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork
from lad_domain.tenancy.services.sessions import API_KEY_PREFIX


@attrs.frozen
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # shown once; only its digest is stored


class ApiKeys:
    """Part of ``TeamService``: the tenant's API keys."""

    scope: TenantScope[TenancyUnitOfWork]

    def create_api_key(self, principal: Principal, *, name: str, role: Role | str
                       ) -> IssuedApiKey:
        name, role = plain_text(name, field="name", max_length=100), parse_role(role)
        if role is Role.OWNER:
            raise ValidationFailed.single("role", "an API key cannot act as the owner")
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.API_KEYS_MANAGE)
            may_grant(actor_role, role)
            key_id, secret = self.scope.ids.new_id(), new_secret()
            token = f"{API_KEY_PREFIX}_{tenant_of(uow).hex}_{key_id.hex}_{secret}"
            api_key = ApiKey(id=key_id, tenant_id=tenant_of(uow), name=name, role=role,
                             secret_hash=digest(secret),
                             prefix=f"{API_KEY_PREFIX}_…{secret[-6:]}",
                             created_at=self.scope.clock.now(), created_by=principal.user_id)
            uow.api_keys.add(api_key)
            self.scope.record(uow, ApiKeyCreated(aggregate_id=key_id, name=name, role=role))
            uow.commit()
        return IssuedApiKey(api_key=api_key, secret=token)

    def list_api_keys(self, principal: Principal, page: PageRequest) -> Page[ApiKey]:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.API_KEYS_MANAGE)
            return uow.api_keys.list(page)

    def revoke_api_key(self, principal: Principal, key_id: uuid.UUID) -> ApiKey:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.API_KEYS_MANAGE)
            api_key = uow.api_keys.get(key_id)
            if api_key is None:
                raise NotFound("API key not found")
            if api_key.revoke(self.scope.clock.now()):
                uow.api_keys.update(api_key)
                self.scope.record(uow, ApiKeyRevoked(aggregate_id=key_id))
                uow.commit()
        return api_key
