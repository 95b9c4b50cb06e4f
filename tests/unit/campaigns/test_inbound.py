"""What comes back: replies and bounces read over IMAP, Unipile's webhooks, and the
one-click unsubscribe. A reply stops the lead in every campaign that stops on reply; an
auto-reply stops nothing; a hard bounce suppresses; a late acceptance still counts; the
same delivery twice has one effect."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.campaigns.model import ActivityStatus, Campaign, EnrollmentStatus
from lad_domain.leads.model import Lead
from lad_domain.outreach.channels import (
    Delivery,
    InboundKind,
    LinkedInEvent,
    LinkedInEventKind,
    Outcome,
)
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from tests.unit.campaigns.world import ALWAYS, FOLLOW_UP, HELLO, World

WAIT = {"type": "wait", "config": {"days": 1}}
INVITE = {"type": "linkedin_invite", "config": {"template_key": "note"}}
MESSAGE = {"type": "linkedin_message", "config": {"template_key": "nudge"}}


def three_campaigns(world: World) -> tuple[Lead, list[Campaign]]:
    """One lead in three running campaigns (the last does not stop on reply), each having
    sent its first email."""
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaigns = [world.campaign([HELLO, WAIT, FOLLOW_UP], mailboxes=[box], leads=[lead],
                                send_window=ALWAYS, stop_on_reply=stops)
                 for stops in (True, True, False)]
    world.work()
    assert len(world.email.sent) == 3
    return lead, campaigns


def statuses(world: World, campaigns: list[Campaign], lead: Lead) -> list[EnrollmentStatus]:
    return [world.enrollment(c, lead).status for c in campaigns]


def test_a_reply_stops_the_lead_in_every_campaign_that_stops_on_reply(world: World) -> None:
    lead, campaigns = three_campaigns(world)
    first = world.email.sent[0].email

    world.receive(world.reply_to(first.message_id, from_address=lead.email))

    assert statuses(world, campaigns, lead) == [EnrollmentStatus.STOPPED,
                                                EnrollmentStatus.STOPPED,
                                                EnrollmentStatus.WAITING]
    answered = world.enrollment(campaigns[0], lead)
    assert answered.replied_at is not None and answered.stop_reason == "replied (email)"
    assert world.ledger(campaigns[0], lead)[0].replied_at is not None
    world.run_until(world.clock.now() + timedelta(days=3))
    assert len(world.email.sent) == 4  # only the campaign that goes on sends its follow-up
    _, stats = world.lad.campaigns().stats(world.owner, campaigns[0].id)
    assert [(s.step_order, s.sent, s.replied) for s in stats] == [(1, 1, 1)]


def test_a_reply_found_by_its_references_only_counts_too(world: World) -> None:
    lead, campaigns = three_campaigns(world)
    first = world.email.sent[0].email
    world.receive(world.reply_to("<someone-else@x.test>",
                                 refers_to=("<someone-else@x.test>", first.message_id)))
    assert statuses(world, campaigns, lead)[0] is EnrollmentStatus.STOPPED


@pytest.mark.parametrize("kind", [InboundKind.AUTO_REPLY, InboundKind.SOFT_BOUNCE,
                                  InboundKind.OTHER])
def test_an_auto_reply_or_a_soft_bounce_stops_nothing(world: World, kind: InboundKind) -> None:
    lead, campaigns = three_campaigns(world)
    world.receive(world.reply_to(world.email.sent[0].email.message_id, kind=kind))
    assert all(s.is_open for s in statuses(world, campaigns, lead))
    assert world.enrollment(campaigns[0], lead).replied_at is None
    world.run_until(world.clock.now() + timedelta(days=3))
    assert len(world.email.sent) == 6


def test_mail_that_answers_nothing_of_ours_changes_nothing(world: World) -> None:
    lead, campaigns = three_campaigns(world)
    world.receive(world.reply_to("<unrelated@x.test>"))
    assert all(s.is_open for s in statuses(world, campaigns, lead))


def test_a_hard_bounce_suppresses_the_address_and_stops(world: World) -> None:
    lead, campaigns = three_campaigns(world)
    world.receive(world.reply_to(world.email.sent[0].email.message_id,
                                 kind=InboundKind.HARD_BOUNCE, failed_recipient=lead.email,
                                 status="5.1.1"))

    bounced = world.enrollment(campaigns[0], lead)
    assert bounced.status is EnrollmentStatus.STOPPED and bounced.bounced_at is not None
    assert bounced.stop_reason == "bounced (5.1.1)"
    suppressions = world.lad.outreach().list_suppressions(world.owner, "email",
                                                          PageRequest(limit=10)).items
    assert [(s.address, s.reason, s.source) for s in suppressions] == [
        (lead.email, "bounced", "dsn")]
    # The other campaigns find the address suppressed when their next step is claimed.
    world.run_until(world.clock.now() + timedelta(days=3))
    assert len(world.email.sent) == 3
    assert all(s is EnrollmentStatus.STOPPED for s in statuses(world, campaigns, lead))


def test_the_poll_reads_each_message_once(world: World) -> None:
    three_campaigns(world)
    world.receive(world.reply_to(world.email.sent[2].email.message_id))
    world.lad.inbound().poll_mailboxes(world.tenant_id)
    [poll] = world.lad.inbound().poll_mailboxes(world.tenant_id)
    assert poll.messages == 0
    with world.lad.unit_of_work()(world.tenant_id) as uow:
        replies = [e for e in uow.events.list(event_type="enrollment.reply_received")]
    assert len(replies) == 1


# --- LinkedIn ---------------------------------------------------------------------------


def event(kind: LinkedInEventKind, event_id: str, person: str | None, *,
          account: str = "uni-1", world: World) -> LinkedInEvent:
    return LinkedInEvent(kind=kind, event_id=event_id, account_id=account,
                         person_provider_id=f"ACo-{person}", person_public_id=person,
                         chat_id="chat-1", occurred_at=world.clock.now())


def test_an_acceptance_hours_late_still_lets_the_accepted_branch_go(world: World) -> None:
    world.templates()
    account = world.linkedin_account()
    accepts, ignores = world.lead(linkedin="linkedin.com/in/ada"), world.lead(
        linkedin="linkedin.com/in/bob")
    campaign = world.campaign(
        [INVITE, WAIT, {"type": "condition",
                        "config": {"if": "accepted", "then": "continue", "else": "stop"}},
         MESSAGE], linkedin=[account], leads=[accepts, ignores], send_window=ALWAYS)
    world.work()
    world.clock.advance(timedelta(hours=20))  # the webhook comes late

    outcome = world.lad.inbound().apply_linkedin(
        event(LinkedInEventKind.NEW_RELATION, "e-1", "ada", world=world), b"{}")

    assert outcome.result == "applied"
    assert world.enrollment(campaign, accepts).accepted_at == world.clock.now()
    assert world.ledger(campaign, accepts)[0].accepted_at is not None
    world.run_until(world.clock.now() + timedelta(days=2))
    assert [(a.kind, a.profile) for a in world.linkedin.actions] == [
        ("invite", "linkedin.com/in/ada"), ("invite", "linkedin.com/in/bob"),
        ("message", "linkedin.com/in/ada")]
    assert world.enrollment(campaign, ignores).stop_reason == "condition: accepted (not)"


def test_the_same_webhook_twice_has_one_effect(world: World) -> None:
    world.templates()
    account = world.linkedin_account()
    lead = world.lead(linkedin="https://www.linkedin.com/in/ada/")
    other = world.campaign([INVITE, WAIT, MESSAGE], linkedin=[account], leads=[lead],
                           send_window=ALWAYS)
    world.work()
    inbound = world.lad.inbound()
    received = event(LinkedInEventKind.MESSAGE_RECEIVED, "m-1", "ada", world=world)

    assert inbound.apply_linkedin(received, b"{}").result == "applied"
    assert inbound.apply_linkedin(received, b"{}").result == "duplicate"

    assert world.enrollment(other, lead).stop_reason == "replied (linkedin)"
    with world.lad.unit_of_work()(world.tenant_id) as uow:
        assert len(uow.events.list(event_type="enrollment.reply_received")) == 1
    unknown = event(LinkedInEventKind.NEW_RELATION, "x", "ada", account="uni-9", world=world)
    assert inbound.apply_linkedin(unknown, b"{}").result == "ignored"
    stranger = event(LinkedInEventKind.NEW_RELATION, "y", "zed", world=world)
    assert inbound.apply_linkedin(stranger, b"{}").result == "ignored"


def test_a_disconnected_account_makes_its_sends_wait(world: World) -> None:
    world.templates()
    account = world.linkedin_account()
    lead = world.lead(linkedin="linkedin.com/in/ada")
    campaign = world.campaign([INVITE], linkedin=[account], leads=[lead])
    world.lad.inbound().apply_linkedin(
        event(LinkedInEventKind.ACCOUNT_DISCONNECTED, "d-1", None, world=world), b"{}")
    world.run_until(world.clock.now() + timedelta(hours=5), step=timedelta(hours=1))
    assert world.linkedin.actions == []
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.WAITING


# --- one-click unsubscribe --------------------------------------------------------------


def unsubscribe_token(world: World, index: int = 0) -> str:
    header = world.email.sent[index].email.headers["List-Unsubscribe"]
    url = header.split(", ")[0].strip("<>")
    return url.rsplit("/", 1)[1]


def test_unsubscribing_suppresses_and_stops_every_sequence_twice_is_once(
        world: World) -> None:
    lead, campaigns = three_campaigns(world)
    token = unsubscribe_token(world)
    inbound = world.lad.inbound()

    assert inbound.unsubscribe(token) is True
    assert inbound.unsubscribe(token) is False

    suppressions = world.lad.outreach().list_suppressions(world.owner, None,
                                                          PageRequest(limit=10)).items
    assert [(s.address, s.reason, s.source) for s in suppressions] == [
        (lead.email, "unsubscribed", "one-click")]
    assert all(s is EnrollmentStatus.STOPPED for s in statuses(world, campaigns, lead))
    world.run_until(world.clock.now() + timedelta(days=3))
    assert len(world.email.sent) == 3


def test_a_forged_or_open_link_does_not_unsubscribe(world: World) -> None:
    three_campaigns(world)
    token = unsubscribe_token(world)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(ValidationFailed):
        world.lad.inbound().unsubscribe(forged)
    html = world.email.sent[0].email.html or ""
    opened = html.split('src="', 1)[1].split('"', 1)[0].rsplit("/", 1)[1]
    with pytest.raises(ValidationFailed):
        world.lad.inbound().unsubscribe(opened)
    world.lad.inbound().opened(opened)
    assert world.lad.outreach().list_suppressions(world.owner, None,
                                                  PageRequest(limit=10)).items == []


def test_a_reply_to_a_send_whose_outcome_is_unknown_settles_it_as_sent(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT, FOLLOW_UP], mailboxes=[box], leads=[lead],
                              send_window=ALWAYS)
    world.email.script.then(Delivery(outcome=Outcome.UNKNOWN, reason="timeout after DATA"))
    world.work()
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.UNKNOWN
    before = world.balance()

    world.receive(world.reply_to(row.message_key))

    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.SENT and row.replied_at is not None
    assert world.balance() == before - Decimal("0.001")
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.STOPPED
    world.run_until(world.clock.now() + timedelta(days=3))
    assert len(world.email.sent) == 1
