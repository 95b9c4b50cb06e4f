"""The campaigns and outreach SQL adapters on SQLite and PostgreSQL: what the tests build
with (tenants, leads, campaigns, enrollments and sends), written straight to the tables
or through the repositories under test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lad_adapters.sql.database import create_engine
from lad_adapters.sql.tables.campaigns import campaign_leads
from lad_adapters.sql.tables.leads import leads
from lad_adapters.sql.tables.tenancy import tenants
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    Step,
    StepType,
)
from lad_domain.outreach.model import Channel

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SQL_BACKENDS = ["sqlite", "postgres"]


def sql_factory(database_url: str) -> Iterator[SqlUnitOfWorkFactory]:
    engine = create_engine(database_url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        engine.dispose()


def new_tenant(uows: SqlUnitOfWorkFactory, slug: str) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    with uows(None) as uow:
        uow.db.execute(tenants.insert().values(id=tenant_id, name=slug, slug=slug,
                                               created_at=NOW, updated_at=NOW))
        uow.commit()
    return tenant_id


def new_leads(uows: SqlUnitOfWorkFactory, tenant_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    with uows(tenant_id) as uow:
        uow.db.execute(leads.insert(), [
            {"tenant_id": tenant_id, "id": i, "email": f"lead{k}-{i.hex[:8]}@example.test",
             "created_at": NOW, "updated_at": NOW} for k, i in enumerate(ids)])
        uow.commit()
    return ids


def campaign(*, status: CampaignStatus = CampaignStatus.ACTIVE, name: str = "Spring",
             linkedin: tuple[uuid.UUID, ...] = (), at: datetime = NOW) -> Campaign:
    steps = [Step(id=uuid.uuid4(), order=1, type=StepType.EMAIL,
                  config={"template_key": "intro"}, title="Say hello"),
             Step(id=uuid.uuid4(), order=2, type=StepType.WAIT, config={"days": 2}),
             Step(id=uuid.uuid4(), order=3, type=StepType.LINKEDIN_MESSAGE,
                  config={"template_key": "follow_up"})]
    settings = CampaignSettings.parse({"timezone": "Europe/Paris", "daily_cap": 50,
                                       "stop_on_bounce": False,
                                       "send_window": {"days": ["mon", "wed"],
                                                       "start": "08:30", "end": "18:00"},
                                       "email_account_ids": [str(uuid.uuid4())]})
    return Campaign(id=uuid.uuid4(), name=name, status=status, settings=settings,
                    steps=steps, created_at=at, updated_at=at, started_at=at,
                    linkedin_account_ids=linkedin)


def enrollment(campaign_id: uuid.UUID, lead_id: uuid.UUID, *,
               next_run_at: datetime | None = NOW,
               status: EnrollmentStatus = EnrollmentStatus.ACTIVE,
               at: datetime = NOW) -> Enrollment:
    return Enrollment(id=uuid.uuid4(), campaign_id=campaign_id, lead_id=lead_id,
                      status=status, step_order=1, timezone="UTC", created_at=at,
                      updated_at=at, next_run_at=next_run_at)


def enrol(uows: SqlUnitOfWorkFactory, tenant_id: uuid.UUID, due: Sequence[datetime | None],
          *, status: EnrollmentStatus = EnrollmentStatus.ACTIVE) -> list[uuid.UUID]:
    """A campaign of the tenant with one enrollment per ``due`` (its next_run_at)."""
    lead_ids = new_leads(uows, tenant_id, len(due))
    found = campaign()
    rows = [enrollment(found.id, lead, next_run_at=at, status=status,
                       at=NOW + timedelta(microseconds=k))
            for k, (lead, at) in enumerate(zip(lead_ids, due, strict=True))]
    with uows(tenant_id) as uow:
        uow.campaigns.add(found)
        assert uow.enrollments.add_many(rows) == len(rows)
        uow.commit()
    return [row.id for row in rows]


def activity(enrolled: Enrollment, step: Step, *, attempt: int = 1,
             status: ActivityStatus = ActivityStatus.SENDING, sender_id: uuid.UUID,
             recipient: str = "ada@example.test", key: str | None = None,
             at: datetime = NOW) -> Activity:
    return Activity(id=uuid.uuid4(), enrollment_id=enrolled.id,
                    campaign_id=enrolled.campaign_id, lead_id=enrolled.lead_id,
                    step_id=step.id, step_order=step.order, attempt=attempt, status=status,
                    channel=Channel.EMAIL, sender_id=sender_id,
                    message_key=key or f"<{uuid.uuid4().hex}@lad.test>", recipient=recipient,
                    created_at=at, updated_at=at)


def due_count(uows: SqlUnitOfWorkFactory, tenant_id: uuid.UUID, now: datetime) -> int:
    with uows(tenant_id) as uow:
        e = campaign_leads
        return int(uow.db.execute(sa.select(sa.func.count()).select_from(e).where(
            e.c.tenant_id == tenant_id, e.c.next_run_at <= now)).scalar_one())
