"""Money for a send: the price held from the tenant's wallet before the provider is called,
and on success the usage event (email_send, linkedin_action) posted in the same transaction
as the send ledger's ``sent`` row, the hold released in it. A wallet that cannot pay makes
the enrollment wait; it never fails it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from lad_domain.billing.model import UsageEvent, UsageItem
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.billing.services.metered import hold_amount, post_usage, price
from lad_domain.billing.services.reservations import release_open_hold
from lad_domain.campaigns.model import Activity, StepType
from lad_domain.shared.idempotency import fingerprint

FEATURE = "campaigns"
ACTOR = "system:campaigns"
#: Long enough for a send and its settling; an unknown send keeps its hold until reconcile.
HOLD = timedelta(hours=24)


def usage_item(step_type: StepType) -> UsageItem:
    if step_type is StepType.EMAIL:
        return UsageItem(category="email_send", quantity=Decimal(1))
    model = "connection_request" if step_type is StepType.LINKEDIN_INVITE else "message"
    return UsageItem(category="linkedin_action", quantity=Decimal(1), provider="unipile",
                     model=model)


def price_of(uow: BillingUnitOfWork, context: PostingContext, item: UsageItem) -> Decimal:
    """The send's price now (a ValidationFailed when the catalog has none)."""
    return price(uow, context, (item,))


def hold_for_send(uow: BillingUnitOfWork, context: PostingContext, activity_id: uuid.UUID,
                  item: UsageItem) -> uuid.UUID | None:
    """Hold the send's price (InsufficientFunds when the wallet cannot pay); None when it
    is free."""
    amount = price_of(uow, context, item)
    return hold_amount(uow, context, feature=FEATURE, amount=amount,
                       client_key=f"campaign-send:{activity_id}",
                       digest=fingerprint({"send": str(activity_id), "amount": str(amount)}),
                       hold=HOLD)


def release_send(uow: BillingUnitOfWork, context: PostingContext, activity: Activity) -> None:
    """The send did not happen: its hold goes back."""
    release_open_hold(uow, context, activity.reservation_id)


def bill_send(uow: BillingUnitOfWork, context: PostingContext, activity: Activity,
              item: UsageItem) -> UsageEvent:
    """The send happened: release its hold and post its usage event (idempotent by the
    activity's id), in the caller's transaction."""
    release_send(uow, context, activity)
    payload = {"feature_key": FEATURE, "user_id": None, "occurred_at": None,
               "items": [[item.category, item.provider, item.model, "1"]]}
    return post_usage(uow, context, feature=FEATURE, items=(item,),
                      key=f"campaign-send:{activity.id}", payload=payload)
