"""A call's events, wherever they come from (a provider's webhook, the provider's answer
to a fetch, the timeout sweep): one rule, applied in the call's tenant in one transaction
with the call log's update. Deduplicated on (provider, call id, event); the status only
moves forward; the money is settled once; the entry and the batch follow.

``apply_event`` is the rule and the single source of its meaning. A ``CallEventApplier``
(on PostgreSQL, the function ``voice_apply_event`` of migration 0402) may apply an event
faster by mirroring it step for step; it answers "not handled" for whatever it does not
mirror (an analysis, a correction, anything unusual) before writing anything, and the rule
runs instead. A change to the rule is a change to the function (a new migration), held by
the contract tests (tests/integration/voice/test_event_applier.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.outreach.model import Channel, SuppressionReason
from lad_domain.outreach.services import add_suppression
from lad_domain.shared.errors import NotFound
from lad_domain.shared.scope import TenantScope
from lad_domain.voice.events import CallBilled, DoNotCallRequested, LeadCallChanged
from lad_domain.voice.funding import ACTOR, bill_call, bill_correction, release_call
from lad_domain.voice.model import (
    Analysis,
    Batch,
    Call,
    CallAnalysis,
    CallEvent,
    CallStatus,
    billed_seconds,
)
from lad_domain.voice.ports import (
    Applied,
    CallEventApplier,
    CallTenants,
    VoiceProviders,
    VoiceUnitOfWork,
)

__all__ = ["Applied", "CallEvents", "IngestReport", "apply_event", "do_not_call", "give_up",
           "record_call", "recount"]


def apply_event(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork, event: CallEvent,
                raw: bytes, *, receipt: bool = True) -> Applied:
    """The rule, in the caller's unit of work (which commits). ``receipt``: store the raw
    delivery and refuse a second one (a fetch from the provider has none)."""
    now = scope.clock.now()
    call = _the_call(uow, event)
    if call is None:
        return Applied.IGNORED
    if receipt and not uow.webhook_receipts.record(event.provider, event.dedupe_key, raw, now):
        return Applied.DUPLICATE
    context = PostingContext(actor=ACTOR, now=now, ids=scope.ids)
    was = call.status
    billed_for = call.duration_seconds if call.billed else None
    call.apply(event, now)
    # Locks in the dialer's order: entries and batches (a do-not-call cancels the lead's
    # other entries; then the call's own), the wallet last. Another order deadlocks a final
    # event with a dial of the same batch (PostgreSQL).
    if event.analysis is not None:
        _analyse(scope, uow, call, event.analysis, now)
    if call.status.is_final and (not was.is_final or was is CallStatus.UNKNOWN):
        _finish_entry(uow, call, now)
        _settle(scope, uow, context, call)
    elif call.billed and billed_for is not None and event.duration_seconds is not None \
            and event.duration_seconds > billed_for:
        _correct(scope, uow, context, call, billed_for, event.duration_seconds)
    uow.calls.update(call)
    if call.status is not was:
        record_call(scope, uow, call, now)
    return Applied.APPLIED


def record_call(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork, call: Call,
                at: datetime) -> None:
    """The call's new status on its lead's history (a call without a lead has none)."""
    if call.lead_id is not None:
        scope.record(uow, LeadCallChanged(aggregate_id=call.lead_id, call_id=call.id,
                                          status=call.status.value,
                                          duration_seconds=call.duration_seconds,
                                          cost=str(call.cost) if call.cost is not None
                                          else None), at=at)


def give_up(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork, call: Call,
            reason: str) -> None:
    """No final event came and the provider could not say: the call is ``unknown``, its
    hold released, its entry not called again (it may have connected)."""
    now = scope.clock.now()
    context = PostingContext(actor=ACTOR, now=now, ids=scope.ids)
    call.status = CallStatus.UNKNOWN
    call.metadata = {**call.metadata, "unknown_reason": reason}
    call.updated_at = now
    _finish_entry(uow, call, now)  # before the wallet, as in apply_event
    release_call(uow, context, call)
    uow.calls.update(call)
    record_call(scope, uow, call, now)


def _the_call(uow: VoiceUnitOfWork, event: CallEvent) -> Call | None:
    """The call the event is about, locked: by our id when the provider echoes it (it may
    come before the provider's id is stored), else by the provider's id. An event whose
    ids disagree with the call's is not about it."""
    if event.call_id is not None:
        call = uow.calls.get(event.call_id, lock=True)
        if call is None or (call.provider_call_id is not None
                            and call.provider_call_id != event.provider_call_id):
            return None
        if call.provider not in (None, event.provider):
            return None
        return call
    return uow.calls.get_by_provider(event.provider, event.provider_call_id, lock=True)


def _settle(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork,
            context: PostingContext, call: Call) -> None:
    """The call has ended: bill it once if it connected, else release everything."""
    if call.status.connected and not call.billed:
        seconds = billed_seconds(call)
        usage = bill_call(uow, context, call, seconds)
        call.cost = usage.total_cost
        call.cost_breakdown = {**call.cost_breakdown, "charged": {
            "seconds": seconds, "usage_event_id": str(usage.id), "status": str(usage.status),
            "items": {i.category: str(i.cost) for i in usage.items}}}
        scope.record(uow, CallBilled(aggregate_id=call.id, lead_id=call.lead_id,
                                     amount=str(usage.total_cost), seconds=seconds,
                                     adjustment=call.metadata.get("unknown_reason")
                                     is not None), at=context.now)
    elif not call.status.connected:
        release_call(uow, context, call)


def _correct(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork,
             context: PostingContext, call: Call, billed_for: int, reported: int) -> None:
    """A later report of a longer call: the difference is billed as its own usage event
    (within the maximum the call was placed with)."""
    total = min(reported, call.max_duration_seconds)
    extra = total - min(billed_for, call.max_duration_seconds)
    if extra <= 0:
        return
    usage = bill_correction(uow, context, call, extra, total)
    call.cost = (call.cost or 0) + usage.total_cost
    call.duration_seconds = reported
    corrections = list(call.cost_breakdown.get("corrections", []))
    corrections.append({"seconds": extra, "amount": str(usage.total_cost),
                        "usage_event_id": str(usage.id)})
    call.cost_breakdown = {**call.cost_breakdown, "corrections": corrections}
    scope.record(uow, CallBilled(aggregate_id=call.id, lead_id=call.lead_id,
                                 amount=str(usage.total_cost), seconds=extra,
                                 adjustment=True), at=context.now)


def _finish_entry(uow: VoiceUnitOfWork, call: Call, now: datetime) -> None:
    if call.batch_entry_id is None or call.batch_id is None:
        return
    entry = uow.batch_entries.get(call.batch_entry_id, lock=True)
    batch = uow.call_batches.get(call.batch_id, lock=True)
    if entry is None or batch is None or entry.last_call_id not in (None, call.id):
        return
    entry.finish(call.status.value, batch.settings.retry, now, connected=call.status.connected)
    uow.batch_entries.update(entry)
    recount(uow, batch, now)


def recount(uow: VoiceUnitOfWork, batch: Batch, now: datetime) -> None:
    """The batch's counters from its entries, in the same transaction as their change."""
    batch.count(uow.batch_entries.counts(batch.id), now)
    uow.call_batches.update(batch)


def _analyse(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork, call: Call,
             analysis: Analysis, now: datetime) -> None:
    existing = uow.call_analyses.get_for(call.id)
    record = CallAnalysis(
        id=existing.id if existing else scope.ids.new_id(), tenant_id=call.tenant_id,
        call_id=call.id, call_created_at=call.created_at,
        created_at=existing.created_at if existing else now, updated_at=now,
        sentiment=analysis.sentiment if analysis.sentiment in _SENTIMENTS else None,
        lead_category=analysis.lead_category, summary=analysis.summary,
        extraction={**dict(analysis.extraction), "do_not_call": analysis.do_not_call},
        model=analysis.model)
    uow.call_analyses.put(record)
    if analysis.do_not_call:
        do_not_call(scope, uow, call, now)


_SENTIMENTS = ("positive", "neutral", "negative", "mixed")


def do_not_call(scope: TenantScope[VoiceUnitOfWork], uow: VoiceUnitOfWork, call: Call,
                now: datetime) -> int:
    """The lead asked not to be called again: the number is suppressed on the voice
    channel at once and the lead's open entries (every batch) are cancelled."""
    add_suppression(scope, uow, Channel.VOICE, call.to.e164, SuppressionReason.DO_NOT_CONTACT,
                    source=f"call:{call.id}", lead_id=call.lead_id)
    cancelled = 0
    if call.lead_id is not None:
        batches: dict[uuid.UUID, Batch] = {}
        for entry in uow.batch_entries.open_for_lead(call.lead_id):
            if entry.last_call_id == call.id:
                continue  # this call's own entry is finished by its final event
            if entry.cancel("the lead asked not to be called again", now):
                uow.batch_entries.update(entry)
                cancelled += 1
                batch = batches.get(entry.batch_id) or uow.call_batches.get(entry.batch_id)
                if batch is not None:
                    batches[batch.id] = batch
        for batch in batches.values():
            recount(uow, batch, now)
        scope.record(uow, DoNotCallRequested(aggregate_id=call.lead_id, call_id=call.id,
                                             cancelled_entries=cancelled), at=now)
    return cancelled


@attrs.frozen
class IngestReport:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0


@attrs.define
class CallEvents:
    """The webhook endpoint's use case: verify, normalise, then apply each event in its
    call's tenant. ``applier``: applies an event in one step where it can (PostgreSQL),
    else the rule runs."""

    scope: TenantScope[VoiceUnitOfWork]
    providers: VoiceProviders
    tenants: CallTenants
    applier: CallEventApplier | None = None

    def ingest(self, provider_name: str, body: bytes, headers: Mapping[str, str]
               ) -> IngestReport:
        """AuthenticationFailed (nothing stored) when the signature is bad or stale;
        NotFound for a provider that is not configured."""
        provider = self.providers.get(provider_name)
        if provider.name != provider_name:
            raise NotFound(f"no voice provider named {provider_name!r}")
        events = provider.read_webhook(body, headers, self.scope.clock.now())
        counts = {Applied.APPLIED: 0, Applied.DUPLICATE: 0, Applied.IGNORED: 0}
        for event in events:
            counts[self.apply(event, body)] += 1
        return IngestReport(applied=counts[Applied.APPLIED],
                            duplicates=counts[Applied.DUPLICATE],
                            ignored=counts[Applied.IGNORED])

    def apply(self, event: CallEvent, raw: bytes, *, receipt: bool = True) -> Applied:
        tenant = event.tenant_id or self.tenants.tenant_of(event.provider,
                                                           event.provider_call_id)
        if tenant is None:
            return Applied.IGNORED
        if self.applier is not None:
            done = self.applier.apply(tenant, event, raw, self.scope.clock.now(),
                                      self.scope.ids, receipt=receipt)
            if done is not None:
                return done
        with self.scope.uow(tenant) as uow:
            result = apply_event(self.scope, uow, event, raw, receipt=receipt)
            if result is Applied.APPLIED:
                uow.commit()
        return result
