"""The campaign and enrollment state machine: pause, resume, stop, replies, bounces,
unsubscribes, the worker, time passing, throttles, unknown outcomes and workers that die
mid-send, in any order. Whatever happens: no (enrollment, step) is sent twice, nothing goes
to a suppressed address or a stopped lead after the suppression or stop, nothing goes
outside its lead's window or while its campaign is paused, no cap is exceeded, and the
send ledger agrees with what the channels were handed."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dependency_injector import providers
from hypothesis import HealthCheck
from hypothesis import settings as examples
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from lad_domain.campaigns.model import Activity, ActivityStatus, Campaign, Enrollment
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.campaigns.window import SendWindow
from lad_domain.leads.model import Lead
from lad_domain.outreach.channels import (
    Delivery,
    InboundKind,
    LinkedInEvent,
    LinkedInEventKind,
    MailLogin,
    Outcome,
    OutgoingEmail,
)
from lad_domain.outreach.model import Channel, Suppression
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict
from lad_entrypoints.container import build_container, close
from tests.conftest import fast_settings
from tests.examples import scaled
from tests.fakes.channels import LinkedInAction, RecordingEmail, RecordingLinkedIn
from tests.unit.campaigns.world import PUBLIC_URL, QuickPasswords, World

ZONES = ["America/New_York", "Australia/Sydney", "Europe/London"]
MAILBOX_CAP, INVITE_CAP, CAMPAIGN_CAP = 3, 2, 4
SETTINGS = fast_settings("memory://", public_url=PUBLIC_URL)
#: Six leads; a number past them is someone else (a message about no lead of ours).
people = st.integers(0, 11)
#: Fridays before each change of 2026, while the window is open in at least one zone:
#: New York springs forward (8 March) and falls back (1 November), Sydney's clocks go back
#: (5 April) and forward (4 October).
STARTS = [datetime(2026, 3, 6, 14, 30, tzinfo=UTC), datetime(2026, 10, 30, 13, 30, tzinfo=UTC),
          datetime(2026, 4, 2, 23, 30, tzinfo=UTC), datetime(2026, 10, 2, 0, 30, tzinfo=UTC)]
#: Hours between steps.
WAITS = [1, 3, 7, 20]


def email_steps(first_wait: int, second_wait: int) -> list[dict[str, Any]]:
    return [{"type": "email", "config": {"template_key": "hello"}},
            {"type": "wait", "config": {"hours": first_wait}},
            {"type": "email", "config": {"template_key": "follow-up"}},
            {"type": "wait", "config": {"hours": second_wait}},
            {"type": "condition", "config": {"if": "replied", "then": "stop"}},
            {"type": "email", "config": {"template_key": "follow-up", "new_thread": True}}]


def linkedin_steps(wait: int) -> list[dict[str, Any]]:
    return [{"type": "linkedin_invite", "config": {"template_key": "note"}},
            {"type": "wait", "config": {"hours": wait}},
            {"type": "linkedin_message", "config": {"template_key": "nudge"}}]


class Stamp:
    """What a channel was handed, when, and in which order (``seq``)."""

    def __init__(self, seq: int, at: datetime, key: str, address: str) -> None:
        self.seq, self.at, self.key, self.address = seq, at, key, address


class TimedEmail(RecordingEmail):
    def __init__(self, machine: EnrollmentMachine) -> None:
        super().__init__()
        self.machine = machine

    def send(self, login: MailLogin, email: OutgoingEmail) -> Delivery:
        before = len(self.sent)
        answer = super().send(login, email)
        if len(self.sent) > before:
            self.machine.stamp(email.message_id, email.to_address.lower())
        return answer


class TimedLinkedIn(RecordingLinkedIn):
    def __init__(self, machine: EnrollmentMachine) -> None:
        super().__init__()
        self.machine = machine

    def _record(self, action: LinkedInAction, chat_id: str | None = None) -> Delivery:
        before = len(self.actions)
        answer = super()._record(action, chat_id)
        if len(self.actions) > before:
            self.machine.stamp(action.client_key, action.profile)
        return answer


#: What the next send of a channel gets (after them: sent).
ANSWERS: dict[tuple[str, str], Callable[[], Delivery | BaseException]] = {
    ("smtp", "421"): lambda: Delivery(outcome=Outcome.DEFERRED, code="421",
                                      retry_after=timedelta(minutes=5)),
    ("smtp", "server-down"): lambda: Delivery(outcome=Outcome.DEFERRED, code="connect"),
    ("smtp", "550"): lambda: Delivery(outcome=Outcome.FAILED, code="550", hard_bounce=True),
    ("smtp", "no-answer-after-data"): lambda: Delivery(outcome=Outcome.UNKNOWN,
                                                       reason="timeout after DATA"),
    ("smtp", "raises"): lambda: ConnectionResetError("reset"),
    ("unipile", "429"): lambda: Delivery(outcome=Outcome.DEFERRED, code="429",
                                         retry_after=timedelta(seconds=90)),
    ("unipile", "no-answer"): lambda: Delivery(outcome=Outcome.UNKNOWN, reason="read timeout"),
    ("unipile", "raises"): lambda: TimeoutError("read timeout"),
}


class EnrollmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(STARTS[0])
        self.lad = build_container(SETTINGS)
        self.lad.password_hasher.override(providers.Object(QuickPasswords()))
        self.lad.clock.override(providers.Object(self.clock))
        self.seq = 0
        self.stamps: list[Stamp] = []
        self.window = SendWindow()
        #: When each campaign was paused (seq), None while it runs; the spans it was.
        self.paused: dict[uuid.UUID, int | None] = {}
        self.paused_spans: dict[uuid.UUID, list[tuple[int, int]]] = {}
        #: When (seq) each stop and suppression was first seen.
        self.stopped: dict[uuid.UUID, int] = {}
        self.suppressed: dict[tuple[str, str], int] = {}
        #: When (seq) a lead was marked do_not_contact.
        self.do_not_contact: dict[uuid.UUID, int] = {}

    @initialize(start=st.sampled_from(STARTS), first_wait=st.sampled_from(WAITS),
                second_wait=st.sampled_from(WAITS))
    def a_tenant_runs_two_campaigns(self, start: datetime, first_wait: int,
                                    second_wait: int) -> None:
        """Six leads in three zones, in an email campaign and a LinkedIn one, started on a
        Friday before a daylight-saving change; the waits between steps vary."""
        self.clock.set(start)
        self.world = World.open(self.lad, self.clock, funds="100", email=TimedEmail(self),
                                linkedin=TimedLinkedIn(self))
        world = self.world
        world.templates()
        box = world.mailbox(daily_cap=MAILBOX_CAP, min_spacing_seconds=60, jitter_seconds=30)
        account = world.linkedin_account(daily_invite_cap=INVITE_CAP)
        self.leads: list[Lead] = [
            world.lead(zone, linkedin=f"https://www.linkedin.com/in/p{i}/")
            for i, zone in enumerate(ZONES * 2)]
        self.zones = {lead.id: zone for lead, zone in zip(self.leads, ZONES * 2, strict=True)}
        self.campaigns: list[Campaign] = [
            world.campaign(email_steps(first_wait, second_wait), mailboxes=[box],
                           leads=self.leads, daily_cap=CAMPAIGN_CAP),
            world.campaign(linkedin_steps(first_wait), linkedin=[account], leads=self.leads)]
        self.paused = {c.id: None for c in self.campaigns}
        self.paused_spans = {c.id: [] for c in self.campaigns}

    # --- bookkeeping ----------------------------------------------------------------------

    def stamp(self, key: str, address: str) -> None:
        self.seq += 1
        self.stamps.append(Stamp(self.seq, self.clock.now(), key, address))

    def observe(self) -> None:
        """Note the stops and suppressions that happened since the last look."""
        self.seq += 1
        for enrollment in self.world.rows("campaign_leads"):
            if enrollment.stop_reason is not None and enrollment.status == "stopped":
                self.stopped.setdefault(enrollment.id, self.seq)
        for found in self.world.rows("outreach_suppressions"):
            assert isinstance(found, Suppression)
            self.suppressed.setdefault((found.channel, found.address), self.seq)

    def ledger(self) -> dict[str, Activity]:
        return {a.message_key: a for a in self.world.rows("campaign_lead_activities")}

    def enrollments(self) -> dict[uuid.UUID, Enrollment]:
        return {e.id: e for e in self.world.rows("campaign_leads")}

    def sent_to(self, lead: Lead, channel: Channel) -> list[Activity]:
        """What the lead was really handed on the channel (only that can be answered)."""
        handed = {s.key for s in self.stamps}
        return [a for a in self.world.rows("campaign_lead_activities")
                if a.lead_id == lead.id and a.channel is channel and a.message_key in handed]

    # --- campaigns ------------------------------------------------------------------------

    @rule(which=st.integers(0, 1))
    def pause(self, which: int) -> None:
        campaign = self.campaigns[which]
        with contextlib.suppress(Conflict):
            self.lad.campaigns().pause(self.world.owner, campaign.id)
            self.seq += 1
            self.paused[campaign.id] = self.seq

    @rule(which=st.integers(0, 1))
    def resume(self, which: int) -> None:
        campaign = self.campaigns[which]
        with contextlib.suppress(Conflict):
            self.lad.campaigns().resume(self.world.owner, campaign.id)
            since = self.paused[campaign.id]
            assert since is not None
            self.seq += 1
            self.paused_spans[campaign.id].append((since, self.seq))
            self.paused[campaign.id] = None

    @rule(which=st.integers(0, 1), who=people)
    def stop(self, which: int, who: int) -> None:
        if who >= len(self.leads):
            return
        campaign, lead = self.campaigns[which], self.leads[who]
        enrollment = self.world.enrollment(campaign, lead)
        self.lad.campaigns().stop_enrollment(self.world.owner, campaign.id, enrollment.id)
        self.observe()

    # --- what comes back ------------------------------------------------------------------

    @rule(who=people, kind=st.sampled_from([InboundKind.REPLY,
                                                       InboundKind.AUTO_REPLY,
                                                       InboundKind.HARD_BOUNCE]))
    def email_comes_back(self, who: int, kind: InboundKind) -> None:
        if who >= len(self.leads):
            return
        lead = self.leads[who]
        sent = self.sent_to(lead, Channel.EMAIL)
        if sent:
            self.world.receive(self.world.reply_to(sent[-1].message_key, kind=kind,
                                                   failed_recipient=lead.email))
        self.observe()

    @rule(who=people, kind=st.sampled_from([LinkedInEventKind.MESSAGE_RECEIVED,
                                                       LinkedInEventKind.NEW_RELATION]),
          replay=st.booleans())
    def linkedin_event(self, who: int, kind: LinkedInEventKind, replay: bool) -> None:
        if who >= len(self.leads):
            return
        lead = self.leads[who]
        if not self.sent_to(lead, Channel.LINKEDIN):
            return
        event = LinkedInEvent(kind=kind, event_id=f"{kind}-{who}" if replay else
                              f"{kind}-{who}-{self.seq}", account_id="uni-1",
                              person_provider_id=None, person_public_id=f"p{who}",
                              chat_id=None, occurred_at=self.clock.now())
        self.lad.inbound().apply_linkedin(event, b"{}")
        self.observe()

    @rule(who=people)
    def unsubscribe(self, who: int) -> None:
        if who >= len(self.leads):
            return
        lead = self.leads[who]
        emails = self.world.email.to(lead.email or "")
        if emails:
            url = emails[0].headers["List-Unsubscribe"].split(", ")[0].strip("<>")
            self.lad.inbound().unsubscribe(url.rsplit("/", 1)[1])
        self.observe()

    @rule(who=people, channel=st.sampled_from([Channel.EMAIL, Channel.LINKEDIN]))
    def a_person_suppresses_an_address(self, who: int, channel: Channel) -> None:
        if who >= len(self.leads):
            return
        lead = self.leads[who]
        address = lead.email if channel is Channel.EMAIL else f"linkedin.com/in/p{who}"
        self.lad.outreach().suppress(self.world.owner, channel=channel, address=address)
        self.observe()

    @rule(who=people)
    def a_lead_is_marked_do_not_contact(self, who: int) -> None:
        if who >= len(self.leads):
            return
        lead = self.leads[who]
        self.lad.leads().update_lead(self.world.owner, lead.id, {"status": "do_not_contact"})
        self.seq += 1
        self.do_not_contact.setdefault(lead.id, self.seq)

    # --- the providers, the worker, time --------------------------------------------------

    @rule(answer=st.sampled_from(sorted(ANSWERS)))
    def a_provider_will_answer(self, answer: tuple[str, str]) -> None:
        channel, _ = answer
        script = self.world.email.script if channel == "smtp" else self.world.linkedin.script
        script.then(ANSWERS[answer]())

    @rule(minutes=st.sampled_from([0, 5, 30, 6 * 60]))
    def the_worker_runs(self, minutes: int) -> None:
        """The worker runs for a while: whatever is due, as it falls due."""
        end = self.clock.now() + timedelta(minutes=minutes)
        for _ in range(60):
            counts = self.world.work(limit=1)
            self.observe()
            if counts:
                continue
            due = self.world.next_due()
            if due is None or due > end:
                return
            self.clock.set(max(due, self.clock.now()))

    @rule(after_sending=st.booleans())
    def a_worker_dies_mid_send(self, after_sending: bool) -> None:
        """The next step due (within a day) is claimed and prepared, maybe handed to the
        channel, and never settled."""
        due = self.world.next_due()
        if due is not None and self.clock.now() < due <= self.clock.now() + timedelta(days=1):
            self.clock.set(due)
        engine = self.lad.send_engine()
        for claim in engine.claim(1):
            prepared = engine._prepare(claim)
            if after_sending and not isinstance(prepared, StepResult):
                engine._deliver(prepared)
        self.observe()

    @rule()
    def reconcile(self) -> None:
        """The sent folder tells the truth about email; a person tells it about LinkedIn."""
        handed = {s.key for s in self.stamps}
        self.world.mailboxes.sent = handed
        reconciliation = self.lad.campaign_reconciliation()
        reconciliation.reconcile(self.world.owner)
        for row in self.world.rows("campaign_lead_activities"):
            if row.status is ActivityStatus.UNKNOWN:
                decision = "sent" if row.message_key in handed else "not_sent"
                reconciliation.decide(self.world.owner, row.id, decision)
        self.observe()

    @rule(by=st.sampled_from([timedelta(minutes=2), timedelta(minutes=11), timedelta(hours=1),
                              timedelta(hours=7), timedelta(days=1), timedelta(days=2)]))
    def time_passes(self, by: timedelta) -> None:
        self.clock.advance(by)
        self.the_worker_runs(0)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def every_send_is_in_the_ledger_once_and_kept_every_rule(self) -> None:
        ledger, enrollments = self.ledger(), self.enrollments()
        keys = Counter(s.key for s in self.stamps)
        assert all(n == 1 for n in keys.values()), "a message key handed over twice"
        steps: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
        for stamp in self.stamps:
            row = ledger.get(stamp.key)
            assert row is not None, "a send the ledger does not know"
            assert row.status in (ActivityStatus.SENDING, ActivityStatus.SENT,
                                  ActivityStatus.UNKNOWN), row.status
            steps[(row.enrollment_id, row.step_id)] += 1
            enrollment = enrollments[row.enrollment_id]
            stopped = self.stopped.get(enrollment.id)
            assert stopped is None or stamp.seq < stopped, "sent after the lead was stopped"
            suppressed = self.suppressed.get((row.channel, row.recipient))
            assert suppressed is None or stamp.seq < suppressed, "sent to a suppressed address"
            marked = self.do_not_contact.get(row.lead_id)
            assert marked is None or stamp.seq < marked, "sent to a do_not_contact lead"
            assert self.window.contains(stamp.at, self.zones[row.lead_id]), "outside its window"
            paused = self.paused[row.campaign_id]
            assert paused is None or stamp.seq < paused, "sent while its campaign is paused"
            assert not any(a < stamp.seq < b for a, b in self.paused_spans[row.campaign_id])
        assert all(n == 1 for n in steps.values()), "a step sent twice"
        # The other way round: what the ledger says went, the channels were handed.
        for key, row in ledger.items():
            if row.status is ActivityStatus.SENT:
                assert keys[key] == 1, "the ledger says sent, no channel was handed it"
            if row.status is ActivityStatus.DEFERRED or row.code == "not_sent":
                assert keys[key] == 0

    @invariant()
    def no_cap_is_exceeded_on_any_day(self) -> None:
        """UTC days: the mailbox's cap, the email campaign's, the account's invitations."""
        ledger = self.ledger()
        invites: Counter[date] = Counter(
            s.at.date() for s in self.stamps
            if ledger[s.key].channel is Channel.LINKEDIN and ledger[s.key].step_order == 1)
        assert all(n <= INVITE_CAP for n in invites.values())
        emails: Counter[date] = Counter(
            s.at.date() for s in self.stamps if ledger[s.key].channel is Channel.EMAIL)
        assert all(n <= min(MAILBOX_CAP, CAMPAIGN_CAP) for n in emails.values())

    def teardown(self) -> None:
        close(self.lad)


def test_no_step_is_sent_twice_nor_to_whom_it_must_not_go() -> None:
    run_state_machine_as_test(EnrollmentMachine, settings=examples(
        max_examples=scaled(50), stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))


def test_a_quiet_week_sends_every_step_once() -> None:
    """The machine's world left alone for a week: every lead gets every step, once."""
    machine = EnrollmentMachine()
    machine.a_tenant_runs_two_campaigns(STARTS[0], 20, 24)
    try:
        end = machine.clock.now() + timedelta(days=7)
        while machine.clock.now() < end:
            machine.the_worker_runs(6 * 60)
            machine.clock.advance(timedelta(hours=6))
        machine.every_send_is_in_the_ledger_once_and_kept_every_rule()
        sent = [a for a in machine.world.rows("campaign_lead_activities")
                if a.status is ActivityStatus.SENT]
        assert Counter(a.step_order for a in sent) == {1: 12, 3: 12, 6: 6}
    finally:
        machine.teardown()


__all__ = ["Any", "EnrollmentMachine"]
