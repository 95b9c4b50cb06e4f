"""Tenancy use cases: one method per thing a user, an operator or a server can do."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    Expired,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.secrets import digest, matches, new_secret
from lad_domain.shared.validation import key, normalise_email, plain_text
from lad_domain.tenancy.model import (
    DEFAULT_FEATURES,
    ApiKey,
    Invitation,
    InvitationState,
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
from lad_domain.tenancy.ports import (
    PasswordHasher,
    TenancyUnitOfWork,
    TokenIssuer,
)

T = TypeVar("T")

INVITATION_TTL = timedelta(days=7)
API_KEY_PREFIX = "lad"
INVITATION_PREFIX = "inv"
#: last_used_at is written at most this often, so an API key's every request is not a write.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


#: ``seed(uow, tenant_id, now)``: gives a new tenant a context's defaults.
TenantSeeder = Callable[[TenancyUnitOfWork, uuid.UUID, datetime], None]
#: ``depart(uow, user_id, now)``: a member is leaving the unit of work's tenant.
MemberDeparture = Callable[[TenancyUnitOfWork, uuid.UUID, datetime], None]


@attrs.frozen
class Session:
    """What a successful sign-up, login or acceptance hands back."""

    access_token: str
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


@attrs.frozen
class Member:
    membership: Membership
    email: str


@attrs.frozen
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once; only its digest is stored


@attrs.frozen
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # shown once; only its digest is stored


@attrs.frozen
class FlagValue:
    feature_key: str
    enabled: bool
    source: str


@attrs.frozen
class Me:
    """Who the bearer is: a member (``user``) or a tenant API key (``api_key_id``)."""

    tenant: Tenant
    role: Role
    user: User | None = None
    api_key_id: uuid.UUID | None = None


@attrs.define
class TenancyService:
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

    # --- accounts ------------------------------------------------------------------------

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
                user = self._new_user(uow, email, password, tenant_id)
                self._make_owner(uow, tenant, user)
                uow.commit()
            return self._session(tenant.id, user.id, Role.OWNER)

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
                    owner = self._new_user(uow, email, check_password(owner_password),
                                           tenant_id)
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
            user = self._new_user(uow, email, password, None)
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
        tenant_id = tenant_id or self._default_tenant(user)
        with self.scope.uow(tenant_id, user_id=user.id) as uow:
            tenant = uow.tenants.get(tenant_id)
            membership = uow.memberships.get(user.id)
            if tenant is None or not tenant.is_live or membership is None:
                raise AuthenticationFailed("you are not a member of that tenant")
        return self._session(tenant_id, user.id, membership.role)

    def authenticate(self, bearer: str) -> Principal:
        """A principal from a bearer token: a JWT from log_in or a tenant API key."""
        if bearer.startswith(API_KEY_PREFIX + "_"):
            return self._authenticate_api_key(bearer)
        claims = self.tokens.read(bearer)
        try:
            return Principal(
                kind=PrincipalKind.USER,
                tenant_id=uuid.UUID(claims["tid"]),
                user_id=uuid.UUID(claims["sub"]),
                role=Role(claims["role"]),
            )
        except (KeyError, ValueError, TypeError):
            raise AuthenticationFailed("the access token is malformed") from None

    def principal_for(self, *, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Principal:
        """For library callers and the CLI: act as this member of this tenant."""
        with self.scope.uow(tenant_id) as uow:
            membership = uow.memberships.get(user_id)
        if membership is None:
            raise NotFound("no such member in this tenant")
        return Principal(kind=PrincipalKind.USER, tenant_id=tenant_id, user_id=user_id,
                         role=membership.role)

    def me(self, principal: Principal) -> Me:
        with self.scope.open(principal) as uow:
            role = self.scope.require(uow, principal, Permission.TENANT_READ)
            user = uow.users.get(principal.user_id) if principal.user_id else None
            tenant = uow.tenants.get(tenant_of(uow))
        if tenant is None or role is None:
            raise NotFound("the operator acts in no tenant of its own")
        return Me(tenant=tenant, role=role, user=user, api_key_id=principal.api_key_id)

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

    # --- invitations ---------------------------------------------------------------------

    def invite(self, principal: Principal, *, email: str, role: Role | str) -> IssuedInvitation:
        email = normalise_email(email)
        role = parse_role(role)
        if role is Role.OWNER:
            raise ValidationFailed.single("role", "an invitation cannot make an owner")
        now = self.scope.clock.now()
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.INVITATIONS_MANAGE)
            may_grant(actor_role, role)
            user = uow.users.get_by_email(email)
            if user is not None and uow.memberships.get(user.id) is not None:
                raise Conflict(f"{email} is already a member")
            tenant_id = tenant_of(uow)
            token = f"{INVITATION_PREFIX}_{tenant_id.hex}_{new_secret()}"
            invitation = Invitation(id=self.scope.ids.new_id(), tenant_id=tenant_id, email=email,
                                    role=role, token_hash=digest(token),
                                    expires_at=now + INVITATION_TTL, created_at=now,
                                    invited_by=principal.user_id)
            uow.invitations.add(invitation)
            self.scope.record_raw(uow, "invitation.created", "invitation", invitation.id,
                         {"email": email, "role": str(role)})
            uow.commit()
        return IssuedInvitation(invitation=invitation, token=token)

    def list_invitations(self, principal: Principal, page: PageRequest) -> Page[Invitation]:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.INVITATIONS_MANAGE)
            return uow.invitations.list(page)

    def revoke_invitation(self, principal: Principal, invitation_id: uuid.UUID) -> Invitation:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.INVITATIONS_MANAGE)
            invitation = uow.invitations.get(invitation_id)
            if invitation is None:
                raise NotFound("invitation not found")
            state = invitation.state(self.scope.clock.now())
            if state is InvitationState.ACCEPTED:
                raise Conflict("the invitation was already accepted; remove the member instead")
            if state is not InvitationState.REVOKED:  # revoking twice changes nothing
                invitation.revoked_at = self.scope.clock.now()
                uow.invitations.update(invitation)
                uow.commit()
        return invitation

    def accept_invitation(self, *, token: str, password: str) -> Session:
        """Join the inviting tenant: as a new user (the password becomes theirs) or as the
        existing user with that email (the password must be theirs)."""
        tenant_id = _tenant_of_token(token, INVITATION_PREFIX)
        now = self.scope.clock.now()
        with self.scope.uow(tenant_id) as uow:
            invitation = uow.invitations.get_by_token_hash(digest(token))
            if invitation is None:
                raise NotFound("no such invitation")
            state = invitation.state(now)
            if state is not InvitationState.PENDING:
                raise Expired(f"this invitation is {state}")
            tenant = uow.tenants.get(tenant_id)
            if tenant is None or not tenant.is_live:
                raise Expired("the inviting tenant no longer exists")
            user = uow.users.get_by_email(invitation.email)
            if user is None:
                user = self._new_user(uow, invitation.email, check_password(password), tenant_id)
            elif user.password_hash is None or not self.hasher.verify(user.password_hash,
                                                                       password):
                raise AuthenticationFailed("wrong password for the invited account")
            if uow.memberships.get(user.id) is not None:
                raise Conflict("you are already a member of this tenant")
            uow.memberships.add(Membership(tenant_id=tenant_id, user_id=user.id,
                                           role=invitation.role, created_at=now,
                                           updated_at=now, invited_by=invitation.invited_by))
            invitation.accepted_at = now
            uow.invitations.update(invitation)
            self.scope.record_raw(uow, "member.joined", "membership", user.id,
                         {"user_id": str(user.id), "role": str(invitation.role)})
            uow.commit()
        return self._session(tenant_id, user.id, invitation.role)

    # --- helpers shared by the use cases ---------------------------------------------------

    def _new_user(self, uow: TenancyUnitOfWork, email: str, password: str,
                  tenant_id: uuid.UUID | None) -> User:
        now = self.scope.clock.now()
        user = User(id=self.scope.ids.new_id(), email=email,
                    password_hash=self.hasher.hash(password), created_at=now, updated_at=now,
                    primary_tenant_id=tenant_id)
        uow.users.add(user)
        return user

    def _new_tenant(self, uow: TenancyUnitOfWork, tenant_id: uuid.UUID, name: str,
                    slug: str | None, retry: int = 0) -> Tenant:
        now = self.scope.clock.now()
        slug = self._free_slug(uow, slug, name, retry)
        tenant = Tenant(id=tenant_id, name=name, slug=slug, created_at=now, updated_at=now)
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
        self.scope.record_raw(uow, "tenant.created", "tenant", tenant.id,
                          {"name": tenant.name, "slug": tenant.slug, "owner_id": str(owner.id)})

    def _free_slug(self, uow: TenancyUnitOfWork, wanted: str | None, name: str,
                   retry: int) -> str:
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

    def _default_tenant(self, user: User) -> uuid.UUID:
        with self.scope.uow(None, user_id=user.id) as uow:
            tenant_ids = list(uow.memberships.tenant_ids_of(user.id))
            live = [t for t in tenant_ids if (tenant := uow.tenants.get(t)) and tenant.is_live]
        if user.primary_tenant_id is not None and user.primary_tenant_id in live:
            return user.primary_tenant_id
        if not live:
            raise AuthenticationFailed("this account is not a member of any tenant")
        return live[0]

    def _session(self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> Session:
        token = self.tokens.issue({"sub": str(user_id), "tid": str(tenant_id), "role": str(role)})
        return Session(access_token=token, tenant_id=tenant_id, user_id=user_id, role=role)

    def _authenticate_api_key(self, bearer: str) -> Principal:
        parts = bearer.split("_", 3)
        try:
            tenant_id, key_id = uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2])
            secret = parts[3]
        except (IndexError, ValueError):
            raise AuthenticationFailed("the API key is malformed") from None
        now = self.scope.clock.now()
        with self.scope.uow(tenant_id) as uow:
            api_key = uow.api_keys.get(key_id)
            if api_key is None or api_key.revoked_at is not None or not matches(
                secret, api_key.secret_hash
            ):
                raise AuthenticationFailed("the API key is unknown or revoked")
            if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_TOUCH_INTERVAL:
                api_key.last_used_at = now
                uow.api_keys.update(api_key)
                uow.commit()
        return Principal(kind=PrincipalKind.API_KEY, tenant_id=tenant_id, role=api_key.role,
                         api_key_id=api_key.id)


SLUG_ATTEMPTS = 5


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


def parse_role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed.single(
            "role", f"must be one of {', '.join(r.value for r in Role)}"
        ) from None


def may_grant(actor_role: Role | None, role: Role) -> None:
    """Nobody hands out a role above their own (the operator has no ceiling)."""
    if actor_role is not None and role.rank > actor_role.rank:
        raise PermissionDenied(f"the {actor_role} role cannot grant or change the {role} role")


def _tenant_of_token(token: str, prefix: str) -> uuid.UUID:
    parts = token.split("_", 2) if isinstance(token, str) else []
    try:
        if len(parts) != 3 or parts[0] != prefix:
            raise ValueError(token)
        return uuid.UUID(hex=parts[1])
    except ValueError:
        raise NotFound("no such invitation") from None

