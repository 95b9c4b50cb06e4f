"""Team use cases of one tenant: the tenant itself, members, features, capabilities, flags
and API keys. Sign-up, log-in and invitations are in ``services``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs

from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.secrets import digest, new_secret
from lad_domain.shared.validation import key, normalise_email, plain_text
from lad_domain.tenancy.model import (
    ApiKey,
    FeatureFlag,
    Membership,
    Tenant,
    TenantFeature,
    UserCapability,
    check_metadata,
    evaluate_flag,
    plan_features,
    transfer_ownership,
)
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork
from lad_domain.tenancy.services import (
    API_KEY_PREFIX,
    FlagValue,
    IssuedApiKey,
    Member,
    MemberDeparture,
    may_grant,
    parse_role,
)


@attrs.define
class TeamService:
    scope: TenantScope[TenancyUnitOfWork]
    #: Run in the transaction that removes a member (removal or leaving), so that other
    #: contexts release or refuse what the member holds (a counsellor's caseload, ...).
    member_departures: Sequence[MemberDeparture] = ()

    # --- the tenant ----------------------------------------------------------------------

    def get_tenant(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> Tenant:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_READ)
            return _live_tenant(uow)

    def update_tenant(self, principal: Principal, *, name: str | None = None,
                      metadata: dict[str, Any] | None = None, plan_tier: str | None = None,
                      tenant_id: uuid.UUID | None = None) -> Tenant:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_UPDATE)
            tenant = _live_tenant(uow)
            if name is not None:
                tenant.rename(plain_text(name, field="name"), now)
            if metadata is not None:
                tenant.metadata = check_metadata(metadata)
                tenant.updated_at = now
            if plan_tier is not None:
                if not principal.is_operator:
                    raise PermissionDenied("only the platform operator changes the plan")
                tenant.change_plan(plan_tier, now)
            uow.tenants.update(tenant)
            self.scope.record_raw(uow, "tenant.updated", "tenant", tenant.id,
                                  {"name": tenant.name, "plan_tier": tenant.plan_tier})
            uow.commit()
        return tenant

    def delete_tenant(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> Tenant:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_DELETE)
            tenant = _live_tenant(uow)
            tenant.soft_delete(self.scope.clock.now())
            uow.tenants.update(tenant)
            self.scope.record_raw(uow, "tenant.deleted", "tenant", tenant.id, {})
            uow.commit()
        return tenant

    def list_tenants(self, principal: Principal, page: PageRequest) -> Page[Tenant]:
        require_operator(principal)
        with self.scope.uow(None) as uow:
            return uow.tenants.list(page)

    def find_tenant(self, principal: Principal, id_or_slug: str) -> Tenant:
        """Operator: a tenant by its id or slug."""
        require_operator(principal)
        with self.scope.uow(None) as uow:
            try:
                tenant = uow.tenants.get(uuid.UUID(id_or_slug))
            except ValueError:
                tenant = uow.tenants.get_by_slug(id_or_slug)
        if tenant is None or not tenant.is_live:
            raise NotFound(f"no tenant {id_or_slug!r}")
        return tenant

    # --- members -------------------------------------------------------------------------

    def list_members(self, principal: Principal, page: PageRequest,
                     tenant_id: uuid.UUID | None = None) -> Page[Member]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.MEMBERS_READ)
            memberships = uow.memberships.list(page)
            members = []
            for m in memberships.items:
                user = uow.users.get(m.user_id)
                members.append(Member(membership=m, email=user.email if user else ""))
        return Page(items=members, next_cursor=memberships.next_cursor)

    def add_member(self, principal: Principal, *, email: str, role: Role | str,
                   tenant_id: uuid.UUID | None = None) -> Membership:
        """Add an existing user directly (the operator, or an admin); others get invited."""
        email, role = normalise_email(email), parse_role(role)
        if role is Role.OWNER:
            raise ValidationFailed.single("role", "a tenant has one owner; transfer ownership")
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            actor_role = self.scope.require(uow, principal, Permission.MEMBERS_MANAGE)
            may_grant(actor_role, role)
            _live_tenant(uow)
            user = uow.users.get_by_email(email)
            if user is None:
                raise NotFound(f"no user {email}; invite them instead")
            if uow.memberships.get(user.id) is not None:
                raise Conflict(f"{email} is already a member")
            membership = Membership(tenant_id=tenant_of(uow), user_id=user.id, role=role,
                                    created_at=now, updated_at=now, invited_by=principal.user_id)
            uow.memberships.add(membership)
            self.scope.record_raw(uow, "member.added", "membership", user.id,
                                  {"user_id": str(user.id), "role": str(role)})
            uow.commit()
        return membership

    def change_role(self, principal: Principal, user_id: uuid.UUID, role: Role | str
                    ) -> Member:
        role = parse_role(role)
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.MEMBERS_MANAGE)
            membership = _member(uow, user_id)
            may_grant(actor_role, role)
            may_grant(actor_role, membership.role)
            old = membership.role
            membership.change_role(role, self.scope.clock.now())
            uow.memberships.update(membership)
            self.scope.record_raw(uow, "member.role_changed", "membership", user_id,
                                  {"user_id": str(user_id), "from": str(old), "to": str(role)})
            email = _email(uow, user_id)
            uow.commit()
        return Member(membership=membership, email=email)

    def remove_member(self, principal: Principal, user_id: uuid.UUID) -> None:
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.MEMBERS_MANAGE)
            membership = _member(uow, user_id)
            membership.ensure_removable()
            may_grant(actor_role, membership.role)
            self._drop_member(uow, user_id, "member.removed")
            uow.commit()

    def leave(self, principal: Principal) -> None:
        if principal.user_id is None:
            raise PermissionDenied("only a user can leave a tenant")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.TENANT_READ)
            membership = _member(uow, principal.user_id)
            membership.ensure_removable()
            self._drop_member(uow, principal.user_id, "member.left")
            uow.commit()

    def _drop_member(self, uow: TenancyUnitOfWork, user_id: uuid.UUID, event: str) -> None:
        """Remove the membership and revoke the API keys the member created: a key must
        not keep a departed member's access alive."""
        now = self.scope.clock.now()
        for depart in self.member_departures:
            depart(uow, user_id, now)
        uow.memberships.remove(user_id)
        revoked = uow.api_keys.revoke_created_by(user_id, now)
        self.scope.record_raw(uow, event, "membership", user_id,
                                   {"user_id": str(user_id), "api_keys_revoked": revoked})

    def transfer_ownership(self, principal: Principal, user_id: uuid.UUID) -> Member:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.OWNERSHIP_TRANSFER)
            current = uow.memberships.owner()
            if current is None:
                raise NotFound("this tenant has no owner")
            successor = _member(uow, user_id)
            transfer_ownership(current, successor, self.scope.clock.now())
            # Demote first: the one-owner index allows no moment with two owners.
            uow.memberships.update(current)
            uow.memberships.update(successor)
            self.scope.record_raw(uow, "ownership.transferred", "tenant", tenant_of(uow),
                                  {"from": str(current.user_id), "to": str(user_id)})
            email = _email(uow, user_id)
            uow.commit()
        return Member(membership=successor, email=email)

    # --- features, capabilities, flags ---------------------------------------------------

    def get_feature(self, principal: Principal, feature_key: str) -> TenantFeature:
        feature_key = key(feature_key, field="feature_key")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.FEATURES_READ)
            feature = uow.features.get(feature_key)
        return feature or TenantFeature(_principal_tenant(principal), feature_key, False,
                                        self.scope.clock.now())

    def set_feature(self, principal: Principal, feature_key: str, enabled: bool,
                    tenant_id: uuid.UUID | None = None) -> TenantFeature:
        feature_key = key(feature_key, field="feature_key")
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.FEATURES_MANAGE)
            plan = _live_tenant(uow).plan_tier
            if enabled and not principal.is_operator and feature_key not in plan_features(plan):
                raise PermissionDenied(f"the {feature_key} feature is not in the {plan} plan; "
                                       "the platform operator can enable it")
            feature = TenantFeature(tenant_of(uow), feature_key, bool(enabled),
                                    self.scope.clock.now())
            uow.features.save(feature)
            self.scope.record_raw(uow, "feature.changed", "tenant", tenant_of(uow),
                                  {"feature_key": feature_key, "enabled": bool(enabled)})
            uow.commit()
        return feature

    def grant_capability(self, principal: Principal, user_id: uuid.UUID, *, feature_key: str,
                         capability_key: str) -> UserCapability:
        feature_key = key(feature_key, field="feature_key")
        capability_key = key(capability_key, field="capability_key")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.CAPABILITIES_MANAGE)
            _member(uow, user_id)
            held = uow.capabilities.list_for_user(user_id)
            for c in held:
                if (c.feature_key, c.capability_key) == (feature_key, capability_key):
                    return c
            capability = UserCapability(tenant_id=tenant_of(uow), user_id=user_id,
                                        feature_key=feature_key, capability_key=capability_key,
                                        created_at=self.scope.clock.now(),
                                        granted_by=principal.user_id)
            uow.capabilities.add(capability)
            uow.commit()
        return capability

    def revoke_capability(self, principal: Principal, user_id: uuid.UUID, *, feature_key: str,
                          capability_key: str) -> None:
        feature_key = key(feature_key, field="feature_key")
        capability_key = key(capability_key, field="capability_key")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.CAPABILITIES_MANAGE)
            _member(uow, user_id)
            if not uow.capabilities.remove(user_id, feature_key, capability_key):
                raise NotFound("this member does not hold that capability")
            uow.commit()

    def evaluate_flag(self, principal: Principal, flag_key: str) -> FlagValue:
        flag_key = key(flag_key, field="flag_key")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.FLAGS_READ)
            rows = uow.flags.rows_for(flag_key, user_id=principal.user_id)
        enabled, source = evaluate_flag(list(rows))
        return FlagValue(feature_key=flag_key, enabled=enabled, source=source)

    def set_flag(self, principal: Principal, flag_key: str, enabled: bool, *,
                 tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
                 ) -> FeatureFlag:
        """Operator: a global default, a tenant override, or a user override in a tenant."""
        require_operator(principal)
        flag_key = key(flag_key, field="flag_key")
        if user_id is not None and tenant_id is None:
            raise ValidationFailed.single("tenant", "a user override needs its tenant")
        flag = FeatureFlag(id=self.scope.ids.new_id(), feature_key=flag_key,
                           enabled=bool(enabled), updated_at=self.scope.clock.now(),
                           tenant_id=tenant_id, user_id=user_id)
        with self.scope.uow(tenant_id) as uow:
            uow.flags.save(flag)
            uow.commit()
        return flag

    # --- API keys ------------------------------------------------------------------------

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
            self.scope.record_raw(uow, "api_key.created", "api_key", key_id,
                                  {"name": name, "role": str(role)})
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
            if api_key.revoked_at is None:
                api_key.revoked_at = self.scope.clock.now()
                uow.api_keys.update(api_key)
                self.scope.record_raw(uow, "api_key.revoked", "api_key", key_id, {})
                uow.commit()
        return api_key


def _live_tenant(uow: TenancyUnitOfWork) -> Tenant:
    tenant = uow.tenants.get(tenant_of(uow))
    if tenant is None or not tenant.is_live:
        raise NotFound("tenant not found")
    return tenant


def _email(uow: TenancyUnitOfWork, user_id: uuid.UUID) -> str:
    user = uow.users.get(user_id)
    return user.email if user else ""


def _member(uow: TenancyUnitOfWork, user_id: uuid.UUID) -> Membership:
    membership = uow.memberships.get(user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


def _principal_tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise ValidationFailed.single("tenant", "is required")
    return principal.tenant_id
