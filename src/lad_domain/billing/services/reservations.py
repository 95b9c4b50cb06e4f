"""Reservations: hold an estimate for work whose cost is known at the end (a voice call),
then capture the actual amount and release the rest; the sweep releases expired holds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import attrs

from lad_domain.billing.events import (
    ReservationCaptured,
    ReservationExpired,
    ReservationOpened,
    ReservationReleased,
    balance_events,
)
from lad_domain.billing.model import (
    Cause,
    LedgerEntry,
    LedgerType,
    Reservation,
    ReservationStatus,
    Wallet,
)
from lad_domain.billing.policy import BillingPermission, require_service
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.billing.posting import lock_payers
from lad_domain.billing.scope import BillingScope, each_tenant, posting_context
from lad_domain.billing.validation import idempotency_key, non_negative_amount, positive_amount
from lad_domain.shared.access import ensure_member, require_operator
from lad_domain.shared.errors import Conflict, Expired, NotFound, ValidationFailed
from lad_domain.shared.idempotency import fingerprint, replay_or_conflict
from lad_domain.shared.money import ZERO
from lad_domain.shared.principal import Principal
from lad_domain.shared.validation import key

DEFAULT_HOLD = timedelta(hours=1)
MAX_HOLD = timedelta(hours=24)
SWEEP_BATCH = 500


@attrs.define
class ReservationService:
    scope: BillingScope

    def reserve(self, principal: Principal, *, feature_key: object, amount_: object,
                idempotency_key_: object, user_id: uuid.UUID | None = None,
                hold: timedelta | None = None, tenant_id: uuid.UUID | None = None
                ) -> Reservation:
        """Hold ``amount`` of the paying wallet's available balance until captured,
        released or expired; a retry with the same key returns the first reservation."""
        require_service(principal)
        feature = key(feature_key, field="feature_key")
        value = positive_amount(amount_)
        client_key = idempotency_key(idempotency_key_)
        hold = DEFAULT_HOLD if hold is None else hold
        if not timedelta(seconds=1) <= hold <= MAX_HOLD:
            raise ValidationFailed.single("expires_in_seconds",
                                          f"must be between 1 and {int(MAX_HOLD.total_seconds())}")
        digest = fingerprint({"feature_key": feature, "amount": str(value), "user_id": user_id,
                              "hold": hold.total_seconds()})
        context = posting_context(self.scope, principal)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.USAGE_RECORD)
            ensure_member(uow, user_id)
            payers = lock_payers(uow, {user_id}, context)
            first = replay_or_conflict(uow.reservations.get_by_key(client_key), digest,
                                       client_key, what="reservation")
            if first is not None:
                return first
            wallet = payers.get(user_id) or payers[None]
            reservation = open_hold(uow, context, wallet, feature=feature, amount=value,
                                    client_key=client_key, digest=digest, hold=hold)
            uow.commit()
        return reservation

    def capture(self, principal: Principal, reservation_id: uuid.UUID, amount_: object, *,
                tenant_id: uuid.UUID | None = None) -> Reservation:
        """Pay ``amount`` (at most the reservation) and release the rest. Capturing the same
        amount again returns the reservation; a different amount is a conflict."""
        require_service(principal)
        value = non_negative_amount(amount_)
        context = posting_context(self.scope, principal)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.USAGE_RECORD)
            reservation, wallet = _locked(uow, context, reservation_id)
            if reservation.status is ReservationStatus.CAPTURED:
                if reservation.captured_amount != value:
                    raise Conflict(f"the reservation was captured for "
                                   f"{reservation.captured_amount}")
                return reservation
            if reservation.is_open and context.now >= reservation.expires_at:
                raise Expired("the reservation has expired; record the usage instead")
            reservation.capture(value, context.now)
            wallet.settle(reservation.amount, value, context.now)
            uow.reservations.update(reservation)
            if value > 0:
                _write(uow, context, wallet, reservation, LedgerType.CAPTURE, -value, -value,
                       f"capture:{reservation.id}")
            rest = reservation.amount - value
            if rest > 0:
                _write(uow, context, wallet, reservation, LedgerType.RELEASE, ZERO, -rest,
                       f"release:{reservation.id}")
            self.scope.record(uow, ReservationCaptured(aggregate_id=reservation.id,
                                                       amount=value, released=rest),
                              at=context.now)
            uow.commit()
        return reservation

    def release(self, principal: Principal, reservation_id: uuid.UUID, *,
                tenant_id: uuid.UUID | None = None) -> Reservation:
        """Give the whole hold back; releasing a released or expired one changes nothing."""
        require_service(principal)
        context = posting_context(self.scope, principal)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.USAGE_RECORD)
            reservation, wallet = _locked(uow, context, reservation_id)
            if reservation.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
                return reservation
            self._release(uow, context, wallet, reservation,
                          expired=context.now >= reservation.expires_at)
            uow.commit()
        return reservation

    def sweep(self, principal: Principal, *, tenant_id: uuid.UUID | None = None) -> int:
        """Release every open reservation whose time is up; returns how many."""
        require_operator(principal)
        released = 0
        for tenant in [tenant_id] if tenant_id else each_tenant(self.scope):
            while True:
                context = posting_context(self.scope, principal)
                with self.scope.uow(tenant) as uow:
                    self.scope.require(uow, principal, BillingPermission.READ)
                    due = uow.reservations.expired(context.now, limit=SWEEP_BATCH)
                    if not due:
                        break
                    owners = {w.user_id for w in uow.wallets.list()
                              if w.id in {r.wallet_id for r in due}}
                    wallets = {w.id: w for w in uow.wallets.lock(owners)}
                    for stale in due:
                        reservation = uow.reservations.get(stale.id, lock=True)
                        if reservation is not None and reservation.is_open:
                            self._release(uow, context, wallets[reservation.wallet_id],
                                          reservation, expired=True)
                            released += 1
                    uow.commit()
        return released

    def _release(self, uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet,
                 reservation: Reservation, *, expired: bool) -> None:
        release_hold(uow, context, wallet, reservation, expired=expired)


def open_hold(uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet, *,
              feature: str, amount: Decimal, client_key: str, digest: str,
              hold: timedelta) -> Reservation:
    """Hold ``amount`` of a locked wallet in the caller's unit of work (InsufficientFunds
    when it cannot): a reservation, its ledger row and events. Also what a campaign send
    holds before its provider is called."""
    before = wallet.available
    wallet.hold(amount, context.now)
    reservation = Reservation(
        id=context.ids.new_id(), tenant_id=wallet.tenant_id, wallet_id=wallet.id,
        feature_key=feature, amount=amount, status=ReservationStatus.OPEN,
        idempotency_key=client_key, fingerprint=digest, created_at=context.now,
        expires_at=context.now + hold, created_by=context.user_id)
    uow.reservations.add(reservation)
    _write(uow, context, wallet, reservation, LedgerType.RESERVATION, ZERO, amount,
           f"reservation:{client_key}")
    for crossed in balance_events(wallet, before):
        context.record(uow, crossed)
    context.record(uow, ReservationOpened(aggregate_id=reservation.id, amount=amount,
                                          feature_key=feature))
    return reservation


def release_hold(uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet,
                 reservation: Reservation, *, expired: bool = False) -> None:
    """Give a whole open hold back, in the caller's unit of work (the wallet locked)."""
    reservation.release(context.now, expired=expired)
    wallet.settle(reservation.amount, ZERO, context.now)
    uow.reservations.update(reservation)
    _write(uow, context, wallet, reservation, LedgerType.RELEASE, ZERO, -reservation.amount,
           f"release:{reservation.id}")
    ended = ReservationExpired if expired else ReservationReleased
    context.record(uow, ended(aggregate_id=reservation.id, amount=reservation.amount))


def release_open_hold(uow: BillingUnitOfWork, context: PostingContext,
                      reservation_id: uuid.UUID | None) -> bool:
    """Give back a hold if it is still open (the work it paid for did not happen, or was
    billed by a usage event); whether it was."""
    if reservation_id is None:
        return False
    reservation, wallet = locked_hold(uow, context, reservation_id)
    if not reservation.is_open:
        return False
    release_hold(uow, context, wallet, reservation)
    return True


def locked_hold(uow: BillingUnitOfWork, context: PostingContext, reservation_id: uuid.UUID
                ) -> tuple[Reservation, Wallet]:
    return _locked(uow, context, reservation_id)


def _locked(uow: BillingUnitOfWork, context: PostingContext, reservation_id: uuid.UUID
            ) -> tuple[Reservation, Wallet]:
    """The reservation and its wallet, the wallet locked first (as every posting does)."""
    found = uow.reservations.get(reservation_id)
    payer = uow.wallets.get(found.wallet_id) if found is not None else None
    if found is None or payer is None:
        raise NotFound("reservation not found")
    wallets = {w.id: w for w in uow.wallets.lock({payer.user_id})}
    reservation = uow.reservations.get(reservation_id, lock=True)
    assert reservation is not None
    return reservation, wallets[reservation.wallet_id]


def _write(uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet,
           reservation: Reservation, type_: LedgerType, change: Decimal, reserved: Decimal,
           ledger_key: str) -> LedgerEntry:
    entry = LedgerEntry(id=context.ids.new_id(), tenant_id=wallet.tenant_id,
                        wallet_id=wallet.id, type=type_, amount=change, reserved_change=reserved,
                        balance_after=wallet.current_balance, idempotency_key=ledger_key,
                        created_at=context.now, actor=context.actor, cause=Cause.RESERVATION,
                        cause_id=reservation.id, fingerprint=reservation.fingerprint,
                        created_by=context.user_id)
    uow.ledger.add_many([entry])
    uow.wallets.save_balances([wallet])
    return entry
