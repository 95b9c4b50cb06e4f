"""The send engine: what the worker does with each claimed enrollment.

A step runs in three parts, so that nothing is ever sent twice:

1. **Prepare**, in the enrollment's tenant scope, one transaction: check the campaign, the
   lead, suppression, the send window in the lead's zone, the campaign's daily cap, the
   sender's status, cap, warm-up, spacing and cool-down (its row locked, so caps hold
   across workers), and hold the send's price. Then write the send ledger row as
   ``sending``, with the email's Message-ID or the LinkedIn action's client key, and
   commit. Anything that says "not now" makes the enrollment wait until it can.
2. **Send**, outside any transaction: the provider is called once.
3. **Settle**, one transaction: ``sent`` (the usage event posted, the next step
   scheduled), ``deferred`` (a throttle: the sender cools down, the step waits, nothing is
   counted), ``failed`` (permanent; a hard bounce suppresses the address), or ``unknown``
   (it may have gone: the enrollment waits for reconcile).

A worker that dies between 1 and 3 leaves the row in ``sending``; the enrollment's claim
lease ends, the next claim finds that row, marks it ``unknown`` and waits: it is never
resent blindly.
"""

from __future__ import annotations

import enum
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.campaigns.events import EnrollmentStopped, StepFailed, StepSent
from lad_domain.campaigns.funding import ACTOR, bill_send, hold_for_send, release_send, usage_item
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignStatus,
    Claim,
    Enrollment,
    Step,
    StepType,
)
from lad_domain.campaigns.ports import CampaignsUnitOfWork, DueWork, VoiceSteps
from lad_domain.leads.model import Lead
from lad_domain.outreach.channels import (
    Delivery,
    EmailChannel,
    LinkedInChannel,
    MailLogin,
    Outcome,
    OutgoingEmail,
)
from lad_domain.outreach.model import (
    ACCOUNT_RECHECK,
    DEFAULT_COOLDOWN,
    AccountStatus,
    Channel,
    EmailAccount,
    LinkedInAccount,
    SendKind,
    SuppressionReason,
    day_start,
    suppression_address,
)
from lad_domain.outreach.ports import (
    EmailAccountRepository,
    LinkedInAccountRepository,
    SecretBox,
)
from lad_domain.outreach.public_links import PublicLinks
from lad_domain.outreach.rendering import RenderContext, TemplateRenderer
from lad_domain.outreach.services import add_suppression, lead_variables, password_context
from lad_domain.shared.errors import InsufficientFunds, ValidationFailed
from lad_domain.shared.scope import TenantScope

#: How long a claim holds an enrollment: a worker that has not settled by then is
#: presumed dead, and the next claim finds its ``sending`` row.
DEFAULT_LEASE = timedelta(minutes=10)
#: A step that cannot go for a reason someone must fix (no template, no price) is tried
#: again this much later.
RETRY_LATER = timedelta(hours=1)
DO_NOT_CONTACT = "do_not_contact"


class StepResult(enum.StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"
    #: Not now (window, cap, spacing, funds, a paused campaign): due again later.
    WAITING = "waiting"
    #: Stopped or completed without sending (suppressed, replied, the last step done).
    ENDED = "ended"
    #: Nothing to do: the claim was lost to another worker, or the enrollment is gone.
    SKIPPED = "skipped"


@attrs.frozen
class _Send:
    """What prepare decided: the ledger row written, and the message to hand over."""

    activity: Activity
    step: Step
    login: MailLogin | None = None
    email: OutgoingEmail | None = None
    linkedin_account: str | None = None
    profile: str | None = None
    text: str | None = None
    chat_id: str | None = None


@attrs.frozen
class _Ready:
    """What prepare's checks read, handed on to composing the send (read once)."""

    campaign: Campaign
    step: Step
    lead: Lead
    previous: Sequence[Activity]


def linkedin_profile(lead: Lead, social: dict[str, object] | None) -> str | None:
    """The lead's LinkedIn profile: its social profile's ``linkedin``/``linkedin_url``, else
    the custom field ``linkedin_url``."""
    for source in (social or {}, lead.custom_fields):
        for name in ("linkedin_url", "linkedin"):
            value = source.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


@attrs.define
class SendEngine:
    scope: TenantScope[CampaignsUnitOfWork]
    due: DueWork
    email: EmailChannel
    linkedin: LinkedInChannel
    renderer: TemplateRenderer
    secrets: SecretBox
    links: PublicLinks
    lease: timedelta = DEFAULT_LEASE
    rng: random.Random = attrs.field(factory=random.Random)
    #: Where voice_call steps go (None: they wait, saying voice is not set up).
    voice: VoiceSteps | None = None

    def claim(self, limit: int, *, token: uuid.UUID | None = None) -> Sequence[Claim]:
        return self.due.claim(self.scope.clock.now(), limit=limit, lease=self.lease,
                              token=token or self.scope.ids.new_id())

    def run_due(self, limit: int = 100) -> dict[StepResult, int]:
        """Claim up to ``limit`` due enrollments and run each (``lad worker --once``)."""
        counts: dict[StepResult, int] = {}
        for claim in self.claim(limit):
            result = self.run(claim)
            counts[result] = counts.get(result, 0) + 1
        return counts

    def run(self, claim: Claim) -> StepResult:
        prepared = self._prepare(claim)
        if isinstance(prepared, StepResult):
            return prepared
        delivery = self._deliver(prepared)
        return self._settle(claim, prepared, delivery)

    # --- 1. prepare -----------------------------------------------------------------------

    def _context(self) -> PostingContext:
        return PostingContext(actor=ACTOR, now=self.scope.clock.now(), ids=self.scope.ids)

    def _prepare(self, claim: Claim) -> _Send | StepResult:
        context = self._context()
        now = context.now
        with self.scope.uow(claim.tenant_id) as uow:
            # Locks in one order everywhere: the campaign (only when its daily cap is
            # counted), the enrollment, the sender; pausing a campaign locks it, then its
            # enrollments.
            glance = uow.enrollments.get(claim.enrollment_id)
            if glance is None or glance.claim_token != claim.token:
                return StepResult.SKIPPED
            capped = uow.campaigns.get(glance.campaign_id)
            if capped is not None and capped.settings.daily_cap is not None:
                uow.campaigns.get(glance.campaign_id, lock=True)
            enrollment = uow.enrollments.get(claim.enrollment_id, lock=True)
            if enrollment is None or enrollment.claim_token != claim.token:
                return StepResult.SKIPPED
            ready = self._hold_back(uow, enrollment, context)
            if isinstance(ready, StepResult):
                uow.enrollments.update(enrollment)
                uow.commit()
                return ready
            send = self._compose(uow, enrollment, context, ready)
            if isinstance(send, StepResult):
                uow.enrollments.update(enrollment)
                uow.commit()
                return send
            uow.activities.add(send.activity)
            enrollment.last_error = None
            enrollment.updated_at = now
            uow.enrollments.update(enrollment)
            uow.commit()
        return send

    def _hold_back(self, uow: CampaignsUnitOfWork, enrollment: Enrollment,
                   context: PostingContext) -> StepResult | _Ready:
        """Why the enrollment's step does not go now, having made it wait or end; or what
        was read on the way, when it may go."""
        now = context.now
        if not enrollment.status.is_open:
            enrollment.next_run_at = enrollment.claim_token = None
            return StepResult.SKIPPED
        tenant = uow.tenants.get(claim_tenant(uow))
        if tenant is None or not tenant.is_live:
            enrollment.wait_until(now + timedelta(days=1), "the tenant is not active", now)
            return StepResult.WAITING
        campaign = uow.campaigns.get(enrollment.campaign_id)
        if campaign is None or campaign.status in (CampaignStatus.COMPLETED,
                                                    CampaignStatus.ARCHIVED):
            enrollment.stop("campaign ended", now)
            return StepResult.ENDED
        if campaign.status is not CampaignStatus.ACTIVE:
            enrollment.park(now)
            return StepResult.WAITING
        previous = uow.activities.for_enrollment(enrollment.id)
        in_flight = [a for a in previous if a.status is ActivityStatus.SENDING]
        for lost in in_flight:
            # A worker died between writing this row and settling it: it may have sent.
            lost.settle(ActivityStatus.UNKNOWN, now, error="the worker sending it stopped "
                        "before it recorded the outcome")
            uow.activities.update(lost)
        if in_flight:
            enrollment.wait_until(None, "a send's outcome is unknown: run "
                                  "`lad campaigns reconcile`", now)
            return StepResult.UNKNOWN
        step = campaign.step(enrollment.step_order)
        if step is None or not step.type.sends:
            enrollment.advance(campaign, now, to_order=enrollment.step_order)
            return StepResult.ENDED if not enrollment.status.is_open else StepResult.WAITING
        lead = uow.leads.get(enrollment.lead_id)
        if lead is None or not lead.is_live:
            self._stop(uow, enrollment, "the lead was deleted")
            return StepResult.ENDED
        if lead.status == DO_NOT_CONTACT:
            self._stop(uow, enrollment, "suppressed: the lead is do_not_contact")
            return StepResult.ENDED
        window = campaign.settings.send_window
        opening = window.next_opening(now, enrollment.timezone)
        if opening > now:
            enrollment.wait_until(opening, None, now)
            return StepResult.WAITING
        cap = campaign.settings.daily_cap
        if cap is not None and uow.activities.sent_since(campaign.id,
                                                         day_start(now.date())) >= cap:
            tomorrow = day_start(now.date() + timedelta(days=1))
            enrollment.wait_until(window.next_opening(tomorrow, enrollment.timezone),
                                  "the campaign's daily cap is reached", now)
            return StepResult.WAITING
        return _Ready(campaign=campaign, step=step, lead=lead, previous=previous)

    def _compose(self, uow: CampaignsUnitOfWork, enrollment: Enrollment,
                 context: PostingContext, ready_: _Ready) -> _Send | StepResult:
        now = context.now
        campaign, step, lead, previous = (ready_.campaign, ready_.step, ready_.lead,
                                          ready_.previous)
        if step.type is StepType.VOICE_CALL:
            return self._queue_call(uow, enrollment, ready_, now)
        channel, kind = step.type.channel, step.type.send_kind
        assert channel is not None and kind is not None
        # The address first: a suppressed one stops the sequence whatever the sender.
        if channel is Channel.EMAIL:
            address = lead.email
            if not address:
                return self._fail(enrollment, "the lead has no email address")
        else:
            social = uow.lead_social.get(lead.id)
            address = linkedin_profile(lead, social.data if social else None)
            if not address:
                return self._fail(enrollment, "the lead has no LinkedIn profile "
                                  "(social linkedin_url or custom field linkedin_url)")
        suppressed = uow.suppressions.find(channel, suppression_address(channel, address))
        if suppressed is not None:
            self._stop(uow, enrollment, f"suppressed: {suppressed.reason}")
            return StepResult.ENDED
        sender = self._sender(uow, campaign, enrollment, channel)
        if sender is None:
            enrollment.wait_until(now + ACCOUNT_RECHECK, f"no {channel} account to send "
                                  "from: add one to the campaign", now)
            return StepResult.WAITING
        if sender.status is not AccountStatus.ACTIVE:
            enrollment.wait_until(now + ACCOUNT_RECHECK, f"the sending account is "
                                  f"{sender.status}", now)
            return StepResult.WAITING
        ready = sender.pacing.ready_at(kind, now)
        if ready > now:
            # Straight to when both the sender and the lead's window allow it.
            window = campaign.settings.send_window
            enrollment.wait_until(window.next_opening(ready, enrollment.timezone), None, now)
            return StepResult.WAITING
        template = (uow.templates.get_by_key(channel, step.template_key)
                    if step.template_key else None)
        if step.template_key and template is None:
            enrollment.wait_until(now + RETRY_LATER, f"the {channel} template "
                                  f"{step.template_key!r} does not exist", now)
            return StepResult.WAITING
        attempt = 1 + sum(1 for a in previous if a.step_id == step.id)
        activity_id = self.scope.ids.new_id()
        try:
            reservation = hold_for_send(uow, context, activity_id, usage_item(step.type))
        except InsufficientFunds:
            enrollment.wait_until(now + RETRY_LATER, "insufficient funds: the wallet "
                                  "cannot pay for the send", now)
            return StepResult.WAITING
        except ValidationFailed as refused:
            enrollment.wait_until(now + RETRY_LATER, refused.message, now)
            return StepResult.WAITING
        tenant_id = claim_tenant(uow)
        unsubscribe = self.links.unsubscribe_url(
            tenant_id=tenant_id, enrollment_id=enrollment.id, lead_id=lead.id,
            channel=channel, address=address, at=now)
        sender_fields = ({"name": sender.display_name or "", "email": sender.email}
                         if isinstance(sender, EmailAccount) else
                         {"name": sender.display_name or "", "email": ""})
        rendered = None
        if template is not None:
            rendered = self.renderer.render(
                subject=template.subject, body=template.body,
                context=RenderContext(lead=lead_variables(lead), sender=sender_fields,
                                      unsubscribe_url=unsubscribe),
                html=channel is Channel.EMAIL)
        if isinstance(sender, EmailAccount):
            message_key = f"<{activity_id}@{sender.domain}>"
        else:
            message_key = f"lad-{activity_id}"
        activity = Activity(id=activity_id, enrollment_id=enrollment.id,
                            campaign_id=campaign.id, lead_id=lead.id, step_id=step.id,
                            step_order=step.order, attempt=attempt,
                            status=ActivityStatus.SENDING, channel=channel,
                            sender_id=sender.id, message_key=message_key,
                            recipient=suppression_address(channel, address), created_at=now,
                            updated_at=now, reservation_id=reservation)
        sender.pacing.count(kind, now, self.rng)
        enrollment.sender_id = sender.id
        if isinstance(sender, EmailAccount):
            uow.email_accounts.update(sender)
            assert rendered is not None
            thread = [a.message_key for a in previous if a.channel is Channel.EMAIL
                      and a.status is ActivityStatus.SENT and a.sender_id == sender.id]
            if step.config.get("new_thread"):
                thread = []
            opened = self.links.open_url(tenant_id=tenant_id, enrollment_id=enrollment.id,
                                         lead_id=lead.id, address=address, at=now)
            html = None if rendered.html is None else (
                f'{rendered.html}<img src="{opened}" width="1" height="1" alt="">')
            mailbox_from = sender.email
            email = OutgoingEmail(
                message_id=message_key, from_address=mailbox_from, to_address=address,
                subject=rendered.subject or "", text=rendered.text, html=html,
                from_name=sender.display_name, in_reply_to=thread[-1] if thread else None,
                references=tuple(thread),
                headers={"List-Unsubscribe": f"<{unsubscribe}>, "
                                             f"<mailto:{mailbox_from}?subject=unsubscribe>",
                         "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
            try:
                password = self._password(tenant_id, sender)
            except ValueError as unreadable:
                # The secret box's keys no longer open it (LAD_SECRET_KEYS changed): a
                # person must set the password again; nothing was sent or held for long.
                release_send(uow, context, activity)
                sender.pacing.uncount(kind, now)
                sender.status, sender.last_error = AccountStatus.ERROR, str(unreadable)
                uow.email_accounts.update(sender)
                enrollment.wait_until(now + ACCOUNT_RECHECK, "the mailbox's password "
                                      "cannot be opened: set it again", now)
                return StepResult.WAITING
            login = MailLogin(host=sender.smtp_host, port=sender.smtp_port,
                              security=sender.smtp_security, username=sender.smtp_username,
                              password=password)
            return _Send(activity=activity, step=step, login=login, email=email)
        uow.linkedin_accounts.update(sender)
        return _Send(activity=activity, step=step, linkedin_account=sender.unipile_account_id,
                     profile=address, text=rendered.text if rendered else None,
                     chat_id=enrollment.chat_id)

    def _queue_call(self, uow: CampaignsUnitOfWork, enrollment: Enrollment, ready: _Ready,
                    now: datetime) -> StepResult:
        """A voice_call step: the call is queued in the voice context, in this transaction,
        and the ledger row records it as sent (its batch entry as the key); the call's own
        checks, money and outcome are the voice context's. The sequence goes on."""
        if self.voice is None:
            enrollment.wait_until(now + RETRY_LATER, "voice calls are not set up in this "
                                  "installation", now)
            return StepResult.WAITING
        queued = self.voice.queue(uow, campaign=ready.campaign, step=ready.step,
                                  lead=ready.lead, at=now)
        if isinstance(queued, str):
            return self._fail(enrollment, f"step {ready.step.order}: {queued}")
        attempt = 1 + sum(1 for a in ready.previous if a.step_id == ready.step.id)
        activity = Activity(id=self.scope.ids.new_id(), enrollment_id=enrollment.id,
                            campaign_id=ready.campaign.id, lead_id=ready.lead.id,
                            step_id=ready.step.id, step_order=ready.step.order,
                            attempt=attempt, status=ActivityStatus.SENT,
                            channel=Channel.VOICE, sender_id=queued.batch_id,
                            message_key=f"voice-entry:{queued.entry_id}",
                            recipient=queued.recipient, created_at=now, updated_at=now,
                            provider_id=str(queued.entry_id), completed_at=now)
        uow.activities.add(activity)
        enrollment.last_error = None
        enrollment.advance(ready.campaign, now, to_order=ready.step.order + 1)
        self.scope.record(uow, StepSent(aggregate_id=enrollment.id,
                                        campaign_id=ready.campaign.id, activity_id=activity.id,
                                        step_order=ready.step.order, channel=Channel.VOICE))
        return StepResult.SENT

    def _sender(self, uow: CampaignsUnitOfWork, campaign: Campaign, enrollment: Enrollment,
                channel: Channel) -> EmailAccount | LinkedInAccount | None:
        """The account the enrollment sends from, locked: the one it started with, else
        the campaign's account that is ready first (the least used of those)."""
        accounts: EmailAccountRepository | LinkedInAccountRepository
        if channel is Channel.EMAIL:
            accounts, ids = uow.email_accounts, campaign.settings.email_account_ids
        else:
            accounts, ids = uow.linkedin_accounts, campaign.linkedin_account_ids
        if enrollment.sender_id is not None and enrollment.sender_id in ids:
            return accounts.get(enrollment.sender_id, lock=True)
        found = [a for a in (accounts.get(i) for i in ids) if a is not None]
        active = [a for a in found if a.status is AccountStatus.ACTIVE] or found
        if not active:
            return None
        now = self.scope.clock.now()
        chosen = min(active, key=lambda a: (self._ready(a, now), self._load(a, now),
                                             str(a.id)))
        return accounts.get(chosen.id, lock=True)

    @staticmethod
    def _ready(account: EmailAccount | LinkedInAccount, now: datetime) -> datetime:
        kinds = [SendKind(k) for k in account.pacing.caps]
        return min((account.pacing.ready_at(k, now) for k in kinds), default=now)

    @staticmethod
    def _load(account: EmailAccount | LinkedInAccount, now: datetime) -> float:
        """How much of today's caps the account has used: new sequences go to the least
        used of the accounts ready now, so a campaign's mailboxes share its sends."""
        pacing, day = account.pacing, now.date()
        shares = [pacing.sent(SendKind(k), day) / max(1, pacing.cap(SendKind(k), day))
                  for k in pacing.caps]
        return max(shares, default=0.0)

    def _password(self, tenant_id: uuid.UUID, account: EmailAccount) -> str | None:
        if account.smtp_password_sealed is None:
            return None
        return self.secrets.open(account.smtp_password_sealed,
                                 context=password_context(tenant_id, account.id, "smtp"))

    def _stop(self, uow: CampaignsUnitOfWork, enrollment: Enrollment, reason: str) -> None:
        stop_sequence(self.scope, uow, enrollment, reason, self.scope.clock.now())

    def _fail(self, enrollment: Enrollment, reason: str) -> StepResult:
        enrollment.fail(reason, self.scope.clock.now())
        return StepResult.FAILED

    # --- 2. send --------------------------------------------------------------------------

    def _deliver(self, send: _Send) -> Delivery:
        try:
            if send.email is not None and send.login is not None:
                return self.email.send(send.login, send.email)
            assert send.linkedin_account is not None and send.profile is not None
            if send.step.type is StepType.LINKEDIN_INVITE:
                return self.linkedin.invite(send.linkedin_account, send.profile, send.text,
                                            client_key=send.activity.message_key)
            return self.linkedin.message(send.linkedin_account, send.profile, send.text or "",
                                         chat_id=send.chat_id,
                                         client_key=send.activity.message_key)
        except Exception as error:
            # The channel raised instead of answering: whether it sent is not known.
            return Delivery(outcome=Outcome.UNKNOWN, reason=f"{type(error).__name__}: "
                            f"{str(error)[:300]}")

    # --- 3. settle ------------------------------------------------------------------------

    def _settle(self, claim: Claim, send: _Send, delivery: Delivery) -> StepResult:
        context = self._context()
        with self.scope.uow(claim.tenant_id) as uow:
            result = settle_send(self.scope, uow, context, send.activity.id, delivery,
                                 step_type=send.step.type)
            uow.commit()
        return result


def claim_tenant(uow: CampaignsUnitOfWork) -> uuid.UUID:
    assert uow.tenant_id is not None
    return uow.tenant_id


def stop_sequence(scope: TenantScope[CampaignsUnitOfWork], uow: CampaignsUnitOfWork,
                  enrollment: Enrollment, reason: str, at: datetime) -> bool:
    """Stop an enrollment for good, recording why; False when it had already ended."""
    if not enrollment.stop(reason, at):
        return False
    scope.record(uow, EnrollmentStopped(aggregate_id=enrollment.id,
                                        campaign_id=enrollment.campaign_id, reason=reason))
    return True


def settle_send(scope: TenantScope[CampaignsUnitOfWork], uow: CampaignsUnitOfWork,
                context: PostingContext, activity_id: uuid.UUID, delivery: Delivery, *,
                step_type: StepType) -> StepResult:
    """Record a send's outcome in the caller's transaction: the ledger row, the money, the
    sender's pace and the enrollment's next step. Also how reconcile settles an unknown
    send (``delivery`` SENT or FAILED)."""
    now = context.now
    activity = uow.activities.get(activity_id, lock=True)
    assert activity is not None
    enrollment = uow.enrollments.get(activity.enrollment_id, lock=True)
    campaign = uow.campaigns.get(activity.campaign_id)
    assert enrollment is not None
    item = usage_item(step_type)
    sender: EmailAccount | LinkedInAccount | None = (
        uow.email_accounts.get(activity.sender_id, lock=True)
        if activity.channel is Channel.EMAIL
        else uow.linkedin_accounts.get(activity.sender_id, lock=True))
    kind = step_type.send_kind
    if delivery.outcome is Outcome.SENT:
        activity.settle(ActivityStatus.SENT, now, provider_id=delivery.provider_id,
                        code=delivery.code)
        uow.activities.update(activity)
        bill_send(uow, context, activity, item)
        if delivery.chat_id:
            enrollment.chat_id = delivery.chat_id
        enrollment.last_error = None
        if enrollment.status.is_open and campaign is not None:
            enrollment.advance(campaign, now, to_order=activity.step_order + 1)
            if campaign.status is CampaignStatus.PAUSED:
                enrollment.park(now)
        uow.enrollments.update(enrollment)
        scope.record(uow, StepSent(aggregate_id=enrollment.id, campaign_id=activity.campaign_id,
                                   activity_id=activity.id, step_order=activity.step_order,
                                   channel=activity.channel))
        return StepResult.SENT
    if delivery.outcome is Outcome.UNKNOWN:
        activity.settle(ActivityStatus.UNKNOWN, now, code=delivery.code, error=delivery.reason)
        uow.activities.update(activity)
        if enrollment.status.is_open:
            enrollment.wait_until(None, "a send's outcome is unknown: run "
                                  "`lad campaigns reconcile`", now)
            uow.enrollments.update(enrollment)
        return StepResult.UNKNOWN
    # Deferred or failed: it did not go. The hold goes back, the sender's place too.
    status = (ActivityStatus.DEFERRED if delivery.outcome is Outcome.DEFERRED
              else ActivityStatus.FAILED)
    activity.settle(status, now, code=delivery.code, error=delivery.reason)
    release_send(uow, context, activity)
    if sender is not None and kind is not None:
        sender.pacing.uncount(kind, activity.created_at)
    if delivery.outcome is Outcome.DEFERRED:
        until = now + (delivery.retry_after or DEFAULT_COOLDOWN)
        if sender is not None:
            sender.pacing.cool_down(until)
            if delivery.code == "auth":
                sender.status, sender.last_error = AccountStatus.ERROR, delivery.reason
            elif delivery.code == "disconnected":
                sender.status = AccountStatus.DISCONNECTED
                sender.last_error = delivery.reason
        if enrollment.status.is_open:
            enrollment.wait_until(until, f"deferred by the provider"
                                  f"{f' ({delivery.code})' if delivery.code else ''}: "
                                  f"{delivery.reason or 'try later'}", now)
        result = StepResult.DEFERRED
    else:
        if delivery.hard_bounce:
            activity.bounced_at = enrollment.bounced_at = now
            add_suppression(scope, uow, activity.channel, activity.recipient,
                            SuppressionReason.BOUNCED, source="smtp", lead_id=activity.lead_id)
            stop_sequence(scope, uow, enrollment,
                          f"bounced: {delivery.reason or delivery.code}", now)
        elif enrollment.status.is_open:
            enrollment.fail(f"step {activity.step_order} failed: "
                            f"{delivery.reason or delivery.code}", now)
        scope.record(uow, StepFailed(aggregate_id=enrollment.id,
                                     campaign_id=activity.campaign_id,
                                     activity_id=activity.id,
                                     reason=delivery.reason or delivery.code or "failed"))
        result = StepResult.FAILED
    uow.activities.update(activity)
    uow.enrollments.update(enrollment)
    if isinstance(sender, EmailAccount):
        uow.email_accounts.update(sender)
    elif sender is not None:
        uow.linkedin_accounts.update(sender)
    return result
