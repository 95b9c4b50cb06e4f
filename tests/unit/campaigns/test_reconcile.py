"""Settling sends whose outcome is unknown: the sent folder answers when it can, a person
decides otherwise; ``sent`` goes on to the next step (billed once), ``not_sent`` sends a new
attempt; nothing is ever resent blindly."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from lad_domain.campaigns.model import Activity, ActivityStatus, Campaign, EnrollmentStatus
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.leads.model import Lead
from lad_domain.shared.errors import Conflict, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from tests.unit.campaigns.world import ALWAYS, FOLLOW_UP, HELLO, World

PRICE = Decimal("0.001")


def lost_send(world: World, **mailbox: Any) -> tuple[Campaign, Lead, Activity]:
    """A campaign whose first send was in the hands of a worker that died: prepared (the
    ledger row written as sending), never settled."""
    world.templates()
    box = world.mailbox(**mailbox)
    lead = world.lead()
    campaign = world.campaign([HELLO, {"type": "wait", "config": {"hours": 1}}, FOLLOW_UP],
                              mailboxes=[box], leads=[lead], send_window=ALWAYS)
    engine = world.lad.send_engine()
    [claim] = engine.claim(1)
    engine._prepare(claim)
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.SENDING
    return campaign, lead, row


def test_reconcile_marks_a_send_stuck_past_the_lease_unknown_and_lists_it(
        world: World) -> None:
    campaign, lead, row = lost_send(world, imap_host=None, imap_port=None)
    reconcile = world.lad.campaign_reconciliation()

    assert [s.activity_id for s in reconcile.reconcile(world.owner)] == []  # within the lease
    assert world.ledger(campaign, lead)[0].status is ActivityStatus.SENDING
    world.clock.advance(reconcile.lease)
    [report] = reconcile.reconcile(world.owner)

    assert report.activity_id == row.id and report.result.startswith("unknown: no mailbox")
    assert world.ledger(campaign, lead)[0].status is ActivityStatus.UNKNOWN
    unknown = reconcile.unknown_sends(world.owner, PageRequest(limit=10)).items
    assert [a.id for a in unknown] == [row.id]
    world.run_until(world.clock.now() + timedelta(days=3), step=timedelta(hours=4))
    assert world.email.sent == []


def test_the_sent_folder_settles_an_unknown_send_as_sent(world: World) -> None:
    campaign, lead, row = lost_send(world)
    world.clock.advance(world.lad.send_engine().lease)
    assert world.work() == {StepResult.UNKNOWN: 1}
    world.mailboxes.sent = {row.message_key}
    before = world.balance()

    [report] = world.lad.campaign_reconciliation().reconcile(world.owner)

    assert report.result == "sent (found in the sent folder)"
    assert world.mailboxes.logins[-1].host == "imap.acme.test"
    assert world.ledger(campaign, lead)[0].status is ActivityStatus.SENT
    assert world.balance() == before - PRICE
    world.run_until(world.clock.now() + timedelta(hours=2))
    [follow_up] = world.email.sent  # the first is not sent again
    assert follow_up.email.in_reply_to == row.message_key
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.COMPLETED


@pytest.mark.parametrize(("folder", "said"), [
    (set(), "unknown: not in the sent folder"),
    (None, "unknown: the mailbox has no sent folder; decide sent or not_sent"),
])
def test_what_the_sent_folder_cannot_settle_stays_unknown(
        world: World, folder: set[str] | None, said: str) -> None:
    campaign, lead, _ = lost_send(world)
    world.clock.advance(world.lad.send_engine().lease)
    world.work()
    world.mailboxes.sent = folder
    [report] = world.lad.campaign_reconciliation().reconcile(world.owner)
    assert report.result == said
    assert world.ledger(campaign, lead)[0].status is ActivityStatus.UNKNOWN


def test_deciding_sent_goes_on_to_the_next_step_and_bills_it_once(world: World) -> None:
    campaign, lead, row = lost_send(world, imap_host=None, imap_port=None)
    world.clock.advance(world.lad.send_engine().lease)
    world.work()
    before = world.balance()
    reconcile = world.lad.campaign_reconciliation()

    settled = reconcile.decide(world.owner, row.id, "sent")

    assert settled.result == "sent (operator)"
    with pytest.raises(Conflict):
        reconcile.decide(world.owner, row.id, "sent")
    with pytest.raises(Conflict):
        reconcile.decide(world.owner, row.id, "not_sent")
    world.run_until(world.clock.now() + timedelta(hours=2))
    assert [e.email.in_reply_to for e in world.email.sent] == [row.message_key]
    assert [a.status for a in world.ledger(campaign, lead)] == [ActivityStatus.SENT] * 2
    assert world.balance() == before - 2 * PRICE


def test_deciding_not_sent_sends_a_new_attempt(world: World) -> None:
    campaign, lead, row = lost_send(world, imap_host=None, imap_port=None)
    world.clock.advance(world.lad.send_engine().lease)
    world.work()
    before = world.balance()

    world.lad.campaign_reconciliation().decide(world.owner, row.id, "not_sent")
    world.run_until(world.clock.now() + timedelta(minutes=1))

    first, again = world.ledger(campaign, lead)
    assert (first.status, first.code, first.attempt) == (ActivityStatus.FAILED, "not_sent", 1)
    assert (again.status, again.attempt) == (ActivityStatus.SENT, 2)
    [sent] = world.email.sent
    assert sent.email.message_id == again.message_key != first.message_key
    assert world.balance() == before - PRICE


def test_a_decision_is_sent_or_not_sent(world: World) -> None:
    _, _, row = lost_send(world, imap_host=None, imap_port=None)
    with pytest.raises(ValidationFailed):
        world.lad.campaign_reconciliation().decide(world.owner, row.id, "maybe")
    with pytest.raises(Conflict):  # still sending: nothing to decide yet
        world.lad.campaign_reconciliation().decide(world.owner, row.id, "sent")
