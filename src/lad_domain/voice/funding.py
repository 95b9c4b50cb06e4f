"""Money for a call. Before dialing, the estimate is held from the tenant's wallet: the
agent's maximum duration at the per-minute prices of telephony (the number's carrier) and
of the voice provider, plus the per-attempt minimum. On the call's final event the hold is
released and the call's usage event posted in the same transaction, once (its key is the
call's id): a connected call pays its duration to the second, at most the maximum it was
placed with, so the charge never exceeds the hold; a call that never connected pays
nothing. A correction that comes later (a longer duration) is a new usage event for the
difference, never an edit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from lad_domain.billing.model import UsageEvent, UsageItem
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.billing.services.metered import hold_amount, post_usage, price
from lad_domain.billing.services.reservations import release_open_hold
from lad_domain.shared.idempotency import fingerprint
from lad_domain.voice.model import Call

FEATURE = "voice"
ACTOR = "system:voice"
#: Minutes are billed to the microminute (the usage ledger keeps 6 decimal places).
_MINUTE_QUANTUM = Decimal("0.000001")
#: A hold outlives the longest call and its timeout; an unknown call is released by the
#: timeout sweep well before.
HOLD_MARGIN = timedelta(hours=2)


def minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(_MINUTE_QUANTUM, rounding=ROUND_HALF_EVEN)


def call_items(call: Call, seconds: int, *, attempt: bool = True) -> tuple[UsageItem, ...]:
    """The usage of ``seconds`` of the call: carrier minutes, voice-provider minutes and
    (``attempt``) the per-attempt minimum."""
    telephony = call.metadata.get("telephony_provider")
    voice = call.metadata.get("voice_provider") or call.provider
    quantity = minutes(seconds)
    items: list[UsageItem] = []
    if quantity > 0:
        items.append(UsageItem(category="telephony_minute", quantity=quantity,
                               provider=telephony if isinstance(telephony, str) else None))
        items.append(UsageItem(category="voice_minute", quantity=quantity,
                               provider=voice if isinstance(voice, str) else None))
    if attempt:
        items.append(UsageItem(category="voice_call_attempt", quantity=Decimal(1)))
    return tuple(items)


def hold_for_call(uow: BillingUnitOfWork, context: PostingContext, call: Call
                  ) -> uuid.UUID | None:
    """Hold the estimate (InsufficientFunds when the wallet cannot pay); None when free."""
    estimate = price(uow, context, call_items(call, call.max_duration_seconds))
    call.metadata = {**call.metadata, "estimate": str(estimate)}
    return hold_amount(uow, context, feature=FEATURE, amount=estimate,
                       client_key=f"voice-call:{call.id}",
                       digest=fingerprint({"call": str(call.id), "amount": str(estimate)}),
                       hold=timedelta(seconds=call.max_duration_seconds) + HOLD_MARGIN)


def release_call(uow: BillingUnitOfWork, context: PostingContext, call: Call) -> bool:
    """The call did not connect, or its outcome is unknown: the whole hold goes back."""
    return release_open_hold(uow, context, call.reservation_id)


def bill_call(uow: BillingUnitOfWork, context: PostingContext, call: Call, seconds: int
              ) -> UsageEvent:
    """The call connected: release its hold and post its usage, once (keyed by the call),
    in the caller's transaction. A call released as unknown and reported later is billed
    here too: a new ledger entry, nothing edited."""
    release_call(uow, context, call)
    return post_usage(uow, context, feature=FEATURE, items=call_items(call, seconds),
                      key=f"voice-call:{call.id}",
                      payload={"call": str(call.id), "seconds": seconds})


def bill_correction(uow: BillingUnitOfWork, context: PostingContext, call: Call,
                    extra_seconds: int, total_seconds: int) -> UsageEvent:
    """A later report says the call lasted longer than billed: the difference, as its own
    usage event (keyed by the call and the new total, so a repeat changes nothing)."""
    return post_usage(uow, context, feature=FEATURE,
                      items=call_items(call, extra_seconds, attempt=False),
                      key=f"voice-call:{call.id}:to:{total_seconds}",
                      payload={"call": str(call.id), "extra": extra_seconds,
                               "total": total_seconds})
