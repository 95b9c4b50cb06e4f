"""Features of a tenant, capabilities granted to members, and feature flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import key
from lad_domain.tenancy.events import FeatureChanged
from lad_domain.tenancy.model import (
    FeatureFlag,
    TenantFeature,
    UserCapability,
    evaluate_flag,
    plan_features,
)
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork
from lad_domain.tenancy.services.members import member_of
from lad_domain.tenancy.services.tenants import current_tenant


@attrs.frozen
class FlagValue:
    feature_key: str
    enabled: bool
    source: str


class Features:
    """Part of ``TeamService``: tenant features, member capabilities, feature flags."""

    scope: TenantScope[TenancyUnitOfWork]

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
            plan = current_tenant(uow).plan_tier
            if enabled and not principal.is_operator and feature_key not in plan_features(plan):
                raise PermissionDenied(f"the {feature_key} feature is not in the {plan} plan; "
                                       "the platform operator can enable it")
            feature = TenantFeature(tenant_of(uow), feature_key, bool(enabled),
                                    self.scope.clock.now())
            uow.features.save(feature)
            self.scope.record(uow, FeatureChanged(aggregate_id=tenant_of(uow),
                                                  feature_key=feature_key,
                                                  enabled=bool(enabled)))
            uow.commit()
        return feature

    def grant_capability(self, principal: Principal, user_id: uuid.UUID, *, feature_key: str,
                         capability_key: str) -> UserCapability:
        wanted = _capability(feature_key, capability_key)
        with self._capabilities_of(principal, user_id) as uow:
            for held in uow.capabilities.list_for_user(user_id):
                if (held.feature_key, held.capability_key) == wanted:
                    return held
            capability = UserCapability(tenant_id=tenant_of(uow), user_id=user_id,
                                        feature_key=wanted[0], capability_key=wanted[1],
                                        created_at=self.scope.clock.now(),
                                        granted_by=principal.user_id)
            uow.capabilities.add(capability)
            uow.commit()
        return capability

    def revoke_capability(self, principal: Principal, user_id: uuid.UUID, *, feature_key: str,
                          capability_key: str) -> None:
        wanted = _capability(feature_key, capability_key)
        with self._capabilities_of(principal, user_id) as uow:
            if not uow.capabilities.remove(user_id, *wanted):
                raise NotFound("this member does not hold that capability")
            uow.commit()

    @contextmanager
    def _capabilities_of(self, principal: Principal, user_id: uuid.UUID
                         ) -> Iterator[TenancyUnitOfWork]:
        """The unit of work in which the principal manages a member's capabilities."""
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.CAPABILITIES_MANAGE)
            member_of(uow, user_id)
            yield uow

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


def _capability(feature_key: str, capability_key: str) -> tuple[str, str]:
    return (key(feature_key, field="feature_key"), key(capability_key, field="capability_key"))


def _principal_tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise ValidationFailed.single("tenant", "is required")
    return principal.tenant_id
