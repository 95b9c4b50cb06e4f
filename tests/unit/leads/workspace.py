"""A tenant to work in, built through the use cases: its owner, members in any role, leads."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import attrs

from lad_domain.leads.model import Lead
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container

PASSWORD = "correct horse battery"
OPERATOR = Principal.operator()
_serial = itertools.count(1)


@attrs.define
class Workspace:
    lad: Container
    tenant_id: uuid.UUID
    owner: Principal

    @classmethod
    def sign_up(cls, lad: Container, name: str = "Acme") -> Workspace:
        n = next(_serial)
        session = lad.tenancy().sign_up(tenant_name=name, email=f"owner{n}@ws{n}.test",
                                        password=PASSWORD)
        owner = lad.tenancy().principal_for(user_id=session.user_id,
                                            tenant_id=session.tenant_id)
        return cls(lad, session.tenant_id, owner)

    def member(self, role: Role | str = Role.MEMBER, email: str | None = None) -> Principal:
        email = email or f"{role}{next(_serial)}@people.test"
        user = self.lad.tenancy().create_user(OPERATOR, email=email, password=PASSWORD)
        self.lad.team().add_member(OPERATOR, email=email, role=role, tenant_id=self.tenant_id)
        return self.lad.tenancy().principal_for(user_id=user.id, tenant_id=self.tenant_id)

    def lead(self, **fields: Any) -> Lead:
        fields.setdefault("first_name", "Ada")
        return self.lad.leads().create_lead(self.owner, fields)
