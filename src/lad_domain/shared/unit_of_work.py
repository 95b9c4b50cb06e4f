"""The unit-of-work port: one transaction, scoped to one tenant, rolled back unless committed."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Protocol, Self

from lad_domain.shared.events import Outbox


class UnitOfWork(Protocol):
    """A transaction. ``commit()`` stores the outbox's events, then commits; leaving the
    ``with`` block without ``commit()`` (or through an exception) rolls everything back."""

    tenant_id: uuid.UUID | None
    outbox: Outbox

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def expire_reads(self) -> None:
        """Forget what was read while opening (the tenant, the actor's membership, user and
        features, which an adapter may read with the scope): the next access check reads
        them again, so that it sees a change committed since (a member removed during a
        long import)."""
