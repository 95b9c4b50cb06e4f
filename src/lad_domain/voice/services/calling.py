"""Calling use cases: batches of calls (from lead ids or the leads list's filter), their
life (pause, resume, cancel) and entries, one call to one lead, and reading calls: a
batch's, a lead's, a month's."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.leads.services.leads import live_lead, matching_leads
from lad_domain.shared.clock import aware_utc
from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import plain_text
from lad_domain.voice.events import BatchCreated, BatchStatusChanged
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallAnalysis,
    Decision,
    DialDecision,
    EntryStatus,
    Number,
    batch_settings,
)
from lad_domain.voice.policy import VoicePermission, require_call
from lad_domain.voice.ports import InvalidPhone, PhonePlan, VoiceUnitOfWork
from lad_domain.voice.services.events import recount

#: Leads in one batch, at most.
MAX_BATCH = 5_000


@attrs.frozen
class BatchReport:
    batch: Batch
    #: Entries that will never be called, each with its reason (no phone, a bad number).
    skipped: int
    duplicates: int


@attrs.frozen
class BatchProgress:
    batch: Batch
    counts: dict[EntryStatus, int]


@attrs.frozen
class CallDetail:
    call: Call
    analysis: CallAnalysis | None


@attrs.define
class CallingService:
    scope: TenantScope[VoiceUnitOfWork]
    phones: PhonePlan

    # --- batches --------------------------------------------------------------------------

    def create_batch(self, principal: Principal, *, agent_id: object,
                     number_id: uuid.UUID | None = None,
                     lead_ids: Sequence[uuid.UUID] | None = None,
                     lead_filter: LeadFilter | None = None, name: object = None,
                     settings: object = None, start_at: datetime | None = None,
                     campaign_id: uuid.UUID | None = None,
                     tenant_id: uuid.UUID | None = None) -> BatchReport:
        """A batch of calls by one agent (from ``number_id``, else the member's default
        number) to leads given by id (another tenant's is unknown: 404) or by the leads
        list's filter (at most MAX_BATCH). Each lead is an entry; one that can never be
        called (no phone, an invalid number) is kept as ``skipped`` with its reason."""
        if (lead_ids is None) == (lead_filter is None):
            raise ValidationFailed.single("lead_ids", "give lead_ids or a lead filter, "
                                          "not both")
        if lead_ids is not None and not 1 <= len(lead_ids) <= MAX_BATCH:
            raise ValidationFailed.single("lead_ids", f"must hold 1 to {MAX_BATCH} ids; "
                                          f"got {len(lead_ids)}")
        agent_number = _agent_id(agent_id)
        label = plain_text(name, field="name") if name is not None else None
        start_at = aware_utc(start_at, field="start_at") if start_at is not None else None
        checked = batch_settings(settings)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            agent = _agent(uow, agent_number)
            if number_id is None and principal.user_id is not None:
                profile = uow.voice_profiles.get(principal.user_id)
                number_id = profile.default_number_id if profile is not None else None
            number = _number(uow, number_id) if number_id is not None else None
            require_call(self.scope, uow, principal, number.id if number else None,
                         agent.voice_id)
            leads = self._leads(uow, lead_ids, lead_filter)
            unique = list({lead.id: lead for lead in leads}.values())
            batch = Batch(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                          agent_id=agent.number, status=BatchStatus.RUNNING, created_at=now,
                          updated_at=now, number_id=number.id if number else None,
                          campaign_id=campaign_id, name=label, settings=checked,
                          scheduled_at=start_at, started_at=now, created_by=principal.user_id)
            uow.call_batches.add(batch)
            first = max(now, start_at) if start_at is not None else now
            entries = [self._entry(batch, lead, first, now) for lead in unique]
            uow.batch_entries.add_many(entries)
            recount(uow, batch, now)
            skipped = sum(1 for e in entries if e.status is EntryStatus.SKIPPED)
            self.scope.record(uow, BatchCreated(aggregate_id=batch.id, entries=len(entries),
                                                skipped=skipped), at=now)
            uow.commit()
        return BatchReport(batch=batch, skipped=skipped, duplicates=len(leads) - len(unique))

    def call_lead(self, principal: Principal, lead_id: uuid.UUID, *, agent_id: object,
                  number_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None
                  ) -> BatchReport:
        """One call to one lead: a batch of one, under the same checks at dial time."""
        return self.create_batch(principal, agent_id=agent_id, number_id=number_id,
                                 lead_ids=[lead_id], name="call", tenant_id=tenant_id)

    def batch(self, principal: Principal, batch_id: uuid.UUID, *,
              tenant_id: uuid.UUID | None = None) -> BatchProgress:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            batch = _batch(uow, batch_id)
            return BatchProgress(batch=batch, counts=uow.batch_entries.counts(batch.id))

    def batches(self, principal: Principal, page: PageRequest, *,
                status: BatchStatus | None = None, tenant_id: uuid.UUID | None = None
                ) -> Page[Batch]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return uow.call_batches.list(status, page)

    def entries(self, principal: Principal, batch_id: uuid.UUID, page: PageRequest, *,
                status: EntryStatus | None = None, tenant_id: uuid.UUID | None = None
                ) -> Page[BatchEntry]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            _batch(uow, batch_id)
            return uow.batch_entries.list(batch_id, status, page)

    def pause(self, principal: Principal, batch_id: uuid.UUID, *,
              tenant_id: uuid.UUID | None = None) -> Batch:
        """No new call is placed; calls in flight finish."""
        return self._move(principal, batch_id, tenant_id, lambda b, now, _: b.pause(now))

    def resume(self, principal: Principal, batch_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> Batch:
        return self._move(principal, batch_id, tenant_id, lambda b, now, _: b.resume(now))

    def cancel(self, principal: Principal, batch_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> Batch:
        """The waiting entries are cancelled; calls in flight finish and are billed."""
        def cancel(batch: Batch, now: datetime, uow: VoiceUnitOfWork) -> None:
            batch.cancel(now)
            uow.batch_entries.cancel_open(batch.id, "the batch was cancelled", now)

        return self._move(principal, batch_id, tenant_id, cancel)

    # --- calls ----------------------------------------------------------------------------

    def call(self, principal: Principal, call_id: uuid.UUID, *,
             tenant_id: uuid.UUID | None = None) -> CallDetail:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            call = uow.calls.get(call_id)
            if call is None:
                raise NotFound("call not found")
            return CallDetail(call=call, analysis=uow.call_analyses.get_for(call.id))

    def calls(self, principal: Principal, page: PageRequest, *,
              lead_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None,
              since: datetime | None = None, until: datetime | None = None,
              tenant_id: uuid.UUID | None = None) -> Page[Call]:
        """Newest first; ``since``/``until`` bound the time the calls were placed (on
        PostgreSQL only those months' partitions are read)."""
        since = aware_utc(since, field="since") if since is not None else None
        until = aware_utc(until, field="until") if until is not None else None
        if since is not None and until is not None and until <= since:
            raise ValidationFailed.single("until", "must be after since")
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            if lead_id is not None:
                live_lead(uow, lead_id)
            if batch_id is not None:
                _batch(uow, batch_id)
            return uow.calls.list(page, lead_id=lead_id, batch_id=batch_id, since=since,
                                  until=until)

    # --- shared ---------------------------------------------------------------------------

    def _move(self, principal: Principal, batch_id: uuid.UUID, tenant_id: uuid.UUID | None,
              change: Callable[[Batch, datetime, VoiceUnitOfWork], None]) -> Batch:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.CALL)
            batch = _batch(uow, batch_id, lock=True)
            if batch.created_by not in (None, principal.user_id):
                agent = uow.agents.get(batch.agent_id)
                require_call(self.scope, uow, principal, batch.number_id,
                             agent.voice_id if agent else None)
            change(batch, now, uow)
            recount(uow, batch, now)
            self.scope.record(uow, BatchStatusChanged(aggregate_id=batch.id,
                                                      status=batch.status.value), at=now)
            uow.commit()
        return batch

    def _leads(self, uow: VoiceUnitOfWork, lead_ids: Sequence[uuid.UUID] | None,
               lead_filter: LeadFilter | None) -> list[Lead]:
        leads: list[Lead] = []
        if lead_ids is not None:
            for lead_id in lead_ids:
                lead = uow.leads.get(lead_id)
                if lead is None or not lead.is_live:
                    raise NotFound(f"lead {lead_id} not found")
                leads.append(lead)
            return leads
        assert lead_filter is not None
        leads, _ = matching_leads(uow.leads, lead_filter, at_most=MAX_BATCH + 1)
        if len(leads) > MAX_BATCH:
            raise ValidationFailed.single("lead_filter", f"matches more than {MAX_BATCH} "
                                          "leads, the most one batch takes: narrow it")
        return leads

    def _entry(self, batch: Batch, lead: Lead, first: datetime, now: datetime) -> BatchEntry:
        entry = BatchEntry(id=self.scope.ids.new_id(), tenant_id=batch.tenant_id,
                           batch_id=batch.id, status=EntryStatus.PENDING, created_at=now,
                           updated_at=now, lead_id=lead.id, next_attempt_at=first)
        reason = None
        if not lead.phone:
            reason = "the lead has no phone number"
        else:
            try:
                entry.phone = self.phones.parse(lead.phone)
            except InvalidPhone as invalid:
                reason = f"the lead's phone number {invalid}"
        if reason is not None:
            entry.decide(DialDecision(Decision.REFUSE, reason, now))
        return entry


def _agent_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed.single("agent_id", "must be an agent's id (a whole number)")
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed.single("agent_id", f"{value!r} is not an agent id") from None
    if number <= 0:
        raise ValidationFailed.single("agent_id", "must be a positive whole number")
    return number


def _agent(uow: VoiceUnitOfWork, agent_id: int) -> Agent:
    agent = uow.agents.get(agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def _number(uow: VoiceUnitOfWork, number_id: uuid.UUID) -> Number:
    number = uow.numbers.get(number_id)
    if number is None:
        raise NotFound(f"number {number_id} not found")
    return number


def _batch(uow: VoiceUnitOfWork, batch_id: uuid.UUID, *, lock: bool = False) -> Batch:
    batch = uow.call_batches.get(batch_id, lock=lock)
    if batch is None:
        raise NotFound("batch not found")
    return batch
