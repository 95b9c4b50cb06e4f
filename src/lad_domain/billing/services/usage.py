"""Recording usage: one event, or a batch of one tenant's events in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterator, Mapping, Sequence
from datetime import datetime

import attrs

from lad_domain.billing.errors import QuotaExhausted
from lad_domain.billing.model import RejectionReason, UsageEvent
from lad_domain.billing.policy import BillingPermission, require_service
from lad_domain.billing.ports import UsageLedger, UsageRequest
from lad_domain.billing.scope import BillingScope, posting_context
from lad_domain.billing.usage_ledger import ScopedUsageLedger
from lad_domain.billing.validation import idempotency_key, usage_request
from lad_domain.shared.access import ensure_member
from lad_domain.shared.errors import DomainError, InsufficientFunds, ValidationFailed
from lad_domain.shared.principal import Principal

MAX_BATCH = 10_000


@attrs.define
class UsageRecording:
    """The usage use cases of ``BillingService``."""

    scope: BillingScope
    #: One event's transaction (PostgreSQL: one call to the database).
    usage_ledger: UsageLedger = attrs.field(
        default=attrs.Factory(lambda self: ScopedUsageLedger(self.scope), takes_self=True))

    def record_usage(self, principal: Principal, *, idempotency_key: object,
                     feature_key: object, usage_items: object, user_id: uuid.UUID | None = None,
                     occurred_at: datetime | None = None, tenant_id: uuid.UUID | None = None,
                     raise_refusal: bool = False) -> UsageEvent:
        """Post one usage event; a rejected one (no funds, quota refused) is stored and
        returned with its reason, or, with ``raise_refusal``, raised as the refusal it
        stands for once it is stored (a retry with the same key is refused alike)."""
        require_service(principal)
        context = posting_context(self.scope, principal)
        request = usage_request(idempotency_key_=idempotency_key, feature_key=feature_key,
                                items=usage_items, user_id=user_id, occurred_at=occurred_at,
                                now=context.now)
        event = self.usage_ledger.record(principal, request, context, tenant_id=tenant_id)
        refusal = rejection_error(event) if raise_refusal else None
        if refusal is not None:
            raise refusal
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
            self.scope.require(uow, principal, BillingPermission.USAGE_RECORD)
            for user_id in {r.user_id for r in requests}:
                ensure_member(uow, user_id)
            posted = uow.usage_postings.post(requests, context)
            uow.commit()
        return posted


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
    """Each event checked. Events of a batch often carry the same payload (all but the
    key): it is checked and fingerprinted once, and each event's key on its own."""
    checked: dict[Hashable, UsageRequest] = {}
    for index, raw in enumerate(events):
        try:
            user = raw.get("user_id")
            at = raw.get("occurred_at")
            same = _payload(raw)
            first = checked.get(same) if same is not None else None
            if first is not None:
                yield UsageRequest(
                    idempotency_key=idempotency_key(raw.get("idempotency_key")),
                    feature_key=first.feature_key, items=first.items,
                    occurred_at=first.occurred_at, fingerprint=first.fingerprint,
                    user_id=first.user_id)
                continue
            request = usage_request(
                idempotency_key_=raw.get("idempotency_key"), feature_key=raw.get("feature_key"),
                items=raw.get("usage_items"), now=now,
                user_id=uuid.UUID(str(user)) if user is not None else None,
                occurred_at=at if isinstance(at, datetime) or at is None else _instant(at))
            if same is not None:
                checked[same] = request
            yield request
        except ValidationFailed as failed:
            raise ValidationFailed([attrs.evolve(e, field=f"events[{index}].{e.field}")
                                    for e in failed.errors]) from None
        except ValueError:
            raise ValidationFailed.single(f"events[{index}].user_id",
                                          "is not a valid UUID") from None


def _payload(raw: Mapping[str, object]) -> Hashable | None:
    """What an event says besides its key, as a value that is equal only for payloads that
    check alike (each value with its type: 1, 1.0, True and "1" differ); None when it holds
    something else than flat items of plain values."""
    items = raw.get("usage_items")
    if not isinstance(items, list | tuple) or not all(isinstance(i, dict) for i in items):
        return None
    same = (tuple((type(v), v) for v in (raw.get("feature_key"), raw.get("user_id"),
                                         raw.get("occurred_at"))),
            tuple(tuple((k, type(v), v) for k, v in item.items()) for item in items))
    try:
        hash(same)
    except TypeError:
        return None
    return same


def _instant(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed.single("occurred_at", "must be an ISO 8601 date and time"
                                      ) from None
