"""Accounts: signing up, tenants created by the operator, users, logging in, identities."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope
from lad_domain.shared.validation import key, normalise_email, plain_text
from lad_domain.tenancy.events import TenantCreated
from lad_domain.tenancy.model import (
    DEFAULT_FEATURES,
    Membership,
    SlugTaken,
    Tenant,
    TenantFeature,
    User,
    UserIdentity,
    check_password,
    slugify,
)
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import PasswordHasher, TenancyUnitOfWork, TokenIssuer
from lad_domain.tenancy.services.sessions import Session, issue_session

T = TypeVar("T")

#: ``seed(uow, tenant_id, now)``: gives a new tenant a context's defaults.
TenantSeeder = Callable[[TenancyUnitOfWork, uuid.UUID, datetime], None]

SLUG_ATTEMPTS = 5


class Accounts:
    """Part of ``TenancyService``: new tenants and users, logging in, linked identities."""

    scope: TenantScope[TenancyUnitOfWork]
    hasher: PasswordHasher
    tokens: TokenIssuer
    tenant_seeders: Sequence[TenantSeeder]
    _dummy_hash: str

    def sign_up(
        self, *, tenant_name: str, email: str, password: str, slug: str | None = None
    ) -> Session:
        """A new tenant with its owner; the owner is a new user or an existing one whose
        password is given."""
        name = plain_text(tenant_name, field="tenant_name")
        email = normalise_email(email)
        check_password(password)

        def attempt(retry: int) -> Session:
            tenant_id = self.scope.ids.new_id()
            with self.scope.uow(tenant_id) as uow:
                if uow.users.get_by_email(email) is not None:
                    raise Conflict(f"{email} is already registered; log in to create a tenant")
                tenant = self._new_tenant(uow, tenant_id, name, slug, retry)
                user = new_user(self.scope, self.hasher, uow, email, password, tenant_id)
                self._make_owner(uow, tenant, user)
                uow.commit()
            return issue_session(self.tokens, tenant.id, user.id, Role.OWNER)

        return _retry_on_taken_slug(attempt, slug_given=slug is not None)

    def create_tenant(self, principal: Principal, *, name: str, owner_email: str,
                      owner_password: str | None = None, slug: str | None = None) -> Tenant:
        """Operator: a tenant owned by an existing user, or by a new one given a password."""
        require_operator(principal)
        name = plain_text(name, field="name")
        email = normalise_email(owner_email, field="owner_email")

        def attempt(retry: int) -> Tenant:
            tenant_id = self.scope.ids.new_id()
            with self.scope.uow(tenant_id) as uow:
                owner = uow.users.get_by_email(email)
                if owner is None and owner_password is None:
                    raise NotFound(f"no user {email}; give a password to create one")
                tenant = self._new_tenant(uow, tenant_id, name, slug, retry)
                if owner is None:
                    owner = new_user(self.scope, self.hasher, uow, email,
                                     check_password(owner_password), tenant_id)
                self._make_owner(uow, tenant, owner)
                uow.commit()
            return tenant

        return _retry_on_taken_slug(attempt, slug_given=slug is not None)

    def create_user(self, principal: Principal, *, email: str, password: str) -> User:
        require_operator(principal)
        email = normalise_email(email)
        check_password(password)
        with self.scope.uow(None) as uow:
            if uow.users.get_by_email(email) is not None:
                raise Conflict(f"{email} is already registered")
            user = new_user(self.scope, self.hasher, uow, email, password, None)
            uow.commit()
        return user

    def list_users(self, principal: Principal, page: PageRequest) -> Page[User]:
        require_operator(principal)
        with self.scope.uow(None) as uow:
            return uow.users.list(page)

    def log_in(self, *, email: str, password: str, tenant_id: uuid.UUID | None = None) -> Session:
        email = normalise_email(email)
        with self.scope.uow(None) as uow:
            user = uow.users.get_by_email(email)
        if user is None or user.password_hash is None:
            # The same hash work as a wrong password, so timing does not reveal accounts.
            self.hasher.verify(self._dummy_hash, password)
            raise AuthenticationFailed("wrong email or password")
        if not self.hasher.verify(user.password_hash, password):
            raise AuthenticationFailed("wrong email or password")
        if self.hasher.needs_rehash(user.password_hash):
            self._rehash(user, user.password_hash, password)
        tenant_id = tenant_id or self._default_tenant(user)
        with self.scope.uow(tenant_id, user_id=user.id) as uow:
            tenant = uow.tenants.get(tenant_id)
            membership = uow.memberships.get(user.id)
            if tenant is None or not tenant.is_live or membership is None:
                raise AuthenticationFailed("you are not a member of that tenant")
        return issue_session(self.tokens, tenant_id, user.id, membership.role)

    def link_identity(self, principal: Principal, *, provider: str, provider_user_id: str
                      ) -> UserIdentity:
        provider = key(provider, field="provider")
        subject = plain_text(provider_user_id, field="provider_user_id", max_length=255)
        if principal.user_id is None:
            raise PermissionDenied("only a user can link an identity")
        # Asked in the principal's tenant, so that a removed member or a deleted tenant's
        # token links nothing; identities themselves are global rows.
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.TENANT_READ)
            existing = uow.identities.get_by_provider(provider, subject)
            if existing is not None:
                if existing.user_id == principal.user_id:
                    return existing
                raise Conflict(f"this {provider} account is linked to another user")
            identity = UserIdentity(id=self.scope.ids.new_id(), user_id=principal.user_id,
                                    provider=provider, provider_user_id=subject,
                                    created_at=self.scope.clock.now())
            uow.identities.add(identity)
            uow.commit()
        return identity

    def _new_tenant(self, uow: TenancyUnitOfWork, tenant_id: uuid.UUID, name: str,
                    slug: str | None, retry: int = 0) -> Tenant:
        now = self.scope.clock.now()
        tenant = Tenant(id=tenant_id, name=name, slug=_free_slug(uow, slug, name, retry),
                        created_at=now, updated_at=now)
        uow.tenants.add(tenant)
        for feature_key in DEFAULT_FEATURES:
            uow.features.save(TenantFeature(tenant_id, feature_key, True, now))
        for seed in self.tenant_seeders:
            seed(uow, tenant_id, now)
        return tenant

    def _make_owner(self, uow: TenancyUnitOfWork, tenant: Tenant, owner: User) -> None:
        now = self.scope.clock.now()
        uow.memberships.add(Membership(tenant_id=tenant.id, user_id=owner.id, role=Role.OWNER,
                                       created_at=now, updated_at=now))
        self.scope.record(uow, TenantCreated(aggregate_id=tenant.id, name=tenant.name,
                                             slug=tenant.slug, owner_id=owner.id))

    def _rehash(self, user: User, verified_hash: str, password: str) -> None:
        """Store the password hashed with the current parameters, once it was just verified
        against a hash made with others. Best effort: when the hasher is busy the login
        goes on and the next one tries again; a hash changed meanwhile (a new password) is
        left alone."""
        try:
            fresh = self.hasher.hash(password)
        except Unavailable:
            return
        with self.scope.uow(None) as uow:
            current = uow.users.get(user.id)
            if current is None or current.password_hash != verified_hash:
                return
            uow.users.update(attrs.evolve(current, password_hash=fresh,
                                          updated_at=self.scope.clock.now()))
            uow.commit()

    def _default_tenant(self, user: User) -> uuid.UUID:
        with self.scope.uow(None, user_id=user.id) as uow:
            tenant_ids = list(uow.memberships.tenant_ids_of(user.id))
            live = [t for t in tenant_ids if (tenant := uow.tenants.get(t)) and tenant.is_live]
        if user.primary_tenant_id is not None and user.primary_tenant_id in live:
            return user.primary_tenant_id
        if not live:
            raise AuthenticationFailed("this account is not a member of any tenant")
        return live[0]


def new_user(scope: TenantScope[TenancyUnitOfWork], hasher: PasswordHasher,
             uow: TenancyUnitOfWork, email: str, password: str,
             tenant_id: uuid.UUID | None) -> User:
    """A new account, its password hashed, added in the unit of work."""
    now = scope.clock.now()
    user = User(id=scope.ids.new_id(), email=email, password_hash=hasher.hash(password),
                created_at=now, updated_at=now, primary_tenant_id=tenant_id)
    uow.users.add(user)
    return user


def _free_slug(uow: TenancyUnitOfWork, wanted: str | None, name: str, retry: int) -> str:
    if wanted is not None:
        slug = key(wanted, field="slug")
        if uow.tenants.get_by_slug(slug) is not None:
            raise SlugTaken(f"the slug {slug!r} is taken")
        return slug
    base = slugify(name)
    if retry:
        # A concurrent sign-up took the slug we saw free: step aside at random.
        base = f"{base}-{secrets.token_hex(3)}"
    slug, n = base, 1
    while uow.tenants.get_by_slug(slug) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _retry_on_taken_slug(attempt: Callable[[int], T], *, slug_given: bool) -> T:
    """Run a tenant-creating attempt again when a generated slug was taken between the
    check and the insert (PostgreSQL lets concurrent sign-ups race there)."""
    for retry in range(SLUG_ATTEMPTS):
        try:
            return attempt(retry)
        except SlugTaken:
            if slug_given or retry == SLUG_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
