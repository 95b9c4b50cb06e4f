"""A tenant with its owner, and members in any role, built through the use cases."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import attrs

from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.tenancy.services import Session, TeamService, TenancyService

PASSWORD = "correct horse battery"
OPERATOR = Principal.operator()
_serial = itertools.count(1)


@attrs.define
class Org:
    accounts: TenancyService
    team: TeamService
    session: Session
    owner: Principal

    @classmethod
    def sign_up(cls, accounts: TenancyService, team: TeamService, name: str = "Acme") -> Org:
        n = next(_serial)
        session = accounts.sign_up(tenant_name=name, email=f"owner{n}@org{n}.test",
                                   password=PASSWORD)
        owner = accounts.principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
        return cls(accounts, team, session, owner)

    @property
    def id(self) -> uuid.UUID:
        return self.session.tenant_id

    def member(self, role: Role | str, email: str | None = None) -> Principal:
        """A new user added to this tenant in ``role`` (not owner), acting as themself."""
        email = email or f"{role}{next(_serial)}@people.test"
        user = self.accounts.create_user(OPERATOR, email=email, password=PASSWORD)
        self.team.add_member(OPERATOR, email=email, role=role, tenant_id=self.id)
        return self.accounts.principal_for(user_id=user.id, tenant_id=self.id)

    def roles(self) -> dict[uuid.UUID, Role]:
        """Who holds which role, read straight from the tenant's unit of work."""
        with self.accounts.scope.uow(self.id) as uow:
            page = uow.memberships.list(PageRequest(limit=200))
        return {m.user_id: m.role for m in page.items}

    def role_of(self, principal: Principal) -> Role | None:
        assert principal.user_id is not None
        return self.roles().get(principal.user_id)


#: The ``new_org`` fixture: ``new_org("Name")`` signs up another tenant.
NewOrg = Callable[..., Org]
