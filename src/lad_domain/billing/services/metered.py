"""Paying for a call to a metered provider (a language model, Apollo): before the call,
hold what it may cost (refused with InsufficientFunds, so nothing is spent that cannot be
billed); after it, give the hold back and post what it did cost, in one transaction, keyed
so that a retry posts nothing twice. A failed call only gives the hold back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from lad_domain.billing.model import UsageEvent, UsageItem
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext, UsageRequest
from lad_domain.billing.posting import lock_payers
from lad_domain.billing.pricing import price_items
from lad_domain.billing.services.reservations import open_hold, release_open_hold
from lad_domain.shared.idempotency import fingerprint

#: A hold outlives the provider call it pays for; one left open by a crash is swept.
HOLD_FOR = timedelta(minutes=30)


def price(uow: BillingUnitOfWork, context: PostingContext, items: Sequence[UsageItem]
          ) -> Decimal:
    """What the items cost now (a ValidationFailed naming the item without a price)."""
    if not items:
        return Decimal(0)
    categories = sorted({item.category for item in items})
    candidates = uow.prices.candidates(categories, context.now, context.now)
    return sum((p.cost for p in price_items(list(items), candidates, context.now)),
               Decimal(0))


def hold_amount(uow: BillingUnitOfWork, context: PostingContext, *, feature: str,
                amount: Decimal, client_key: str, digest: str, hold: timedelta = HOLD_FOR
                ) -> uuid.UUID | None:
    """Hold ``amount`` of the tenant's wallet in the caller's transaction, for ``hold``;
    None when it is nothing. InsufficientFunds (402) when the wallet cannot pay it."""
    if amount <= 0:
        return None
    wallet = lock_payers(uow, {None}, context)[None]
    return open_hold(uow, context, wallet, feature=feature, amount=amount,
                     client_key=client_key, digest=digest, hold=hold).id


def hold_estimate(uow: BillingUnitOfWork, context: PostingContext, *, feature: str,
                  items: Sequence[UsageItem], client_key: str) -> uuid.UUID | None:
    """Hold the most the call may cost, in the caller's transaction; None when it is free.
    InsufficientFunds (402) when the wallet cannot pay it."""
    estimate = price(uow, context, items)
    return hold_amount(uow, context, feature=feature, amount=estimate, client_key=client_key,
                       digest=fingerprint({"key": client_key, "amount": str(estimate)}))


def post_usage(uow: BillingUnitOfWork, context: PostingContext, *, feature: str,
               items: Sequence[UsageItem], key: str, payload: Mapping[str, object]
               ) -> UsageEvent:
    """Post one usage event of the items in the caller's transaction (a key seen before
    returns the first event; another payload under it is a Conflict)."""
    request = UsageRequest(idempotency_key=key, feature_key=feature, items=tuple(items),
                           occurred_at=context.now, fingerprint=fingerprint(payload),
                           user_id=context.user_id)
    return uow.usage_postings.post([request], context)[0]


def settle(uow: BillingUnitOfWork, context: PostingContext, hold_id: uuid.UUID | None, *,
           feature: str, items: Sequence[UsageItem], key: str,
           payload: Mapping[str, object]) -> UsageEvent | None:
    """Give the hold back and post the usage (none when ``items`` is empty: the call found
    nothing, or failed), in the caller's transaction."""
    release_open_hold(uow, context, hold_id)
    if not items:
        return None
    return post_usage(uow, context, feature=feature, items=items, key=key, payload=payload)
