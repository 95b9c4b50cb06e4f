"""Tenancy objects for the repository contract tests, stored straight through the ports."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from lad_domain.shared.events import DomainEvent
from lad_domain.shared.ids import Uuid7Generator
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from lad_domain.shared.secrets import digest, new_secret
from lad_domain.tenancy.model import ApiKey, Invitation, Membership, Tenant, User
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory

BASE = datetime(2026, 1, 1, tzinfo=UTC)
_ids = Uuid7Generator()
_serial = itertools.count(1)


def at(seconds: float = 0) -> datetime:
    return BASE + timedelta(seconds=seconds)


def new_id() -> uuid.UUID:
    return _ids.new_id()


def tenant(slug: str | None = None, *, created: float = 0) -> Tenant:
    slug = slug or f"tenant-{next(_serial)}"
    return Tenant(id=new_id(), name=slug.title(), slug=slug, created_at=at(created),
                  updated_at=at(created), metadata={"region": "eu", "seats": 3})


def user(email: str | None = None, *, created: float = 0) -> User:
    email = email or f"user{next(_serial)}@acme.test"
    return User(id=new_id(), email=email, password_hash="$argon2id$not-a-real-hash",
                created_at=at(created), updated_at=at(created))


def membership(tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role = Role.MEMBER, *,
               created: float = 0) -> Membership:
    return Membership(tenant_id=tenant_id, user_id=user_id, role=role, created_at=at(created),
                      updated_at=at(created))


def invitation(tenant_id: uuid.UUID, *, token_hash: str | None = None,
               created: float = 0) -> Invitation:
    return Invitation(id=new_id(), tenant_id=tenant_id, email=f"inv{next(_serial)}@acme.test",
                      role=Role.MEMBER, token_hash=token_hash or digest(new_secret()),
                      expires_at=at(created + 86_400), created_at=at(created))


def api_key(tenant_id: uuid.UUID, *, created: float = 0) -> ApiKey:
    return ApiKey(id=new_id(), tenant_id=tenant_id, name=f"key {next(_serial)}",
                  role=Role.VIEWER, secret_hash=digest(new_secret()), prefix="lad_00000000",
                  created_at=at(created))


def event(tenant_id: uuid.UUID, event_type: str = "thing.happened", *,
          occurred: float = 0) -> DomainEvent:
    return DomainEvent(id=new_id(), tenant_id=tenant_id, event_type=event_type,
                       payload={"n": next(_serial)}, occurred_at=at(occurred),
                       aggregate_type="thing", aggregate_id="42")


def page(limit: int = 50) -> PageRequest:
    return PageRequest(limit=limit)


def seed(uows: TenancyUnitOfWorkFactory, *members: Role) -> tuple[Tenant, list[User]]:
    """A committed tenant with an owner and one user per extra role given."""
    t, people = tenant(), [user() for _ in range(1 + len(members))]
    with uows(None) as uow:
        uow.tenants.add(t)
        for person in people:
            uow.users.add(person)
        uow.commit()
    with uows(t.id) as uow:
        for person, role in zip(people, (Role.OWNER, *members), strict=True):
            uow.memberships.add(membership(t.id, person.id, role))
        uow.commit()
    return t, people
