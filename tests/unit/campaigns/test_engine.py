"""The send engine on the in-memory adapters with recording channels: what it sends, with
which headers, in which thread; waits, conditions, caps, warm-up and spacing; throttles,
bounces, an empty wallet, a channel that raises and a worker that dies mid-send."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lad_domain.campaigns.model import ActivityStatus, Campaign, EnrollmentStatus
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.outreach.channels import Delivery, Outcome
from lad_domain.outreach.model import AccountStatus, Channel, SendKind
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.unit.campaigns.world import ALWAYS, FOLLOW_UP, HELLO, World


def test_the_first_step_goes_with_its_message_id_and_one_click_unsubscribe(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead(email="ada@example.test", first_name="Ada")
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[lead])

    assert world.work() == {StepResult.SENT: 1}

    [sent] = world.email.sent
    email = sent.email
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.SENT and row.attempt == 1
    assert email.message_id == row.message_key
    assert email.message_id.startswith("<") and email.message_id.endswith("@acme.test>")
    assert email.to_address == "ada@example.test" and email.from_address == "sam@acme.test"
    assert email.subject == "Hello Ada"
    https, mailto = email.headers["List-Unsubscribe"].split(", ")
    assert https.startswith("<https://lad.example/v1/public/unsubscribe/")
    assert mailto == "<mailto:sam@acme.test?subject=unsubscribe>"
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https[1:-1] in email.text
    assert email.in_reply_to is None and email.references == ()
    assert sent.login.password == "s3cret" and sent.login.host == "smtp.acme.test"
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.COMPLETED


WAIT_2_DAYS = {"type": "wait", "config": {"days": 2}}


def per_day(world: World, campaign: Campaign) -> dict[str, int]:
    days: dict[str, int] = {}
    for row in world.sent(campaign):
        day = row.created_at.date().isoformat()
        days[day] = days.get(day, 0) + 1
    return days


def test_a_follow_up_waits_then_goes_in_the_thread_of_the_first(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP, WAIT_2_DAYS, FOLLOW_UP],
                              mailboxes=[box], leads=[lead], send_window=ALWAYS)
    start = world.clock.now()

    assert world.work() == {StepResult.SENT: 1}
    waiting = world.enrollment(campaign, lead)
    assert waiting.status is EnrollmentStatus.WAITING and waiting.step_order == 3
    assert waiting.next_run_at == start + timedelta(days=2)
    world.clock.advance(timedelta(days=2) - timedelta(seconds=1))
    assert world.work() == {}
    world.clock.advance(timedelta(seconds=1))
    assert world.work() == {StepResult.SENT: 1}
    world.clock.advance(timedelta(days=2))
    assert world.work() == {StepResult.SENT: 1}

    first, second, third = (s.email for s in world.email.sent)
    assert second.in_reply_to == first.message_id
    assert second.references == (first.message_id,)
    assert third.in_reply_to == second.message_id
    assert third.references == (first.message_id, second.message_id)
    assert second.subject == f"Re: Hello {lead.first_name}"
    assert [a.status for a in world.ledger(campaign, lead)] == [ActivityStatus.SENT] * 3
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.COMPLETED


def test_new_thread_starts_a_thread_of_its_own(world: World) -> None:
    world.templates()
    box = world.mailbox()
    campaign = world.campaign(
        [HELLO, {"type": "email", "config": {"template_key": "follow-up", "new_thread": True}}],
        mailboxes=[box], leads=[world.lead()])
    world.run_until(world.clock.now() + timedelta(hours=1))
    assert len(world.sent(campaign)) == 2
    assert world.email.sent[1].email.in_reply_to is None
    assert world.email.sent[1].email.references == ()


def test_a_condition_after_a_wait_reads_a_reply_that_came_during_the_wait(
        world: World) -> None:
    """"Wait two days; if they replied, stop": the reply of day one stops the follow-up,
    even when the campaign does not stop on every reply."""
    world.templates()
    box = world.mailbox()
    answers, silent = world.lead(), world.lead()
    campaign = world.campaign(
        [HELLO, WAIT_2_DAYS, {"type": "condition", "config": {"if": "replied", "then": "stop"}},
         FOLLOW_UP], mailboxes=[box], leads=[answers, silent], stop_on_reply=False)

    assert world.work() == {StepResult.SENT: 2}
    world.clock.advance(timedelta(days=1))
    [hello] = world.email.to(answers.email or "")
    world.receive(world.reply_to(hello.message_id))
    assert world.enrollment(campaign, answers).status.is_open  # the campaign goes on
    world.clock.advance(timedelta(days=1))
    world.run_until(world.clock.now() + timedelta(hours=1))

    assert len(world.email.to(answers.email or "")) == 1
    stopped = world.enrollment(campaign, answers)
    assert stopped.status is EnrollmentStatus.STOPPED
    assert stopped.stop_reason == "condition: replied"
    assert len(world.email.to(silent.email or "")) == 2
    assert world.enrollment(campaign, silent).status is EnrollmentStatus.COMPLETED


def test_a_reply_stops_the_sequence_when_the_campaign_stops_on_reply(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box], leads=[lead])
    world.work()
    world.receive(world.reply_to(world.email.sent[0].email.message_id))
    world.run_until(world.clock.now() + timedelta(days=5))
    assert len(world.email.sent) == 1
    stopped = world.enrollment(campaign, lead)
    assert stopped.status is EnrollmentStatus.STOPPED and stopped.replied_at is not None


def test_a_mailbox_never_sends_more_than_its_daily_cap_the_rest_goes_the_next_day(
        world: World) -> None:
    world.templates()
    box = world.mailbox(daily_cap=3)
    leads = [world.lead() for _ in range(7)]
    campaign = world.campaign([HELLO], mailboxes=[box], leads=leads)

    world.run_until(world.clock.now() + timedelta(days=4))

    assert per_day(world, campaign) == {"2026-03-03": 3, "2026-03-04": 3, "2026-03-05": 1}
    # The next day's first sends wait for the window's opening (09:00 UTC), not midnight.
    wednesday = [r.created_at for r in world.sent(campaign)][3:6]
    assert min(wednesday) == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert len(world.email.sent) == 7


def test_the_campaign_daily_cap_holds_across_its_mailboxes(world: World) -> None:
    world.templates()
    boxes = [world.mailbox("a@acme.test"), world.mailbox("b@acme.test")]
    leads = [world.lead() for _ in range(5)]
    campaign = world.campaign([HELLO], mailboxes=boxes, leads=leads, daily_cap=2)

    world.run_until(world.clock.now() + timedelta(days=4))

    assert per_day(world, campaign) == {"2026-03-03": 2, "2026-03-04": 2, "2026-03-05": 1}


def test_a_warming_mailbox_sends_one_more_each_day(world: World) -> None:
    world.templates()
    box = world.mailbox(daily_cap=50, warmup_start=1, warmup_step=1)
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[world.lead() for _ in range(6)])

    world.run_until(world.clock.now() + timedelta(days=4))

    assert per_day(world, campaign) == {"2026-03-03": 1, "2026-03-04": 2, "2026-03-05": 3}


def test_sends_of_one_mailbox_are_spaced_with_jitter(world: World) -> None:
    world.templates()
    box = world.mailbox(min_spacing_seconds=60, jitter_seconds=30)
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[world.lead() for _ in range(6)])

    world.run_until(world.clock.now() + timedelta(hours=1))

    times = [r.created_at for r in world.sent(campaign)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(times) == 6
    assert all(60 <= gap <= 90 for gap in gaps), gaps
    assert len(set(gaps)) > 1, "no jitter"


def test_an_smtp_throttle_defers_the_step_and_cools_the_mailbox(world: World) -> None:
    world.templates()
    box = world.mailbox()
    first, second = world.lead(), world.lead()
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[first, second])
    world.email.script.then(Delivery(outcome=Outcome.DEFERRED, code="421",
                                     reason="try again later",
                                     retry_after=timedelta(minutes=10)))
    start = world.clock.now()

    assert world.work() == {StepResult.DEFERRED: 1, StepResult.WAITING: 1}
    assert world.email.sent == []
    [deferred] = [row for lead in (first, second) for row in world.ledger(campaign, lead)]
    assert deferred.status is ActivityStatus.DEFERRED and deferred.code == "421"
    assert world.sent(campaign) == []
    cooled = world.lad.outreach().get_email_account(world.owner, box.id)
    assert cooled.pacing.cooldown_until == start + timedelta(minutes=10)
    assert cooled.pacing.sent(SendKind.EMAIL, start.date()) == 0  # its place given back
    for lead in (first, second):
        assert world.enrollment(campaign, lead).status is EnrollmentStatus.WAITING
    world.clock.advance(timedelta(minutes=9))
    assert world.work() == {}

    world.run_until(start + timedelta(hours=1))

    assert sorted(e.email.to_address for e in world.email.sent) == sorted(
        [first.email or "", second.email or ""])
    attempts = {row.lead_id: row.attempt for row in world.sent(campaign)}
    assert sorted(attempts.values()) == [1, 2]
    assert min(r.created_at for r in world.sent(campaign)) >= start + timedelta(minutes=10)


def test_a_linkedin_429_defers_the_invitation_for_its_retry_after(world: World) -> None:
    world.templates()
    account = world.linkedin_account()
    lead = world.lead(linkedin="https://www.linkedin.com/in/ada-l/")
    campaign = world.campaign(
        [{"type": "linkedin_invite", "config": {"template_key": "note"}},
         {"type": "wait", "config": {"days": 1}},
         {"type": "linkedin_message", "config": {"template_key": "nudge"}}],
        linkedin=[account], leads=[lead])
    world.linkedin.script.then(Delivery(outcome=Outcome.DEFERRED, code="429",
                                        retry_after=timedelta(seconds=90)))
    start = world.clock.now()

    assert world.work() == {StepResult.DEFERRED: 1}
    assert world.linkedin.actions == []
    assert world.enrollment(campaign, lead).next_run_at == start + timedelta(seconds=90)

    world.run_until(start + timedelta(days=2))

    invite, message = world.linkedin.actions
    assert (invite.kind, invite.profile, invite.account_id) == (
        "invite", "https://www.linkedin.com/in/ada-l/", "uni-1")
    assert invite.text == f"Hi {lead.first_name}, let us connect."
    assert message.kind == "message" and message.chat_id is None
    assert [r.status for r in world.ledger(campaign, lead)] == [
        ActivityStatus.DEFERRED, ActivityStatus.SENT, ActivityStatus.SENT]
    assert world.ledger(campaign, lead)[0].recipient == "ada-l"


def test_a_hard_bounce_suppresses_the_address_and_stops(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box], leads=[lead])
    world.email.script.then(Delivery(outcome=Outcome.FAILED, code="550",
                                     reason="no such user", hard_bounce=True))

    assert world.work() == {StepResult.FAILED: 1}
    world.run_until(world.clock.now() + timedelta(days=5))

    assert world.email.sent == []
    stopped = world.enrollment(campaign, lead)
    assert stopped.status is EnrollmentStatus.STOPPED and stopped.bounced_at is not None
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.FAILED and row.bounced_at is not None
    page = world.lad.outreach().list_suppressions(world.owner, "email", _page())
    assert [(s.address, s.reason) for s in page.items] == [(lead.email, "bounced")]
    # Another campaign never reaches the address either.
    other = world.campaign([HELLO], mailboxes=[box], leads=[lead])
    world.run_until(world.clock.now() + timedelta(days=1))
    assert world.email.sent == []
    assert world.enrollment(other, lead).stop_reason == "suppressed: bounced"


def test_a_permanent_failure_fails_the_enrollment_without_suppressing(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box], leads=[lead])
    world.email.script.then(Delivery(outcome=Outcome.FAILED, code="554", reason="rejected"))
    assert world.work() == {StepResult.FAILED: 1}
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.FAILED
    assert world.lad.outreach().list_suppressions(world.owner, None, _page()).items == []


def test_an_empty_wallet_makes_the_enrollment_wait_and_it_goes_once_funded(
        lad: Container, clock: FixedClock) -> None:
    world = World.open(lad, clock, funds=None)
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[lead])

    assert world.work() == {StepResult.WAITING: 1}
    waiting = world.enrollment(campaign, lead)
    assert waiting.status is EnrollmentStatus.WAITING
    assert "insufficient funds" in (waiting.last_error or "")
    assert world.email.sent == [] and world.ledger(campaign, lead) == []
    world.clock.advance(timedelta(hours=2))
    assert world.work() == {StepResult.WAITING: 1}

    world.fund("1")
    world.run_until(world.clock.now() + timedelta(hours=2))

    assert len(world.email.sent) == 1
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.COMPLETED
    assert world.balance() == Decimal("0.999")


def test_a_channel_that_raises_leaves_the_send_unknown_and_never_resends_it(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box], leads=[lead])
    world.email.script.then(ConnectionResetError("the server hung up after DATA"))

    assert world.work() == {StepResult.UNKNOWN: 1}
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.UNKNOWN and "ConnectionResetError" in (row.error or "")
    waiting = world.enrollment(campaign, lead)
    assert waiting.status is EnrollmentStatus.WAITING and waiting.next_run_at is None
    world.run_until(world.clock.now() + timedelta(days=7), step=timedelta(hours=6))
    assert world.email.sent == []
    assert len(world.ledger(campaign, lead)) == 1


def test_a_worker_that_dies_between_prepare_and_settle_leaves_an_unknown_send(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box], leads=[lead])
    engine = world.lad.send_engine()
    [claim] = engine.claim(10)
    prepared = engine._prepare(claim)  # the worker dies here, with the message in hand
    assert not isinstance(prepared, StepResult)
    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.SENDING and row.message_key == prepared.activity.message_key

    world.clock.advance(engine.lease - timedelta(seconds=1))
    assert world.work() == {}  # the claim's lease still holds it
    world.clock.advance(timedelta(seconds=1))
    assert world.work() == {StepResult.UNKNOWN: 1}

    [row] = world.ledger(campaign, lead)
    assert row.status is ActivityStatus.UNKNOWN
    world.run_until(world.clock.now() + timedelta(days=7), step=timedelta(hours=6))
    assert world.email.sent == [] and len(world.ledger(campaign, lead)) == 1
    assert world.enrollment(campaign, lead).next_run_at is None


def test_a_do_not_contact_lead_and_a_suppressed_address_are_never_sent_to(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    quiet = world.lead(status="do_not_contact")
    suppressed = world.lead(email="Gone@Example.test")
    later = world.lead()
    ok = world.lead()
    campaign = world.campaign([HELLO, WAIT_2_DAYS, FOLLOW_UP], mailboxes=[box],
                              leads=[quiet, suppressed, later, ok])
    world.lad.outreach().suppress(world.owner, channel="email", address="gone@example.test")
    world.work()
    world.lad.outreach().suppress(world.owner, channel=Channel.EMAIL, address=later.email)

    world.run_until(world.clock.now() + timedelta(days=5))

    assert sorted(e.email.to_address for e in world.email.sent) == sorted(
        [later.email or "", ok.email or "", ok.email or ""])
    reasons = {lead.id: world.enrollment(campaign, lead).stop_reason
               for lead in (quiet, suppressed, later)}
    assert reasons == {quiet.id: "suppressed: the lead is do_not_contact",
                       suppressed.id: "suppressed: do_not_contact",
                       later.id: "suppressed: do_not_contact"}


def test_each_sent_step_posts_one_usage_event_and_releases_its_hold(world: World) -> None:
    world.templates()
    box = world.mailbox()
    account = world.linkedin_account()
    leads = [world.lead(linkedin=f"linkedin.com/in/p{i}") for i in range(3)]
    campaign = world.campaign(
        [HELLO, {"type": "linkedin_invite", "config": {"template_key": "note"}}],
        mailboxes=[box], linkedin=[account], leads=leads)
    world.email.script.then(Delivery(outcome=Outcome.DEFERRED, code="450"))
    before = world.balance()

    world.run_until(world.clock.now() + timedelta(days=2))

    sent = world.sent(campaign)
    assert len(sent) == 6
    with world.lad.unit_of_work()(world.tenant_id) as uow:
        events = uow.usage_events.get_by_keys([f"campaign-send:{a.id}" for a in sent])
        assert len(events) == 6
        ledger = uow.ledger.list(_page()).items
    usage = [e for e in ledger if e.type == "usage_debit"]
    assert len(usage) == 6
    assert world.balance() == before - 3 * Decimal("0.001") - 3 * Decimal("0.02")
    wallet = world.lad.billing().wallet(world.owner)
    assert wallet.reserved_balance == 0
    # Running the worker again posts nothing more.
    world.run_until(world.clock.now() + timedelta(days=2))
    assert world.balance() == before - 3 * Decimal("0.001") - 3 * Decimal("0.02")


def test_a_paused_account_makes_its_sends_wait(world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO], mailboxes=[box], leads=[lead])
    world.lad.outreach().set_email_account_status(world.owner, box.id, AccountStatus.PAUSED)
    assert world.work() == {StepResult.WAITING: 1}
    assert world.email.sent == []
    world.lad.outreach().set_email_account_status(world.owner, box.id, AccountStatus.ACTIVE)
    world.run_until(world.clock.now() + timedelta(hours=2))
    assert len(world.email.sent) == 1
    assert world.enrollment(campaign, lead).status is EnrollmentStatus.COMPLETED


def _page() -> PageRequest:
    return PageRequest(limit=200)


def test_the_window_is_kept_by_every_send(world: World) -> None:
    world.templates()
    box = world.mailbox()
    world.campaign([HELLO], mailboxes=[box], leads=[world.lead()], send_window=ALWAYS)
    assert world.work() == {StepResult.SENT: 1}


def test_a_send_in_flight_when_the_campaign_pauses_is_kept_and_nothing_more_goes(
        world: World) -> None:
    world.templates()
    box = world.mailbox()
    lead = world.lead()
    campaign = world.campaign([HELLO, {"type": "wait", "config": {"hours": 1}}, FOLLOW_UP],
                              mailboxes=[box], leads=[lead], send_window=ALWAYS)
    engine = world.lad.send_engine()
    [claim] = engine.claim(1)
    prepared = engine._prepare(claim)
    assert not isinstance(prepared, StepResult)
    world.lad.campaigns().pause(world.owner, campaign.id)
    assert engine._settle(claim, prepared, engine._deliver(prepared)) is StepResult.SENT

    world.run_until(world.clock.now() + timedelta(days=1), step=timedelta(hours=1))
    assert len(world.email.sent) == 1
    parked = world.enrollment(campaign, lead)
    assert parked.next_run_at is None and parked.step_order == 3
    world.lad.campaigns().resume(world.owner, campaign.id)
    world.run_until(world.clock.now() + timedelta(hours=1))
    assert [r.step_order for r in world.sent(campaign)] == [1, 3]
