"""The timeline a campaign would follow: the same rules the engine applies (send windows in
each lead's zone, the campaign's and each sender's daily caps, warm-up, spacing, waits and
the wallet), played forward on copies, sending nothing and charging nothing.

What it cannot know is said, not guessed: replies, opens and acceptances are taken as not
happening (a condition takes its ``else`` branch), jitter is its mean, and a provider's
throttles are not foreseen."""

from __future__ import annotations

import copy
import heapq
import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from lad_domain.campaigns.model import Campaign, Enrollment, StepType
from lad_domain.outreach.model import AccountStatus, EmailAccount, LinkedInAccount, day_start

MAX_DAYS = 90
#: The first sends listed one by one; the rest are counted per day.
LISTED = 500


@attrs.frozen
class PlannedSend:
    at: datetime
    enrollment_id: uuid.UUID
    lead_id: uuid.UUID
    step_order: int
    type: StepType
    sender_id: uuid.UUID
    cost: Decimal


@attrs.frozen
class DayPlan:
    day: date
    sends: int
    cost: Decimal
    by_step: Mapping[int, int]
    by_sender: Mapping[uuid.UUID, int]


@attrs.frozen
class Timeline:
    start: datetime
    end: datetime
    days: Sequence[DayPlan]
    first_sends: Sequence[PlannedSend]
    total_sends: int
    total_cost: Decimal
    #: Enrollments that would finish within the period.
    completing: int
    #: Why enrollments would be waiting at the end: reason -> how many.
    waiting: Mapping[str, int]
    #: When the wallet would run out, if it would.
    funds_run_out_at: datetime | None


class _Sender:
    """A copy of a sender's pace, spaced by its mean jitter."""

    def __init__(self, account: EmailAccount | LinkedInAccount) -> None:
        self.id = account.id
        self.active = account.status is AccountStatus.ACTIVE
        self.pacing = copy.deepcopy(account.pacing)


class _MeanJitter(random.Random):
    def random(self) -> float:
        return 0.5


def simulate(campaign: Campaign, enrollments: Sequence[Enrollment],
             senders: Sequence[EmailAccount | LinkedInAccount], *,
             prices: Mapping[StepType, Decimal], available: Decimal, start: datetime,
             days: int, sent_today: int = 0) -> Timeline:
    """Play the campaign forward ``days`` days from ``start`` (enrollments and senders are
    copied; nothing is changed)."""
    end = start + timedelta(days=days)
    pace = {s.id: _Sender(s) for s in senders}
    email_ids = [i for i in campaign.settings.email_account_ids if i in pace]
    linkedin_ids = [i for i in campaign.linkedin_account_ids if i in pace]
    window, cap = campaign.settings.send_window, campaign.settings.daily_cap
    jitter = _MeanJitter()
    queue: list[tuple[datetime, str, Enrollment]] = []
    for enrollment in enrollments:
        if enrollment.status.is_open and (enrollment.next_run_at or
                                          enrollment.parked_run_at) is not None:
            twin = copy.deepcopy(enrollment)
            due = max(start, twin.next_run_at or twin.parked_run_at or start)
            heapq.heappush(queue, (due, str(twin.id), twin))
    per_day: dict[date, Counter[str]] = {}
    cost_day: dict[date, Decimal] = {}
    campaign_day: Counter[date] = Counter({start.date(): sent_today})
    listed: list[PlannedSend] = []
    waiting: Counter[str] = Counter()
    total, spent, completing = 0, Decimal(0), 0
    run_out: datetime | None = None
    while queue:
        due, _, enrollment = heapq.heappop(queue)
        if due >= end:
            waiting["due after the period"] += 1
            continue
        step = campaign.step(enrollment.step_order)
        if step is None or not step.type.sends:
            enrollment.advance(campaign, due, to_order=enrollment.step_order)
            if enrollment.status.is_open:
                heapq.heappush(queue, (enrollment.next_run_at or due, str(enrollment.id),
                                       enrollment))
            continue
        opening = window.next_opening(due, enrollment.timezone)
        if opening > due:
            heapq.heappush(queue, (opening, str(enrollment.id), enrollment))
            continue
        if cap is not None and campaign_day[due.date()] >= cap:
            tomorrow = day_start(due.date() + timedelta(days=1))
            heapq.heappush(queue, (window.next_opening(tomorrow, enrollment.timezone),
                                   str(enrollment.id), enrollment))
            continue
        kind = step.type.send_kind
        choices = email_ids if step.type is StepType.EMAIL else linkedin_ids
        if kind is None or not choices:
            waiting[f"no account for {step.type} steps"] += 1
            continue
        ready_ids = [i for i in choices if pace[i].active]
        if not ready_ids:
            waiting["its sending accounts are paused"] += 1
            continue
        chosen = (enrollment.sender_id if enrollment.sender_id in ready_ids else
                  min(ready_ids, key=lambda i: (pace[i].pacing.ready_at(kind, due), str(i))))
        assert chosen is not None
        sender = pace[chosen]
        ready = sender.pacing.ready_at(kind, due)
        if ready > due:
            if ready - due > timedelta(days=366):
                waiting["a sender's daily cap is 0"] += 1
                continue
            heapq.heappush(queue, (ready, str(enrollment.id), enrollment))
            continue
        price = prices.get(step.type, Decimal(0))
        if price > available - spent:
            run_out = run_out or due
            waiting["insufficient funds"] += 1
            continue
        sender.pacing.count(kind, due, jitter)
        enrollment.sender_id = chosen
        campaign_day[due.date()] += 1
        spent += price
        total += 1
        day = per_day.setdefault(due.date(), Counter())
        day["sends"] += 1
        day[f"step:{step.order}"] += 1
        day[f"sender:{chosen}"] += 1
        cost_day[due.date()] = cost_day.get(due.date(), Decimal(0)) + price
        if len(listed) < LISTED:
            listed.append(PlannedSend(at=due, enrollment_id=enrollment.id,
                                      lead_id=enrollment.lead_id, step_order=step.order,
                                      type=step.type, sender_id=chosen, cost=price))
        enrollment.advance(campaign, due, to_order=step.order + 1)
        if enrollment.status.is_open and enrollment.next_run_at is not None:
            heapq.heappush(queue, (enrollment.next_run_at, str(enrollment.id), enrollment))
        else:
            completing += 1
    plans = [DayPlan(day=d, sends=c["sends"], cost=cost_day[d],
                     by_step={int(k.split(":", 1)[1]): v for k, v in c.items()
                              if k.startswith("step:")},
                     by_sender={uuid.UUID(k.split(":", 1)[1]): v for k, v in c.items()
                                if k.startswith("sender:")})
             for d, c in sorted(per_day.items())]
    return Timeline(start=start, end=end, days=plans, first_sends=listed, total_sends=total,
                    total_cost=spent, completing=completing, waiting=dict(waiting),
                    funds_run_out_at=run_out)
