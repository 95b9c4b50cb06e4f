"""In-memory repositories of the billing context: the same keys and refusals as SQL."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from lad_adapters.memory.store import InMemoryRepository, conflict_message
from lad_domain.billing.invoice import Invoice, InvoiceStatus, Period
from lad_domain.billing.model import (
    Entitlement,
    LedgerEntry,
    LegacyCredit,
    LegacyTransaction,
    Reservation,
    ReservationStatus,
    UsageEvent,
    UsageStatus,
    Wallet,
)
from lad_domain.billing.ports import LedgerTotals, UsageLine
from lad_domain.billing.pricing import Price
from lad_domain.shared.errors import Conflict
from lad_domain.shared.money import ZERO
from lad_domain.shared.pagination import Page, PageRequest


class InMemoryWalletRepository(InMemoryRepository):
    table_name = "billing_wallets"

    def add(self, wallet: Wallet) -> None:
        if self.get_for(wallet.user_id) is None:
            self._check(wallet)
            self._insert((self.tenant_id, wallet.id), wallet, "pk_billing_wallets")

    def get(self, wallet_id: uuid.UUID) -> Wallet | None:
        found: Wallet | None = self._get((self.tenant_id, wallet_id))
        return found

    def get_for(self, user_id: uuid.UUID | None) -> Wallet | None:
        found = self._select(lambda w: w.tenant_id == self.tenant_id and w.user_id == user_id)
        return found[0] if found else None

    def lock(self, owners: Collection[uuid.UUID | None]) -> list[Wallet]:
        # The store's lock already serialises units of work.
        return sorted(self._select(lambda w: w.tenant_id == self.tenant_id
                                   and w.user_id in owners), key=lambda w: w.id)

    def save_balances(self, wallets: Iterable[Wallet]) -> None:
        for wallet in wallets:
            self.update(wallet)

    def update(self, wallet: Wallet) -> None:
        self._check(wallet)
        self._put((self.tenant_id, wallet.id), wallet)

    def list(self) -> Sequence[Wallet]:
        return sorted(self._select(lambda w: w.tenant_id == self.tenant_id),
                      key=lambda w: (w.user_id is not None, w.created_at, w.id))

    @staticmethod
    def _check(wallet: Wallet) -> None:
        """The table's CHECK constraints."""
        if wallet.reserved_balance < 0 or wallet.available < wallet.floor:
            raise Conflict(conflict_message("ck_billing_wallets_available"))


class _Idempotent(InMemoryRepository):
    """Rows with an id and a unique (tenant_id, idempotency_key), as in SQL."""

    @property
    def _keys(self) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
        return self._tx.table(f"{self.table_name}.keys")

    def _insert_once(self, row: LedgerEntry | UsageEvent) -> None:
        if (self.tenant_id, row.idempotency_key) in self._keys:
            raise Conflict(conflict_message(f"uq_{self.table_name}_tenant_id_idempotency_key"))
        self._insert((self.tenant_id, row.id), row, f"pk_{self.table_name}")
        self._keys[(self.tenant_id, row.idempotency_key)] = row.id


class InMemoryLedgerRepository(_Idempotent):
    table_name = "billing_ledger_transactions"

    def add_many(self, entries: Sequence[LedgerEntry]) -> None:
        for entry in entries:
            self._references(InMemoryWalletRepository.table_name, (self.tenant_id,
                                                                   entry.wallet_id))
            self._insert_once(entry)
            self._tx.postings.add([str(entry.type)])

    def get_by_key(self, idempotency_key: str) -> LedgerEntry | None:
        entry_id = self._keys.get((self.tenant_id, idempotency_key))
        found: LedgerEntry | None = self._get((self.tenant_id, entry_id)) if entry_id else None
        return found

    def list(self, page: PageRequest, *, wallet_id: uuid.UUID | None = None
             ) -> Page[LedgerEntry]:
        found = self._select(lambda e: e.tenant_id == self.tenant_id
                             and wallet_id in (None, e.wallet_id))
        return self._paginate(found, page, lambda e: (e.created_at, e.id), within=wallet_id)

    def totals(self) -> Mapping[uuid.UUID, LedgerTotals]:
        found: dict[uuid.UUID, LedgerTotals] = {}
        for e in self.rows.values():
            if e.tenant_id == self.tenant_id:
                seen = found.get(e.wallet_id, LedgerTotals(ZERO, 0))
                found[e.wallet_id] = LedgerTotals(seen.amount + e.amount, seen.entries + 1)
        return found


class InMemoryUsageEventRepository(_Idempotent):
    table_name = "billing_usage_events"

    def add_many(self, events: Sequence[UsageEvent]) -> None:
        for event in events:
            self._insert_once(event)

    def get(self, event_id: uuid.UUID) -> UsageEvent | None:
        found: UsageEvent | None = self._get((self.tenant_id, event_id))
        return found

    def get_by_keys(self, keys: Collection[str]) -> Mapping[str, UsageEvent]:
        found = {}
        for key in keys:
            event_id = self._keys.get((self.tenant_id, key))
            if event_id is not None:
                found[key] = self._get((self.tenant_id, event_id))
        return found

    def posted_between(self, start: datetime, end: datetime) -> Iterable[UsageLine]:
        for event in self.rows.values():
            if (event.tenant_id == self.tenant_id and event.status is UsageStatus.POSTED
                    and start <= event.created_at < end):
                yield UsageLine(event.feature_key,
                                [(i.category, i.quantity, i.cost) for i in event.items],
                                event.within_quota)


class InMemoryPriceRepository(InMemoryRepository):
    """Global rows (tenant None) and overrides in one table, as in SQL."""

    table_name = "billing_pricing_catalog"

    def candidates(self, categories: Collection[str] | None, start: datetime, end: datetime
                   ) -> Sequence[Price]:
        return self._select(lambda p: p.tenant_id in (None, self._tenant_id)
                            and (categories is None or p.category in categories)
                            and p.effective_from <= end
                            and (p.effective_to is None or p.effective_to > start))

    def in_scope(self) -> Sequence[Price]:
        return self._select(lambda p: p.tenant_id == self._tenant_id)

    def add_many(self, prices: Sequence[Price]) -> None:
        for price in prices:
            scope = "global" if price.tenant_id is None else "tenant"
            slot = (price.key, price.effective_from)
            if any((p.key, p.effective_from) == slot for p in self.rows.values()):
                raise Conflict(conflict_message(f"uq_billing_pricing_catalog_{scope}"))
            self._insert(price.id, price, "pk_billing_pricing_catalog")

    def close(self, price_id: uuid.UUID, effective_to: datetime) -> None:
        price = self._get(price_id)
        if price is not None and price.tenant_id == self._tenant_id:
            self._put(price_id, attrs.evolve(price, effective_to=effective_to))


class InMemoryEntitlementRepository(InMemoryRepository):
    table_name = "billing_feature_entitlements"

    def get(self, feature_key: str) -> Entitlement | None:
        found: Entitlement | None = self._get((self.tenant_id, feature_key))
        return found

    def save(self, entitlement: Entitlement) -> None:
        self._put((self.tenant_id, entitlement.feature_key), entitlement)

    def list(self) -> Sequence[Entitlement]:
        return self._select(lambda e: e.tenant_id == self.tenant_id)

    def used(self, period: Period) -> Mapping[str, int]:
        counts = self._tx.table("billing_entitlement_usage")
        return {feature: n for (tenant, feature, month), n in counts.items()
                if tenant == self.tenant_id and month == str(period)}

    def add_uses(self, period: Period, uses: Mapping[str, int], at: datetime) -> None:
        counts = self._tx.table("billing_entitlement_usage")
        for feature, n in uses.items():
            slot = (self.tenant_id, feature, str(period))
            counts[slot] = counts.get(slot, 0) + n


class InMemoryReservationRepository(InMemoryRepository):
    table_name = "billing_reservations"

    def add(self, reservation: Reservation) -> None:
        self._references(InMemoryWalletRepository.table_name, (self.tenant_id,
                                                               reservation.wallet_id))
        self._unique(self.rows.values(), lambda r: (r.tenant_id, r.idempotency_key) == (
            self.tenant_id, reservation.idempotency_key),
            "uq_billing_reservations_tenant_id_idempotency_key")
        self._insert((self.tenant_id, reservation.id), reservation, "pk_billing_reservations")

    def get(self, reservation_id: uuid.UUID, *, lock: bool = False) -> Reservation | None:
        found: Reservation | None = self._get((self.tenant_id, reservation_id))
        return found

    def get_by_key(self, idempotency_key: str) -> Reservation | None:
        found = self._select(lambda r: (r.tenant_id, r.idempotency_key) == (
            self.tenant_id, idempotency_key))
        return found[0] if found else None

    def update(self, reservation: Reservation) -> None:
        self._put((self.tenant_id, reservation.id), reservation)

    def open_totals(self) -> Mapping[uuid.UUID, Decimal]:
        totals: dict[uuid.UUID, Decimal] = {}
        for r in self._select(lambda r: r.tenant_id == self.tenant_id and r.is_open):
            totals[r.wallet_id] = totals.get(r.wallet_id, ZERO) + r.amount
        return totals

    def expired(self, now: datetime, *, limit: int) -> Sequence[Reservation]:
        due = self._select(lambda r: r.tenant_id == self.tenant_id and r.is_open
                           and r.expires_at <= now)
        return sorted(due, key=lambda r: (r.expires_at, r.id))[:limit]

    def captured_between(self, start: datetime, end: datetime
                         ) -> Sequence[tuple[str, Decimal]]:
        return [(r.feature_key, r.captured_amount) for r in self._select(
            lambda r: r.tenant_id == self.tenant_id and r.status is ReservationStatus.CAPTURED
            and r.captured_amount > 0 and r.closed_at is not None
            and start <= r.closed_at < end)]


class InMemoryInvoiceRepository(InMemoryRepository):
    table_name = "billing_invoices"

    def add(self, invoice: Invoice) -> None:
        self._unique(self.rows.values(), lambda i: i.tenant_id == self.tenant_id
                     and i.status is not InvoiceStatus.VOID and i.period == invoice.period,
                     "uq_billing_invoices_period")
        self._unique(self.rows.values(), lambda i: i.tenant_id == self.tenant_id
                     and i.invoice_number == invoice.invoice_number,
                     "uq_billing_invoices_tenant_id_invoice_number")
        self._insert((self.tenant_id, invoice.id), invoice, "pk_billing_invoices")

    def get(self, invoice_id: uuid.UUID) -> Invoice | None:
        found: Invoice | None = self._get((self.tenant_id, invoice_id))
        return found

    def get_for_period(self, period: Period) -> Invoice | None:
        found = self._select(lambda i: i.tenant_id == self.tenant_id and i.period == period
                             and i.status is not InvoiceStatus.VOID)
        return found[0] if found else None

    def update(self, invoice: Invoice) -> None:
        self._put((self.tenant_id, invoice.id), invoice)

    def list(self, page: PageRequest) -> Page[Invoice]:
        return self._paginate(self._select(lambda i: i.tenant_id == self.tenant_id), page,
                        lambda i: (i.created_at, i.id))

    def next_number(self, at: datetime) -> int:
        counters = self._tx.table("billing_invoice_counters")
        counters[self.tenant_id] = counters.get(self.tenant_id, 0) + 1
        number: int = counters[self.tenant_id]
        return number


class InMemoryLegacyCreditRepository(InMemoryRepository):
    table_name = "user_credits"

    @property
    def _transactions(self) -> dict[tuple[uuid.UUID, uuid.UUID], LegacyTransaction]:
        return self._tx.table("credit_transactions")

    def balances(self) -> Sequence[LegacyCredit]:
        return sorted(self._select(lambda c: c.tenant_id == self.tenant_id),
                      key=lambda c: c.user_id)

    def transactions(self, page: PageRequest, *, user_id: uuid.UUID | None = None
                     ) -> Page[LegacyTransaction]:
        found = [t for t in self._transactions.values()
                 if t.tenant_id == self.tenant_id and user_id in (None, t.user_id)]
        return self._paginate(found, page, lambda t: (t.created_at, t.id), within=user_id)

    def record(self, transaction: LegacyTransaction) -> LegacyCredit:
        credit: LegacyCredit | None = self._get((self.tenant_id, transaction.user_id))
        balance = (credit.balance if credit else ZERO) + transaction.amount
        credit = LegacyCredit(tenant_id=self.tenant_id, user_id=transaction.user_id,
                              balance=balance, updated_at=transaction.created_at)
        self._put((self.tenant_id, transaction.user_id), credit)
        self._transactions[(self.tenant_id, transaction.id)] = transaction
        return credit

    def mark_migrated(self, user_id: uuid.UUID, at: datetime) -> None:
        credit = self._get((self.tenant_id, user_id))
        if credit is not None:
            self._put((self.tenant_id, user_id), attrs.evolve(credit, migrated_at=at))
