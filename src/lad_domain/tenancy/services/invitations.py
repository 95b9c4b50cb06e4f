"""Invitations: an admin invites by email; the invitee accepts with the emailed token."""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs

from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    Expired,
    NotFound,
    ValidationFailed,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.secrets import digest, new_secret
from lad_domain.shared.validation import normalise_email
from lad_domain.tenancy.events import InvitationCreated, MemberJoined
from lad_domain.tenancy.model import (
    Invitation,
    InvitationState,
    Membership,
    check_password,
    may_grant,
    parse_role,
)
from lad_domain.tenancy.policy import Permission
from lad_domain.tenancy.ports import PasswordHasher, TenancyUnitOfWork, TokenIssuer
from lad_domain.tenancy.services.accounts import new_user
from lad_domain.tenancy.services.sessions import Session, issue_session

INVITATION_TTL = timedelta(days=7)
INVITATION_PREFIX = "inv"


@attrs.frozen
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once; only its digest is stored


class Invitations:
    """Part of ``TenancyService``: invite, list, revoke and accept invitations."""

    scope: TenantScope[TenancyUnitOfWork]
    hasher: PasswordHasher
    tokens: TokenIssuer

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
            self.scope.record(uow, InvitationCreated(aggregate_id=invitation.id, email=email,
                                                     role=role))
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
            if invitation.revoke(self.scope.clock.now()):
                uow.invitations.update(invitation)
                uow.commit()
        return invitation

    def accept_invitation(self, *, token: str, password: str) -> Session:
        """Join the inviting tenant: as a new user (the password becomes theirs) or as the
        existing user with that email (the password must be theirs)."""
        tenant_id = _tenant_of_token(token)
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
                user = new_user(self.scope, self.hasher, uow, invitation.email,
                                check_password(password), tenant_id)
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
            self.scope.record(uow, MemberJoined(aggregate_id=user.id, user_id=user.id,
                                                role=invitation.role))
            uow.commit()
        return issue_session(self.tokens, tenant_id, user.id, invitation.role)


def _tenant_of_token(token: str) -> uuid.UUID:
    """The tenant named in clear in an invitation token, so its scope opens before the
    digest is looked up."""
    parts = token.split("_", 2) if isinstance(token, str) else []
    try:
        if len(parts) != 3 or parts[0] != INVITATION_PREFIX:
            raise ValueError(token)
        return uuid.UUID(hex=parts[1])
    except ValueError:
        raise NotFound("no such invitation") from None
