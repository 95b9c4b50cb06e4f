"""Campaign use cases: create and shape a campaign (settings, steps, LinkedIn accounts),
move it through its life (activate, pause, resume, complete, archive), enroll leads, and
read its enrollments, their send ledger and its statistics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.campaigns.events import (
    CampaignChanged,
    CampaignCreated,
    CampaignStatusChanged,
    LeadsEnrolled,
)
from lad_domain.campaigns.funding import ACTOR, price_of, usage_item
from lad_domain.campaigns.model import (
    Activity,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    Step,
    StepStats,
    StepType,
    step_config,
)
from lad_domain.campaigns.policy import CampaignPermission
from lad_domain.campaigns.ports import CampaignsUnitOfWork, VoiceSteps
from lad_domain.campaigns.services.engine import stop_sequence
from lad_domain.campaigns.simulation import MAX_DAYS, Timeline, simulate
from lad_domain.campaigns.window import time_zone
from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.leads.services.leads import matching_leads
from lad_domain.outreach.model import Channel, EmailAccount, LinkedInAccount, day_start
from lad_domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed
from lad_domain.shared.pagination import MAX_LIMIT, Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import choice, plain_text

MAX_ENROLL_IDS = 10_000
#: A filter enrolls at most this many leads in one call; the answer says when more match.
MAX_ENROLL_FILTER = 100_000
#: A simulation plays at most this many open enrollments forward.
MAX_SIMULATED = 20_000


@attrs.frozen
class EnrollmentReport:
    enrolled: int
    #: Leads already in the campaign (at most once per campaign).
    already_enrolled: int
    #: A filter matched more than one call enrolls: call again to go on.
    more: bool = False


@attrs.frozen
class EnrollmentDetail:
    enrollment: Enrollment
    ledger: Sequence[Activity]


def lead_zone(lead: Lead, campaign: Campaign, tenant_default: str | None) -> str:
    """The zone a lead's send window is read in: the lead's own (custom field
    ``timezone``), else the campaign's, else the tenant's default, else UTC."""
    for candidate in (lead.custom_fields.get("timezone"), campaign.settings.timezone,
                      tenant_default):
        if isinstance(candidate, str):
            try:
                return time_zone(candidate)
            except ValidationFailed:
                continue
    return "UTC"


def parse_steps(values: object, ids: Any) -> list[Step]:
    """Steps from a list of ``{type, config?, title?}`` (their order is their place)."""
    if not isinstance(values, list):
        raise ValidationFailed.single("steps", "must be a list")
    errors: list[FieldError] = []
    steps: list[Step] = []
    for index, value in enumerate(values, start=1):
        field = f"steps[{index}]"
        if not isinstance(value, Mapping):
            errors.append(FieldError(field, "must be an object with type and config"))
            continue
        unknown = sorted(set(value) - {"type", "config", "title", "order"})
        if unknown:
            errors.append(FieldError(f"{field}.{unknown[0]}", "is not a step field"))
            continue
        if "order" in value and value["order"] != index:
            errors.append(FieldError(f"{field}.order", f"must be {index}: steps are given "
                                     "in order, from 1"))
            continue
        try:
            type_ = StepType(str(value.get("type")))
        except ValueError:
            errors.append(FieldError(f"{field}.type", "must be one of " + ", ".join(
                t.value for t in StepType)))
            continue
        try:
            config = step_config(type_, value.get("config"), field=f"{field}.config")
            title = (plain_text(value["title"], field=f"{field}.title")
                     if value.get("title") is not None else None)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
            continue
        steps.append(Step(id=ids.new_id(), order=index, type=type_, config=config,
                          title=title))
    if errors:
        raise ValidationFailed(errors)
    return steps


@attrs.define
class CampaignService:
    scope: TenantScope[CampaignsUnitOfWork]
    #: Checks voice_call steps at activation (None: voice is not set up here).
    voice: VoiceSteps | None = None

    def create(self, principal: Principal, *, name: object, settings: Mapping[str, Any] | None
               = None, steps: object = None, linkedin_account_ids: Sequence[uuid.UUID] = (),
               tenant_id: uuid.UUID | None = None) -> Campaign:
        clean_name = plain_text(name, field="name")
        clean_settings = CampaignSettings.parse(settings)
        new_steps = parse_steps(steps, self.scope.ids) if steps is not None else []
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            self._check_senders(uow, clean_settings, linkedin_account_ids)
            campaign = Campaign(id=self.scope.ids.new_id(), name=clean_name,
                                status=CampaignStatus.DRAFT, settings=clean_settings,
                                steps=[], created_at=now, updated_at=now,
                                created_by=principal.user_id,
                                linkedin_account_ids=tuple(dict.fromkeys(linkedin_account_ids)))
            campaign.replace_steps(new_steps, now)
            self._check_templates(uow, campaign)
            uow.campaigns.add(campaign)
            self.scope.record(uow, CampaignCreated(aggregate_id=campaign.id, name=clean_name))
            uow.commit()
        return campaign

    def get(self, principal: Principal, campaign_id: uuid.UUID, *,
            tenant_id: uuid.UUID | None = None) -> Campaign:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            return _campaign(uow, campaign_id)

    def list(self, principal: Principal, status: object, page: PageRequest, *,
             tenant_id: uuid.UUID | None = None) -> Page[Campaign]:
        wanted = None if status is None else choice(CampaignStatus, status, field="status")
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            return uow.campaigns.list(wanted, page)

    def update(self, principal: Principal, campaign_id: uuid.UUID, *, name: object = None,
               settings: Mapping[str, Any] | None = None,
               linkedin_account_ids: Sequence[uuid.UUID] | None = None,
               tenant_id: uuid.UUID | None = None) -> Campaign:
        """Rename, change settings (absent keys are kept) or the LinkedIn accounts."""
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            campaign = _campaign(uow, campaign_id)
            if name is not None:
                campaign.rename(name, now)
            if settings is not None:
                campaign.configure(CampaignSettings.parse(settings, base=campaign.settings),
                                   now)
            if linkedin_account_ids is not None:
                campaign.linkedin_account_ids = tuple(dict.fromkeys(linkedin_account_ids))
                campaign.updated_at = now
            self._check_senders(uow, campaign.settings, campaign.linkedin_account_ids)
            uow.campaigns.update(campaign)
            self.scope.record(uow, CampaignChanged(aggregate_id=campaign.id, what="settings"))
            uow.commit()
        return campaign

    def set_steps(self, principal: Principal, campaign_id: uuid.UUID, steps: object, *,
                  tenant_id: uuid.UUID | None = None) -> Campaign:
        """Replace the steps (draft campaigns only)."""
        new_steps = parse_steps(steps, self.scope.ids)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            campaign = _campaign(uow, campaign_id)
            campaign.replace_steps(new_steps, now)
            self._check_templates(uow, campaign)
            uow.campaigns.update(campaign)
            self.scope.record(uow, CampaignChanged(aggregate_id=campaign.id, what="steps"))
            uow.commit()
        return campaign

    def activate(self, principal: Principal, campaign_id: uuid.UUID, *,
                 tenant_id: uuid.UUID | None = None) -> Campaign:
        """Start sending: every enrolled lead is due (at its first step's time)."""
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            campaign = _campaign(uow, campaign_id)
            campaign.activate(now)
            self._check_templates(uow, campaign)
            self._check_channels(campaign)
            self._check_voice(uow, campaign)
            uow.campaigns.update(campaign)
            uow.enrollments.unpark(campaign.id, now)
            self.scope.record(uow, CampaignStatusChanged(aggregate_id=campaign.id,
                                                         status=campaign.status))
            uow.commit()
        return campaign

    def pause(self, principal: Principal, campaign_id: uuid.UUID, *,
              tenant_id: uuid.UUID | None = None) -> Campaign:
        """Stop claiming: every enrollment keeps its step and when it was due."""
        return self._move(principal, campaign_id, tenant_id, Campaign.pause, park=True)

    def resume(self, principal: Principal, campaign_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> Campaign:
        """Go on where each enrollment was; a sent step is never sent again (the ledger
        is the record, and the enrollment points past it)."""
        return self._move(principal, campaign_id, tenant_id, Campaign.resume, unpark=True)

    def complete(self, principal: Principal, campaign_id: uuid.UUID, *,
                 tenant_id: uuid.UUID | None = None) -> Campaign:
        """End it: nothing more is sent; open enrollments stop ("campaign completed")."""
        return self._move(principal, campaign_id, tenant_id, Campaign.complete,
                          stop="campaign completed")

    def archive(self, principal: Principal, campaign_id: uuid.UUID, *,
                tenant_id: uuid.UUID | None = None) -> Campaign:
        """The end of its life: open enrollments stop ("campaign archived")."""
        return self._move(principal, campaign_id, tenant_id, Campaign.archive,
                          stop="campaign archived")

    def _move(self, principal: Principal, campaign_id: uuid.UUID,
              tenant_id: uuid.UUID | None, move: Any, *, park: bool = False,
              unpark: bool = False, stop: str | None = None) -> Campaign:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            campaign = _campaign(uow, campaign_id)
            before = campaign.status
            move(campaign, now)
            if campaign.status is before:
                return campaign
            uow.campaigns.update(campaign)
            if park:
                uow.enrollments.park(campaign.id, now)
            if unpark:
                uow.enrollments.unpark(campaign.id, now)
            if stop is not None:
                uow.enrollments.stop_open(campaign.id, stop, now)
            self.scope.record(uow, CampaignStatusChanged(aggregate_id=campaign.id,
                                                         status=campaign.status))
            uow.commit()
        return campaign

    # --- enrollment -----------------------------------------------------------------------

    def enroll(self, principal: Principal, campaign_id: uuid.UUID, *,
               lead_ids: Sequence[uuid.UUID] | None = None,
               lead_filter: LeadFilter | None = None, tenant_id: uuid.UUID | None = None
               ) -> EnrollmentReport:
        """Enroll leads by id (another tenant's id is as unknown as a made-up one: 404) or
        by the leads list's filter; a lead already in the campaign is counted, not added."""
        if (lead_ids is None) == (lead_filter is None):
            raise ValidationFailed.single("lead_ids", "give lead_ids or a filter, not both")
        if lead_ids is not None and not 1 <= len(lead_ids) <= MAX_ENROLL_IDS:
            raise ValidationFailed.single("lead_ids", f"must hold 1 to {MAX_ENROLL_IDS} ids")
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            campaign = _campaign(uow, campaign_id)
            if not campaign.accepts_enrollments:
                raise Conflict(f"a {campaign.status} campaign takes no new leads")
            tenant = uow.tenants.get(tenant_of(uow))
            default_zone = tenant.metadata.get("timezone") if tenant is not None else None
            more = False
            leads: list[Lead] = []
            if lead_ids is not None:
                for lead_id in dict.fromkeys(lead_ids):
                    lead = uow.leads.get(lead_id)
                    if lead is None or not lead.is_live:
                        raise NotFound(f"lead {lead_id} not found")
                    leads.append(lead)
            else:
                assert lead_filter is not None
                leads, more = matching_leads(uow.leads, lead_filter, at_most=MAX_ENROLL_FILTER)
            enrollments = []
            for lead in leads:
                enrollment = Enrollment(
                    id=self.scope.ids.new_id(), campaign_id=campaign.id, lead_id=lead.id,
                    status=EnrollmentStatus.QUEUED, step_order=1,
                    timezone=lead_zone(lead, campaign, default_zone if isinstance(
                        default_zone, str) else None), created_at=now, updated_at=now)
                enrollment.advance(campaign, now, to_order=1)
                if enrollment.status.is_open:
                    enrollment.status = EnrollmentStatus.QUEUED
                if campaign.status is not CampaignStatus.ACTIVE:
                    enrollment.park(now)
                enrollments.append(enrollment)
            added = uow.enrollments.add_many(enrollments) if enrollments else 0
            report = EnrollmentReport(enrolled=added, already_enrolled=len(enrollments) - added,
                                      more=more)
            self.scope.record(uow, LeadsEnrolled(aggregate_id=campaign.id, enrolled=added,
                                                 skipped=report.already_enrolled))
            uow.commit()
        return report

    def list_enrollments(self, principal: Principal, campaign_id: uuid.UUID, status: object,
                         page: PageRequest, *, tenant_id: uuid.UUID | None = None
                         ) -> Page[Enrollment]:
        wanted = None if status is None else choice(EnrollmentStatus, status, field="status")
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            _campaign(uow, campaign_id)
            return uow.enrollments.list(campaign_id, wanted, page)

    def enrollment(self, principal: Principal, campaign_id: uuid.UUID,
                   enrollment_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
                   ) -> EnrollmentDetail:
        """An enrollment with its send ledger, oldest first."""
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            enrollment = uow.enrollments.get(enrollment_id)
            if enrollment is None or enrollment.campaign_id != campaign_id:
                raise NotFound("enrollment not found")
            return EnrollmentDetail(enrollment=enrollment,
                                    ledger=uow.activities.for_enrollment(enrollment_id))

    def stop_enrollment(self, principal: Principal, campaign_id: uuid.UUID,
                        enrollment_id: uuid.UUID, *, reason: str = "stopped by a person",
                        tenant_id: uuid.UUID | None = None) -> Enrollment:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RUN)
            enrollment = uow.enrollments.get(enrollment_id, lock=True)
            if enrollment is None or enrollment.campaign_id != campaign_id:
                raise NotFound("enrollment not found")
            if stop_sequence(self.scope, uow, enrollment, reason, now):
                uow.enrollments.update(enrollment)
                uow.commit()
        return enrollment

    def stats(self, principal: Principal, campaign_id: uuid.UUID, *,
              tenant_id: uuid.UUID | None = None
              ) -> tuple[dict[EnrollmentStatus, int], Sequence[StepStats]]:
        """Enrollments by status, and per step and sender: sent, failed, deferred, unknown,
        opened, replied, bounced, accepted."""
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            _campaign(uow, campaign_id)
            return uow.enrollments.counts(campaign_id), uow.activities.stats(campaign_id)

    def simulate(self, principal: Principal, campaign_id: uuid.UUID, *, days: int = 14,
                 tenant_id: uuid.UUID | None = None) -> Timeline:
        """The timeline the engine would follow for the open enrollments over the next
        ``days`` days, given the windows, caps, spacing, warm-up and the wallet, without
        sending or charging anything (see ``campaigns.simulation``)."""
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise ValidationFailed.single("days", f"must be 1 to {MAX_DAYS}")
        now = self.scope.clock.now()
        context = PostingContext(actor=ACTOR, now=now, ids=self.scope.ids)
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            campaign = _campaign(uow, campaign_id)
            enrollments: list[Enrollment] = []
            page = PageRequest(limit=MAX_LIMIT)
            while len(enrollments) < MAX_SIMULATED:
                found = uow.enrollments.list(campaign_id, None, page)
                enrollments += [e for e in found.items if e.status.is_open]
                if found.next_cursor is None:
                    break
                page = PageRequest.parse(limit=MAX_LIMIT, cursor=found.next_cursor)
            senders: list[EmailAccount | LinkedInAccount] = [
                a for a in (uow.email_accounts.get(i) for i in campaign.settings.email_account_ids)
                if a is not None]
            senders += [a for a in (uow.linkedin_accounts.get(i)
                                    for i in campaign.linkedin_account_ids) if a is not None]
            prices: dict[StepType, Decimal] = {}
            for step in campaign.steps:
                if step.type.send_kind is not None and step.type not in prices:
                    try:
                        prices[step.type] = price_of(uow, context, usage_item(step.type))
                    except ValidationFailed:
                        prices[step.type] = Decimal(0)
            wallet = uow.wallets.get_for(None)
            available = wallet.available if wallet is not None else Decimal(0)
            sent_today = uow.activities.sent_since(campaign.id, day_start(now.date()))
        return simulate(campaign, enrollments, senders, prices=prices, available=available,
                        start=now, days=days, sent_today=sent_today)

    # --- checks ---------------------------------------------------------------------------

    @staticmethod
    def _check_senders(uow: CampaignsUnitOfWork, settings: CampaignSettings,
                       linkedin_account_ids: Sequence[uuid.UUID]) -> None:
        for index, account_id in enumerate(settings.email_account_ids):
            if uow.email_accounts.get(account_id) is None:
                raise NotFound(f"settings.email_account_ids[{index}]: no such email account")
        for index, account_id in enumerate(linkedin_account_ids):
            if uow.linkedin_accounts.get(account_id) is None:
                raise NotFound(f"linkedin_account_ids[{index}]: no such LinkedIn account")

    @staticmethod
    def _check_templates(uow: CampaignsUnitOfWork, campaign: Campaign) -> None:
        """A step's template must exist when the step is saved: a send never finds it
        missing because of a typo."""
        errors = []
        for step in campaign.steps:
            channel = step.type.channel
            if step.template_key and channel is not None and \
                    uow.templates.get_by_key(channel, step.template_key) is None:
                errors.append(FieldError(f"steps[{step.order}].config.template_key",
                                         f"no {channel} template {step.template_key!r}"))
        if errors:
            raise ValidationFailed(errors)

    def _check_voice(self, uow: CampaignsUnitOfWork, campaign: Campaign) -> None:
        for step in campaign.steps:
            if step.type is not StepType.VOICE_CALL:
                continue
            reason = ("voice calls are not set up in this installation" if self.voice is None
                      else self.voice.check(uow, step))
            if reason is not None:
                raise ValidationFailed.single(f"steps[{step.order}].config.agent_id", reason)

    @staticmethod
    def _check_channels(campaign: Campaign) -> None:
        channels = {s.type.channel for s in campaign.steps if s.type.sends}
        if Channel.EMAIL in channels and not campaign.settings.email_account_ids:
            raise ValidationFailed.single("settings.email_account_ids",
                                          "email steps need at least one email account")
        if Channel.LINKEDIN in channels and not campaign.linkedin_account_ids:
            raise ValidationFailed.single("linkedin_account_ids",
                                          "LinkedIn steps need at least one LinkedIn account")


def _campaign(uow: CampaignsUnitOfWork, campaign_id: uuid.UUID) -> Campaign:
    found = uow.campaigns.get(campaign_id)
    if found is None:
        raise NotFound("campaign not found")
    return found
