"""The dialer: what the worker does with each claimed batch entry, and the sweep of calls
whose final event never came.

A call is placed in three parts, so that none is placed twice and none is lost:

1. **Decide**, in the entry's tenant, one transaction: the checks at dial time (the lead
   and its number, the do-not-call list, the agent's recording disclosure, the calling
   hours in every zone the lead may be in, the lead's daily cap across all batches, the
   wallet), each decision and its reason stored on the entry. To dial: the estimate held,
   the call written as ``queued`` and the entry ``calling``, committed.
2. **Place**, outside any transaction: the provider is asked once.
3. **Record**, one transaction: the provider's call id; or, when nothing was placed (a
   throttle, the provider down, a refusal), the hold released and the entry back to wait
   or finished. A timeout may have placed the call: it stays ``queued`` for its events, or
   for the sweep.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.leads.model import Lead
from lad_domain.outreach.model import Channel, day_start
from lad_domain.shared.errors import InsufficientFunds, NotFound, ValidationFailed
from lad_domain.shared.scope import TenantScope
from lad_domain.voice import calling_hours
from lad_domain.voice.funding import ACTOR, hold_for_call, release_call
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallStatus,
    Decision,
    DialDecision,
    EntryStatus,
    Number,
    Voice,
)
from lad_domain.voice.ports import (
    CallRequest,
    DialClaim,
    DialWork,
    Limits,
    PhonePlan,
    ProviderError,
    ProviderErrorKind,
    VoiceProviders,
    VoiceUnitOfWork,
)
from lad_domain.voice.services.events import (
    Applied,
    CallEvents,
    give_up,
    record_call,
    recount,
)

#: How long a claim holds an entry before another worker may take it again.
DEFAULT_LEASE = timedelta(minutes=5)
#: A wallet that cannot pay, a provider that is down: looked at again this much later.
RETRY_FUNDS = timedelta(hours=1)
RETRY_UNAVAILABLE = timedelta(minutes=5)
#: A call with no final event this long after its maximum duration is fetched, then given
#: up as unknown.
TIMEOUT_GRACE = timedelta(minutes=10)
SWEEP_BATCH = 200
DO_NOT_CONTACT = "do_not_contact"


class DialResult(enum.StrEnum):
    PLACED = "placed"
    WAITING = "waiting"
    REFUSED = "refused"
    #: Nothing was placed (throttled, unavailable, rejected): the entry waits or finished.
    NOT_PLACED = "not_placed"
    #: The provider did not answer in time: the call may be live; its events or the sweep
    #: settle it.
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"


@attrs.frozen
class _Dial:
    call: Call
    request: CallRequest


@attrs.define
class Dialer:
    scope: TenantScope[VoiceUnitOfWork]
    work: DialWork
    providers: VoiceProviders
    phones: PhonePlan
    events: CallEvents
    limits: Limits = attrs.field(factory=Limits)
    lease: timedelta = DEFAULT_LEASE

    def claim(self, limit: int) -> Sequence[DialClaim]:
        return self.work.claim(self.scope.clock.now(), limit=limit, lease=self.lease,
                               token=self.scope.ids.new_id(), limits=self.limits)

    def run(self, claim: DialClaim) -> DialResult:
        decided = self._decide(claim)
        if isinstance(decided, DialResult):
            return decided
        provider = self.providers.get(decided.call.provider or "")
        try:
            placed = provider.start_call(decided.request)
        except ProviderError as error:
            return self._not_placed(claim, decided.call, error)
        with self.scope.uow(claim.tenant_id) as uow:
            call = uow.calls.get(decided.call.id, lock=True)
            if call is not None and call.provider_call_id is None:
                call.provider_call_id = placed.provider_call_id
                if placed.status.rank > call.status.rank:
                    call.status = placed.status
                call.updated_at = self.scope.clock.now()
                uow.calls.update(call)
                uow.commit()
        return DialResult.PLACED

    # --- 1. decide ------------------------------------------------------------------------

    def _decide(self, claim: DialClaim) -> _Dial | DialResult:
        decided = self._decide_in(claim)
        if isinstance(decided, DialDecision):
            # The hold was refused: its unit of work was rolled back; the decision is
            # stored on its own.
            return self._record_only(claim, decided)
        return decided

    def _decide_in(self, claim: DialClaim) -> _Dial | DialResult | DialDecision:
        now = self.scope.clock.now()
        with self.scope.uow(claim.tenant_id) as uow:
            entry = uow.batch_entries.get(claim.entry_id, lock=True)
            if entry is None or entry.claim_token != claim.token \
                    or entry.status is not EntryStatus.QUEUED:
                return DialResult.SKIPPED
            batch = uow.call_batches.get(entry.batch_id, lock=True)
            assert batch is not None
            if batch.status is not BatchStatus.RUNNING:
                # Paused or cancelled since the claim: back to wait (a cancel cancels it).
                if batch.status is BatchStatus.CANCELLED:
                    entry.cancel("the batch was cancelled", now)
                else:
                    entry.status = EntryStatus.PENDING
                    entry.next_attempt_at = now
                    entry.claim_token = None
                uow.batch_entries.update(entry)
                recount(uow, batch, now)
                uow.commit()
                return DialResult.SKIPPED
            outcome = self._checks(uow, batch, entry, now)
            if isinstance(outcome, DialDecision):
                entry.decide(outcome)
                uow.batch_entries.update(entry)
                recount(uow, batch, now)
                uow.commit()
                return (DialResult.REFUSED if outcome.decision is Decision.REFUSE
                        else DialResult.WAITING)
            agent, number, lead, zones, local_times = outcome
            call, voice = self._call(uow, batch, entry, agent, number, now)
            context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids)
            try:
                call.reservation_id = hold_for_call(uow, context, call)
            except InsufficientFunds:
                return DialDecision(Decision.WAIT, "the wallet cannot pay the call's estimate "
                                    f"({call.metadata.get('estimate')})", now, zones,
                                    local_times, until=now + RETRY_FUNDS)
            except ValidationFailed as unpriced:
                return DialDecision(Decision.WAIT, f"the call cannot be priced: "
                                    f"{unpriced.message}", now, zones, local_times,
                                    until=now + RETRY_FUNDS)
            uow.calls.add(call)
            entry.decide(DialDecision(Decision.DIAL, "inside calling hours in "
                                      + ", ".join(zones), now, zones, local_times))
            entry.last_call_id = call.id
            uow.batch_entries.update(entry)
            recount(uow, batch, now)
            record_call(self.scope, uow, call, now)
            uow.commit()
        return _Dial(call=call, request=self._request(call, agent, number, lead, voice))

    def _checks(self, uow: VoiceUnitOfWork, batch: Batch, entry: BatchEntry, now: datetime
                ) -> DialDecision | tuple[Agent, Number | None, Lead | None,
                                          tuple[str, ...], tuple[str, ...]]:
        def refuse(reason: str) -> DialDecision:
            return DialDecision(Decision.REFUSE, reason, now)

        agent = uow.agents.get(batch.agent_id)
        if agent is None:
            return refuse(f"the agent {batch.agent_id} was removed")
        try:
            self.providers.get(agent.settings.provider)
        except NotFound as missing:
            # Someone must configure it; nothing is dialed or held until then.
            return DialDecision(Decision.WAIT, missing.message, now, until=now + RETRY_FUNDS)
        number = uow.numbers.get(batch.number_id) if batch.number_id is not None else None
        if batch.number_id is not None and number is None:
            return refuse("the batch's number was removed")
        lead = uow.leads.get(entry.lead_id) if entry.lead_id is not None else None
        if entry.lead_id is not None and (lead is None or not lead.is_live):
            return refuse("the lead was deleted")
        if entry.phone is None:
            return refuse("the lead has no phone number")
        if uow.suppressions.find(Channel.VOICE, entry.phone.e164) is not None:
            return refuse(f"{entry.phone.e164} is on the tenant's do-not-call list")
        if lead is not None and lead.status == DO_NOT_CONTACT:
            return refuse("the lead's status is do_not_contact")
        if agent.settings.recording and not agent.settings.recording_disclosure:
            return refuse("the agent records calls but has no recording disclosure to say "
                          "first (config.recording_disclosure)")
        zones = calling_hours.lead_zones(lead, self.phones.zones(entry.phone))
        if not zones:
            return refuse(f"the local time of {entry.phone.e164} is unknown (no time zone "
                          "for the number, none on the lead)")
        hours = calling_hours.check(batch.settings.window, zones, now)
        if not hours.allowed:
            if hours.opens_at is None:
                return DialDecision(Decision.REFUSE, "the calling window never opens in all "
                                    "of the lead's zones: " + ", ".join(zones), now, zones,
                                    hours.local_times)
            return DialDecision(Decision.WAIT, "outside calling hours: "
                                + hours.describe(zones), now, zones, hours.local_times,
                                until=hours.opens_at)
        if entry.lead_id is not None:
            today = day_start(now.date())
            placed = uow.calls.placed_since(entry.lead_id, today)
            cap = batch.settings.max_calls_per_lead_per_day
            if placed >= cap:
                return DialDecision(Decision.WAIT, f"the lead was called {placed} time(s) "
                                    f"today, the daily cap is {cap}", now, zones,
                                    hours.local_times, until=today + timedelta(days=1))
        return agent, number, lead, zones, hours.local_times

    def _call(self, uow: VoiceUnitOfWork, batch: Batch, entry: BatchEntry, agent: Agent,
              number: Number | None, now: datetime) -> tuple[Call, Voice | None]:
        assert entry.phone is not None
        voice = uow.voices.get(agent.voice_id) if agent.voice_id is not None else None
        return Call(id=self.scope.ids.new_id(), tenant_id=batch.tenant_id, created_at=now,
                    updated_at=now, status=CallStatus.QUEUED, to=entry.phone,
                    agent_id=agent.id, number_id=number.id if number else None,
                    lead_id=entry.lead_id, campaign_id=batch.campaign_id, batch_id=batch.id,
                    batch_entry_id=entry.id, initiated_by_user_id=batch.created_by,
                    provider=agent.settings.provider,
                    metadata={"max_duration_seconds": agent.settings.max_duration_seconds,
                              "telephony_provider": number.provider if number else None,
                              "voice_provider": agent.settings.provider,
                              "voice": voice.provider_voice_id if voice else None,
                              "attempt": entry.attempts + 1}), voice

    @staticmethod
    def _request(call: Call, agent: Agent, number: Number | None, lead: Lead | None,
                 voice: Voice | None) -> CallRequest:
        first = agent.first_message
        if agent.settings.recording and agent.settings.recording_disclosure:
            first = " ".join(p for p in (agent.settings.recording_disclosure, first) if p)
        return CallRequest(
            call_id=call.id, tenant_id=call.tenant_id, to=call.to.e164,
            from_=number.phone.e164 if number is not None else None,
            provider_agent_id=agent.settings.provider_agent_id, language=agent.language,
            max_duration_seconds=agent.settings.max_duration_seconds,
            system_prompt=agent.system_prompt, first_message=first,
            voice_provider=voice.provider if voice else None,
            provider_voice_id=voice.provider_voice_id if voice else None,
            recording=agent.settings.recording,
            metadata={"call_id": str(call.id), "tenant_id": str(call.tenant_id),
                      **({"lead_id": str(lead.id)} if lead is not None else {})})

    def _record_only(self, claim: DialClaim, decision: DialDecision) -> DialResult:
        """Store a decision made after the unit of work was rolled back (a hold refused)."""
        with self.scope.uow(claim.tenant_id) as uow:
            entry = uow.batch_entries.get(claim.entry_id, lock=True)
            batch = uow.call_batches.get(claim.batch_id, lock=True)
            if entry is None or batch is None or entry.claim_token != claim.token:
                return DialResult.SKIPPED
            entry.decide(decision)
            uow.batch_entries.update(entry)
            recount(uow, batch, decision.at)
            uow.commit()
        return DialResult.WAITING

    # --- 3. nothing placed ----------------------------------------------------------------

    def _not_placed(self, claim: DialClaim, placed: Call, error: ProviderError) -> DialResult:
        if error.placed_maybe:
            with self.scope.uow(claim.tenant_id) as uow:
                call = uow.calls.get(placed.id, lock=True)
                if call is not None:
                    call.metadata = {**call.metadata, "start_error": error.message}
                    uow.calls.update(call)
                    uow.commit()
            return DialResult.UNCERTAIN
        now = self.scope.clock.now()
        context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids)
        with self.scope.uow(claim.tenant_id) as uow:
            call = uow.calls.get(placed.id, lock=True)
            entry = uow.batch_entries.get(claim.entry_id, lock=True)
            batch = uow.call_batches.get(claim.batch_id, lock=True)
            if call is None or entry is None or batch is None:
                return DialResult.SKIPPED
            release_call(uow, context, call)
            call.status = (CallStatus.FAILED if error.kind == ProviderErrorKind.REJECTED
                           else CallStatus.CANCELLED)
            call.metadata = {**call.metadata, "start_error": error.message,
                             "start_error_kind": error.kind}
            call.updated_at = now
            uow.calls.update(call)
            if error.kind == ProviderErrorKind.REJECTED:
                entry.finish("failed", batch.settings.retry, now, connected=False)
                entry.last_error = f"the provider refused the call: {error.message}"
            else:
                # Not an attempt: the call never left. The entry waits and is tried again.
                wait = (timedelta(seconds=error.retry_after) if error.retry_after
                        else RETRY_UNAVAILABLE)
                entry.attempts = max(0, entry.attempts - 1)
                entry.status = EntryStatus.PENDING
                entry.next_attempt_at = now + wait
                entry.last_error = f"{error.kind}: {error.message}"
            uow.batch_entries.update(entry)
            recount(uow, batch, now)
            record_call(self.scope, uow, call, now)
            uow.commit()
        return DialResult.NOT_PLACED

    # --- the sweep ------------------------------------------------------------------------

    def sweep(self, tenant_id: uuid.UUID) -> dict[str, int]:
        """Calls of the tenant with no final event by their timeout (their maximum
        duration plus a grace): fetched from the provider and settled by what it says;
        failing that, released and marked ``unknown``."""
        now = self.scope.clock.now()
        with self.scope.uow(tenant_id) as uow:
            overdue = [c for c in uow.calls.overdue(now - TIMEOUT_GRACE, SWEEP_BATCH)
                       if c.created_at + timedelta(seconds=c.max_duration_seconds)
                       + TIMEOUT_GRACE <= now]
        report = {"fetched": 0, "unknown": 0}
        for call in overdue:
            event = None
            if call.provider_call_id is not None and call.provider is not None:
                try:
                    event = self.providers.get(call.provider).fetch_call(call.provider_call_id)
                except (ProviderError, NotFound):
                    event = None
            if event is not None and event.status.is_final:
                event = attrs.evolve(event, call_id=call.id, tenant_id=tenant_id)
                if self.events.apply(event, b"", receipt=False) is Applied.APPLIED:
                    report["fetched"] += 1
                    continue
            with self.scope.uow(tenant_id) as uow:
                fresh = uow.calls.get(call.id, lock=True)
                if fresh is None or fresh.status.is_final:
                    continue
                if event is not None and not event.status.is_final and \
                        now < call.created_at + 2 * timedelta(
                            seconds=call.max_duration_seconds) + TIMEOUT_GRACE:
                    continue  # the provider says it is still live: look again later
                give_up(self.scope, uow, fresh, "no final event by the call's timeout, and "
                        "the provider could not say how it ended")
                uow.commit()
                report["unknown"] += 1
        return report

