"""Members of a tenant: who they are, their roles, leaving, and the one owner."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import normalise_email
from lad_domain.tenancy.events import (
    MemberAdded,
    MemberLeft,
    MemberRemoved,
    MemberRoleChanged,
    OwnershipTransferred,
)
from lad_domain.tenancy.model import Membership, may_grant, parse_role, transfer_ownership
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import TenancyUnitOfWork
from lad_domain.tenancy.services.tenants import current_tenant

#: ``depart(uow, user_id, now)``: a member is leaving the unit of work's tenant.
MemberDeparture = Callable[[TenancyUnitOfWork, uuid.UUID, datetime], None]


@attrs.frozen
class Member:
    membership: Membership
    email: str


class Members:
    """Part of ``TeamService``: members, their roles and the ownership."""

    scope: TenantScope[TenancyUnitOfWork]
    member_departures: Sequence[MemberDeparture]

    def list_members(self, principal: Principal, page: PageRequest,
                     tenant_id: uuid.UUID | None = None) -> Page[Member]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, Permission.MEMBERS_READ)
            memberships = uow.memberships.list(page)
            members = [Member(membership=m, email=_email(uow, m.user_id))
                       for m in memberships.items]
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
            current_tenant(uow)
            user = uow.users.get_by_email(email)
            if user is None:
                raise NotFound(f"no user {email}; invite them instead")
            if uow.memberships.get(user.id) is not None:
                raise Conflict(f"{email} is already a member")
            membership = Membership(tenant_id=tenant_of(uow), user_id=user.id, role=role,
                                    created_at=now, updated_at=now, invited_by=principal.user_id)
            uow.memberships.add(membership)
            self.scope.record(uow, MemberAdded(aggregate_id=user.id, user_id=user.id, role=role))
            uow.commit()
        return membership

    def change_role(self, principal: Principal, user_id: uuid.UUID, role: Role | str
                    ) -> Member:
        role = parse_role(role)
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.MEMBERS_MANAGE)
            membership = member_of(uow, user_id)
            may_grant(actor_role, role)
            may_grant(actor_role, membership.role)
            old = membership.role
            membership.change_role(role, self.scope.clock.now())
            uow.memberships.update(membership)
            self.scope.record(uow, MemberRoleChanged(aggregate_id=user_id, user_id=user_id,
                                                     from_=old, to=role))
            email = _email(uow, user_id)
            uow.commit()
        return Member(membership=membership, email=email)

    def remove_member(self, principal: Principal, user_id: uuid.UUID) -> None:
        with self.scope.open(principal) as uow:
            actor_role = self.scope.require(uow, principal, Permission.MEMBERS_MANAGE)
            membership = member_of(uow, user_id)
            membership.ensure_removable()
            may_grant(actor_role, membership.role)
            revoked = self._drop_member(uow, user_id)
            self.scope.record(uow, MemberRemoved(aggregate_id=user_id, user_id=user_id,
                                                 api_keys_revoked=revoked))
            uow.commit()

    def leave(self, principal: Principal) -> None:
        if principal.user_id is None:
            raise PermissionDenied("only a user can leave a tenant")
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.TENANT_READ)
            member_of(uow, principal.user_id).ensure_removable()
            revoked = self._drop_member(uow, principal.user_id)
            self.scope.record(uow, MemberLeft(aggregate_id=principal.user_id,
                                              user_id=principal.user_id,
                                              api_keys_revoked=revoked))
            uow.commit()

    def transfer_ownership(self, principal: Principal, user_id: uuid.UUID) -> Member:
        with self.scope.open(principal) as uow:
            self.scope.require(uow, principal, Permission.OWNERSHIP_TRANSFER)
            current = uow.memberships.owner()
            if current is None:
                raise NotFound("this tenant has no owner")
            successor = member_of(uow, user_id)
            transfer_ownership(current, successor, self.scope.clock.now())
            # Demote first: the one-owner index allows no moment with two owners.
            uow.memberships.update(current)
            uow.memberships.update(successor)
            self.scope.record(uow, OwnershipTransferred(aggregate_id=tenant_of(uow),
                                                        from_=current.user_id, to=user_id))
            email = _email(uow, user_id)
            uow.commit()
        return Member(membership=successor, email=email)

    def _drop_member(self, uow: TenancyUnitOfWork, user_id: uuid.UUID) -> int:
        """Remove the membership and revoke the API keys the member created (a key must
        not keep a departed member's access alive); how many keys were revoked."""
        now = self.scope.clock.now()
        for depart in self.member_departures:
            depart(uow, user_id, now)
        uow.memberships.remove(user_id)
        return uow.api_keys.revoke_created_by(user_id, now)


def member_of(uow: TenancyUnitOfWork, user_id: uuid.UUID) -> Membership:
    membership = uow.memberships.get(user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


def _email(uow: TenancyUnitOfWork, user_id: uuid.UUID) -> str:
    user = uow.users.get(user_id)
    return user.email if user else ""
