"""Billing aggregates and values: wallets and their ledger, usage, reservations, entitlements.

A wallet's balances are a cache: every change to ``current_balance`` is a ledger entry whose
``amount`` is the change, and every change to ``reserved_balance`` an entry whose
``reserved_change`` is the change; ``reconcile`` re-derives the current balance from the
ledger and the reserved balance from the open reservations.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

import attrs

from lad_domain.shared.errors import Conflict, InsufficientFunds, ValidationFailed
from lad_domain.shared.money import ZERO

CURRENCY = "USD"


class LedgerType(enum.StrEnum):
    TOP_UP = "top_up"
    USAGE_DEBIT = "usage_debit"
    RESERVATION = "reservation"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    LEGACY_MIGRATION = "legacy_migration"


class WalletSetting(enum.StrEnum):
    """What the operator configures on a tenant's wallet."""

    CREDIT_LIMIT = "credit_limit"
    LOW_BALANCE_THRESHOLD = "low_balance_threshold"


@attrs.define
class Wallet:
    """The tenant's wallet (``user_id`` None) or a member's sub-wallet funded by transfers.

    Without a credit limit the available balance never goes below zero; with one, it may go
    down to minus the limit.
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    current_balance: Decimal = ZERO
    reserved_balance: Decimal = ZERO
    credit_limit: Decimal | None = None
    low_balance_threshold: Decimal | None = None

    @property
    def available(self) -> Decimal:
        return self.current_balance - self.reserved_balance

    @property
    def floor(self) -> Decimal:
        return -self.credit_limit if self.credit_limit is not None else ZERO

    def can_spend(self, amount: Decimal) -> bool:
        return self.available - amount >= self.floor

    def debit(self, amount: Decimal, at: datetime) -> None:
        self._ensure_funds(amount)
        self.current_balance -= amount
        self.updated_at = at

    def credit(self, amount: Decimal, at: datetime) -> None:
        self.current_balance += amount
        self.updated_at = at

    def hold(self, amount: Decimal, at: datetime) -> None:
        self._ensure_funds(amount)
        self.reserved_balance += amount
        self.updated_at = at

    def settle(self, held: Decimal, spent: Decimal, at: datetime) -> None:
        """End a hold of ``held``, of which ``spent`` (at most ``held``) is paid."""
        self.reserved_balance -= held
        self.current_balance -= spent
        self.updated_at = at

    def configure(self, setting: WalletSetting, value: Decimal | None, at: datetime) -> None:
        if setting is WalletSetting.CREDIT_LIMIT:
            self.credit_limit = value
        else:
            self.low_balance_threshold = value
        self.updated_at = at

    def _ensure_funds(self, amount: Decimal) -> None:
        if not self.can_spend(amount):
            raise InsufficientFunds(
                f"insufficient funds: {amount} needed, {self.available - self.floor} available")


class Cause(enum.StrEnum):
    """What made a ledger row: its ``cause_id`` names that thing."""

    USAGE_EVENT = "usage_event"
    RESERVATION = "reservation"
    INVOICE = "invoice"
    OPERATOR = "operator"
    TRANSFER = "transfer"
    LEGACY_CREDIT = "legacy_credit"


@attrs.frozen
class LedgerEntry:
    """One immutable ledger row. ``amount`` changes the current balance, ``reserved_change``
    the reserved one; ``balance_after`` is the current balance after this row."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    wallet_id: uuid.UUID
    type: LedgerType
    amount: Decimal
    balance_after: Decimal
    idempotency_key: str
    created_at: datetime
    actor: str
    cause: Cause
    cause_id: uuid.UUID | None = None
    reserved_change: Decimal = ZERO
    fingerprint: str = ""
    note: str | None = None
    created_by: uuid.UUID | None = None


class UsageStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    REJECTED = "rejected"


class RejectionReason(enum.StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    QUOTA_EXHAUSTED = "quota_exhausted"


@attrs.frozen
class UsageItem:
    category: str
    quantity: Decimal
    provider: str | None = None
    model: str | None = None

    @property
    def price_key(self) -> tuple[str, str | None, str | None]:
        return self.category, self.provider, self.model


@attrs.frozen
class PricedItem:
    """A usage item with the unit price in force at the event's time."""

    category: str
    quantity: Decimal
    unit_price: Decimal
    cost: Decimal
    provider: str | None = None
    model: str | None = None
    price_id: uuid.UUID | None = None


@attrs.define
class UsageEvent:
    """A use of a feature, priced from the catalog: recorded pending, then posted or
    rejected in the same transaction. ``total_cost`` is what the items cost at catalog
    prices; ``charged`` is what the wallet paid (nothing within the quota)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    feature_key: str
    items: tuple[PricedItem, ...]
    total_cost: Decimal
    idempotency_key: str
    fingerprint: str
    occurred_at: datetime
    created_at: datetime
    status: UsageStatus = UsageStatus.PENDING
    user_id: uuid.UUID | None = None
    wallet_id: uuid.UUID | None = None
    within_quota: bool = False
    rejection_reason: RejectionReason | None = None
    ledger_entry_id: uuid.UUID | None = None
    posted_at: datetime | None = None

    @property
    def charged(self) -> Decimal:
        posted = self.status is UsageStatus.POSTED
        return self.total_cost if posted and not self.within_quota else ZERO

    def post(self, at: datetime, *, within_quota: bool,
             ledger_entry_id: uuid.UUID | None = None) -> None:
        self._ensure_pending()
        self.status, self.posted_at = UsageStatus.POSTED, at
        self.within_quota, self.ledger_entry_id = within_quota, ledger_entry_id

    def reject(self, reason: RejectionReason) -> None:
        self._ensure_pending()
        self.status, self.rejection_reason = UsageStatus.REJECTED, reason

    def _ensure_pending(self) -> None:
        if self.status is not UsageStatus.PENDING:
            raise Conflict(f"the usage event is already {self.status}")


class OverageMode(enum.StrEnum):
    """Beyond the monthly quota, usage is charged at catalog prices or refused."""

    CHARGE = "charge"
    REFUSE = "refuse"


@attrs.define
class Entitlement:
    """A plan quota: ``monthly_quota`` uses of a feature a month are included (None:
    unlimited); beyond it, ``overage`` says whether usage is charged or refused."""

    tenant_id: uuid.UUID
    feature_key: str
    monthly_quota: int | None
    overage: OverageMode
    updated_at: datetime

    def includes(self, used: int) -> bool:
        """Whether one more use, after ``used`` this month, is within the quota."""
        return self.monthly_quota is None or used < self.monthly_quota


@attrs.frozen
class EntitlementStatus:
    entitlement: Entitlement
    period: str
    used: int

    @property
    def remaining(self) -> int | None:
        """None: unlimited."""
        quota = self.entitlement.monthly_quota
        return None if quota is None else max(0, quota - self.used)


class ReservationStatus(enum.StrEnum):
    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


@attrs.define
class Reservation:
    """Money held for work whose cost is known at the end; captured (up to ``amount``),
    released, or expired by the sweep."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    wallet_id: uuid.UUID
    feature_key: str
    amount: Decimal
    status: ReservationStatus
    idempotency_key: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    captured_amount: Decimal = ZERO
    closed_at: datetime | None = None
    created_by: uuid.UUID | None = None

    @property
    def is_open(self) -> bool:
        return self.status is ReservationStatus.OPEN

    def capture(self, amount: Decimal, at: datetime) -> None:
        self._ensure_open("captured")
        if amount > self.amount:
            raise ValidationFailed.single(
                "amount", f"exceeds the reservation ({self.amount}); record the rest as usage")
        self.status, self.captured_amount, self.closed_at = ReservationStatus.CAPTURED, amount, at

    def release(self, at: datetime, *, expired: bool = False) -> None:
        self._ensure_open("released")
        self.status = ReservationStatus.EXPIRED if expired else ReservationStatus.RELEASED
        self.closed_at = at

    def _ensure_open(self, verb: str) -> None:
        if not self.is_open:
            raise Conflict(f"the reservation is {self.status} and cannot be {verb}")


@attrs.frozen
class LegacyCredit:
    """A balance of the legacy per-user credit system (user_credits)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    balance: Decimal
    updated_at: datetime
    migrated_at: datetime | None = None


@attrs.frozen
class LegacyTransaction:
    """A row of the legacy credit audit trail (credit_transactions)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    amount: Decimal
    transaction_type: str
    created_at: datetime
    description: str | None = None


def decimal_text(value: Decimal) -> str:
    """One spelling per number (1, 1.0 and 1.00 are the same quantity)."""
    normal = value.normalize()
    return format(normal if normal != 0 else Decimal(0), "f")
