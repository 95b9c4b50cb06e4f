"""Settling sends whose outcome is unknown (a worker died between handing a message over
and recording the answer, or the connection dropped after the message was handed over).
They are never resent blindly: an email is looked up by its Message-ID in its mailbox's
sent folder over IMAP where the mailbox is set up for it; what nothing can settle is listed
for a person to decide (``sent`` or ``not_sent``)."""

from __future__ import annotations

import enum
import uuid
from datetime import timedelta

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.campaigns.events import SendSettled
from lad_domain.campaigns.funding import ACTOR, release_send
from lad_domain.campaigns.model import Activity, ActivityStatus
from lad_domain.campaigns.policy import CampaignPermission
from lad_domain.campaigns.ports import CampaignsUnitOfWork
from lad_domain.campaigns.services.engine import DEFAULT_LEASE, settle_send
from lad_domain.campaigns.services.inbound import imap_login
from lad_domain.outreach.channels import Delivery, MailboxReader, Outcome
from lad_domain.outreach.model import Channel
from lad_domain.outreach.ports import SecretBox
from lad_domain.outreach.services import password_context
from lad_domain.shared.errors import Conflict, NotFound
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import choice

BATCH = 200


class Decision(enum.StrEnum):
    SENT = "sent"
    NOT_SENT = "not_sent"


@attrs.frozen
class Settlement:
    activity_id: uuid.UUID
    enrollment_id: uuid.UUID
    #: "sent (imap)", "not_sent (operator)", "unknown: ..." (left for a person)
    result: str


@attrs.define
class SendReconciliation:
    scope: TenantScope[CampaignsUnitOfWork]
    mailboxes: MailboxReader
    secrets: SecretBox
    lease: timedelta = DEFAULT_LEASE

    def unknown_sends(self, principal: Principal, page: PageRequest, *,
                      tenant_id: uuid.UUID | None = None) -> Page[Activity]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.READ)
            return uow.activities.with_status(ActivityStatus.UNKNOWN, page)

    def reconcile(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                  ) -> list[Settlement]:
        """Mark sends stuck in ``sending`` longer than a claim's lease ``unknown``, then
        settle every unknown email that its mailbox's sent folder can tell about. The
        report lists each unknown send and what became of it."""
        now = self.scope.clock.now()
        report: list[Settlement] = []
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RECONCILE)
            tenant = tenant_of(uow)
            stuck = uow.activities.with_status(ActivityStatus.SENDING,
                                               PageRequest(limit=BATCH)).items
            for activity in stuck:
                if activity.created_at <= now - self.lease:
                    activity.settle(ActivityStatus.UNKNOWN, now, error="still sending after "
                                    "its claim's lease: the worker stopped")
                    uow.activities.update(activity)
                    enrollment = uow.enrollments.get(activity.enrollment_id, lock=True)
                    if enrollment is not None and enrollment.status.is_open:
                        # As the engine does: the step is not claimed again until settled.
                        enrollment.wait_until(None, "a send's outcome is unknown: run "
                                              "`lad campaigns reconcile`", now)
                        uow.enrollments.update(enrollment)
            uow.commit()
        page = PageRequest(limit=BATCH)
        while True:
            with self.scope.read(principal, tenant_id) as uow:
                found = uow.activities.with_status(ActivityStatus.UNKNOWN, page)
                accounts = {a.id: a for a in uow.email_accounts.all_live()}
            for activity in found.items:
                account = accounts.get(activity.sender_id)
                if activity.channel is not Channel.EMAIL or account is None \
                        or not account.reads_mail:
                    report.append(Settlement(activity.id, activity.enrollment_id,
                                             "unknown: no mailbox to look in; decide "
                                             "sent or not_sent"))
                    continue
                sealed = account.imap_password_sealed or account.smtp_password_sealed
                which = "imap" if account.imap_password_sealed else "smtp"
                password = None if sealed is None else self.secrets.open(
                    sealed, context=password_context(tenant, account.id, which))
                try:
                    there = self.mailboxes.find_sent(imap_login(account, password),
                                                     activity.message_key)
                except OSError as error:
                    report.append(Settlement(activity.id, activity.enrollment_id,
                                             f"unknown: the mailbox could not be read "
                                             f"({type(error).__name__}: {error})"))
                    continue
                if there:
                    self._settle(principal, tenant_id, activity.id, Decision.SENT, "imap")
                    report.append(Settlement(activity.id, activity.enrollment_id,
                                             "sent (found in the sent folder)"))
                else:
                    report.append(Settlement(
                        activity.id, activity.enrollment_id,
                        "unknown: not in the sent folder" if there is False else
                        "unknown: the mailbox has no sent folder; decide sent or not_sent"))
            if found.next_cursor is None:
                return report
            page = PageRequest.parse(limit=BATCH, cursor=found.next_cursor)

    def decide(self, principal: Principal, activity_id: uuid.UUID, decision: object, *,
               tenant_id: uuid.UUID | None = None) -> Settlement:
        """A person settles an unknown send: ``sent`` (billed, the sequence goes on) or
        ``not_sent`` (the step is tried again, as a new attempt)."""
        chosen = choice(Decision, decision, field="decision")
        return self._settle(principal, tenant_id, activity_id, chosen, "operator")

    def _settle(self, principal: Principal, tenant_id: uuid.UUID | None,
                activity_id: uuid.UUID, decision: Decision, how: str) -> Settlement:
        context = PostingContext(actor=ACTOR, now=self.scope.clock.now(), ids=self.scope.ids)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, CampaignPermission.RECONCILE)
            activity = uow.activities.get(activity_id, lock=True)
            if activity is None:
                raise NotFound("send not found")
            if activity.status is not ActivityStatus.UNKNOWN:
                raise Conflict(f"this send is {activity.status}, not unknown")
            campaign = uow.campaigns.get(activity.campaign_id)
            step = campaign.step_by_id(activity.step_id) if campaign is not None else None
            if step is None:
                raise NotFound("the send's campaign step no longer exists")
            if decision is Decision.SENT:
                settle_send(self.scope, uow, context, activity.id,
                            Delivery(outcome=Outcome.SENT, reason=f"reconciled ({how})"),
                            step_type=step.type)
            else:
                activity.settle(ActivityStatus.FAILED, context.now, code="not_sent",
                                error=f"not sent (reconciled by {how}); tried again")
                uow.activities.update(activity)
                release_send(uow, context, activity)
                enrollment = uow.enrollments.get(activity.enrollment_id, lock=True)
                if enrollment is not None and enrollment.status.is_open:
                    enrollment.wait_until(context.now, None, context.now)
                    uow.enrollments.update(enrollment)
            self.scope.record(uow, SendSettled(aggregate_id=activity.enrollment_id,
                                               activity_id=activity.id,
                                               sent=decision is Decision.SENT, how=how))
            uow.commit()
        return Settlement(activity.id, activity.enrollment_id, f"{decision} ({how})")
