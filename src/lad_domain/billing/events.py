"""Billing's domain events. Their stored payloads are what the PostgreSQL posting function
writes too (the balance events): amounts as decimal text, ids as text."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from lad_domain.billing.invoice import InvoiceStatus
from lad_domain.billing.model import OverageMode, Wallet, WalletSetting
from lad_domain.shared.events import Event
from lad_domain.shared.money import ZERO


@attrs.frozen
class WalletEvent(Event):
    aggregate_type: ClassVar[str] = "wallet"
    aggregate_id: uuid.UUID


@attrs.frozen
class BalanceCrossed(WalletEvent):
    """The wallet's available balance crossed a line downwards (``threshold``: the
    low-balance threshold, zero when none is set)."""

    wallet_id: uuid.UUID
    available: Decimal
    threshold: Decimal


@attrs.frozen
class BalanceLow(BalanceCrossed):
    """Below the low-balance threshold."""

    event_type: ClassVar[str] = "billing.balance_low"


@attrs.frozen
class BalanceDepleted(BalanceCrossed):
    """At zero or below."""

    event_type: ClassVar[str] = "billing.balance_depleted"


def balance_events(wallet: Wallet, available_before: Decimal) -> list[BalanceCrossed]:
    """The lines this change crossed downwards (each crossing is reported once)."""
    after = wallet.available
    threshold = wallet.low_balance_threshold
    crossed: list[type[BalanceCrossed]] = []
    if threshold is not None and available_before >= threshold > after:
        crossed.append(BalanceLow)
    if available_before > ZERO >= after:
        crossed.append(BalanceDepleted)
    return [kind(aggregate_id=wallet.id, wallet_id=wallet.id, available=after,
                 threshold=threshold or ZERO) for kind in crossed]


@attrs.frozen
class ToppedUp(WalletEvent):
    event_type: ClassVar[str] = "billing.topped_up"
    amount: Decimal
    balance: Decimal


@attrs.frozen
class WalletConfigured(WalletEvent):
    """One setting of the wallet changed; the payload names only that setting."""

    event_type: ClassVar[str] = "billing.wallet_configured"
    setting: WalletSetting
    value: Decimal | None

    def payload(self) -> dict[str, Any]:
        return {str(self.setting): None if self.value is None else str(self.value)}


@attrs.frozen
class LegacyMigrated(WalletEvent):
    event_type: ClassVar[str] = "billing.legacy_migrated"
    user_id: uuid.UUID
    amount: Decimal


@attrs.frozen
class EntitlementSet(Event):
    """``aggregate_id``: the tenant whose plan changed."""

    event_type: ClassVar[str] = "billing.entitlement_set"
    aggregate_type: ClassVar[str] = "entitlement"
    aggregate_id: uuid.UUID
    feature_key: str
    monthly_quota: int | None
    overage: OverageMode


@attrs.frozen
class ReservationEvent(Event):
    aggregate_type: ClassVar[str] = "reservation"
    aggregate_id: uuid.UUID
    amount: Decimal


@attrs.frozen
class ReservationOpened(ReservationEvent):
    event_type: ClassVar[str] = "billing.reservation_opened"
    feature_key: str


@attrs.frozen
class ReservationCaptured(ReservationEvent):
    event_type: ClassVar[str] = "billing.reservation_captured"
    released: Decimal


@attrs.frozen
class ReservationReleased(ReservationEvent):
    """The whole hold went back to the wallet."""

    event_type: ClassVar[str] = "billing.reservation_released"


@attrs.frozen
class ReservationExpired(ReservationEvent):
    """The whole hold went back to the wallet: released by the sweep, or on release after
    its time was up."""

    event_type: ClassVar[str] = "billing.reservation_expired"


@attrs.frozen
class InvoiceEvent(Event):
    aggregate_type: ClassVar[str] = "invoice"
    aggregate_id: uuid.UUID
    number: str


@attrs.frozen
class InvoiceGenerated(InvoiceEvent):
    event_type: ClassVar[str] = "billing.invoice_generated"
    period: str
    total: Decimal


@attrs.frozen
class InvoiceStatusChanged(InvoiceEvent):
    total: Decimal


@attrs.frozen
class InvoiceIssued(InvoiceStatusChanged):
    event_type: ClassVar[str] = "billing.invoice_issued"


@attrs.frozen
class InvoicePaid(InvoiceStatusChanged):
    event_type: ClassVar[str] = "billing.invoice_paid"


@attrs.frozen
class InvoiceVoided(InvoiceStatusChanged):
    event_type: ClassVar[str] = "billing.invoice_void"


#: The event of each status an invoice can move to.
INVOICE_STATUS_EVENTS: dict[InvoiceStatus, type[InvoiceStatusChanged]] = {
    InvoiceStatus.ISSUED: InvoiceIssued, InvoiceStatus.PAID: InvoicePaid,
    InvoiceStatus.VOID: InvoiceVoided}

#: Every event billing records.
EVENTS: tuple[type[Event], ...] = (
    BalanceLow, BalanceDepleted, ToppedUp, WalletConfigured, LegacyMigrated, EntitlementSet,
    ReservationOpened, ReservationCaptured, ReservationReleased, ReservationExpired,
    InvoiceGenerated, InvoiceIssued, InvoicePaid, InvoiceVoided)
