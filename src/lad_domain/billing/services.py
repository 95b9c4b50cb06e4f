"""Billing use cases on wallets: balances, the ledger, top-ups, transfers, adjustments,
refunds, and recording usage (one event or a batch)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from lad_domain.billing.errors import QuotaExhausted
from lad_domain.billing.model import (
    Cause,
    LedgerEntry,
    LedgerType,
    RejectionReason,
    UsageEvent,
    UsageStatus,
    Wallet,
    fingerprint,
)
from lad_domain.billing.policy import (
    BillingPermission,
    require_service,
)
from lad_domain.billing.ports import (
    BillingUnitOfWork,
    PostingContext,
    UsageRequest,
)
from lad_domain.billing.posting import lock_payers, record_balance_events, record_event
from lad_domain.billing.scope import BillingScope, allow, posting_context
from lad_domain.billing.validation import (
    idempotency_key,
    positive_amount,
    signed_amount,
    usage_request,
)
from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import (
    Conflict,
    DomainError,
    InsufficientFunds,
    NotFound,
    ValidationFailed,
)
from lad_domain.shared.money import amount
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.validation import required_text

MAX_BATCH = 10_000


@attrs.define
class BillingService:
    scope: BillingScope

    # --- reading ---------------------------------------------------------------------------

    def wallet(self, principal: Principal, *, user_id: uuid.UUID | None = None,
               tenant_id: uuid.UUID | None = None) -> Wallet:
        """The tenant's wallet (created empty on first sight), or a member's sub-wallet."""
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            found = uow.wallets.get_for(user_id)
            if found is None and user_id is not None:
                raise NotFound("this member has no wallet")
            if found is None:
                lock_payers(uow, (), posting_context(self.scope, principal))
                found = uow.wallets.get_for(None)
                uow.commit()
        assert found is not None
        return found

    def wallets(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                ) -> Sequence[Wallet]:
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            return uow.wallets.list()

    def ledger(self, principal: Principal, page: PageRequest, *,
               wallet_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None
               ) -> Page[LedgerEntry]:
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            return uow.ledger.list(page, wallet_id=wallet_id)

    # --- money in, out and between wallets (operator, admins) -------------------------------

    def top_up(self, principal: Principal, tenant_id: uuid.UUID, amount_: object, *,
               idempotency_key_: object, note: str | None = None) -> LedgerEntry:
        require_operator(principal)
        value = positive_amount(amount_)
        key = "top_up:" + idempotency_key(idempotency_key_)
        note = _note(note)
        digest = fingerprint({"amount": str(value), "note": note})
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            wallet = lock_payers(uow, (), context)[None]
            first = _replay(uow, key, digest)
            if first is not None:
                return first
            entry = self._move(uow, context, wallet, LedgerType.TOP_UP, value, key, digest,
                               Cause.OPERATOR, note=note)
            record_event(uow, context, "billing.topped_up", "wallet", wallet.id,
                         {"amount": str(value), "balance": str(wallet.current_balance)})
            uow.commit()
        return entry

    def adjust(self, principal: Principal, tenant_id: uuid.UUID, amount_: object, *,
               idempotency_key_: object, note: str, user_id: uuid.UUID | None = None
               ) -> LedgerEntry:
        """An operator's correction, up or down, of the tenant's wallet or a sub-wallet."""
        require_operator(principal)
        value = signed_amount(amount_)
        key = "adjustment:" + idempotency_key(idempotency_key_)
        text = required_text(note, field="note", max_length=500)
        digest = fingerprint({"amount": str(value), "note": text, "user_id": user_id})
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            wallet = _owned_wallet(uow, context, user_id, create=False)
            first = _replay(uow, key, digest)
            if first is not None:
                return first
            entry = self._move(uow, context, wallet, LedgerType.ADJUSTMENT, value, key, digest,
                               Cause.OPERATOR, note=text)
            uow.commit()
        return entry

    def transfer(self, principal: Principal, amount_: object, *, idempotency_key_: object,
                 to_user_id: uuid.UUID | None = None, from_user_id: uuid.UUID | None = None,
                 tenant_id: uuid.UUID | None = None) -> tuple[LedgerEntry, LedgerEntry]:
        """Move money from the tenant's wallet to a member's sub-wallet (created on first
        transfer), back, or between members."""
        value = positive_amount(amount_)
        key = "transfer:" + idempotency_key(idempotency_key_)
        if to_user_id == from_user_id:
            raise ValidationFailed.single("to_user_id", "must differ from the source wallet")
        digest = fingerprint({"amount": str(value), "from": from_user_id, "to": to_user_id})
        context = posting_context(self.scope, principal)
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.TRANSFER)
            for user_id in (to_user_id, from_user_id):
                if user_id is not None:
                    _ensure_member(uow, user_id)
            # Both wallets locked by one statement, in id order: no deadlock with a transfer
            # the other way.
            wallets = lock_payers(uow, {from_user_id, to_user_id}, context)
            if from_user_id not in wallets:
                raise NotFound("the source member has no wallet")
            source = wallets[from_user_id]
            target = wallets.get(to_user_id) or _owned_wallet(uow, context, to_user_id,
                                                              create=True)
            first = _replay(uow, key, digest)
            if first is not None:
                second = uow.ledger.get_by_key(key + ":in")
                assert second is not None
                return first, second
            out = self._move(uow, context, source, LedgerType.TRANSFER_OUT, -value, key, digest,
                             Cause.TRANSFER, cause_id=target.id)
            into = self._move(uow, context, target, LedgerType.TRANSFER_IN, value, key + ":in",
                              digest, Cause.TRANSFER, cause_id=source.id)
            uow.commit()
        return out, into

    def refund(self, principal: Principal, tenant_id: uuid.UUID, usage_event_id: uuid.UUID,
               *, note: str | None = None) -> LedgerEntry:
        """Give back what a posted usage event charged; a second refund returns the first."""
        require_operator(principal)
        note = _note(note)
        key = f"refund:{usage_event_id}"
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            event = uow.usage_events.get(usage_event_id)
            if event is None:
                raise NotFound("usage event not found")
            if event.status is not UsageStatus.POSTED or event.charged <= 0 or (
                    event.wallet_id is None):
                raise Conflict("only a posted, charged usage event can be refunded")
            [wallet] = [w for w in uow.wallets.lock({None, event.user_id})
                        if w.id == event.wallet_id]
            first = uow.ledger.get_by_key(key)
            if first is not None:
                return first
            entry = self._move(uow, context, wallet, LedgerType.REFUND, event.charged, key,
                               event.fingerprint, Cause.USAGE_EVENT, cause_id=event.id,
                               note=note)
            uow.commit()
        return entry

    def set_credit_limit(self, principal: Principal, tenant_id: uuid.UUID,
                         limit: object | None) -> Wallet:
        """How far the tenant's available balance may go below zero (None: not at all)."""
        value = None if limit is None else amount(limit, field="credit_limit", exact=True)  # type: ignore[arg-type]
        if value is not None and value < 0:
            raise ValidationFailed.single("credit_limit", "must not be negative")
        return self._configure(principal, tenant_id, credit_limit=value)

    def set_low_balance_threshold(self, principal: Principal, tenant_id: uuid.UUID,
                                  threshold: object | None) -> Wallet:
        """Below this available balance a billing.balance_low event is recorded."""
        value = None if threshold is None else amount(threshold, field="threshold", exact=True)  # type: ignore[arg-type]
        if value is not None and value < 0:
            raise ValidationFailed.single("threshold", "must not be negative")
        return self._configure(principal, tenant_id, low_balance_threshold=value)

    # --- usage -----------------------------------------------------------------------------

    def record_usage(self, principal: Principal, *, idempotency_key: object,
                     feature_key: object, usage_items: object, user_id: uuid.UUID | None = None,
                     occurred_at: datetime | None = None, tenant_id: uuid.UUID | None = None
                     ) -> UsageEvent:
        """Post one usage event; a rejected one (no funds, quota refused) is stored and
        returned with its reason (``rejection_error`` turns it into an error)."""
        require_service(principal)
        context = posting_context(self.scope, principal)
        request = usage_request(idempotency_key_=idempotency_key, feature_key=feature_key,
                                items=usage_items, user_id=user_id, occurred_at=occurred_at,
                                now=context.now)
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.USAGE_RECORD)
            if user_id is not None:
                _ensure_member(uow, user_id)
            [event] = uow.usage_postings.post([request], context)
            uow.commit()
        return event

    def record_usage_batch(self, principal: Principal, events: Sequence[Mapping[str, object]],
                           *, tenant_id: uuid.UUID | None = None) -> list[UsageEvent]:
        """Post many events of one tenant in one transaction, in order; all or nothing."""
        require_service(principal)
        if not 1 <= len(events) <= MAX_BATCH:
            raise ValidationFailed.single("events", f"must hold 1 to {MAX_BATCH} events")
        context = posting_context(self.scope, principal)
        requests = list(_batch_requests(events, context.now))
        with self.scope.open(principal, tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.USAGE_RECORD)
            for user_id in {r.user_id for r in requests} - {None}:
                assert user_id is not None
                _ensure_member(uow, user_id)
            posted = uow.usage_postings.post(requests, context)
            uow.commit()
        return posted

    # --- shared by the billing use cases ---------------------------------------------------

    def _move(self, uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet,
              type_: LedgerType, value: Decimal, key: str, digest: str, cause: Cause, *,
              cause_id: uuid.UUID | None = None, note: str | None = None) -> LedgerEntry:
        """Change a locked wallet's current balance by ``value`` and write its ledger row."""
        before = wallet.available
        if value < 0:
            wallet.debit(-value, context.now)
        else:
            wallet.credit(value, context.now)
        entry = LedgerEntry(id=context.ids.new_id(), tenant_id=wallet.tenant_id,
                            wallet_id=wallet.id, type=type_, amount=value,
                            balance_after=wallet.current_balance, idempotency_key=key,
                            created_at=context.now, actor=context.actor, cause=cause,
                            cause_id=cause_id, fingerprint=digest, note=note,
                            created_by=context.user_id)
        uow.ledger.add_many([entry])
        uow.wallets.save_balances([wallet])
        record_balance_events(uow, context, wallet, before)
        return entry

    def _configure(self, principal: Principal, tenant_id: uuid.UUID, **changes: object
                   ) -> Wallet:
        require_operator(principal)
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            allow(self.scope, uow, principal, BillingPermission.READ)
            wallet = lock_payers(uow, (), context)[None]
            wallet = attrs.evolve(wallet, updated_at=context.now, **changes)  # type: ignore[arg-type]
            uow.wallets.update(wallet)
            record_event(uow, context, "billing.wallet_configured", "wallet", wallet.id,
                         {k: None if v is None else str(v) for k, v in changes.items()})
            uow.commit()
        return wallet


def rejection_error(event: UsageEvent) -> DomainError | None:
    """The refusal a rejected usage event stands for (None when it was posted)."""
    if event.rejection_reason is RejectionReason.QUOTA_EXHAUSTED:
        return QuotaExhausted(f"the monthly quota of {event.feature_key} is used up and the "
                              "plan refuses more")
    if event.rejection_reason is RejectionReason.INSUFFICIENT_FUNDS:
        return InsufficientFunds(f"insufficient funds for {event.total_cost} of "
                                 f"{event.feature_key} usage")
    return None


def _batch_requests(events: Sequence[Mapping[str, object]], now: datetime
                    ) -> Iterator[UsageRequest]:
    for index, raw in enumerate(events):
        try:
            user = raw.get("user_id")
            at = raw.get("occurred_at")
            yield usage_request(
                idempotency_key_=raw.get("idempotency_key"), feature_key=raw.get("feature_key"),
                items=raw.get("usage_items"), now=now,
                user_id=uuid.UUID(str(user)) if user is not None else None,
                occurred_at=at if isinstance(at, datetime) or at is None else _instant(at))
        except ValidationFailed as failed:
            raise ValidationFailed([attrs.evolve(e, field=f"events[{index}].{e.field}")
                                    for e in failed.errors]) from None
        except ValueError:
            raise ValidationFailed.single(f"events[{index}].user_id",
                                          "is not a valid UUID") from None


def _instant(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed.single("occurred_at", "must be an ISO 8601 date and time"
                                      ) from None


def _replay(uow: BillingUnitOfWork, key: str, digest: str) -> LedgerEntry | None:
    first = uow.ledger.get_by_key(key)
    if first is not None and first.fingerprint != digest:
        raise Conflict(f"the idempotency key {key.split(':', 1)[1]!r} was used for a "
                       "different request")
    return first


def _owned_wallet(uow: BillingUnitOfWork, context: PostingContext, user_id: uuid.UUID | None,
                  *, create: bool) -> Wallet:
    """The locked wallet of a member (None: the tenant's), created empty if asked."""
    wallets = lock_payers(uow, {user_id}, context)
    if user_id in wallets:
        return wallets[user_id]
    if not create:
        raise NotFound("this member has no wallet")
    tenant_id = uow.tenant_id
    assert tenant_id is not None
    uow.wallets.add(Wallet(id=context.ids.new_id(), tenant_id=tenant_id, user_id=user_id,
                           created_at=context.now, updated_at=context.now))
    return lock_payers(uow, {user_id}, context)[user_id]


def _ensure_member(uow: BillingUnitOfWork, user_id: uuid.UUID) -> None:
    if uow.memberships.get(user_id) is None:
        raise ValidationFailed.single("user_id", "is not a member of this tenant")


def _note(note: str | None) -> str | None:
    return None if note is None or not note.strip() else required_text(
        note, field="note", max_length=500)
