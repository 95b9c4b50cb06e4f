"""In-memory repositories of the tenancy context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from lad_adapters.memory.store import InMemoryRepository
from lad_domain.shared.events import DomainEvent
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import (
    ApiKey,
    FeatureFlag,
    Invitation,
    Membership,
    Tenant,
    TenantFeature,
    User,
    UserCapability,
    UserIdentity,
)


class InMemoryTenantRepository(InMemoryRepository):
    table_name = "tenants"

    def add(self, tenant: Tenant) -> None:
        self._check_slug(tenant)
        self._insert(tenant.id, tenant, "pk_tenants")

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        result: Tenant | None = self._get(tenant_id)
        return result

    def get_by_slug(self, slug: str) -> Tenant | None:
        found = self._select(lambda t: t.slug == slug and t.deleted_at is None)
        return found[0] if found else None

    def update(self, tenant: Tenant) -> None:
        self._check_slug(tenant)
        self._put(tenant.id, tenant)

    def list(self, page: PageRequest) -> Page[Tenant]:
        return self._paginate(self._select(lambda t: t.deleted_at is None), page,
                        lambda t: (t.created_at, t.id))

    def _check_slug(self, tenant: Tenant) -> None:
        if tenant.deleted_at is None:
            self._unique(self.rows.values(), lambda t: t.slug == tenant.slug and t.id != tenant.id
                         and t.deleted_at is None, "uq_tenants_slug_live")


class InMemoryUserRepository(InMemoryRepository):
    table_name = "users"

    def add(self, user: User) -> None:
        self._check_email(user)
        self._insert(user.id, user, "pk_users")

    def get(self, user_id: uuid.UUID) -> User | None:
        result: User | None = self._get(user_id)
        return result

    def get_by_email(self, email: str) -> User | None:
        found = self._select(lambda u: u.email.lower() == email.lower())
        return found[0] if found else None

    def update(self, user: User) -> None:
        self._check_email(user)
        self._put(user.id, user)

    def list(self, page: PageRequest) -> Page[User]:
        return self._paginate(self._select(lambda u: True), page, lambda u: (u.created_at, u.id))

    def _check_email(self, user: User) -> None:
        self._unique(self.rows.values(), lambda u: u.email.lower() == user.email.lower()
                     and u.id != user.id, "uq_users_email_lower")


class InMemoryIdentityRepository(InMemoryRepository):
    table_name = "user_identities"

    def add(self, identity: UserIdentity) -> None:
        self._unique(self.rows.values(), lambda i: (i.provider, i.provider_user_id)
                     == (identity.provider, identity.provider_user_id),
                     "uq_user_identities_provider_provider_user_id")
        self._insert(identity.id, identity, "pk_user_identities")

    def get_by_provider(self, provider: str, provider_user_id: str) -> UserIdentity | None:
        found = self._select(lambda i: (i.provider, i.provider_user_id)
                             == (provider, provider_user_id))
        return found[0] if found else None

    def list_for_user(self, user_id: uuid.UUID) -> Sequence[UserIdentity]:
        return self._select(lambda i: i.user_id == user_id)


class InMemoryMembershipRepository(InMemoryRepository):
    table_name = "memberships"

    def add(self, membership: Membership) -> None:
        self._references(InMemoryTenantRepository.table_name, self.tenant_id)
        self._references(InMemoryUserRepository.table_name, membership.user_id)
        self._check_owner(membership)
        self._insert((self.tenant_id, membership.user_id), membership, "pk_memberships")

    def get(self, user_id: uuid.UUID) -> Membership | None:
        result: Membership | None = self._get((self.tenant_id, user_id))
        return result

    def update(self, membership: Membership) -> None:
        self._check_owner(membership)
        self._put((self.tenant_id, membership.user_id), membership)

    def remove(self, user_id: uuid.UUID) -> None:
        self.rows.pop((self.tenant_id, user_id), None)
        # The SQL schema cascades to the member's capabilities; so does this.
        capabilities = self._tx.table(InMemoryCapabilityRepository.table_name)
        for key in [k for k in capabilities if k[:2] == (self.tenant_id, user_id)]:
            del capabilities[key]

    def list(self, page: PageRequest) -> Page[Membership]:
        return self._paginate(self._select(lambda m: m.tenant_id == self.tenant_id), page,
                        lambda m: (m.created_at, m.user_id))

    def owner(self) -> Membership | None:
        found = self._select(lambda m: m.tenant_id == self.tenant_id and m.role is Role.OWNER)
        return found[0] if found else None

    def tenant_ids_of(self, user_id: uuid.UUID) -> Sequence[uuid.UUID]:
        mine = sorted(self._select(lambda m: m.user_id == user_id), key=lambda m: m.created_at)
        return [m.tenant_id for m in mine]

    def _check_owner(self, membership: Membership) -> None:
        if membership.role is Role.OWNER:
            self._unique(self.rows.values(), lambda m: m.tenant_id == self.tenant_id
                         and m.role is Role.OWNER and m.user_id != membership.user_id,
                         "uq_memberships_one_owner")


class InMemoryFeatureRepository(InMemoryRepository):
    table_name = "tenant_features"

    def get(self, feature_key: str) -> TenantFeature | None:
        result: TenantFeature | None = self._get((self.tenant_id, feature_key))
        return result

    def save(self, feature: TenantFeature) -> None:
        self._put((self.tenant_id, feature.feature_key), feature)

    def list(self) -> Sequence[TenantFeature]:
        return sorted(self._select(lambda f: f.tenant_id == self.tenant_id),
                      key=lambda f: f.feature_key)


class InMemoryCapabilityRepository(InMemoryRepository):
    table_name = "user_capabilities"

    def add(self, capability: UserCapability) -> None:
        self._references(InMemoryMembershipRepository.table_name,
                         (self.tenant_id, capability.user_id))
        self._insert((self.tenant_id, capability.user_id, capability.feature_key,
                      capability.capability_key), capability, "pk_user_capabilities")

    def remove(self, user_id: uuid.UUID, feature_key: str, capability_key: str) -> bool:
        return self.rows.pop((self.tenant_id, user_id, feature_key, capability_key),
                             None) is not None

    def list_for_user(self, user_id: uuid.UUID) -> Sequence[UserCapability]:
        return self._select(lambda c: (c.tenant_id, c.user_id) == (self.tenant_id, user_id))


class InMemoryInvitationRepository(InMemoryRepository):
    table_name = "tenant_invitations"

    def add(self, invitation: Invitation) -> None:
        # The token's digest is unique in its tenant, as in the SQL schema.
        self._unique(self.rows.values(), lambda i: i.tenant_id == self.tenant_id
                     and i.token_hash == invitation.token_hash,
                     "uq_tenant_invitations_tenant_id_invitation_token")
        self._insert((self.tenant_id, invitation.id), invitation, "pk_tenant_invitations")

    def get(self, invitation_id: uuid.UUID) -> Invitation | None:
        result: Invitation | None = self._get((self.tenant_id, invitation_id))
        return result

    def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        found = self._select(lambda i: i.tenant_id == self.tenant_id
                             and i.token_hash == token_hash)
        return found[0] if found else None

    def update(self, invitation: Invitation) -> None:
        self._put((self.tenant_id, invitation.id), invitation)

    def list(self, page: PageRequest) -> Page[Invitation]:
        return self._paginate(self._select(lambda i: i.tenant_id == self.tenant_id), page,
                        lambda i: (i.created_at, i.id))


class InMemoryApiKeyRepository(InMemoryRepository):
    table_name = "tenant_api_keys"

    def add(self, key: ApiKey) -> None:
        self._insert((self.tenant_id, key.id), key, "pk_tenant_api_keys")

    def get(self, key_id: uuid.UUID) -> ApiKey | None:
        result: ApiKey | None = self._get((self.tenant_id, key_id))
        return result

    def update(self, key: ApiKey) -> None:
        self._put((self.tenant_id, key.id), key)

    def list(self, page: PageRequest) -> Page[ApiKey]:
        return self._paginate(self._select(lambda k: k.tenant_id == self.tenant_id), page,
                        lambda k: (k.created_at, k.id))

    def revoke_created_by(self, user_id: uuid.UUID, at: datetime) -> int:
        mine = self._select(lambda k: k.tenant_id == self.tenant_id
                            and k.created_by == user_id and k.revoked_at is None)
        for key in mine:
            key.revoked_at = at
            self._put((self.tenant_id, key.id), key)
        return len(mine)


class InMemoryFeatureFlagRepository(InMemoryRepository):
    table_name = "feature_flags"

    def rows_for(self, feature_key: str, *, user_id: uuid.UUID | None) -> Sequence[FeatureFlag]:
        def visible(f: FeatureFlag) -> bool:
            if f.feature_key != feature_key:
                return False
            if f.tenant_id is None:
                return True
            return f.tenant_id == self._tenant_id and f.user_id in (None, user_id)

        return self._select(visible)

    def save(self, flag: FeatureFlag) -> None:
        self._put((flag.feature_key, flag.tenant_id, flag.user_id), flag)


class InMemoryEventRepository(InMemoryRepository):
    table_name = "domain_events"

    def add_many(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._insert((event.tenant_id, event.id), event, "pk_domain_events")

    def list(self, *, event_type: str | None = None, aggregate: tuple[str, str] | None = None,
             limit: int = 100) -> Sequence[DomainEvent]:
        found = self._select(lambda e: e.tenant_id == self.tenant_id
                             and event_type in (None, e.event_type)
                             and aggregate in (None, (e.aggregate_type, e.aggregate_id)))
        return sorted(found, key=lambda e: (e.occurred_at, e.id), reverse=True)[:limit]
