"""The tenant scope: what every use case of every context starts from.

It opens the unit of work of the principal's tenant (the operator names one), asks the one
access policy, records typed domain events, and hands out time and ids. Services depend on
a scope and on ports, never on another service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import attrs

from lad_domain.shared.access import AccessPolicy, AccessRecords
from lad_domain.shared.clock import Clock
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.events import DomainEvent, Event, Outbox
from lad_domain.shared.ids import IdGenerator
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.unit_of_work import UnitOfWork


class ScopedUnitOfWork(UnitOfWork, AccessRecords, Protocol):
    """The least a context's unit of work offers: a transaction with an outbox, and the
    tenant records the access policy reads."""

    tenant_id: uuid.UUID | None
    outbox: Outbox


U = TypeVar("U", bound=ScopedUnitOfWork)
U_co = TypeVar("U_co", bound=ScopedUnitOfWork, covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    """Opens a unit of work scoped to one tenant (``None``: global rows only).

    ``reading``: the use case only reads and never commits. An adapter may serve such a
    unit of work without a transaction of its own (PostgreSQL: no BEGIN and no end, each
    statement its own snapshot, as READ COMMITTED gives a transaction's statements anyway);
    one that is asked to commit refuses. Adapters without that cost ignore it."""

    def __call__(self, tenant_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None,
                 reading: bool = False) -> U_co: ...


@attrs.define
class TenantScope(Generic[U]):
    uow: UnitOfWorkFactory[U]
    clock: Clock
    ids: IdGenerator
    access: AccessPolicy

    def open(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> U:
        """The unit of work of the principal's own tenant; the operator names one."""
        return self.uow(self._target(principal, tenant_id), user_id=principal.user_id)

    def read(self, principal: Principal, tenant_id: uuid.UUID | None = None) -> U:
        """``open`` for a use case that only reads: the unit of work is never committed
        (see ``UnitOfWorkFactory``). The access policy is asked in it as in any other."""
        return self.uow(self._target(principal, tenant_id), user_id=principal.user_id,
                        reading=True)

    @staticmethod
    def _target(principal: Principal, tenant_id: uuid.UUID | None) -> uuid.UUID:
        target = tenant_id if principal.is_operator else principal.tenant_id
        if target is None:
            raise ValidationFailed.single("tenant", "is required")
        return target

    def require(self, uow: U, principal: Principal, permission: str) -> Role | None:
        return self.access.require(uow, principal, permission)

    def require_again(self, uow: U, principal: Principal, permission: str) -> Role | None:
        """``require`` once more, late in a long unit of work, on what the database holds
        now rather than on what was read when it opened."""
        uow.expire_reads()
        return self.require(uow, principal, permission)

    def record(self, uow: U, event: Event, *, at: datetime | None = None) -> None:
        uow.outbox.add(DomainEvent.of(event, id=self.ids.new_id(), tenant_id=uow.tenant_id,
                                      occurred_at=self.clock.now() if at is None else at))


def tenant_of(uow: ScopedUnitOfWork) -> uuid.UUID:
    """The unit of work's tenant (a tenant-scoped use case never runs without one)."""
    if uow.tenant_id is None:
        raise ValidationFailed.single("tenant", "is required")
    return uow.tenant_id
