"""Two tenants of one PostgreSQL database doing the same things, one posting usage through
the stored function, the other through the domain's rule: the unit-of-work port that sends
a tenant to the rule, the namer that makes their ids comparable, and each twin's books read
back as one comparable value."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import attrs

from lad_domain.billing.invoice import Period
from lad_domain.billing.ports import BillingUnitOfWork, BillingUnitOfWorkFactory
from lad_domain.billing.posting import RepositoryUsagePostings
from lad_domain.shared.errors import DomainError
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from lad_entrypoints.container import Container
from tests.unit.billing.books import Books

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Hashes of a payload that names a member: the twins' members differ.
UNCOMPARED = {"fingerprint"}


@attrs.define
class PythonRuleFor:
    """The unit-of-work port, except that the units of work of ``tenants`` post usage by
    the domain's rule (``lad_domain.billing.posting``, as memory, SQLite and batches do)
    instead of PostgreSQL's stored function: the same repositories, the same transaction."""

    factory: BillingUnitOfWorkFactory
    tenants: set[uuid.UUID] = attrs.field(factory=set)

    def __call__(self, tenant_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None
                 ) -> Any:
        opened = self.factory(tenant_id, user_id=user_id)
        return _by_the_rule(opened) if tenant_id in self.tenants else opened


@contextmanager
def _by_the_rule(unit: BillingUnitOfWork) -> Iterator[BillingUnitOfWork]:
    with unit as uow:
        uow.usage_postings = RepositoryUsagePostings(uow)
        yield uow


@attrs.define
class Namer:
    """Turns a value into plain data, each id named by the order in which this twin first
    showed it (twins that did the same things read alike, and a row that points at another
    row than its twin's does not), each decimal written out with its scale."""

    seen: dict[uuid.UUID, str] = attrs.field(factory=dict)

    def name(self, id_: uuid.UUID) -> str:
        return self.seen.setdefault(id_, f"#{len(self.seen) + 1}")

    def __call__(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return self.name(value)
        if isinstance(value, Decimal):
            return f"Decimal('{value}')"  # as an API shows it: the scale too
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            return UUID_TEXT.sub(lambda m: self.name(uuid.UUID(m.group())), value)
        if attrs.has(type(value)):
            fields = {f.name: getattr(value, f.name) for f in attrs.fields(type(value))}
            return {"kind": type(value).__name__, **self.plain(fields)}
        if isinstance(value, Mapping):
            return self.plain(value)
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value

    def plain(self, fields: Mapping[Any, object]) -> dict[object, object]:
        return {self(k): self(v) for k, v in fields.items() if k not in UNCOMPARED}


@attrs.define
class Twin:
    """A tenant with a member, and what it did, named by its own namer."""

    books: Books
    member: uuid.UUID
    namer: Namer
    reservations: dict[str, uuid.UUID] = attrs.field(factory=dict)

    @classmethod
    def open(cls, lad: Container, name: str) -> Twin:
        books = Books.open(lad, name)
        member = books.org.member(Role.MEMBER).user_id
        owner, api_key = books.org.owner.user_id, books.service.api_key_id
        assert member is not None and owner is not None and api_key is not None
        namer = Namer({books.id: "tenant", owner: "owner", member: "member",
                       api_key: "api_key"})
        return cls(books, member, namer)

    @property
    def id(self) -> uuid.UUID:
        return self.books.id

    def outcome(self, action: Callable[[Twin], object]) -> object:
        """What the action returned, or the domain error it raised, as plain data."""
        try:
            return self.namer(action(self))
        except DomainError as error:
            return self.namer([type(error).__name__, str(error), getattr(error, "errors", [])])

    def state(self, keys: Sequence[str], periods: Sequence[Period]) -> object:
        """The wallets, the ledger, the usage events of ``keys``, the billing domain events
        and the quotas with their use in ``periods``, read in one unit of work."""
        with self.books.lad.unit_of_work()(self.id) as uow:
            ledger = uow.ledger.list(PageRequest(limit=200))
            assert ledger.next_cursor is None, "a longer ledger than the twins compare"
            return self.namer({
                "wallets": sorted(uow.wallets.list(), key=lambda w: w.user_id is not None),
                "ledger": ledger.items,
                "usage": sorted(uow.usage_events.get_by_keys(keys).items()),
                "events": [e for e in uow.events.list(limit=1000)
                           if e.event_type.startswith("billing.")],
                "quotas": uow.entitlements.list(),
                "used": {str(p): uow.entitlements.used(p) for p in periods}})


def assert_alike(function: object, rule: object, where: str = "") -> None:
    """Fails at the first place where the twins' plain data differ, naming it."""
    if isinstance(function, dict) and isinstance(rule, dict):
        assert function.keys() == rule.keys(), f"{where}: {function} != {rule}"
        for key in function:
            assert_alike(function[key], rule[key], f"{where}.{key}")
    elif isinstance(function, list) and isinstance(rule, list):
        for index, (one, other) in enumerate(zip(function, rule, strict=False)):
            assert_alike(one, other, f"{where}[{index}]")
        assert len(function) == len(rule), f"{where}: {function} != {rule}"
    else:
        assert function == rule, f"{where}: the function's {function!r}, the rule's {rule!r}"
