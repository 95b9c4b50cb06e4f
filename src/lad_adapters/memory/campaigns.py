"""In-memory repositories of the campaigns context, and the claim of due work across
tenants (fair: tenants take turns), with the same rules as SQL."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from lad_adapters.memory.store import InMemoryRepository, InMemoryStore
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignStatus,
    Claim,
    Enrollment,
    EnrollmentStatus,
    StepStats,
)
from lad_domain.shared.pagination import Page, PageRequest

ENROLLMENTS = "campaign_leads"


class InMemoryCampaignRepository(InMemoryRepository):
    table_name = "campaigns"

    def add(self, campaign: Campaign) -> None:
        self._insert((self.tenant_id, campaign.id), campaign, "pk_campaigns")

    def get(self, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign | None:
        found: Campaign | None = self._get((self.tenant_id, campaign_id))
        return found if found is not None and found.deleted_at is None else None

    def update(self, campaign: Campaign) -> None:
        self._put((self.tenant_id, campaign.id), campaign)

    def list(self, status: CampaignStatus | None, page: PageRequest) -> Page[Campaign]:
        return self._paginate([copy.deepcopy(c) for k, c in self.rows.items()
                               if k[0] == self.tenant_id and c.deleted_at is None
                               and status in (None, c.status)], page,
                              lambda c: (c.created_at, c.id), within=status)


class InMemoryEnrollmentRepository(InMemoryRepository):
    table_name = ENROLLMENTS

    def add_many(self, enrollments: Sequence[Enrollment]) -> int:
        taken = {(e.campaign_id, e.lead_id) for k, e in self.rows.items()
                 if k[0] == self.tenant_id}
        added = 0
        for enrollment in enrollments:
            if (enrollment.campaign_id, enrollment.lead_id) in taken:
                continue
            self._references("campaigns", (self.tenant_id, enrollment.campaign_id))
            self._references("leads", (self.tenant_id, enrollment.lead_id))
            self._insert((self.tenant_id, enrollment.id), enrollment, "pk_campaign_leads")
            taken.add((enrollment.campaign_id, enrollment.lead_id))
            added += 1
        return added

    def get(self, enrollment_id: uuid.UUID, *, lock: bool = False) -> Enrollment | None:
        found: Enrollment | None = self._get((self.tenant_id, enrollment_id))
        return found

    def update(self, enrollment: Enrollment) -> None:
        self._put((self.tenant_id, enrollment.id), enrollment)

    def list(self, campaign_id: uuid.UUID, status: EnrollmentStatus | None,
             page: PageRequest) -> Page[Enrollment]:
        return self._paginate([*self._where(lambda e: e.campaign_id == campaign_id
                                          and status in (None, e.status))], page,
                              lambda e: (e.created_at, e.id), within=(campaign_id, status))

    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[Enrollment]:
        return self._where(lambda e: e.lead_id == lead_id and e.status.is_open)

    def park(self, campaign_id: uuid.UUID, at: datetime) -> int:
        return self._each(campaign_id, lambda e: e.next_run_at is not None,
                          lambda e: e.park(at))

    def stop_open(self, campaign_id: uuid.UUID, reason: str, at: datetime) -> int:
        return self._each(campaign_id, lambda e: True, lambda e: e.stop(reason, at))

    def unpark(self, campaign_id: uuid.UUID, at: datetime) -> int:
        def unpark(e: Enrollment) -> None:
            e.next_run_at, e.parked_run_at = e.parked_run_at, None
            e.updated_at = at

        return self._each(campaign_id, lambda e: e.parked_run_at is not None, unpark)

    def counts(self, campaign_id: uuid.UUID) -> dict[EnrollmentStatus, int]:
        found = Counter(e.status for k, e in self.rows.items()
                        if k[0] == self.tenant_id and e.campaign_id == campaign_id)
        return {status: found.get(status, 0) for status in EnrollmentStatus}

    def _where(self, predicate: Callable[[Enrollment], bool]) -> Sequence[Enrollment]:
        return [copy.deepcopy(e) for k, e in self.rows.items()
                if k[0] == self.tenant_id and predicate(e)]

    def _each(self, campaign_id: uuid.UUID, predicate: Callable[[Enrollment], bool],
              change: Callable[[Enrollment], object]) -> int:
        changed = 0
        for key, enrollment in list(self.rows.items()):
            if key[0] == self.tenant_id and enrollment.campaign_id == campaign_id \
                    and enrollment.status.is_open and predicate(enrollment):
                moved = copy.deepcopy(enrollment)
                change(moved)
                self.rows[key] = moved
                changed += 1
        return changed


class InMemoryActivityRepository(InMemoryRepository):
    table_name = "campaign_lead_activities"

    def add(self, activity: Activity) -> None:
        self._unique([a for k, a in self.rows.items() if k[0] == self.tenant_id],
                     lambda a: (a.enrollment_id, a.step_id, a.attempt) == (
                         activity.enrollment_id, activity.step_id, activity.attempt),
                     "uq_campaign_lead_activities_attempt")
        self._references(ENROLLMENTS, (self.tenant_id, activity.enrollment_id))
        self._insert((self.tenant_id, activity.id), activity, "pk_campaign_lead_activities")

    def get(self, activity_id: uuid.UUID, *, lock: bool = False) -> Activity | None:
        found: Activity | None = self._get((self.tenant_id, activity_id))
        return found

    def update(self, activity: Activity) -> None:
        self._put((self.tenant_id, activity.id), activity)

    def for_enrollment(self, enrollment_id: uuid.UUID) -> Sequence[Activity]:
        return sorted(self._where(lambda a: a.enrollment_id == enrollment_id),
                      key=lambda a: (a.created_at, a.id))

    def by_message_key(self, message_keys: Collection[str]) -> Sequence[Activity]:
        wanted = set(message_keys)
        return sorted(self._where(lambda a: a.message_key in wanted),
                      key=lambda a: (a.created_at, a.id))

    def latest_to(self, sender_id: uuid.UUID, recipient: str) -> Activity | None:
        found = self._where(lambda a: a.sender_id == sender_id and a.recipient == recipient
                            and a.status is ActivityStatus.SENT)
        return max(found, key=lambda a: (a.created_at, a.id)) if found else None

    def with_status(self, status: ActivityStatus, page: PageRequest) -> Page[Activity]:
        return self._paginate([*self._where(lambda a: a.status is status)], page,
                              lambda a: (a.created_at, a.id), within=status)

    def sent_since(self, campaign_id: uuid.UUID, since: datetime) -> int:
        counted = (ActivityStatus.SENDING, ActivityStatus.SENT, ActivityStatus.UNKNOWN)
        return sum(1 for k, a in self.rows.items() if k[0] == self.tenant_id
                   and a.campaign_id == campaign_id and a.created_at >= since
                   and a.status in counted)

    def stats(self, campaign_id: uuid.UUID) -> Sequence[StepStats]:
        groups: dict[tuple[int, uuid.UUID], Counter[str]] = {}
        for key, a in self.rows.items():
            if key[0] != self.tenant_id or a.campaign_id != campaign_id:
                continue
            counts = groups.setdefault((a.step_order, a.sender_id), Counter())
            counts[a.status.value] += 1
            for mark in ("opened", "replied", "bounced", "accepted"):
                if getattr(a, f"{mark}_at") is not None:
                    counts[mark] += 1
        return [StepStats(step_order=order, sender_id=sender, **{
                    name: counts.get(name, 0) for name in (
                        "sent", "failed", "deferred", "unknown", "sending", "opened",
                        "replied", "bounced", "accepted")})
                for (order, sender), counts in sorted(groups.items(),
                                                      key=lambda g: (g[0][0], str(g[0][1])))]

    def _where(self, predicate: Callable[[Activity], bool]) -> Sequence[Activity]:
        return [copy.deepcopy(a) for k, a in self.rows.items()
                if k[0] == self.tenant_id and predicate(a)]


class InMemoryDueWork:
    """Claims due enrollments across tenants from the committed store, under its lock (one
    writer, as on SQLite). Fair: tenants take turns, oldest due first within each."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID
              ) -> Sequence[Claim]:
        with self.store.lock:
            rows = self.store.tables.get(ENROLLMENTS, {})
            by_tenant: dict[uuid.UUID, list[tuple[datetime, uuid.UUID]]] = {}
            for (tenant_id, enrollment_id), e in rows.items():
                if e.next_run_at is not None and e.next_run_at <= now and e.status.is_open:
                    by_tenant.setdefault(tenant_id, []).append((e.next_run_at, enrollment_id))
            queues = [(tenant_id, sorted(due, reverse=True)) for tenant_id, due in
                      sorted(by_tenant.items(), key=lambda t: min(t[1]))]
            chosen: list[Claim] = []
            while len(chosen) < limit and queues:
                for tenant_id, due in queues:
                    if len(chosen) < limit and due:
                        chosen.append(Claim(tenant_id=tenant_id, enrollment_id=due.pop()[1],
                                            token=token))
                queues = [(t, due) for t, due in queues if due]
            table = dict(rows)
            for claim in chosen:
                held = copy.deepcopy(table[(claim.tenant_id, claim.enrollment_id)])
                held.next_run_at = now + lease
                held.claim_token = token
                table[(claim.tenant_id, claim.enrollment_id)] = held
            self.store.tables[ENROLLMENTS] = table
            return chosen
