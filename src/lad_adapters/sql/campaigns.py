"""SQL repositories of the campaigns context: campaigns with their steps and LinkedIn
accounts, lead enrollments, and the send ledger."""

from __future__ import annotations

import builtins
import copy
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.database import Db
from lad_adapters.sql.outreach import OutreachRepository
from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.tables.campaigns import (
    OPEN_ENROLLMENT_STATUSES,
    campaign_lead_activities,
    campaign_leads,
    campaign_steps,
    campaigns,
)
from lad_adapters.sql.tables.outreach import campaign_linkedin_accounts
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    Step,
    StepStats,
    StepType,
)
from lad_domain.outreach.model import Channel
from lad_domain.shared.pagination import Page, PageRequest

c = campaigns
s = campaign_steps
cla = campaign_linkedin_accounts
e = campaign_leads
a = campaign_lead_activities

#: The settings a campaign's config holds (a row written before them may hold others).
SETTINGS = ("send_window", "timezone", "daily_cap", "stop_on_reply", "stop_on_bounce",
            "email_account_ids")
#: Multi-row INSERTs stay under SQLite's bound-parameter limit.
INSERT_CHUNK = 500


# --- campaigns ---------------------------------------------------------------------------


def _row_to_step(row: sa.Row[Any]) -> Step:
    return Step(id=row.id, order=row.order, type=StepType(row.type), config=dict(row.config),
                title=row.title)


def _row_to_campaign(row: sa.Row[Any], steps: list[Step],
                     linkedin_account_ids: tuple[uuid.UUID, ...]) -> Campaign:
    config = {k: v for k, v in (row.config or {}).items() if k in SETTINGS}
    return Campaign(id=row.id, name=row.name, status=CampaignStatus(row.status),
                    settings=CampaignSettings.parse(config), steps=steps,
                    created_at=row.created_at, updated_at=row.updated_at,
                    created_by=row.created_by, started_at=row.started_at,
                    ended_at=row.ended_at, linkedin_account_ids=linkedin_account_ids,
                    deleted_at=row.deleted_at)


class SqlCampaignRepository(OutreachRepository):
    def __init__(self, db: Db, tenant_id: uuid.UUID | None) -> None:
        super().__init__(db, tenant_id)
        #: The campaigns this unit of work has read, as read: a campaign step reads its
        #: campaign two or three times in one transaction (the checks, the message, the
        #: outcome), three statements each. A copy is handed out, so a change the caller
        #: makes and does not save is not seen by the next read; a write forgets them.
        self._read: dict[uuid.UUID, Campaign | None] = {}

    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [c.c.tenant_id == self.tenant_id, c.c.deleted_at.is_(None), *where]

    def add(self, campaign: Campaign) -> None:
        self._read.clear()
        self._db.execute(c.insert().values(
            tenant_id=self.tenant_id, id=campaign.id, created_by=campaign.created_by,
            created_at=campaign.created_at, **self._values(campaign)))
        self._save_steps(campaign)
        self._save_linkedin_accounts(campaign)

    def get(self, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign | None:
        """Read once per unit of work (a copy each time); ``lock`` always asks the
        database, and holds the row."""
        if lock or campaign_id not in self._read:
            query = sa.select(c).where(*self._live(c.c.id == campaign_id))
            row = self._one(self._locked(query, lock))
            self._read[campaign_id] = self._campaigns([row])[0] if row else None
        found = self._read[campaign_id]
        return copy.deepcopy(found) if found is not None else None

    def update(self, campaign: Campaign) -> None:
        self._read.clear()
        self._db.execute(c.update().where(c.c.tenant_id == self.tenant_id,
                                          c.c.id == campaign.id)
                         .values(self._values(campaign)))
        self._save_steps(campaign)
        self._save_linkedin_accounts(campaign)

    def list(self, status: CampaignStatus | None, page: PageRequest) -> Page[Campaign]:
        where = self._live()
        if status is not None:
            where.append(c.c.status == str(status))
        rows = paginate(self._db, sa.select(c).where(*where), created_at=c.c.created_at,
                        id_column=c.c.id, page=page, to_item=lambda row: row)
        return Page(items=self._campaigns(list(rows.items)), next_cursor=rows.next_cursor)

    def _campaigns(self, rows: Sequence[sa.Row[Any]]) -> builtins.list[Campaign]:
        """Rows as campaigns, with the steps and accounts of all of them in two reads."""
        ids = [row.id for row in rows]
        if not ids:
            return []
        steps: dict[uuid.UUID, builtins.list[Step]] = defaultdict(list)
        for step in self._db.execute(sa.select(s).where(
                s.c.tenant_id == self.tenant_id, s.c.campaign_id.in_(ids))
                .order_by(s.c.campaign_id, s.c.order)):
            steps[step.campaign_id].append(_row_to_step(step))
        accounts: dict[uuid.UUID, builtins.list[uuid.UUID]] = defaultdict(list)
        for link in self._db.execute(sa.select(cla.c.campaign_id, cla.c.linkedin_account_id)
                                     .where(cla.c.tenant_id == self.tenant_id,
                                            cla.c.campaign_id.in_(ids))
                                     .order_by(cla.c.created_at, cla.c.linkedin_account_id)):
            accounts[link.campaign_id].append(link.linkedin_account_id)
        return [_row_to_campaign(row, steps[row.id], tuple(accounts[row.id])) for row in rows]

    def _save_steps(self, campaign: Campaign) -> None:
        """The campaign's steps become exactly ``campaign.steps``: each kept step updated
        in place (the ledger's rows keep pointing at it), new ones inserted, others gone."""
        mine = [s.c.tenant_id == self.tenant_id, s.c.campaign_id == campaign.id]
        ids = [step.id for step in campaign.steps]
        self._db.execute(s.delete().where(*mine, s.c.id.not_in(ids)))
        for step in campaign.steps:
            values = {"order": step.order, "type": str(step.type), "title": step.title,
                      "config": dict(step.config), "updated_at": campaign.updated_at}
            self._update_or_insert(s, [*mine, s.c.id == step.id], values,
                                   tenant_id=self.tenant_id, id=step.id,
                                   campaign_id=campaign.id, created_at=campaign.updated_at)

    def _save_linkedin_accounts(self, campaign: Campaign) -> None:
        """The accounts in the campaign's order: the position is kept in created_at (a
        microsecond apart), the order they are read back in."""
        self._db.execute(cla.delete().where(cla.c.tenant_id == self.tenant_id,
                                            cla.c.campaign_id == campaign.id))
        if campaign.linkedin_account_ids:
            self._db.execute(cla.insert(), [
                {"tenant_id": self.tenant_id, "campaign_id": campaign.id,
                 "linkedin_account_id": account_id,
                 "created_at": campaign.updated_at + timedelta(microseconds=position)}
                for position, account_id in enumerate(campaign.linkedin_account_ids)])

    @staticmethod
    def _values(campaign: Campaign) -> dict[str, Any]:
        return {"name": campaign.name, "status": str(campaign.status),
                "config": campaign.settings.document(), "started_at": campaign.started_at,
                "ended_at": campaign.ended_at, "updated_at": campaign.updated_at,
                "deleted_at": campaign.deleted_at}


# --- enrollments -------------------------------------------------------------------------


def _row_to_enrollment(row: sa.Row[Any]) -> Enrollment:
    return Enrollment(
        id=row.id, campaign_id=row.campaign_id, lead_id=row.lead_id,
        status=EnrollmentStatus(row.status), step_order=row.step_order, timezone=row.timezone,
        created_at=row.created_at, updated_at=row.updated_at, next_run_at=row.next_run_at,
        parked_run_at=row.parked_run_at, sender_id=row.sender_id, chat_id=row.chat_id,
        stop_reason=row.stop_reason, last_error=row.last_error, replied_at=row.replied_at,
        opened_at=row.opened_at, accepted_at=row.accepted_at, bounced_at=row.bounced_at,
        claim_token=row.claim_token, step_id=row.current_step_id)


_OPEN = e.c.status.in_(OPEN_ENROLLMENT_STATUSES)


class SqlEnrollmentRepository(OutreachRepository):
    def add_many(self, enrollments: Sequence[Enrollment]) -> int:
        """Multi-row INSERTs, ON CONFLICT DO NOTHING: a lead already in the campaign (or
        twice in the list) is skipped; the rows inserted are counted."""
        added = 0
        rows = [{"tenant_id": self.tenant_id, "id": enrollment.id,
                 "campaign_id": enrollment.campaign_id, "lead_id": enrollment.lead_id,
                 "created_at": enrollment.created_at, **self._values(enrollment)}
                for enrollment in enrollments]
        for start in range(0, len(rows), INSERT_CHUNK):
            inserted = self._db.execute(self._insert(e).values(
                rows[start:start + INSERT_CHUNK]).on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True))
            added += inserted.rowcount
        return added

    def get(self, enrollment_id: uuid.UUID, *, lock: bool = False) -> Enrollment | None:
        query = sa.select(e).where(e.c.tenant_id == self.tenant_id, e.c.id == enrollment_id)
        row = self._one(self._locked(query, lock))
        return _row_to_enrollment(row) if row else None

    def update(self, enrollment: Enrollment) -> None:
        self._db.execute(e.update().where(e.c.tenant_id == self.tenant_id,
                                          e.c.id == enrollment.id)
                         .values(self._values(enrollment)))

    def list(self, campaign_id: uuid.UUID, status: EnrollmentStatus | None,
             page: PageRequest) -> Page[Enrollment]:
        where = [e.c.tenant_id == self.tenant_id, e.c.campaign_id == campaign_id]
        if status is not None:
            where.append(e.c.status == str(status))
        return paginate(self._db, sa.select(e).where(*where), created_at=e.c.created_at,
                        id_column=e.c.id, page=page, to_item=_row_to_enrollment)

    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[Enrollment]:
        rows = self._db.execute(sa.select(e).where(
            e.c.tenant_id == self.tenant_id, e.c.lead_id == lead_id, _OPEN)
            .order_by(e.c.created_at, e.c.id)).all()
        return [_row_to_enrollment(row) for row in rows]

    def park(self, campaign_id: uuid.UUID, at: datetime) -> int:
        return int(self._db.execute(e.update().where(
            e.c.tenant_id == self.tenant_id, e.c.campaign_id == campaign_id, _OPEN
        ).values(parked_run_at=sa.func.coalesce(e.c.next_run_at, e.c.parked_run_at),
                 next_run_at=None, claim_token=None, updated_at=at)).rowcount)

    def stop_open(self, campaign_id: uuid.UUID, reason: str, at: datetime) -> int:
        return int(self._db.execute(e.update().where(
            e.c.tenant_id == self.tenant_id, e.c.campaign_id == campaign_id, _OPEN
        ).values(status=str(EnrollmentStatus.STOPPED), stop_reason=reason, next_run_at=None,
                 parked_run_at=None, claim_token=None, updated_at=at)).rowcount)

    def unpark(self, campaign_id: uuid.UUID, at: datetime) -> int:
        return int(self._db.execute(e.update().where(
            e.c.tenant_id == self.tenant_id, e.c.campaign_id == campaign_id, _OPEN,
            e.c.parked_run_at.is_not(None)
        ).values(next_run_at=e.c.parked_run_at, parked_run_at=None, updated_at=at)).rowcount)

    def counts(self, campaign_id: uuid.UUID) -> dict[EnrollmentStatus, int]:
        found = {EnrollmentStatus(row.status): int(row.n) for row in self._db.execute(
            sa.select(e.c.status, sa.func.count().label("n"))
            .where(e.c.tenant_id == self.tenant_id, e.c.campaign_id == campaign_id)
            .group_by(e.c.status))}
        return {status: found.get(status, 0) for status in EnrollmentStatus}

    @staticmethod
    def _values(enrollment: Enrollment) -> dict[str, Any]:
        return {"status": str(enrollment.status), "step_order": enrollment.step_order,
                "current_step_id": enrollment.step_id, "timezone": enrollment.timezone,
                "next_run_at": enrollment.next_run_at,
                "parked_run_at": enrollment.parked_run_at, "sender_id": enrollment.sender_id,
                "chat_id": enrollment.chat_id, "claim_token": enrollment.claim_token,
                "stop_reason": enrollment.stop_reason, "last_error": enrollment.last_error,
                "replied_at": enrollment.replied_at, "opened_at": enrollment.opened_at,
                "accepted_at": enrollment.accepted_at, "bounced_at": enrollment.bounced_at,
                "updated_at": enrollment.updated_at}


# --- the send ledger ---------------------------------------------------------------------


def _row_to_activity(row: sa.Row[Any]) -> Activity:
    return Activity(
        id=row.id, enrollment_id=row.campaign_lead_id, campaign_id=row.campaign_id,
        lead_id=row.lead_id, step_id=row.step_id, step_order=row.step_order,
        attempt=row.attempt, status=ActivityStatus(row.status), channel=Channel(row.channel),
        sender_id=row.sender_id, message_key=row.message_key, recipient=row.recipient,
        created_at=row.created_at, updated_at=row.updated_at,
        provider_id=row.provider_message_id, code=row.code, error=row.error,
        completed_at=row.completed_at, reservation_id=row.reservation_id,
        opened_at=row.opened_at, replied_at=row.replied_at, bounced_at=row.bounced_at,
        accepted_at=row.accepted_at)


#: The sends a campaign's daily cap counts: in flight, sent, or perhaps sent.
_COUNTED = (ActivityStatus.SENDING, ActivityStatus.SENT, ActivityStatus.UNKNOWN)


class SqlActivityRepository(OutreachRepository):
    def add(self, activity: Activity) -> None:
        self._db.execute(a.insert().values(
            tenant_id=self.tenant_id, id=activity.id, campaign_lead_id=activity.enrollment_id,
            campaign_id=activity.campaign_id, lead_id=activity.lead_id,
            step_id=activity.step_id, step_order=activity.step_order,
            attempt=activity.attempt, channel=str(activity.channel),
            sender_id=activity.sender_id, message_key=activity.message_key,
            recipient=activity.recipient, created_at=activity.created_at,
            **self._values(activity)))

    def get(self, activity_id: uuid.UUID, *, lock: bool = False) -> Activity | None:
        query = sa.select(a).where(a.c.tenant_id == self.tenant_id, a.c.id == activity_id)
        row = self._one(self._locked(query, lock))
        return _row_to_activity(row) if row else None

    def update(self, activity: Activity) -> None:
        self._db.execute(a.update().where(a.c.tenant_id == self.tenant_id,
                                          a.c.id == activity.id)
                         .values(self._values(activity)))

    def for_enrollment(self, enrollment_id: uuid.UUID) -> Sequence[Activity]:
        rows = self._db.execute(sa.select(a).where(
            a.c.tenant_id == self.tenant_id, a.c.campaign_lead_id == enrollment_id)
            .order_by(a.c.created_at, a.c.step_order, a.c.attempt, a.c.id)).all()
        return [_row_to_activity(row) for row in rows]

    def by_message_key(self, message_keys: Collection[str]) -> Sequence[Activity]:
        if not message_keys:
            return []
        rows = self._db.execute(sa.select(a).where(
            a.c.tenant_id == self.tenant_id, a.c.message_key.in_(list(message_keys)))
            .order_by(a.c.created_at, a.c.id)).all()
        return [_row_to_activity(row) for row in rows]

    def latest_to(self, sender_id: uuid.UUID, recipient: str) -> Activity | None:
        row = self._one(sa.select(a).where(
            a.c.tenant_id == self.tenant_id, a.c.sender_id == sender_id,
            a.c.recipient == recipient, a.c.status == str(ActivityStatus.SENT))
            .order_by(a.c.created_at.desc(), a.c.id.desc()).limit(1))
        return _row_to_activity(row) if row else None

    def with_status(self, status: ActivityStatus, page: PageRequest) -> Page[Activity]:
        query = sa.select(a).where(a.c.tenant_id == self.tenant_id, a.c.status == str(status))
        return paginate(self._db, query, created_at=a.c.created_at, id_column=a.c.id,
                        page=page, to_item=_row_to_activity)

    def sent_since(self, campaign_id: uuid.UUID, since: datetime) -> int:
        return int(self._db.execute(sa.select(sa.func.count()).select_from(a).where(
            a.c.tenant_id == self.tenant_id, a.c.campaign_id == campaign_id,
            a.c.created_at >= since, a.c.status.in_([str(x) for x in _COUNTED]))
        ).scalar_one())

    def stats(self, campaign_id: uuid.UUID) -> Sequence[StepStats]:
        def status_is(status: ActivityStatus) -> sa.ColumnElement[Any]:
            return sa.func.count(sa.case((a.c.status == str(status), 1))).label(str(status))

        rows = self._db.execute(sa.select(
            a.c.step_order, a.c.sender_id, *(status_is(x) for x in ActivityStatus),
            sa.func.count(a.c.opened_at).label("opened"),
            sa.func.count(a.c.replied_at).label("replied"),
            sa.func.count(a.c.bounced_at).label("bounced"),
            sa.func.count(a.c.accepted_at).label("accepted"),
        ).where(a.c.tenant_id == self.tenant_id, a.c.campaign_id == campaign_id)
            .group_by(a.c.step_order, a.c.sender_id)
            .order_by(a.c.step_order, a.c.sender_id)).all()
        return [StepStats(step_order=row.step_order, sender_id=row.sender_id,
                          sent=row.sent, failed=row.failed, deferred=row.deferred,
                          unknown=row.unknown, sending=row.sending, opened=row.opened,
                          replied=row.replied, bounced=row.bounced, accepted=row.accepted)
                for row in rows]

    @staticmethod
    def _values(activity: Activity) -> dict[str, Any]:
        return {"status": str(activity.status), "provider_message_id": activity.provider_id,
                "code": activity.code, "error": activity.error,
                "completed_at": activity.completed_at,
                "reservation_id": activity.reservation_id, "opened_at": activity.opened_at,
                "replied_at": activity.replied_at, "bounced_at": activity.bounced_at,
                "accepted_at": activity.accepted_at, "updated_at": activity.updated_at}
