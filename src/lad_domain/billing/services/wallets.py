"""Billing use cases on wallets: balances, the ledger, top-ups, transfers, adjustments,
refunds and settings; recording usage is ``UsageRecording``'s."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

import attrs

from lad_domain.billing.events import ToppedUp, WalletConfigured, balance_events
from lad_domain.billing.model import (
    Cause,
    LedgerEntry,
    LedgerType,
    UsageStatus,
    Wallet,
    WalletSetting,
)
from lad_domain.billing.policy import BillingPermission
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.billing.posting import lock_payers
from lad_domain.billing.scope import posting_context
from lad_domain.billing.services.usage import UsageRecording
from lad_domain.billing.validation import (
    idempotency_key,
    non_negative_amount,
    positive_amount,
    signed_amount,
)
from lad_domain.shared.access import ensure_member, require_operator
from lad_domain.shared.errors import Conflict, NotFound, ValidationFailed
from lad_domain.shared.idempotency import fingerprint, replay_or_conflict
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.validation import required_text


@attrs.frozen
class TenantWallets:
    tenant: Wallet
    members: Sequence[Wallet]


@attrs.define
class BillingService(UsageRecording):
    """Wallets, their ledger and the money moved between them; and recording usage."""

    # --- reading ---------------------------------------------------------------------------

    def wallet(self, principal: Principal, *, user_id: uuid.UUID | None = None,
               tenant_id: uuid.UUID | None = None) -> Wallet:
        """The tenant's wallet (created empty on first sight), or a member's sub-wallet."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            if user_id is None:
                return self._tenant_wallet(uow, principal)
            found = uow.wallets.get_for(user_id)
        if found is None:
            raise NotFound("this member has no wallet")
        return found

    def tenant_wallets(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                       ) -> TenantWallets:
        """The tenant's wallet (created empty on first sight) and its members' sub-wallets,
        read together."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            tenant = self._tenant_wallet(uow, principal)
            return TenantWallets(tenant=tenant, members=[
                w for w in uow.wallets.list() if w.user_id is not None])

    def _tenant_wallet(self, uow: BillingUnitOfWork, principal: Principal) -> Wallet:
        """The tenant's wallet; the first look creates it, empty, and commits that."""
        found = uow.wallets.get_for(None)
        if found is None:
            lock_payers(uow, (), posting_context(self.scope, principal))
            found = uow.wallets.get_for(None)
            uow.commit()
        assert found is not None
        return found

    def wallets(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                ) -> Sequence[Wallet]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return uow.wallets.list()

    def ledger(self, principal: Principal, page: PageRequest, *,
               wallet_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None
               ) -> Page[LedgerEntry]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return uow.ledger.list(page, wallet_id=wallet_id)

    # --- money in, out and between wallets (operator, admins) -------------------------------

    def top_up(self, principal: Principal, tenant_id: uuid.UUID, amount_: object, *,
               idempotency_key_: object, note: str | None = None) -> LedgerEntry:
        require_operator(principal)
        value = positive_amount(amount_)
        client_key = idempotency_key(idempotency_key_)
        note = _note(note)
        digest = fingerprint({"amount": str(value), "note": note})
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            wallet = lock_payers(uow, (), context)[None]
            entry, new = self._operator_move(uow, context, wallet, LedgerType.TOP_UP, value,
                                             client_key, digest, note)
            if new:
                self.scope.record(uow, ToppedUp(aggregate_id=wallet.id, amount=value,
                                                balance=wallet.current_balance), at=context.now)
                uow.commit()
        return entry

    def adjust(self, principal: Principal, tenant_id: uuid.UUID, amount_: object, *,
               idempotency_key_: object, note: str, user_id: uuid.UUID | None = None
               ) -> LedgerEntry:
        """An operator's correction, up or down, of the tenant's wallet or a sub-wallet."""
        require_operator(principal)
        value = signed_amount(amount_)
        client_key = idempotency_key(idempotency_key_)
        text = required_text(note, field="note", max_length=500)
        digest = fingerprint({"amount": str(value), "note": text, "user_id": user_id})
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            wallet = _owned_wallet(uow, context, user_id, create=False)
            entry, new = self._operator_move(uow, context, wallet, LedgerType.ADJUSTMENT, value,
                                             client_key, digest, text)
            if new:
                uow.commit()
        return entry

    def transfer(self, principal: Principal, amount_: object, *, idempotency_key_: object,
                 to_user_id: uuid.UUID | None = None, from_user_id: uuid.UUID | None = None,
                 tenant_id: uuid.UUID | None = None) -> tuple[LedgerEntry, LedgerEntry]:
        """Move money from the tenant's wallet to a member's sub-wallet (created on first
        transfer), back, or between members."""
        value = positive_amount(amount_)
        client_key = idempotency_key(idempotency_key_)
        key = "transfer:" + client_key
        if to_user_id == from_user_id:
            raise ValidationFailed.single("to_user_id", "must differ from the source wallet")
        digest = fingerprint({"amount": str(value), "from": from_user_id, "to": to_user_id})
        context = posting_context(self.scope, principal)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.TRANSFER)
            for user_id in (to_user_id, from_user_id):
                ensure_member(uow, user_id)
            # Both wallets locked by one statement, in id order: no deadlock with a transfer
            # the other way.
            wallets = lock_payers(uow, {from_user_id, to_user_id}, context)
            if from_user_id not in wallets:
                raise NotFound("the source member has no wallet")
            source = wallets[from_user_id]
            target = wallets.get(to_user_id) or _owned_wallet(uow, context, to_user_id,
                                                              create=True)
            first = replay_or_conflict(uow.ledger.get_by_key(key), digest, client_key)
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
            self.scope.require(uow, principal, BillingPermission.READ)
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
        value = None if limit is None else non_negative_amount(limit, field="credit_limit")
        return self._configure(principal, tenant_id, WalletSetting.CREDIT_LIMIT, value)

    def set_low_balance_threshold(self, principal: Principal, tenant_id: uuid.UUID,
                                  threshold: object | None) -> Wallet:
        """Below this available balance a billing.balance_low event is recorded."""
        value = None if threshold is None else non_negative_amount(threshold, field="threshold")
        return self._configure(principal, tenant_id, WalletSetting.LOW_BALANCE_THRESHOLD, value)

    # --- shared by the billing use cases ---------------------------------------------------

    def _operator_move(self, uow: BillingUnitOfWork, context: PostingContext, wallet: Wallet,
                       type_: LedgerType, value: Decimal, client_key: str, digest: str,
                       note: str | None) -> tuple[LedgerEntry, bool]:
        """The operator's move on a locked wallet, once per key (the ledger key is the
        type's): the entry, and whether it is new rather than the first one's replay."""
        key = f"{type_}:{client_key}"
        first = replay_or_conflict(uow.ledger.get_by_key(key), digest, client_key)
        if first is not None:
            return first, False
        return self._move(uow, context, wallet, type_, value, key, digest, Cause.OPERATOR,
                          note=note), True

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
        for crossed in balance_events(wallet, before):
            self.scope.record(uow, crossed, at=context.now)
        return entry

    def _configure(self, principal: Principal, tenant_id: uuid.UUID, setting: WalletSetting,
                   value: Decimal | None) -> Wallet:
        require_operator(principal)
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            wallet = lock_payers(uow, (), context)[None]
            wallet.configure(setting, value, context.now)
            uow.wallets.update(wallet)
            self.scope.record(uow, WalletConfigured(aggregate_id=wallet.id, setting=setting,
                                                    value=value), at=context.now)
            uow.commit()
        return wallet


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


def _note(note: str | None) -> str | None:
    return None if note is None or not note.strip() else required_text(
        note, field="note", max_length=500)
