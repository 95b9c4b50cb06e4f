"""SQL repositories of the tenancy context; explicit row <-> object mapping."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.database import Db
from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.repository import SqlRepository
from lad_adapters.sql.tables.tenancy import (
    domain_events,
    feature_flags,
    memberships,
    tenant_api_keys,
    tenant_features,
    tenant_invitations,
    tenants,
    user_capabilities,
    user_identities,
    users,
)
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
    TenantStatus,
    User,
    UserCapability,
    UserIdentity,
)

#: A row as column name -> value: a result row's mapping, or what the unit of work's scope
#: round trip read.
Columns = Mapping[str, Any] | sa.RowMapping


def _row_to_tenant(row: sa.Row[Any]) -> Tenant:
    return _tenant(row._mapping)


def _tenant(m: Columns) -> Tenant:
    return Tenant(id=m["id"], name=m["name"], slug=m["slug"], status=TenantStatus(m["status"]),
                  plan_tier=m["plan_tier"], metadata=dict(m["metadata"] or {}),
                  created_at=m["created_at"], updated_at=m["updated_at"],
                  deleted_at=m["deleted_at"])


def _tenant_values(t: Tenant) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "slug": t.slug, "status": str(t.status),
            "plan_tier": t.plan_tier, "metadata": t.metadata, "created_at": t.created_at,
            "updated_at": t.updated_at, "deleted_at": t.deleted_at}


class SqlTenantRepository(SqlRepository):
    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(db, tenant_id)
        self._prefetched: dict[uuid.UUID, Columns] = {}

    def prefetched(self, row: Columns) -> None:
        """The unit of work read this tenant's row while scoping the transaction: ``get``
        answers from that read (a fresh object each time) until this repository writes."""
        self._prefetched[row["id"]] = row

    def add(self, tenant: Tenant) -> None:
        self._prefetched.pop(tenant.id, None)
        self._db.execute(tenants.insert().values(_tenant_values(tenant)))

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        ready = self._prefetched.get(tenant_id)
        if ready is not None:
            return _tenant(ready)
        row = self._one(sa.select(tenants).where(tenants.c.id == tenant_id))
        return _row_to_tenant(row) if row else None

    def get_by_slug(self, slug: str) -> Tenant | None:
        row = self._one(sa.select(tenants).where(tenants.c.slug == slug,
                                                 tenants.c.deleted_at.is_(None)))
        return _row_to_tenant(row) if row else None

    def update(self, tenant: Tenant) -> None:
        self._prefetched.pop(tenant.id, None)
        self._db.execute(tenants.update().where(tenants.c.id == tenant.id)
                         .values(_tenant_values(tenant)))

    def list(self, page: PageRequest) -> Page[Tenant]:
        return paginate(self._db, sa.select(tenants).where(tenants.c.deleted_at.is_(None)),
                        created_at=tenants.c.created_at, id_column=tenants.c.id, page=page,
                        to_item=_row_to_tenant)


def _row_to_user(row: sa.Row[Any]) -> User:
    return _user(row._mapping)


def _user(m: Columns) -> User:
    return User(id=m["id"], email=m["email"], password_hash=m["password_hash"],
                primary_tenant_id=m["primary_tenant_id"], display_name=m["display_name"],
                created_at=m["created_at"], updated_at=m["updated_at"])


def _user_values(u: User) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "password_hash": u.password_hash,
            "primary_tenant_id": u.primary_tenant_id, "display_name": u.display_name,
            "created_at": u.created_at, "updated_at": u.updated_at}


class SqlUserRepository(SqlRepository):
    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(db, tenant_id)
        self._prefetched: dict[uuid.UUID, Columns | None] = {}

    def prefetched(self, user_id: uuid.UUID, row: Columns | None) -> None:
        """The acting user's row (None: there is none), read while scoping the transaction;
        ``get`` answers from it until this repository writes."""
        self._prefetched[user_id] = row

    def add(self, user: User) -> None:
        self._prefetched.clear()
        self._db.execute(users.insert().values(_user_values(user)))

    def get(self, user_id: uuid.UUID) -> User | None:
        if user_id in self._prefetched:
            ready = self._prefetched[user_id]
            return _user(ready) if ready is not None else None
        row = self._one(sa.select(users).where(users.c.id == user_id))
        return _row_to_user(row) if row else None

    def get_by_email(self, email: str) -> User | None:
        row = self._one(sa.select(users).where(sa.func.lower(users.c.email) == email.lower()))
        return _row_to_user(row) if row else None

    def update(self, user: User) -> None:
        self._prefetched.clear()
        self._db.execute(users.update().where(users.c.id == user.id).values(_user_values(user)))

    def list(self, page: PageRequest) -> Page[User]:
        return paginate(self._db, sa.select(users), created_at=users.c.created_at,
                        id_column=users.c.id, page=page, to_item=_row_to_user)


class SqlIdentityRepository(SqlRepository):
    def add(self, identity: UserIdentity) -> None:
        self._db.execute(user_identities.insert().values(
            id=identity.id, user_id=identity.user_id, provider=identity.provider,
            provider_user_id=identity.provider_user_id, created_at=identity.created_at))

    def get_by_provider(self, provider: str, provider_user_id: str) -> UserIdentity | None:
        row = self._one(sa.select(user_identities).where(
            user_identities.c.provider == provider,
            user_identities.c.provider_user_id == provider_user_id))
        return UserIdentity(**row._mapping) if row else None

    def list_for_user(self, user_id: uuid.UUID) -> Sequence[UserIdentity]:
        rows = self._db.execute(sa.select(user_identities)
                                .where(user_identities.c.user_id == user_id))
        return [UserIdentity(**row._mapping) for row in rows]


def _row_to_membership(row: sa.Row[Any]) -> Membership:
    return _membership(row._mapping)


def _membership(m: Columns) -> Membership:
    return Membership(tenant_id=m["tenant_id"], user_id=m["user_id"], role=Role(m["role"]),
                      created_at=m["created_at"], updated_at=m["updated_at"],
                      invited_by=m["invited_by"])


class SqlMembershipRepository(SqlRepository):
    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(db, tenant_id)
        self._prefetched: dict[uuid.UUID, Columns | None] = {}

    def prefetched(self, user_id: uuid.UUID, row: Columns | None) -> None:
        """The acting user's membership of this tenant (None: they are no member), read in
        this transaction while scoping it; ``get`` answers from it until this repository
        writes."""
        self._prefetched[user_id] = row

    def _mine(self) -> sa.ColumnElement[bool]:
        return memberships.c.tenant_id == self.tenant_id

    def add(self, membership: Membership) -> None:
        self._prefetched.clear()
        self._db.execute(memberships.insert().values(
            tenant_id=self.tenant_id, user_id=membership.user_id, role=str(membership.role),
            invited_by=membership.invited_by, created_at=membership.created_at,
            updated_at=membership.updated_at))

    def get(self, user_id: uuid.UUID) -> Membership | None:
        if user_id in self._prefetched:
            ready = self._prefetched[user_id]
            return _membership(ready) if ready is not None else None
        row = self._one(sa.select(memberships).where(self._mine(),
                                                     memberships.c.user_id == user_id))
        return _row_to_membership(row) if row else None

    def update(self, membership: Membership) -> None:
        self._prefetched.clear()
        self._db.execute(memberships.update()
                         .where(self._mine(), memberships.c.user_id == membership.user_id)
                         .values(role=str(membership.role), updated_at=membership.updated_at))

    def remove(self, user_id: uuid.UUID) -> None:
        self._prefetched.clear()
        self._db.execute(memberships.delete().where(self._mine(),
                                                    memberships.c.user_id == user_id))

    def list(self, page: PageRequest) -> Page[Membership]:
        return paginate(self._db, sa.select(memberships).where(self._mine()),
                        created_at=memberships.c.created_at, id_column=memberships.c.user_id,
                        page=page, to_item=_row_to_membership)

    def owner(self) -> Membership | None:
        row = self._one(sa.select(memberships).where(self._mine(),
                                                     memberships.c.role == "owner"))
        return _row_to_membership(row) if row else None

    def tenant_ids_of(self, user_id: uuid.UUID) -> Sequence[uuid.UUID]:
        rows = self._db.execute(sa.select(memberships.c.tenant_id)
                                .where(memberships.c.user_id == user_id)
                                .order_by(memberships.c.created_at))
        return [row.tenant_id for row in rows]


class SqlFeatureRepository(SqlRepository):
    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(db, tenant_id)
        self._prefetched: dict[str, Columns] | None = None

    def prefetched(self, rows: Sequence[Columns]) -> None:
        """Every feature row of the tenant, read while scoping the transaction; ``get``
        answers from them (a key without a row is None) until this repository writes."""
        self._prefetched = {row["feature_key"]: row for row in rows}

    def get(self, feature_key: str) -> TenantFeature | None:
        if self._prefetched is not None:
            ready = self._prefetched.get(feature_key)
            return TenantFeature(**ready) if ready is not None else None
        row = self._one(sa.select(tenant_features).where(
            tenant_features.c.tenant_id == self.tenant_id,
            tenant_features.c.feature_key == feature_key))
        return TenantFeature(**row._mapping) if row else None

    def save(self, feature: TenantFeature) -> None:
        self._prefetched = None
        where = (tenant_features.c.tenant_id == self.tenant_id,
                 tenant_features.c.feature_key == feature.feature_key)
        self._update_or_insert(tenant_features, where,
                               {"enabled": feature.enabled, "updated_at": feature.updated_at},
                               tenant_id=self.tenant_id, feature_key=feature.feature_key)

    def list(self) -> Sequence[TenantFeature]:
        rows = self._db.execute(sa.select(tenant_features)
                                .where(tenant_features.c.tenant_id == self.tenant_id)
                                .order_by(tenant_features.c.feature_key))
        return [TenantFeature(**row._mapping) for row in rows]


class SqlCapabilityRepository(SqlRepository):
    def add(self, capability: UserCapability) -> None:
        self._db.execute(user_capabilities.insert().values(
            tenant_id=self.tenant_id, user_id=capability.user_id,
            feature_key=capability.feature_key, capability_key=capability.capability_key,
            granted_by=capability.granted_by, created_at=capability.created_at))

    def remove(self, user_id: uuid.UUID, feature_key: str, capability_key: str) -> bool:
        result = self._db.execute(user_capabilities.delete().where(
            user_capabilities.c.tenant_id == self.tenant_id,
            user_capabilities.c.user_id == user_id,
            user_capabilities.c.feature_key == feature_key,
            user_capabilities.c.capability_key == capability_key))
        return result.rowcount > 0

    def list_for_user(self, user_id: uuid.UUID) -> Sequence[UserCapability]:
        rows = self._db.execute(sa.select(user_capabilities).where(
            user_capabilities.c.tenant_id == self.tenant_id,
            user_capabilities.c.user_id == user_id))
        return [UserCapability(**row._mapping) for row in rows]


def _row_to_invitation(row: sa.Row[Any]) -> Invitation:
    m = row._mapping
    return Invitation(id=m["id"], tenant_id=m["tenant_id"], email=m["email"],
                      role=Role(m["role"]), token_hash=m["invitation_token"],
                      expires_at=m["expires_at"], created_at=m["created_at"],
                      invited_by=m["invited_by"], accepted_at=m["accepted_at"],
                      revoked_at=m["revoked_at"])


class SqlInvitationRepository(SqlRepository):
    def _mine(self) -> sa.ColumnElement[bool]:
        return tenant_invitations.c.tenant_id == self.tenant_id

    def add(self, invitation: Invitation) -> None:
        self._db.execute(tenant_invitations.insert().values(
            tenant_id=self.tenant_id, id=invitation.id, email=invitation.email,
            role=str(invitation.role), invitation_token=invitation.token_hash,
            invited_by=invitation.invited_by, expires_at=invitation.expires_at,
            created_at=invitation.created_at, accepted_at=invitation.accepted_at,
            revoked_at=invitation.revoked_at))

    def get(self, invitation_id: uuid.UUID) -> Invitation | None:
        row = self._one(sa.select(tenant_invitations)
                        .where(self._mine(), tenant_invitations.c.id == invitation_id))
        return _row_to_invitation(row) if row else None

    def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        row = self._one(sa.select(tenant_invitations).where(
            self._mine(), tenant_invitations.c.invitation_token == token_hash))
        return _row_to_invitation(row) if row else None

    def update(self, invitation: Invitation) -> None:
        self._db.execute(tenant_invitations.update()
                         .where(self._mine(), tenant_invitations.c.id == invitation.id)
                         .values(accepted_at=invitation.accepted_at,
                                 revoked_at=invitation.revoked_at))

    def list(self, page: PageRequest) -> Page[Invitation]:
        return paginate(self._db, sa.select(tenant_invitations).where(self._mine()),
                        created_at=tenant_invitations.c.created_at,
                        id_column=tenant_invitations.c.id, page=page,
                        to_item=_row_to_invitation)


def _row_to_api_key(row: sa.Row[Any]) -> ApiKey:
    m = dict(row._mapping)
    m["role"] = Role(m["role"])
    return ApiKey(**m)


class SqlApiKeyRepository(SqlRepository):
    def _mine(self) -> sa.ColumnElement[bool]:
        return tenant_api_keys.c.tenant_id == self.tenant_id

    def add(self, key: ApiKey) -> None:
        self._db.execute(tenant_api_keys.insert().values(
            tenant_id=self.tenant_id, id=key.id, name=key.name, role=str(key.role),
            secret_hash=key.secret_hash, prefix=key.prefix, created_by=key.created_by,
            created_at=key.created_at, last_used_at=key.last_used_at,
            revoked_at=key.revoked_at))

    def get(self, key_id: uuid.UUID) -> ApiKey | None:
        row = self._one(sa.select(tenant_api_keys)
                        .where(self._mine(), tenant_api_keys.c.id == key_id))
        return _row_to_api_key(row) if row else None

    def update(self, key: ApiKey) -> None:
        self._db.execute(tenant_api_keys.update()
                         .where(self._mine(), tenant_api_keys.c.id == key.id)
                         .values(last_used_at=key.last_used_at, revoked_at=key.revoked_at))

    def list(self, page: PageRequest) -> Page[ApiKey]:
        return paginate(self._db, sa.select(tenant_api_keys).where(self._mine()),
                        created_at=tenant_api_keys.c.created_at,
                        id_column=tenant_api_keys.c.id, page=page, to_item=_row_to_api_key)

    def revoke_created_by(self, user_id: uuid.UUID, at: datetime) -> int:
        result = self._db.execute(tenant_api_keys.update().where(
            self._mine(), tenant_api_keys.c.created_by == user_id,
            tenant_api_keys.c.revoked_at.is_(None)).values(revoked_at=at))
        return result.rowcount


class SqlFeatureFlagRepository(SqlRepository):
    def rows_for(self, feature_key: str, *, user_id: uuid.UUID | None) -> Sequence[FeatureFlag]:
        scope: sa.ColumnElement[bool] = feature_flags.c.tenant_id.is_(None)
        if self._tenant_id is not None:
            mine = sa.and_(feature_flags.c.tenant_id == self._tenant_id,
                           sa.or_(feature_flags.c.user_id.is_(None),
                                  feature_flags.c.user_id == user_id))
            scope = sa.or_(scope, mine)
        rows = self._db.execute(sa.select(feature_flags)
                                .where(feature_flags.c.feature_key == feature_key, scope))
        return [FeatureFlag(**row._mapping) for row in rows]

    def save(self, flag: FeatureFlag) -> None:
        where = [feature_flags.c.feature_key == flag.feature_key,
                 _is(feature_flags.c.tenant_id, flag.tenant_id),
                 _is(feature_flags.c.user_id, flag.user_id)]
        self._update_or_insert(feature_flags, where,
                               {"enabled": flag.enabled, "updated_at": flag.updated_at},
                               id=flag.id, feature_key=flag.feature_key,
                               tenant_id=flag.tenant_id, user_id=flag.user_id)


def _is(column: sa.ColumnElement[Any], value: object) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


class SqlEventRepository(SqlRepository):
    def add_many(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        self._db.execute(domain_events.insert(), [
            {"tenant_id": e.tenant_id, "id": e.id, "event_type": e.event_type,
             "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
             "payload": e.payload, "created_at": e.occurred_at} for e in events])

    def list(self, *, event_type: str | None = None, aggregate: tuple[str, str] | None = None,
             limit: int = 100) -> Sequence[DomainEvent]:
        query = sa.select(domain_events).where(domain_events.c.tenant_id == self.tenant_id)
        if event_type is not None:
            query = query.where(domain_events.c.event_type == event_type)
        if aggregate is not None:
            query = query.where(domain_events.c.aggregate_type == aggregate[0],
                                domain_events.c.aggregate_id == aggregate[1])
        rows = self._db.execute(query.order_by(domain_events.c.created_at.desc(),
                                               domain_events.c.id.desc()).limit(limit))
        return [DomainEvent(id=r.id, tenant_id=r.tenant_id, event_type=r.event_type,
                            payload=r.payload, occurred_at=r.created_at,
                            aggregate_type=r.aggregate_type, aggregate_id=r.aggregate_id)
                for r in rows]
