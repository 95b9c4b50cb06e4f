"""The in-memory unit of work: the same repositories as the SQL one, over InMemoryStore."""

from __future__ import annotations

import uuid

from lad_adapters.memory import tenancy
from lad_adapters.memory.store import InMemoryStore, InMemoryUnitOfWorkBase


class InMemoryUnitOfWork(InMemoryUnitOfWorkBase):
    def _build_repositories(self) -> None:
        tx, t = self.tx, self.tenant_id
        self.tenants = tenancy.InMemoryTenantRepository(tx, t)
        self.users = tenancy.InMemoryUserRepository(tx, t)
        self.identities = tenancy.InMemoryIdentityRepository(tx, t)
        self.memberships = tenancy.InMemoryMembershipRepository(tx, t)
        self.features = tenancy.InMemoryFeatureRepository(tx, t)
        self.capabilities = tenancy.InMemoryCapabilityRepository(tx, t)
        self.invitations = tenancy.InMemoryInvitationRepository(tx, t)
        self.api_keys = tenancy.InMemoryApiKeyRepository(tx, t)
        self.flags = tenancy.InMemoryFeatureFlagRepository(tx, t)
        self.events = tenancy.InMemoryEventRepository(tx, t)

    def _store_events(self) -> None:
        self.events.add_many(self.outbox.drain())


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self, tenant_id: uuid.UUID | None, *,
                 user_id: uuid.UUID | None = None) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, tenant_id, user_id=user_id)
