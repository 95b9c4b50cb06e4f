"""An in-memory database: tables of copied objects, one writer at a time, real rollback."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar

from lad_adapters.constraints import CONSTRAINT_MESSAGES, GENERIC, conflict
from lad_adapters.metrics import PendingPostings
from lad_adapters.scope import TenantScoped
from lad_domain.shared.errors import Conflict
from lad_domain.shared.events import Outbox
from lad_domain.shared.pagination import Cursor, CursorSeal, Page, PageRequest

T = TypeVar("T")


class InMemoryStore:
    """The committed state. A unit of work holds the lock from enter to exit, so
    transactions are serialised, as on SQLite."""

    def __init__(self, cursors: CursorSeal | None = None) -> None:
        self.tables: dict[str, dict[Any, Any]] = {}
        self.lock = threading.RLock()
        self.cursors = cursors or CursorSeal.ephemeral()


class InMemoryTransaction:
    """Copy-on-first-touch working tables; commit publishes them, anything else drops them."""

    def __init__(self, store: InMemoryStore, cursors: CursorSeal) -> None:
        self._store = store
        self._working: dict[str, dict[Any, Any]] = {}
        self.cursors = cursors
        #: Ledger rows written in this transaction, counted for /metrics when it commits.
        self.postings = PendingPostings()

    def table(self, name: str) -> dict[Any, Any]:
        if name not in self._working:
            self._working[name] = dict(self._store.tables.get(name, {}))
        return self._working[name]

    def publish(self) -> None:
        self._store.tables.update(self._working)
        self._working = {}
        self.postings.committed()

    def discard(self) -> None:
        self._working = {}
        self.postings.rolled_back()


class InMemoryUnitOfWorkBase:
    """What every in-memory unit of work shares: the lock, the transaction, the outbox."""

    def __init__(self, store: InMemoryStore, tenant_id: uuid.UUID | None, *,
                 user_id: uuid.UUID | None = None) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.user_id = user_id
        self.outbox = Outbox()
        self.tx = InMemoryTransaction(store, store.cursors.scoped(tenant_id))
        self._open = False

    def __enter__(self) -> Self:
        self.store.lock.acquire()
        self._open = True
        self._build_repositories()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()
        self._open = False
        self.store.lock.release()

    def commit(self) -> None:
        if not self._open:
            raise RuntimeError("commit() outside the unit of work's with block")
        self._store_events()
        self.tx.publish()

    def expire_reads(self) -> None:
        """Nothing to forget: every read answers from the store as it is now."""

    def rollback(self) -> None:
        self.outbox.drain()
        self.tx.discard()

    def _build_repositories(self) -> None:
        raise NotImplementedError

    def _store_events(self) -> None:
        raise NotImplementedError


class InMemoryRepository(TenantScoped):
    """Base of in-memory repositories: a named table of copies, scoped to a tenant."""

    table_name = ""

    def __init__(self, tx: InMemoryTransaction, tenant_id: uuid.UUID | None) -> None:
        super().__init__(tenant_id)
        self._tx = tx

    @property
    def rows(self) -> dict[Any, Any]:
        return self._tx.table(self.table_name)

    def _put(self, key: Any, item: Any) -> None:
        self.rows[key] = copy.deepcopy(item)

    def _insert(self, key: Any, item: Any, constraint: str) -> None:
        """A new row: its key already taken is a Conflict, as a primary key is in SQL."""
        if key in self.rows:
            raise Conflict(conflict_message(constraint))
        self._put(key, item)

    def _references(self, table: str, key: Any) -> None:
        """A foreign key: the row referred to must exist, as SQL checks."""
        if key not in self._tx.table(table):
            raise Conflict("a referenced record does not exist")

    def _get(self, key: Any) -> Any:
        item = self.rows.get(key)
        return copy.deepcopy(item) if item is not None else None

    def _select(self, predicate: Callable[[Any], bool]) -> list[Any]:
        return [copy.deepcopy(item) for item in self.rows.values() if predicate(item)]

    def _paginate(self, items: list[T], page: PageRequest,
                  key: Callable[[T], tuple[Any, uuid.UUID]], *,
                  within: object = None, oldest_first: bool = False) -> Page[T]:
        """Newest first by (created_at, id) (oldest first when asked), like the SQL
        adapters. Cursors are sealed for this list: the repository's table, ``within`` (the
        list's filter: the lead whose notes these are, a lead filter, ...) and the unit of
        work's tenant."""
        cursors = self._tx.cursors
        kind = self.table_name if within is None else f"{self.table_name}\0{within!r}"
        ordered = sorted(items, key=key, reverse=not oldest_first)
        after = cursors.after(kind, page)
        if after is not None:
            mark = (after.created_at, after.id)
            ordered = [item for item in ordered
                       if (key(item) > mark if oldest_first else key(item) < mark)]
        chosen = ordered[: page.limit]
        next_cursor = None
        if len(ordered) > page.limit:
            created_at, id_ = key(chosen[-1])
            next_cursor = cursors.seal(kind, Cursor(created_at=created_at, id=id_))
        return Page(items=chosen, next_cursor=next_cursor)

    @staticmethod
    def _unique(items: Iterable[Any], predicate: Callable[[Any], bool], constraint: str) -> None:
        if any(predicate(item) for item in items):
            raise conflict(constraint)


class InMemoryTenantKeyedRepository(InMemoryRepository):
    """Base of in-memory repositories whose rows are keyed by (tenant, id)."""

    def _mine(self, predicate: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        """Copies of the scope's rows that ``predicate`` keeps."""
        return [copy.deepcopy(v) for k, v in self.rows.items()
                if k[0] == self.tenant_id and predicate(v)]

    def _own(self, id_: object) -> Any:
        return self._get((self.tenant_id, id_))


def conflict_message(constraint: str) -> str:
    return CONSTRAINT_MESSAGES.get(constraint, GENERIC)

