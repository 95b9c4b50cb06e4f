"""Posting usage events: price, check the entitlement, debit the paying wallet, write the
ledger, all in the caller's transaction. This is the rule every backend follows; the
PostgreSQL adapter runs the same rule for a single event in one stored function (one round
trip), and the contract tests hold all backends to the same results."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from lad_domain.billing.events import balance_events
from lad_domain.billing.invoice import Period
from lad_domain.billing.model import (
    Cause,
    Entitlement,
    LedgerEntry,
    LedgerType,
    OverageMode,
    PricedItem,
    RejectionReason,
    UsageEvent,
    UsageItem,
    UsageStatus,
    Wallet,
)
from lad_domain.billing.ports import PostingContext, PostingUnitOfWork, UsageRequest
from lad_domain.billing.pricing import Price, price_items
from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_domain.shared.idempotency import replay_or_conflict
from lad_domain.shared.money import ZERO

USAGE_KEY_PREFIX = "usage:"
#: A batch's ledger rows and usage events are written every this many events, so that a
#: backend that sends statements without waiting (``overlap``) stores one part while the
#: next is decided.
WRITE_EVERY = 125


def replay(first: UsageEvent, request: UsageRequest) -> UsageEvent:
    """A retry: the first result, if the payload is the same."""
    replay_or_conflict(first, request.fingerprint, request.idempotency_key, what="usage event")
    return first


def lock_payers(uow: PostingUnitOfWork, owners: Collection[uuid.UUID | None],
                context: PostingContext) -> dict[uuid.UUID | None, Wallet]:
    """The wallets that may pay for these owners, locked; the tenant's is created empty
    when it does not exist yet."""
    wallets = uow.wallets.lock({*owners, None})
    if not any(w.user_id is None for w in wallets):
        tenant_id = uow.tenant_id
        assert tenant_id is not None
        uow.wallets.add(Wallet(id=context.ids.new_id(), tenant_id=tenant_id, user_id=None,
                               created_at=context.now, updated_at=context.now))
        wallets = uow.wallets.lock({*owners, None})
    return {w.user_id: w for w in wallets}


class RepositoryUsagePostings:
    """The posting rule over the repositories of one unit of work. ``overlap`` is entered
    around the part of a batch that decides events and writes their rows, the balances and
    the quota counts, and reads nothing: PostgreSQL's adapter sends those writes without
    waiting for the server."""

    def __init__(self, uow: PostingUnitOfWork,
                 overlap: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        self.uow = uow
        self.overlap = overlap

    def post(self, requests: Sequence[UsageRequest], context: PostingContext
             ) -> list[UsageEvent]:
        if not requests:
            return []
        uow = self.uow
        payers = lock_payers(uow, {r.user_id for r in requests}, context)
        # Read after the wallet lock: a retry that waited for the first attempt sees it.
        known = dict(uow.usage_events.get_by_keys({r.idempotency_key for r in requests}))
        times = [r.occurred_at for r in requests]
        by_category: dict[str, list[Price]] = {}
        for price in uow.prices.candidates({i.category for r in requests for i in r.items},
                                           min(times), max(times)):
            by_category.setdefault(price.category, []).append(price)
        features = {r.feature_key for r in requests}
        entitlements = {e.feature_key: e for e in uow.entitlements.list()
                        if e.feature_key in features}
        period = Period.of(context.now)
        used = Counter(uow.entitlements.used(period)) if entitlements else Counter[str]()
        results: list[UsageEvent] = []
        new_events: list[UsageEvent] = []
        entries: list[LedgerEntry] = []
        priced: dict[tuple[tuple[UsageItem, ...], datetime], tuple[PricedItem, ...]] = {}
        changed: dict[uuid.UUID, Wallet] = {}
        uses: Counter[str] = Counter()
        with self.overlap():
            for index, request in enumerate(requests):
                if index and not index % WRITE_EVERY:
                    self._write(entries, new_events)
                    entries, new_events = [], []
                first = known.get(request.idempotency_key)
                if first is not None:
                    results.append(replay(first, request))
                    continue
                wallet = payers.get(request.user_id) or payers[None]
                try:
                    # Events of a batch often use the same items at the same time: price once.
                    slot = (request.items, request.occurred_at)
                    if slot not in priced:
                        priced[slot] = price_items(request.items, [
                            p for i in request.items for p in by_category.get(i.category, ())],
                            request.occurred_at)
                    event, entry = self._decide(request, wallet,
                                                entitlements.get(request.feature_key),
                                                used[request.feature_key], priced[slot], context)
                except ValidationFailed as failed:
                    if len(requests) == 1:
                        raise
                    raise ValidationFailed([FieldError(f"events[{index}].{e.field}", e.message)
                                            for e in failed.errors]) from None
                if event.status is UsageStatus.POSTED and request.feature_key in entitlements:
                    used[request.feature_key] += 1
                    uses[request.feature_key] += 1
                if entry is not None:
                    entries.append(entry)
                    changed[wallet.id] = wallet
                known[request.idempotency_key] = event
                new_events.append(event)
                results.append(event)
            self._write(entries, new_events)
            uow.wallets.save_balances(changed.values())
            if uses:
                uow.entitlements.add_uses(period, uses, context.now)
        return results

    def _write(self, entries: list[LedgerEntry], events: list[UsageEvent]) -> None:
        # Ledger rows first: a usage event refers to its ledger row.
        self.uow.ledger.add_many(entries)
        self.uow.usage_events.add_many(events)

    def _decide(self, request: UsageRequest, wallet: Wallet, entitlement: Entitlement | None,
                used: int, items: tuple[PricedItem, ...], context: PostingContext
                ) -> tuple[UsageEvent, LedgerEntry | None]:
        uow = self.uow
        event = UsageEvent(id=context.ids.new_id(), tenant_id=wallet.tenant_id,
                           feature_key=request.feature_key, items=items,
                           total_cost=sum((item.cost for item in items), ZERO),
                           idempotency_key=request.idempotency_key,
                           fingerprint=request.fingerprint, occurred_at=request.occurred_at,
                           created_at=context.now, user_id=request.user_id,
                           wallet_id=wallet.id)
        within_quota = entitlement is not None and entitlement.includes(used)
        if entitlement is not None and not within_quota and (
                entitlement.overage is OverageMode.REFUSE):
            event.reject(RejectionReason.QUOTA_EXHAUSTED)
            return event, None
        cost = ZERO if within_quota else event.total_cost
        if cost > 0 and not wallet.can_spend(cost):
            event.reject(RejectionReason.INSUFFICIENT_FUNDS)
            return event, None
        entry = None
        if cost > 0:
            before = wallet.available
            wallet.debit(cost, context.now)
            entry = LedgerEntry(id=context.ids.new_id(), tenant_id=wallet.tenant_id,
                                wallet_id=wallet.id, type=LedgerType.USAGE_DEBIT, amount=-cost,
                                balance_after=wallet.current_balance,
                                idempotency_key=USAGE_KEY_PREFIX + request.idempotency_key,
                                created_at=context.now, actor=context.actor,
                                cause=Cause.USAGE_EVENT, cause_id=event.id,
                                fingerprint=request.fingerprint, created_by=context.user_id)
            for crossed in balance_events(wallet, before):
                context.record(uow, crossed)
        event.post(context.now, within_quota=within_quota,
                   ledger_entry_id=entry.id if entry else None)
        return event, entry
