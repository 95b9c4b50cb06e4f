"""Billing ports: the repositories a tenant-scoped unit of work hands out, and the posting
port that prices, checks and pays for usage events."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from lad_domain.billing.invoice import Invoice, Period
from lad_domain.billing.model import (
    Entitlement,
    LedgerEntry,
    LegacyCredit,
    LegacyTransaction,
    Reservation,
    UsageEvent,
    UsageItem,
    Wallet,
)
from lad_domain.billing.pricing import Price
from lad_domain.shared.events import DomainEvent, Event, Outbox
from lad_domain.shared.ids import IdGenerator
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.tenancy.ports import TenancyUnitOfWork


class WalletRepository(Protocol):
    """Wallets of the unit of work's tenant: the tenant's own (``user_id`` None) and the
    members' sub-wallets."""

    def add(self, wallet: Wallet) -> None:
        """Insert the wallet unless the owner already has one (then nothing happens)."""
        ...

    def get(self, wallet_id: uuid.UUID) -> Wallet | None: ...
    def get_for(self, user_id: uuid.UUID | None) -> Wallet | None:
        """The wallet of this member (None: the tenant's own)."""
        ...

    def lock(self, owners: Collection[uuid.UUID | None]) -> list[Wallet]:
        """The existing wallets of these owners (None: the tenant's), locked until the end
        of the transaction, in id order so that lockers never deadlock."""
        ...

    def save_balances(self, wallets: Iterable[Wallet]) -> None: ...
    def update(self, wallet: Wallet) -> None: ...
    def list(self) -> Sequence[Wallet]: ...


@attrs.frozen
class LedgerTotals:
    amount: Decimal
    entries: int


class LedgerRepository(Protocol):
    """Append-only: there is no update and no delete."""

    def add_many(self, entries: Sequence[LedgerEntry]) -> None: ...
    def get_by_key(self, idempotency_key: str) -> LedgerEntry | None: ...
    def list(self, page: PageRequest, *, wallet_id: uuid.UUID | None = None
             ) -> Page[LedgerEntry]: ...
    def totals(self) -> Mapping[uuid.UUID, LedgerTotals]:
        """Per wallet: the sum of ``amount`` and the number of rows."""
        ...


@attrs.frozen
class UsageLine:
    """One posted usage event as an invoice sees it."""

    feature_key: str
    items: Sequence[tuple[str, Decimal, Decimal]]  # category, quantity, cost
    within_quota: bool


class UsageEventRepository(Protocol):
    def add_many(self, events: Sequence[UsageEvent]) -> None: ...
    def get(self, event_id: uuid.UUID) -> UsageEvent | None: ...
    def get_by_keys(self, keys: Collection[str]) -> Mapping[str, UsageEvent]: ...
    def posted_between(self, start: datetime, end: datetime) -> Iterable[UsageLine]:
        """Posted events created in [start, end)."""
        ...


class PriceRepository(Protocol):
    """The catalog. Global rows are visible from every scope; a tenant scope also sees its
    own overrides."""

    def candidates(self, categories: Collection[str] | None, start: datetime, end: datetime
                   ) -> Sequence[Price]:
        """Rows of these categories (None: all) in force at some instant of [start, end]."""
        ...

    def in_scope(self) -> Sequence[Price]:
        """Every row of exactly this scope: global rows when the unit of work has no
        tenant, else the tenant's overrides."""
        ...

    def add_many(self, prices: Sequence[Price]) -> None: ...
    def close(self, price_id: uuid.UUID, effective_to: datetime) -> None: ...


class EntitlementRepository(Protocol):
    def get(self, feature_key: str) -> Entitlement | None: ...
    def save(self, entitlement: Entitlement) -> None: ...
    def list(self) -> Sequence[Entitlement]: ...
    def used(self, period: Period) -> Mapping[str, int]:
        """Uses counted against the quota in a month, by feature."""
        ...

    def add_uses(self, period: Period, uses: Mapping[str, int], at: datetime) -> None: ...


class ReservationRepository(Protocol):
    def add(self, reservation: Reservation) -> None: ...
    def get(self, reservation_id: uuid.UUID, *, lock: bool = False) -> Reservation | None: ...
    def get_by_key(self, idempotency_key: str) -> Reservation | None: ...
    def update(self, reservation: Reservation) -> None: ...
    def open_totals(self) -> Mapping[uuid.UUID, Decimal]:
        """The sum of open reservations by wallet."""
        ...

    def expired(self, now: datetime, *, limit: int) -> Sequence[Reservation]:
        """Open reservations whose time is up, oldest first."""
        ...

    def captured_between(self, start: datetime, end: datetime
                         ) -> Sequence[tuple[str, Decimal]]:
        """(feature_key, captured amount) of reservations captured in [start, end)."""
        ...


class InvoiceRepository(Protocol):
    def add(self, invoice: Invoice) -> None: ...
    def get(self, invoice_id: uuid.UUID) -> Invoice | None: ...
    def get_for_period(self, period: Period) -> Invoice | None: ...
    def update(self, invoice: Invoice) -> None: ...
    def list(self, page: PageRequest) -> Page[Invoice]: ...
    def next_number(self, at: datetime) -> int:
        """The tenant's next invoice number: its counter row is locked until the end of the
        transaction, so numbers have no gaps and no duplicates."""
        ...


class LegacyCreditRepository(Protocol):
    """The legacy per-user credits (user_credits, credit_transactions), as they were."""

    def balances(self) -> Sequence[LegacyCredit]: ...
    def transactions(self, page: PageRequest, *, user_id: uuid.UUID | None = None
                     ) -> Page[LegacyTransaction]: ...
    def record(self, transaction: LegacyTransaction) -> LegacyCredit:
        """What the legacy system did: append a transaction and move the user's balance."""
        ...

    def mark_migrated(self, user_id: uuid.UUID, at: datetime) -> None: ...


@attrs.frozen
class UsageRequest:
    """A checked request to record a use of a feature."""

    idempotency_key: str
    feature_key: str
    items: tuple[UsageItem, ...]
    occurred_at: datetime
    fingerprint: str
    user_id: uuid.UUID | None = None


class PostingUnitOfWork(Protocol):
    """What the posting rule reads and writes of a unit of work (read-only properties, so
    that a unit of work whose repositories are concrete classes is one)."""

    @property
    def tenant_id(self) -> uuid.UUID | None: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def wallets(self) -> WalletRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def usage_events(self) -> UsageEventRepository: ...
    @property
    def prices(self) -> PriceRepository: ...
    @property
    def entitlements(self) -> EntitlementRepository: ...


@attrs.frozen
class PostingContext:
    """Who posts (``user_id`` when a user acts), when, and where new ids come from."""

    actor: str
    now: datetime
    ids: IdGenerator
    user_id: uuid.UUID | None = None

    def record(self, uow: PostingUnitOfWork, event: Event) -> None:
        """Add an event to the outbox at the posting's time, as the tenant scope would: the
        posting rule runs inside an adapter, which has no scope."""
        uow.outbox.add(DomainEvent.of(event, id=self.ids.new_id(), tenant_id=uow.tenant_id,
                                      occurred_at=self.now))


class UsagePostings(Protocol):
    """Posts usage events of the unit of work's tenant, in order, in its transaction: a key
    seen before returns the first result (a different payload is a Conflict); otherwise
    the items are priced, the entitlement checked, the paying wallet debited and the ledger
    written, or the event is stored as rejected with its reason."""

    def post(self, requests: Sequence[UsageRequest], context: PostingContext
             ) -> list[UsageEvent]: ...


class UsageLedger(Protocol):
    """Records one usage event for a principal: in one transaction, the access policy is
    asked (the principal's tenant live, its role read there) and the event posted as
    ``UsagePostings`` posts it; a refusal raises the policy's error and posts nothing."""

    def record(self, principal: Principal, request: UsageRequest, context: PostingContext,
               *, tenant_id: uuid.UUID | None) -> UsageEvent: ...


class BillingUnitOfWork(TenancyUnitOfWork, Protocol):
    wallets: WalletRepository
    ledger: LedgerRepository
    usage_events: UsageEventRepository
    prices: PriceRepository
    entitlements: EntitlementRepository
    reservations: ReservationRepository
    invoices: InvoiceRepository
    legacy_credits: LegacyCreditRepository
    usage_postings: UsagePostings


class BillingUnitOfWorkFactory(Protocol):
    def __call__(
        self, tenant_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None
    ) -> BillingUnitOfWork: ...
