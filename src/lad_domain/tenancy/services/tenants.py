"""The tenant itself: read, update and delete one's own; the operator lists and finds any."""

from __future__ import annotations

import uuid
from typing import Any

from lad_domain.shared.access import live_tenant, require_operator
from lad_domain.shared.errors import NotFound, PermissionDenied
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import plain_text
from lad_domain.tenancy.events import TenantDeleted, TenantUpdated
from lad_domain.tenancy.model import Tenant, check_metadata
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork


class Tenants:
    """Part of ``TeamService``: the tenant record."""

    scope: TenantScope[TenancyUnitOfWork]

    def get_tenant(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> Tenant:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_READ)
            return current_tenant(uow)

    def update_tenant(self, principal: Principal, *, name: str | None = None,
                      metadata: dict[str, Any] | None = None, plan_tier: str | None = None,
                      tenant_id: uuid.UUID | None = None) -> Tenant:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_UPDATE)
            tenant = current_tenant(uow)
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
            self.scope.record(uow, TenantUpdated(aggregate_id=tenant.id, name=tenant.name,
                                                 plan_tier=tenant.plan_tier))
            uow.commit()
        return tenant

    def delete_tenant(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> Tenant:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.TENANT_DELETE)
            tenant = current_tenant(uow)
            tenant.soft_delete(self.scope.clock.now())
            uow.tenants.update(tenant)
            self.scope.record(uow, TenantDeleted(aggregate_id=tenant.id))
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


def current_tenant(uow: TenancyUnitOfWork) -> Tenant:
    """The unit of work's tenant, which must exist and not be deleted."""
    return live_tenant(uow.tenants, tenant_of(uow))
