"""A small world to run campaigns in, built through the use cases: a tenant with the
campaigns feature, a funded wallet, a mailbox and a LinkedIn account, templates, leads in
their own time zones, a campaign; the recording channels in place of SMTP and Unipile, a
mailbox reader the test fills, and the fixed clock the test moves."""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from dependency_injector import providers

from lad_adapters.catalog import default_catalog
from lad_adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from lad_domain.campaigns.model import (
    Activity,
    ActivityStatus,
    Campaign,
    Enrollment,
    EnrollmentStatus,
)
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.campaigns.window import zone
from lad_domain.leads.model import Lead
from lad_domain.outreach.channels import (
    SENT_FOLDERS,
    InboundKind,
    InboundMail,
    MailboxBatch,
    MailLogin,
)
from lad_domain.outreach.model import EmailAccount, LinkedInAccount
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.unit.leads.workspace import Workspace
from tests.worlds import OPERATOR, TenantWorld, open_tenant

PUBLIC_URL = "https://lad.example"
_serial = itertools.count(1)
#: A step sequence's usual first email, and its follow-up in the same thread.
HELLO = {"type": "email", "config": {"template_key": "hello"}}
FOLLOW_UP = {"type": "email", "config": {"template_key": "follow-up"}}
ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
          "end": "23:59"}


@attrs.frozen
class Founding:
    """A world's committed rows, its tenant and owner."""

    tables: dict[str, dict[Any, Any]]
    tenant_id: uuid.UUID
    owner: Principal
    templated: bool


class QuickPasswords:
    """The PasswordHasher port without argon2's cost: passwords do not matter here."""

    def hash(self, password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == self.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return False


class Mailboxes:
    """A MailboxReader the test fills: the inbox it fetches, the Message-IDs its sent
    folder holds (None: the mailbox has no sent folder)."""

    def __init__(self) -> None:
        self.inbox: list[InboundMail] = []
        self.sent: set[str] | None = set()
        self.logins: list[MailLogin] = []

    def fetch(self, login: MailLogin, *, folder: str = "INBOX", after_uid: int = 0,
              uid_validity: int | None = None, limit: int = 500) -> MailboxBatch:
        self.logins.append(login)
        new = [m for m in self.inbox if m.uid > after_uid][:limit]
        return MailboxBatch(messages=new, last_uid=max([after_uid, *(m.uid for m in new)]),
                            uid_validity=1)

    def find_sent(self, login: MailLogin, message_id: str, *,
                  folders: Sequence[str] = SENT_FOLDERS) -> bool | None:
        self.logins.append(login)
        return None if self.sent is None else message_id in self.sent


@attrs.define
class World(TenantWorld):
    lad: Container
    clock: FixedClock
    ws: Workspace
    email: RecordingEmail
    linkedin: RecordingLinkedIn
    mailboxes: Mailboxes
    templated: bool = False

    @classmethod
    def open(cls, lad: Container, clock: FixedClock, *, funds: str | None = "10",
             email: RecordingEmail | None = None, linkedin: RecordingLinkedIn | None = None
             ) -> World:
        """A new tenant in ``lad`` (the channels are replaced once per container)."""
        email, linkedin = email or RecordingEmail(), linkedin or RecordingLinkedIn()
        mailboxes = Mailboxes()
        lad.email_channel.override(providers.Object(email))
        lad.linkedin_channel.override(providers.Object(linkedin))
        lad.mailbox_reader.override(providers.Object(mailboxes))
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        lad.send_engine().rng = random.Random(7)
        ws = open_tenant(lad, "campaigns")
        world = cls(lad, clock, ws, email, linkedin, mailboxes)
        if funds is not None:
            world.fund(funds)
        return world

    def founding(self) -> Founding:
        """What this world's store holds now, to start other worlds from (its rows are
        never changed in place: a write replaces them)."""
        factory = self.lad.unit_of_work()
        assert isinstance(factory, InMemoryUnitOfWorkFactory)
        return Founding({name: dict(rows) for name, rows in factory.store.tables.items()},
                        self.ws.tenant_id, self.ws.owner, self.templated)

    @classmethod
    def from_founding(cls, lad: Container, clock: FixedClock, founding: Founding) -> World:
        """A world in a new memory:// container, its store a copy of ``founding``'s: the
        same tenant, money and templates, in a few microseconds instead of milliseconds."""
        email, linkedin = RecordingEmail(), RecordingLinkedIn()
        mailboxes = Mailboxes()
        lad.email_channel.override(providers.Object(email))
        lad.linkedin_channel.override(providers.Object(linkedin))
        lad.mailbox_reader.override(providers.Object(mailboxes))
        lad.send_engine().rng = random.Random(7)
        factory = lad.unit_of_work()
        assert isinstance(factory, InMemoryUnitOfWorkFactory)
        factory.store.tables = {name: dict(rows) for name, rows in founding.tables.items()}
        ws = Workspace(lad, founding.tenant_id, founding.owner)
        return cls(lad, clock, ws, email, linkedin, mailboxes, templated=founding.templated)

    # --- money ----------------------------------------------------------------------------

    def balance(self) -> Decimal:
        return self.wallet().current_balance

    # --- senders, templates, leads --------------------------------------------------------

    def mailbox(self, address: str = "sam@acme.test", **fields: Any) -> EmailAccount:
        """A mailbox that sends over SMTP and is read over IMAP (the test's Mailboxes)."""
        values: dict[str, Any] = {"email": address, "display_name": "Sam",
                                  "smtp_host": "smtp.acme.test", "smtp_port": 587,
                                  "imap_host": "imap.acme.test", "imap_port": 993,
                                  "smtp_username": address, "smtp_password": "s3cret",
                                  "daily_cap": 200, "min_spacing_seconds": 0,
                                  "jitter_seconds": 0}
        values.update(fields)
        account, _ = self.lad.outreach().add_email_account(self.owner, values, verify=False)
        return account

    def linkedin_account(self, unipile: str = "uni-1", **fields: Any) -> LinkedInAccount:
        values: dict[str, Any] = {"unipile_account_id": unipile, "min_spacing_seconds": 0,
                                  "jitter_seconds": 0}
        values.update(fields)
        return self.lad.outreach().add_linkedin_account(self.owner, values)

    def templates(self) -> None:
        """hello and follow-up (email), note and nudge (LinkedIn)."""
        if self.templated:
            return
        self.templated = True
        outreach = self.lad.outreach()
        outreach.save_template(self.owner, channel="email", key_="hello",
                               subject="Hello {{ lead.first_name }}",
                               body="Hi {{ lead.first_name }}, from {{ sender.name }}.\n"
                                    "Unsubscribe: {{ unsubscribe_url }}")
        outreach.save_template(self.owner, channel="email", key_="follow-up",
                               subject="Re: Hello {{ lead.first_name }}",
                               body="Just following up, {{ lead.first_name }}.")
        outreach.save_template(self.owner, channel="linkedin", key_="note",
                               body="Hi {{ lead.first_name }}, let us connect.")
        outreach.save_template(self.owner, channel="linkedin", key_="nudge",
                               body="Thanks for connecting, {{ lead.first_name }}.")

    def lead(self, tz: str | None = "UTC", *, email: str | None = None,
             linkedin: str | None = None, **fields: Any) -> Lead:
        n = next(_serial)
        custom: dict[str, Any] = {}
        if tz is not None:
            custom["timezone"] = tz
        if linkedin is not None:
            custom["linkedin_url"] = linkedin
        fields.setdefault("first_name", f"Lead{n}")
        return self.ws.lead(email=email or f"lead{n}@example.test", custom_fields=custom,
                            **fields)

    # --- campaigns ------------------------------------------------------------------------

    def campaign(self, steps: Sequence[dict[str, Any]] = (HELLO,), *,
                 mailboxes: Sequence[EmailAccount] = (),
                 linkedin: Sequence[LinkedInAccount] = (),
                 leads: Sequence[Lead] = (), activate: bool = True,
                 **settings: Any) -> Campaign:
        """A campaign over these steps and senders, the leads enrolled, activated."""
        settings.setdefault("email_account_ids", [str(m.id) for m in mailboxes])
        campaign = self.lad.campaigns().create(
            self.owner, name=f"Campaign {next(_serial)}", settings=settings,
            steps=list(steps), linkedin_account_ids=[a.id for a in linkedin])
        if leads:
            self.lad.campaigns().enroll(self.owner, campaign.id,
                                        lead_ids=[lead.id for lead in leads])
        if activate:
            campaign = self.lad.campaigns().activate(self.owner, campaign.id)
        return campaign

    def enrollments(self, campaign: Campaign) -> list[Enrollment]:
        page = self.lad.campaigns().list_enrollments(self.owner, campaign.id, None,
                                                     PageRequest(limit=200))
        return list(page.items)

    def enrollment(self, campaign: Campaign, lead: Lead) -> Enrollment:
        [found] = [e for e in self.enrollments(campaign) if e.lead_id == lead.id]
        return found

    def ledger(self, campaign: Campaign, lead: Lead) -> list[Activity]:
        enrollment = self.enrollment(campaign, lead)
        return list(self.lad.campaigns().enrollment(self.owner, campaign.id,
                                                    enrollment.id).ledger)

    def sent(self, campaign: Campaign) -> list[Activity]:
        """The campaign's sent rows of the send ledger, in the order they were written."""
        rows = [a for e in self.enrollments(campaign)
                for a in self.lad.campaigns().enrollment(self.owner, campaign.id, e.id).ledger
                if a.status is ActivityStatus.SENT]
        return sorted(rows, key=lambda a: (a.created_at, a.id))

    def receive(self, *mails: InboundMail) -> None:
        """Mail arrives in the mailboxes; the IMAP poll reads it."""
        self.mailboxes.inbox.extend(mails)
        self.lad.inbound().poll_mailboxes(self.tenant_id)

    def reply_to(self, message_id: str, *, kind: InboundKind = InboundKind.REPLY,
                 **fields: Any) -> InboundMail:
        uid = len(self.mailboxes.inbox) + 1
        values: dict[str, Any] = {"uid": uid, "kind": kind, "message_id": f"<in-{uid}@x.test>",
                                  "refers_to": (message_id,), "from_address": None,
                                  "received_at": self.clock.now()}
        values.update(fields)
        return InboundMail(**values)

    # --- the worker and time --------------------------------------------------------------

    def work(self, limit: int = 100) -> dict[StepResult, int]:
        """One pass of the worker (``lad worker --once``)."""
        return self.lad.send_engine().run_due(limit)

    def rows(self, table: str) -> list[Any]:
        """The tenant's committed rows of a table of the in-memory store (read only)."""
        factory = self.lad.unit_of_work()
        assert isinstance(factory, InMemoryUnitOfWorkFactory)
        return [row for (tenant, *_), row in factory.store.tables.get(table, {}).items()
                if tenant == self.tenant_id]

    def next_due(self) -> datetime | None:
        """The earliest time an open enrollment of the tenant is due (the in-memory store)."""
        factory = self.lad.unit_of_work()
        assert isinstance(factory, InMemoryUnitOfWorkFactory)
        rows = factory.store.tables.get("campaign_leads", {})
        due = [e.next_run_at for (tenant, _), e in rows.items()
               if tenant == self.tenant_id and e.status.is_open and e.next_run_at is not None]
        return min(due) if due else None

    def run_until(self, end: datetime, *, step: timedelta | None = None,
                  limit: int = 100) -> list[datetime]:
        """Run the worker, moving the clock to each next due time (or by ``step``) until
        ``end``; the instants at which something was sent."""
        sent_at: list[datetime] = []
        while self.clock.now() <= end:
            counts = self.work(limit)
            if counts.get(StepResult.SENT):
                sent_at.append(self.clock.now())
            if counts:
                continue
            due = self.next_due()
            later = self.clock.now() + step if step is not None else due
            if later is None or later > end:
                break
            if due is not None and step is None:
                later = max(due, self.clock.now() + timedelta(seconds=1))
            self.clock.set(later)
        return sent_at


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(zone(tz))


def open_statuses() -> tuple[EnrollmentStatus, ...]:
    return tuple(s for s in EnrollmentStatus if s.is_open)
