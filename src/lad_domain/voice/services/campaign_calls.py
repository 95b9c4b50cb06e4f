"""A campaign's ``voice_call`` step, run through the voice context: the campaigns engine
hands it over (``lad_domain.campaigns.ports.VoiceSteps``) and the call is queued as an
entry of the campaign step's batch, in the step's own transaction. From there it is any
call: the checks at dial time in the campaign's send window (the legal hours on top), the
money held and billed once, the outcome on the entry."""

from __future__ import annotations

from datetime import datetime

import attrs

from lad_domain.campaigns.model import Campaign, Step
from lad_domain.campaigns.ports import CampaignsUnitOfWork, QueuedCall
from lad_domain.leads.model import Lead
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchSettings,
    BatchStatus,
    EntryStatus,
)
from lad_domain.voice.policy import FEATURE
from lad_domain.voice.ports import InvalidPhone, PhonePlan, VoiceUnitOfWork
from lad_domain.voice.services.events import recount


@attrs.define
class CampaignCalls:
    scope: TenantScope[VoiceUnitOfWork]
    phones: PhonePlan

    def check(self, uow: CampaignsUnitOfWork, step: Step) -> str | None:
        found = self._agent(uow, step)
        return found if isinstance(found, str) else None

    def queue(self, uow: CampaignsUnitOfWork, *, campaign: Campaign, step: Step, lead: Lead,
              at: datetime) -> QueuedCall | str:
        agent = self._agent(uow, step)
        if isinstance(agent, str):
            return agent
        assert isinstance(uow, VoiceUnitOfWork)
        if not lead.phone:
            return "the lead has no phone number"
        try:
            phone = self.phones.parse(lead.phone)
        except InvalidPhone as invalid:
            return f"the lead's phone number {invalid}"
        name = f"{campaign.name[:150]} - step {step.order}"
        batch = uow.call_batches.open_for_campaign(campaign.id, name)
        if batch is None:
            # The number the agent answers on, when it has one (else the provider's own).
            numbers = [n for n in uow.numbers.list(PageRequest(limit=MAX_LIMIT)).items
                       if n.agent_id == agent.id]
            batch = Batch(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                          agent_id=agent.number, status=BatchStatus.RUNNING, created_at=at,
                          updated_at=at, number_id=numbers[0].id if numbers else None,
                          campaign_id=campaign.id, name=name,
                          settings=BatchSettings(window=campaign.settings.send_window),
                          started_at=at, created_by=campaign.created_by)
            uow.call_batches.add(batch)
        entry = BatchEntry(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                           batch_id=batch.id, status=EntryStatus.PENDING, created_at=at,
                           updated_at=at, lead_id=lead.id, phone=phone, next_attempt_at=at)
        uow.batch_entries.add_many([entry])
        recount(uow, batch, at)
        return QueuedCall(batch_id=batch.id, entry_id=entry.id, recipient=phone.e164)

    @staticmethod
    def _agent(uow: CampaignsUnitOfWork, step: Step) -> Agent | str:
        if not isinstance(uow, VoiceUnitOfWork):
            return "this installation stores no voice calls"
        feature = uow.features.get(FEATURE)
        if feature is None or not feature.enabled:
            return "the voice feature is not enabled for this tenant"
        agent_id = step.config.get("agent_id")
        agent = uow.agents.get(int(agent_id)) if isinstance(agent_id, int | str) and str(
            agent_id).isdigit() else None
        if agent is None:
            return f"the voice agent {agent_id} does not exist"
        return agent
