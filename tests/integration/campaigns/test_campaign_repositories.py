"""The campaigns and outreach repositories round-trip every field on SQLite and
PostgreSQL (as the application role, under row-level security)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from lad_adapters.sql import migrate
from lad_adapters.sql.due_work import SqlLinkedInAccountTenants
from lad_adapters.sql.types import UtcDateTime
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_domain.campaigns.model import (
    ActivityStatus,
    CampaignStatus,
    EnrollmentStatus,
    Step,
    StepStats,
    StepType,
)
from lad_domain.outreach.channels import Security
from lad_domain.outreach.model import (
    AccountStatus,
    Channel,
    EmailAccount,
    LinkedInAccount,
    Pacing,
    Suppression,
    SuppressionReason,
    Template,
)
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import PageRequest
from tests.conftest import POSTGRES_ADMIN_URL
from tests.integration.campaigns import (
    NOW,
    SQL_BACKENDS,
    activity,
    campaign,
    enrollment,
    new_leads,
    new_tenant,
    sql_factory,
)


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uows(backend: str, database_url: str) -> Iterator[SqlUnitOfWorkFactory]:
    yield from sql_factory(database_url)


@pytest.fixture
def tenant(uows: SqlUnitOfWorkFactory) -> uuid.UUID:
    return new_tenant(uows, "acme")


def pacing(**caps: int) -> Pacing:
    return Pacing(caps=dict(caps), min_spacing=timedelta(seconds=90),
                  jitter=timedelta(seconds=30), warmup_start=5, warmup_step=3,
                  warmup_from=date(2026, 3, 1), next_send_at=NOW + timedelta(minutes=2),
                  cooldown_until=NOW + timedelta(minutes=15), counted_day=date(2026, 3, 2),
                  counts={"email": 4})


def mailbox(email: str = "sales@acme.test") -> EmailAccount:
    return EmailAccount(
        id=uuid.uuid4(), email=email, smtp_host="smtp.acme.test", smtp_port=587,
        smtp_security=Security.STARTTLS, pacing=pacing(email=40), created_at=NOW,
        updated_at=NOW, display_name="Sales", smtp_username="sales",
        smtp_password_sealed="v1:sealed-smtp", imap_host="imap.acme.test", imap_port=993,
        imap_security=Security.TLS, imap_username="sales", imap_password_sealed="v1:sealed",
        imap_uid_validity=77, imap_last_uid=1204)


def profile(unipile: str = "unipile-1") -> LinkedInAccount:
    return LinkedInAccount(id=uuid.uuid4(), unipile_account_id=unipile,
                           pacing=pacing(invite=20, message=60, profile_view=80),
                           created_at=NOW, updated_at=NOW, display_name="Ada L.",
                           profile_url="https://www.linkedin.com/in/ada")


# --- outreach ------------------------------------------------------------------------------


def test_templates_round_trip_and_keys_are_unique_per_channel(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    intro = Template(id=uuid.uuid4(), channel=Channel.EMAIL, key="intro", body="Hi {{first_name}}",
                     variables=["first_name"], created_at=NOW, updated_at=NOW, name="Intro",
                     subject="Hello {{first_name}}")
    note = attrs.evolve(intro, id=uuid.uuid4(), channel=Channel.LINKEDIN, subject=None,
                        created_at=NOW + timedelta(seconds=1))
    with uows(tenant) as uow:
        uow.templates.add(intro)
        uow.templates.add(note)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.templates.get(intro.id) == intro
        assert uow.templates.get_by_key(Channel.LINKEDIN, "intro") == note
        assert [t.id for t in uow.templates.list(Channel.EMAIL, PageRequest()).items] == [
            intro.id]
        assert [t.id for t in uow.templates.list(None, PageRequest()).items] == [note.id,
                                                                                 intro.id]
        intro.body, intro.updated_at = "Hello again", NOW + timedelta(hours=1)
        uow.templates.update(intro)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.templates.get(intro.id) == intro
    with uows(tenant) as uow, pytest.raises(Conflict, match="a template with this key"):
        uow.templates.add(attrs.evolve(intro, id=uuid.uuid4()))
    with uows(tenant) as uow:
        intro.deleted_at = NOW + timedelta(hours=2)
        uow.templates.update(intro)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.templates.get(intro.id) is None
        assert uow.templates.get_by_key(Channel.EMAIL, "intro") is None


def test_mailboxes_keep_their_pacing_and_imap_state(uows: SqlUnitOfWorkFactory,
                                                    tenant: uuid.UUID) -> None:
    account = mailbox()
    other = attrs.evolve(mailbox("ops@acme.test"), created_at=NOW + timedelta(seconds=1))
    with uows(tenant) as uow:
        uow.email_accounts.add(account)
        uow.email_accounts.add(attrs.evolve(other, pacing=Pacing(
            caps={}, min_spacing=timedelta(0), jitter=timedelta(0))))
        uow.commit()
    with uows(tenant) as uow:
        locked = uow.email_accounts.get(account.id, lock=True)
        assert locked == account
        assert locked.pacing.cap("email", date(2026, 3, 3)) == 11  # warm-up: 5 + 3 * 2
        locked.pacing.counts["email"] = 5
        locked.imap_last_uid, locked.status = 1300, AccountStatus.ERROR
        locked.last_error = "535 authentication failed"
        uow.email_accounts.update(locked)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.email_accounts.get(account.id) == locked
        assert [a.email for a in uow.email_accounts.all_live()] == ["sales@acme.test",
                                                                   "ops@acme.test"]
        assert uow.email_accounts.get(other.id).pacing.caps == {}  # type: ignore[union-attr]  # added above
        assert len(uow.email_accounts.list(PageRequest(limit=1)).items) == 1
    with uows(tenant) as uow, pytest.raises(Conflict, match="a mailbox with this address"):
        uow.email_accounts.add(mailbox())


def test_linkedin_accounts_round_trip_and_are_found_by_unipile_across_tenants(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    other_tenant = new_tenant(uows, "globex")
    account = profile()
    with uows(tenant) as uow:
        uow.linkedin_accounts.add(account)
        uow.commit()
    with uows(other_tenant) as uow:
        uow.linkedin_accounts.add(profile("unipile-2"))
        uow.commit()
    with uows(tenant) as uow:
        found = uow.linkedin_accounts.get(account.id, lock=True)
        assert found == account
        assert uow.linkedin_accounts.get_by_unipile("unipile-1") == account
        assert uow.linkedin_accounts.get_by_unipile("unipile-2") is None  # another tenant's
        account.pacing.caps["invite"] = 25
        account.status, account.last_error = AccountStatus.DISCONNECTED, "credentials"
        uow.linkedin_accounts.update(account)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.linkedin_accounts.get(account.id) == account
        assert [a.id for a in uow.linkedin_accounts.list(PageRequest()).items] == [account.id]
    tenants = SqlLinkedInAccountTenants(uows.engine)
    assert tenants.tenant_of("unipile-1") == tenant
    assert tenants.tenant_of("unipile-2") == other_tenant
    assert tenants.tenant_of("unipile-3") is None
    with uows(tenant) as uow, pytest.raises(Conflict, match="already connected"):
        uow.linkedin_accounts.add(profile())


def test_an_address_is_suppressed_once_per_channel_and_the_first_reason_stays(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    first = Suppression(id=uuid.uuid4(), channel=Channel.EMAIL, address="ada@example.test",
                        reason=SuppressionReason.UNSUBSCRIBED, created_at=NOW,
                        lead_id=uuid.uuid4(), source="unsubscribe link")
    again = attrs.evolve(first, id=uuid.uuid4(), reason=SuppressionReason.BOUNCED)
    linkedin = attrs.evolve(first, id=uuid.uuid4(), channel=Channel.LINKEDIN,
                            address="ada", created_at=NOW + timedelta(seconds=1))
    with uows(tenant) as uow:
        assert uow.suppressions.add(first) is True
        assert uow.suppressions.add(again) is False
        assert uow.suppressions.add(linkedin) is True
        uow.commit()
    with uows(tenant) as uow:
        assert uow.suppressions.find(Channel.EMAIL, "ada@example.test") == first
        assert uow.suppressions.find(Channel.VOICE, "ada@example.test") is None
        assert list(uow.suppressions.list(None, PageRequest()).items) == [linkedin, first]
        assert list(uow.suppressions.list(Channel.EMAIL, PageRequest()).items) == [first]
        assert uow.suppressions.remove(first.id) is True
        assert uow.suppressions.remove(first.id) is False
        uow.commit()
    with uows(tenant) as uow:
        assert uow.suppressions.find(Channel.EMAIL, "ada@example.test") is None


def test_a_webhook_event_is_recorded_once(uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    body = b'{"event": "message_received", "note": "caf\xc3\xa9"}'
    with uows(tenant) as uow:
        assert uow.webhook_receipts.record("unipile", "evt-1", body, NOW) is True
        assert uow.webhook_receipts.record("unipile", "evt-1", b"other", NOW) is False
        assert uow.webhook_receipts.record("smtp", "evt-1", body, NOW) is True
        uow.commit()
    with uows(tenant) as uow:
        assert uow.webhook_receipts.record("unipile", "evt-1", body, NOW) is False


# --- campaigns -----------------------------------------------------------------------------


def test_a_campaign_round_trips_with_steps_settings_and_linkedin_accounts(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    accounts = [profile(f"u-{k}") for k in range(3)]
    with uows(tenant) as uow:
        for account in accounts:
            uow.linkedin_accounts.add(account)
        uow.commit()
    draft = campaign(status=CampaignStatus.DRAFT,
                     linkedin=(accounts[2].id, accounts[0].id))
    with uows(tenant) as uow:
        uow.campaigns.add(draft)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.campaigns.get(draft.id) == draft
    # Update replaces the steps: one kept (moved), one gone, one new; accounts replaced.
    kept = attrs.evolve(draft.steps[2], order=1)
    new = Step(id=uuid.uuid4(), order=2, type=StepType.CONDITION,
               config={"if": "replied", "then": "stop", "else": "continue"})
    last = Step(id=uuid.uuid4(), order=3, type=StepType.EMAIL, config={"template_key": "bye"})
    later = NOW + timedelta(hours=1)
    draft.replace_steps([kept, new, last], later)
    draft.rename("Summer", later)
    draft.linkedin_account_ids = (accounts[1].id,)
    draft.activate(later)
    with uows(tenant) as uow:
        uow.campaigns.update(draft)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.campaigns.get(draft.id) == draft
        assert [s.id for s in uow.campaigns.get(draft.id).steps] == [  # type: ignore[union-attr]  # just read
            kept.id, new.id, last.id]


def test_campaigns_list_by_status_newest_first_in_pages(uows: SqlUnitOfWorkFactory,
                                                        tenant: uuid.UUID) -> None:
    made = [campaign(name=f"c{k}", at=NOW + timedelta(minutes=k),
                     status=CampaignStatus.ACTIVE if k % 2 else CampaignStatus.PAUSED)
            for k in range(5)]
    gone = campaign(name="gone", at=NOW + timedelta(minutes=9))
    gone.deleted_at = NOW
    with uows(tenant) as uow:
        for one in [*made, gone]:
            uow.campaigns.add(one)
        uow.commit()
    with uows(tenant) as uow:
        first = uow.campaigns.list(None, PageRequest(limit=3))
        assert [c.name for c in first.items] == ["c4", "c3", "c2"]
        assert first.items[0] == made[4]
        rest = uow.campaigns.list(None, PageRequest(limit=3, cursor=first.next_cursor))
        assert ([c.name for c in rest.items], rest.next_cursor) == (["c1", "c0"], None)
        active = uow.campaigns.list(CampaignStatus.ACTIVE, PageRequest())
        assert [c.name for c in active.items] == ["c3", "c1"]
        assert uow.campaigns.get(gone.id) is None
    with uows(new_tenant(uows, "globex")) as uow:
        assert uow.campaigns.get(made[0].id) is None
        assert uow.campaigns.list(None, PageRequest()).items == []


# --- enrollments ---------------------------------------------------------------------------


def test_enrollments_are_added_once_per_lead_and_round_trip(uows: SqlUnitOfWorkFactory,
                                                           tenant: uuid.UUID) -> None:
    leads = new_leads(uows, tenant, 4)
    found = campaign()
    first = [enrollment(found.id, lead, at=NOW + timedelta(seconds=k))
             for k, lead in enumerate(leads[:2])]
    with uows(tenant) as uow:
        uow.campaigns.add(found)
        assert uow.enrollments.add_many(first) == 2
        uow.commit()
    again = [enrollment(found.id, lead, at=NOW + timedelta(seconds=5 + k))
             for k, lead in enumerate([leads[1], leads[2], leads[2], leads[3]])]
    with uows(tenant) as uow:
        assert uow.enrollments.add_many(again) == 2  # leads[1] is in; leads[2] listed twice
        assert uow.enrollments.add_many([]) == 0
        uow.commit()
    one = first[0]
    with uows(tenant) as uow:
        assert uow.enrollments.get(one.id) == one
        locked = uow.enrollments.get(one.id, lock=True)
        assert locked is not None
        locked.advance(found, NOW, to_order=1)
        locked.sender_id, locked.chat_id = uuid.uuid4(), "chat-9"
        locked.opened_at = locked.replied_at = NOW + timedelta(minutes=1)
        locked.accepted_at = locked.bounced_at = NOW + timedelta(minutes=2)
        locked.claim_token, locked.last_error = uuid.uuid4(), "deferred: 451"
        locked.timezone, locked.parked_run_at = "America/New_York", NOW
        uow.enrollments.update(locked)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.enrollments.get(one.id) == locked
        assert locked.step_id == found.steps[0].id
        listed = uow.enrollments.list(found.id, None, PageRequest(limit=3))
        assert len(listed.items) == 3 and listed.next_cursor is not None
        assert len(uow.enrollments.list(found.id, None, PageRequest(
            limit=3, cursor=listed.next_cursor)).items) == 1
        assert [x.id for x in uow.enrollments.list(
            found.id, EnrollmentStatus.ACTIVE, PageRequest()).items] == [
            again[3].id, again[1].id, first[1].id, first[0].id]  # the first of a lead listed twice
        locked.stop("replied", NOW)
        uow.enrollments.update(locked)
        uow.commit()
    with uows(tenant) as uow:
        counts = uow.enrollments.counts(found.id)
        assert counts[EnrollmentStatus.ACTIVE] == 3 and counts[EnrollmentStatus.STOPPED] == 1
        assert counts[EnrollmentStatus.QUEUED] == 0 and len(counts) == len(EnrollmentStatus)


def test_open_enrollments_of_a_lead_span_campaigns(uows: SqlUnitOfWorkFactory,
                                                   tenant: uuid.UUID) -> None:
    [lead, other] = new_leads(uows, tenant, 2)
    spring, summer, autumn = campaign(), campaign(), campaign()
    rows = [enrollment(spring.id, lead), enrollment(summer.id, lead, at=NOW + timedelta(1)),
            enrollment(autumn.id, lead, status=EnrollmentStatus.COMPLETED, next_run_at=None),
            enrollment(spring.id, other)]
    with uows(tenant) as uow:
        for one in (spring, summer, autumn):
            uow.campaigns.add(one)
        uow.enrollments.add_many(rows)
        uow.commit()
    with uows(tenant) as uow:
        assert [x.id for x in uow.enrollments.open_for_lead(lead)] == [rows[0].id, rows[1].id]


def test_park_and_unpark_keep_each_due_time(uows: SqlUnitOfWorkFactory,
                                            tenant: uuid.UUID) -> None:
    leads = new_leads(uows, tenant, 4)
    found, other = campaign(), campaign()
    due = [NOW + timedelta(hours=k) for k in range(3)]
    rows = [enrollment(found.id, leads[0], next_run_at=due[0]),
            enrollment(found.id, leads[1], next_run_at=due[1],
                       status=EnrollmentStatus.WAITING),
            enrollment(found.id, leads[2], next_run_at=None,
                       status=EnrollmentStatus.COMPLETED),
            enrollment(other.id, leads[3], next_run_at=due[2])]
    rows[0].claim_token = uuid.uuid4()
    with uows(tenant) as uow:
        uow.campaigns.add(found)
        uow.campaigns.add(other)
        uow.enrollments.add_many(rows)
        uow.commit()
    later = NOW + timedelta(days=1)
    with uows(tenant) as uow:
        assert uow.enrollments.park(found.id, later) == 2
        assert uow.enrollments.park(found.id, later) == 2  # again: the due times stay parked
        uow.commit()
    with uows(tenant) as uow:
        parked = [uow.enrollments.get(r.id) for r in rows]
        assert [(p.next_run_at, p.parked_run_at) for p in parked if p] == [
            (None, due[0]), (None, due[1]), (None, None), (due[2], None)]
        assert parked[0].claim_token is None and parked[0].updated_at == later  # type: ignore[union-attr]  # read above
        assert uow.enrollments.unpark(found.id, later) == 2
        uow.commit()
    with uows(tenant) as uow:
        back = [uow.enrollments.get(r.id) for r in rows]
        assert [(b.next_run_at, b.parked_run_at) for b in back if b] == [
            (due[0], None), (due[1], None), (None, None), (due[2], None)]


# --- the send ledger -----------------------------------------------------------------------


def test_the_send_ledger_round_trips_and_refuses_a_second_row_per_attempt(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    [lead] = new_leads(uows, tenant, 1)
    found = campaign()
    enrolled = enrollment(found.id, lead)
    sender = uuid.uuid4()
    step = found.steps[0]
    sent = activity(enrolled, step, sender_id=sender)
    with uows(tenant) as uow:
        uow.campaigns.add(found)
        uow.enrollments.add_many([enrolled])
        uow.activities.add(sent)
        uow.commit()
    with uows(tenant) as uow, pytest.raises(Conflict, match="this attempt of the step"):
        uow.activities.add(activity(enrolled, step, sender_id=sender))
    with uows(tenant) as uow:
        assert uow.activities.get(sent.id) == sent
        locked = uow.activities.get(sent.id, lock=True)
        assert locked is not None
        locked.settle(ActivityStatus.SENT, NOW + timedelta(seconds=3), provider_id="smtp-250")
        locked.reservation_id = uuid.uuid4()
        locked.opened_at = locked.replied_at = NOW + timedelta(hours=1)
        locked.bounced_at = locked.accepted_at = NOW + timedelta(hours=2)
        uow.activities.update(locked)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.activities.get(sent.id) == locked
        assert uow.activities.by_message_key([sent.message_key, "<nope>"]) == [locked]
        assert uow.activities.by_message_key([]) == []


def test_the_ledger_answers_the_reads_the_worker_and_the_reports_make(
        uows: SqlUnitOfWorkFactory, tenant: uuid.UUID) -> None:
    leads = new_leads(uows, tenant, 2)
    found, other = campaign(), campaign()
    ada, bob = enrollment(found.id, leads[0]), enrollment(found.id, leads[1])
    stranger = enrollment(other.id, leads[0])
    mail, linkedin = uuid.uuid4(), uuid.uuid4()
    first, third = found.steps[0], found.steps[2]
    rows = [
        activity(ada, first, sender_id=mail, status=ActivityStatus.SENT, at=NOW),
        activity(ada, third, sender_id=linkedin, status=ActivityStatus.SENT, recipient="ada",
                 at=NOW + timedelta(days=2)),
        activity(ada, third, attempt=2, sender_id=linkedin, status=ActivityStatus.FAILED,
                 recipient="ada", at=NOW + timedelta(days=3)),
        activity(bob, first, sender_id=mail, status=ActivityStatus.UNKNOWN,
                 recipient="bob@example.test", at=NOW + timedelta(hours=1)),
        activity(bob, first, attempt=2, sender_id=mail, status=ActivityStatus.DEFERRED,
                 recipient="bob@example.test", at=NOW + timedelta(hours=2)),
        activity(bob, third, sender_id=linkedin, status=ActivityStatus.SENDING,
                 recipient="bob", at=NOW + timedelta(hours=3)),
        activity(stranger, other.steps[0], sender_id=mail, status=ActivityStatus.SENT,
                 at=NOW + timedelta(hours=4)),
    ]
    rows[0].opened_at = rows[0].replied_at = NOW + timedelta(minutes=5)
    rows[1].accepted_at = NOW + timedelta(days=2, hours=1)
    rows[3].bounced_at = NOW + timedelta(hours=1)
    with uows(tenant) as uow:
        uow.campaigns.add(found)
        uow.campaigns.add(other)
        uow.enrollments.add_many([ada, bob, stranger])
        for row in rows:
            uow.activities.add(row)
        uow.commit()
    with uows(tenant) as uow:
        assert uow.activities.for_enrollment(ada.id) == rows[:3]
        assert uow.activities.latest_to(linkedin, "ada") == rows[1]  # sent, not the failure
        assert uow.activities.latest_to(mail, "ada@example.test") == rows[6]
        assert uow.activities.latest_to(mail, "carol@example.test") is None
        assert list(uow.activities.with_status(ActivityStatus.UNKNOWN,
                                               PageRequest()).items) == [rows[3]]
        assert uow.activities.sent_since(found.id, NOW) == 4  # sent, unknown, sending
        assert uow.activities.sent_since(found.id, NOW + timedelta(hours=2)) == 2
        stats = uow.activities.stats(found.id)
    assert sorted(stats, key=lambda x: (x.step_order, str(x.sender_id))) == [
        StepStats(step_order=1, sender_id=mail, sent=1, unknown=1, deferred=1, opened=1,
                  replied=1, bounced=1),
        StepStats(step_order=3, sender_id=linkedin, sent=1, failed=1, sending=1, accepted=1)]


# --- rows written before revision 0301 -----------------------------------------------------


def _old_table(name: str, *columns: str) -> sa.TableClause:
    kinds = {"at": UtcDateTime(), "id": sa.Uuid(), "order": sa.Integer(),
             "attempt": sa.Integer(), "port": sa.Integer(), "limit": sa.Integer()}
    return sa.table(name, *(sa.column(c, kinds.get(c.rpartition("_")[2], sa.String()))
                            for c in columns))


@pytest.fixture(params=SQL_BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    request.getfixturevalue("postgres_url")  # skips when PostgreSQL is not there
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lad_campaigns_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_rows_written_before_0301_are_read_in_the_new_shape(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0202_usage_in_one_call")
    tenant, lead_a, lead_b, lead_c = (uuid.uuid4() for _ in range(4))
    found, step_0, step_1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pending, paused, done = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sent, in_flight, mailbox_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stamps = {"created_at": NOW, "updated_at": NOW}
    engine = sa.create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(_old_table("tenants", "id", "name", "slug", "created_at", "updated_at")
                     .insert().values(id=tenant, name="old", slug="old", **stamps))
        conn.execute(_old_table("leads", "tenant_id", "id", "email", "created_at",
                                "updated_at").insert(),
                     [{"tenant_id": tenant, "id": lead, "email": f"{k}@old.test", **stamps}
                      for k, lead in enumerate((lead_a, lead_b, lead_c))])
        conn.execute(_old_table("campaigns", "tenant_id", "id", "name", "status", "created_at",
                                "updated_at").insert().values(
            tenant_id=tenant, id=found, name="Old", status="running", **stamps))
        conn.execute(_old_table("campaign_steps", "tenant_id", "id", "campaign_id", "type",
                                "order", "created_at", "updated_at").insert(), [
            {"tenant_id": tenant, "id": step_0, "campaign_id": found, "type": "email",
             "order": 0, **stamps},
            {"tenant_id": tenant, "id": step_1, "campaign_id": found,
             "type": "linkedin_connect", "order": 1, **stamps}])
        conn.execute(_old_table("campaign_leads", "tenant_id", "id", "campaign_id", "lead_id",
                                "status", "current_step_id", "next_run_at", "created_at",
                                "updated_at").insert(), [
            {"tenant_id": tenant, "id": pending, "campaign_id": found, "lead_id": lead_a,
             "status": "pending", "current_step_id": step_1, "next_run_at": NOW, **stamps},
            {"tenant_id": tenant, "id": paused, "campaign_id": found, "lead_id": lead_b,
             "status": "paused", "current_step_id": None, "next_run_at": NOW, **stamps},
            {"tenant_id": tenant, "id": done, "campaign_id": found, "lead_id": lead_c,
             "status": "completed", "current_step_id": None, "next_run_at": NOW, **stamps}])
        conn.execute(_old_table("campaign_lead_activities", "tenant_id", "id",
                                "campaign_lead_id", "campaign_id", "step_id", "attempt",
                                "status", "channel", "created_at", "updated_at").insert(), [
            {"tenant_id": tenant, "id": sent, "campaign_lead_id": pending,
             "campaign_id": found, "step_id": step_0, "attempt": 1, "status": "succeeded",
             "channel": None, **stamps},
            {"tenant_id": tenant, "id": in_flight, "campaign_lead_id": pending,
             "campaign_id": found, "step_id": step_1, "attempt": 1, "status": "in_progress",
             "channel": None, **stamps}])
        conn.execute(_old_table("email_accounts", "tenant_id", "id", "email", "smtp_host",
                                "smtp_port", "daily_send_limit", "created_at", "updated_at")
                     .insert().values(tenant_id=tenant, id=mailbox_id, email="old@old.test",
                                      smtp_host="smtp.old.test", smtp_port=465,
                                      daily_send_limit=30, **stamps))
    engine.dispose()
    migrate.upgrade(empty_url)
    for uows in sql_factory(empty_url):
        with uows(tenant) as uow:
            old = uow.campaigns.get(found)
            assert old is not None and old.status is CampaignStatus.ACTIVE
            assert [(s.order, s.type) for s in old.steps] == [
                (1, StepType.EMAIL), (2, StepType.LINKEDIN_INVITE)]
            read = {e.id: e for e in uow.enrollments.list(found, None, PageRequest()).items}
            assert (read[pending].status, read[pending].step_order, read[pending].step_id) == (
                EnrollmentStatus.QUEUED, 2, step_1)
            assert read[paused].status is EnrollmentStatus.WAITING
            assert (read[done].status, read[done].next_run_at) == (EnrollmentStatus.COMPLETED,
                                                                   None)
            ledger = {a.id: a for a in uow.activities.for_enrollment(pending)}
            assert (ledger[sent].status, ledger[sent].channel, ledger[sent].step_order) == (
                ActivityStatus.SENT, Channel.EMAIL, 1)
            assert (ledger[in_flight].status, ledger[in_flight].channel) == (
                ActivityStatus.UNKNOWN, Channel.LINKEDIN)
            # The id as each dialect writes it: hex on SQLite, the uuid's text on PostgreSQL.
            assert ledger[sent].message_key in (f"legacy:{sent.hex}", f"legacy:{sent}")
            assert ledger[sent].sender_id == uuid.UUID(int=0)
            assert ledger[sent].lead_id == lead_a
            box = uow.email_accounts.get(mailbox_id)
            assert box is not None and box.pacing.caps == {"email": 30}
    migrate.downgrade(empty_url, "0202_usage_in_one_call")
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM campaigns")).scalar_one() == "running"
        assert sorted(conn.execute(sa.text("SELECT status FROM campaign_leads")).scalars()) == [
            "completed", "paused", "pending"]
    engine.dispose()
