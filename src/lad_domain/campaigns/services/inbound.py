"""What comes back: replies and bounces read from each mailbox over IMAP, Unipile's
webhooks (a message received, an invitation accepted, an account disconnected), the
one-click unsubscribe and the open pixel. Each is applied in its tenant's scope; a reply
on any channel stops the lead's sequences when their campaign says so."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from lad_domain.billing.ports import PostingContext
from lad_domain.campaigns.events import ReplyReceived, SendSettled
from lad_domain.campaigns.funding import ACTOR
from lad_domain.campaigns.model import Activity, ActivityStatus, Enrollment
from lad_domain.campaigns.ports import CampaignsUnitOfWork
from lad_domain.campaigns.services.engine import settle_send, stop_sequence
from lad_domain.outreach.channels import (
    Delivery,
    InboundKind,
    InboundMail,
    LinkedInEvent,
    LinkedInEventKind,
    MailboxReader,
    MailLogin,
    Outcome,
)
from lad_domain.outreach.events import AccountStatusChanged
from lad_domain.outreach.links import LinkSeal, SignedLink
from lad_domain.outreach.model import (
    AccountStatus,
    Channel,
    EmailAccount,
    SuppressionReason,
    suppression_address,
)
from lad_domain.outreach.ports import LinkedInAccountTenants, SecretBox
from lad_domain.outreach.services import add_suppression, password_context
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.scope import TenantScope


@attrs.frozen
class MailboxPoll:
    """What one mailbox's poll found."""

    account_id: uuid.UUID
    messages: int
    replies: int
    auto_replies: int
    bounces: int
    error: str | None = None


@attrs.frozen
class WebhookOutcome:
    #: "applied", "duplicate" (seen before: no second effect), "ignored" (not ours)
    result: str
    detail: str | None = None


def imap_login(account: EmailAccount, password: str | None) -> MailLogin:
    assert account.imap_host is not None and account.imap_port is not None
    return MailLogin(host=account.imap_host, port=account.imap_port,
                     security=account.imap_security,
                     username=account.imap_username or account.smtp_username or account.email,
                     password=password)


@attrs.define
class InboundService:
    scope: TenantScope[CampaignsUnitOfWork]
    mailboxes: MailboxReader
    secrets: SecretBox
    links: LinkSeal
    linkedin_tenants: LinkedInAccountTenants

    # --- email ----------------------------------------------------------------------------

    def poll_mailboxes(self, tenant_id: uuid.UUID) -> list[MailboxPoll]:
        """Read every mailbox of the tenant that has IMAP set up, from where the last poll
        stopped, and apply what it finds. A mailbox that cannot be read says why; the
        others go on."""
        with self.scope.uow(tenant_id) as uow:
            accounts = [a for a in uow.email_accounts.all_live() if a.reads_mail]
        return [self._poll(tenant_id, account) for account in accounts]

    def _poll(self, tenant_id: uuid.UUID, account: EmailAccount) -> MailboxPoll:
        password = None
        if account.imap_password_sealed or account.smtp_password_sealed:
            which = "imap" if account.imap_password_sealed else "smtp"
            sealed = account.imap_password_sealed or account.smtp_password_sealed
            assert sealed is not None
            password = self.secrets.open(sealed, context=password_context(
                tenant_id, account.id, which))
        try:
            batch = self.mailboxes.fetch(imap_login(account, password),
                                         after_uid=account.imap_last_uid,
                                         uid_validity=account.imap_uid_validity)
        except OSError as error:
            return MailboxPoll(account.id, 0, 0, 0, 0, error=f"{type(error).__name__}: {error}")
        counts = {kind: 0 for kind in InboundKind}
        with self.scope.uow(tenant_id) as uow:
            # The mailbox's row first: another worker that read the same messages and got
            # here first has moved its UID on, and this batch is theirs.
            fresh = uow.email_accounts.get(account.id, lock=True)
            if fresh is None or (fresh.imap_last_uid, fresh.imap_uid_validity) != (
                    account.imap_last_uid, account.imap_uid_validity):
                return MailboxPoll(account.id, 0, 0, 0, 0)
            for mail in batch.messages:
                counts[mail.kind] += 1
                self.apply_mail(uow, mail)
            fresh.imap_last_uid, fresh.imap_uid_validity = batch.last_uid, batch.uid_validity
            uow.email_accounts.update(fresh)
            uow.commit()
        return MailboxPoll(account.id, len(batch.messages), counts[InboundKind.REPLY],
                           counts[InboundKind.AUTO_REPLY],
                           counts[InboundKind.HARD_BOUNCE] + counts[InboundKind.SOFT_BOUNCE])

    def apply_mail(self, uow: CampaignsUnitOfWork, mail: InboundMail) -> None:
        """A reply stops (per campaign setting); a hard bounce suppresses the address and
        stops; a soft bounce and an auto-reply are recorded on nothing but the counts."""
        if mail.kind not in (InboundKind.REPLY, InboundKind.HARD_BOUNCE):
            return
        sends = [a for a in uow.activities.by_message_key(mail.refers_to)
                 if a.status in (ActivityStatus.SENT, ActivityStatus.UNKNOWN)]
        if not sends:
            return
        activity = sends[-1]
        at = mail.received_at or self.scope.clock.now()
        if activity.status is ActivityStatus.UNKNOWN:
            # An answer to it (a reply, a bounce) is proof it went: settled as sent,
            # billed, and its sequence goes on (or stops, as the answer says).
            self._settle_as_sent(uow, activity)
            refreshed = uow.activities.get(activity.id)
            assert refreshed is not None
            activity = refreshed
        if mail.kind is InboundKind.REPLY:
            self._replied(uow, activity, at)
            return
        address = mail.failed_recipient or activity.recipient
        activity.bounced_at = activity.bounced_at or at
        uow.activities.update(activity)
        add_suppression(self.scope, uow, Channel.EMAIL, address, SuppressionReason.BOUNCED,
                        source="dsn", lead_id=activity.lead_id)
        enrollment = uow.enrollments.get(activity.enrollment_id, lock=True)
        campaign = uow.campaigns.get(activity.campaign_id)
        if enrollment is not None:
            enrollment.bounced_at = enrollment.bounced_at or at
            if campaign is None or campaign.settings.stop_on_bounce:
                self._stop(uow, enrollment, f"bounced ({mail.status or 'hard'})")
            uow.enrollments.update(enrollment)

    def _settle_as_sent(self, uow: CampaignsUnitOfWork, activity: Activity) -> None:
        campaign = uow.campaigns.get(activity.campaign_id)
        step = campaign.step_by_id(activity.step_id) if campaign is not None else None
        if step is None:
            return
        context = PostingContext(actor=ACTOR, now=self.scope.clock.now(), ids=self.scope.ids)
        settle_send(self.scope, uow, context, activity.id,
                    Delivery(outcome=Outcome.SENT, reason="answered: it was sent"),
                    step_type=step.type)
        self.scope.record(uow, SendSettled(aggregate_id=activity.enrollment_id,
                                           activity_id=activity.id, sent=True,
                                           how="an answer to it"))

    def _replied(self, uow: CampaignsUnitOfWork, activity: Activity, at: datetime) -> None:
        if activity.replied_at is None:
            activity.replied_at = at
            uow.activities.update(activity)
        # A reply on any channel stops every open sequence of the lead whose campaign
        # stops on reply; the enrollment it answered records it in any case.
        for enrollment in uow.enrollments.open_for_lead(activity.lead_id):
            campaign = uow.campaigns.get(enrollment.campaign_id)
            if enrollment.id == activity.enrollment_id:
                enrollment.replied_at = enrollment.replied_at or at
                self.scope.record(uow, ReplyReceived(aggregate_id=enrollment.id,
                                                     campaign_id=enrollment.campaign_id,
                                                     channel=activity.channel))
            if campaign is None or campaign.settings.stop_on_reply:
                self._stop(uow, enrollment, f"replied ({activity.channel})")
            uow.enrollments.update(enrollment)
        answered = uow.enrollments.get(activity.enrollment_id, lock=True)
        if answered is not None and answered.replied_at is None:
            answered.replied_at = at
            uow.enrollments.update(answered)

    def _stop(self, uow: CampaignsUnitOfWork, enrollment: Enrollment, reason: str) -> None:
        stop_sequence(self.scope, uow, enrollment, reason, self.scope.clock.now())

    # --- LinkedIn (Unipile webhooks) ------------------------------------------------------

    def apply_linkedin(self, event: LinkedInEvent, raw: bytes) -> WebhookOutcome:
        """Apply a verified Unipile event once: a replayed delivery has no second effect,
        and events apply in any order (a late acceptance still counts)."""
        tenant_id = self.linkedin_tenants.tenant_of(event.account_id)
        if tenant_id is None:
            return WebhookOutcome("ignored", "no tenant has this account")
        now = self.scope.clock.now()
        at = event.occurred_at or now
        with self.scope.uow(tenant_id) as uow:
            if not uow.webhook_receipts.record("unipile", f"{event.kind}:{event.event_id}",
                                               raw, now):
                return WebhookOutcome("duplicate")
            account = uow.linkedin_accounts.get_by_unipile(event.account_id)
            if account is None:
                uow.commit()
                return WebhookOutcome("ignored", "the account was removed")
            if event.kind is LinkedInEventKind.ACCOUNT_DISCONNECTED:
                if account.status is not AccountStatus.DISCONNECTED:
                    account.status = AccountStatus.DISCONNECTED
                    account.last_error = "Unipile reports the account disconnected"
                    account.updated_at = now
                    uow.linkedin_accounts.update(account)
                    self.scope.record(uow, AccountStatusChanged(
                        aggregate_id=account.id, status=AccountStatus.DISCONNECTED,
                        reason="unipile webhook"))
                uow.commit()
                return WebhookOutcome("applied", "account disconnected: its sends wait")
            activity = self._linkedin_send(uow, account.id, event)
            if activity is None:
                uow.commit()
                return WebhookOutcome("ignored", "no send of ours to this person")
            if event.kind is LinkedInEventKind.NEW_RELATION:
                if activity.accepted_at is None:
                    activity.accepted_at = at
                    uow.activities.update(activity)
                enrollment = uow.enrollments.get(activity.enrollment_id, lock=True)
                if enrollment is not None and enrollment.accepted_at is None:
                    enrollment.accepted_at = at
                    uow.enrollments.update(enrollment)
            else:
                self._replied(uow, activity, at)
            uow.commit()
        return WebhookOutcome("applied", str(event.kind))

    @staticmethod
    def _linkedin_send(uow: CampaignsUnitOfWork, account_id: uuid.UUID,
                       event: LinkedInEvent) -> Activity | None:
        for person in (event.person_public_id, event.person_provider_id):
            if person:
                found = uow.activities.latest_to(
                    account_id, suppression_address(Channel.LINKEDIN, person))
                if found is not None:
                    return found
        return None

    # --- public links ---------------------------------------------------------------------

    def read_link(self, token: str, purpose: str) -> SignedLink:
        link = self.links.open(token)
        if link.purpose != purpose:
            raise ValidationFailed.single("token", f"is not an {purpose} link")
        return link

    def unsubscribe(self, token: str) -> bool:
        """One-click unsubscribe (RFC 8058): suppress the address on the link's channel and
        stop the lead's open sequences. Idempotent; True when it was new."""
        link = self.read_link(token, "unsubscribe")
        channel = Channel(link.channel)
        with self.scope.uow(link.tenant_id) as uow:
            address = link.address or ""
            if not address:
                lead = uow.leads.get(link.lead_id)
                address = (lead.email or "") if lead is not None else ""
            if not address:
                raise ValidationFailed.single("token", "names no address")
            _, added = add_suppression(self.scope, uow, channel, address,
                                       SuppressionReason.UNSUBSCRIBED, source="one-click",
                                       lead_id=link.lead_id)
            for enrollment in uow.enrollments.open_for_lead(link.lead_id):
                self._stop(uow, enrollment, "unsubscribed")
                uow.enrollments.update(enrollment)
            uow.commit()
        return added

    def opened(self, token: str) -> None:
        """The open pixel: the first open of the enrollment's latest email is recorded."""
        link = self.read_link(token, "open")
        if link.enrollment_id is None:
            return
        now = self.scope.clock.now()
        with self.scope.uow(link.tenant_id) as uow:
            enrollment = uow.enrollments.get(link.enrollment_id, lock=True)
            if enrollment is None:
                return
            sent = [a for a in uow.activities.for_enrollment(enrollment.id)
                    if a.channel is Channel.EMAIL and a.status is ActivityStatus.SENT]
            if sent and sent[-1].opened_at is None:
                sent[-1].opened_at = now
                uow.activities.update(sent[-1])
            if enrollment.opened_at is None:
                enrollment.opened_at = now
                uow.enrollments.update(enrollment)
            uow.commit()

