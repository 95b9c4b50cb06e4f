"""Campaigns end to end against real mail servers on loopback, through the container's own
adapters: an aiosmtpd server (STARTTLS, AUTH) the emails go to, a Dovecot the replies,
auto-replies, bounces and sent copies are read from, both trusted through the test CA in
``mail_ca_file``. Each scenario checks the ledger, the enrollment and what the server saw."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_domain.campaigns.services.engine import StepResult
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_entrypoints.container import Container
from lad_entrypoints.worker import Worker
from tests.integration.campaigns.conftest import ALWAYS
from tests.integration.tenancy.api import Account
from tests.mailservers import (
    HOST,
    PASSWORD,
    QUEUE_ID,
    USERNAME,
    Certificates,
    Dovecot,
    ScriptedSmtpBehaviour,
    dovecot,
    free_port,
    make_certificates,
    starttls_server,
)
from tests.unit.outreach.test_inbound_mail import dsn, raw

#: The tests of this module share its servers (module scope) and what they hold: one
#: xdist worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("mail_flow")

IMAP_USER, IMAP_PASSWORD = "sender", "imap-pass"
ADA, BOB = "ada@example.test", "bob@example.test"
INTRO = {"channel": "email", "key": "intro", "subject": "Hello {{ lead.first_name }}",
         "body": "Dear {{ lead.first_name }},\n\nA word from {{ sender.name }}.\n\n"
                 "Unsubscribe: {{ unsubscribe_url }}"}
NUDGE = {"channel": "email", "key": "nudge", "subject": "Re: Hello {{ lead.first_name }}",
         "body": "Just checking in, {{ lead.first_name }}."}
STEPS = [{"type": "email", "config": {"template_key": "intro"}},
         {"type": "wait", "config": {"days": 1}},
         {"type": "email", "config": {"template_key": "nudge"}}]
COOL_DOWN = timedelta(minutes=15)  # a deferral without Retry-After
THROTTLED = "421 4.7.0 Too many messages, slow down"


# --- the servers, once for the module --------------------------------------------------------

@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


@pytest.fixture(scope="module")
def behaviour() -> ScriptedSmtpBehaviour:
    return ScriptedSmtpBehaviour()


@pytest.fixture(scope="module")
def smtp_port(behaviour: ScriptedSmtpBehaviour, certificates: Certificates) -> Iterator[int]:
    with starttls_server(behaviour, certificates) as port:
        yield port


@pytest.fixture(scope="module")
def imap() -> Iterator[Dovecot]:
    with dovecot({IMAP_USER: IMAP_PASSWORD}) as server:
        yield server


@pytest.fixture(scope="module")
def ca_bundle(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates,
              imap: Dovecot) -> Path:
    """Both test CAs in one PEM file: what LAD_MAIL_CA_FILE names."""
    bundle = tmp_path_factory.mktemp("ca") / "mail-ca.pem"
    bundle.write_text(Path(certificates.ca_file).read_text()
                      + Path(imap.certificates.ca_file).read_text())
    return bundle


@pytest.fixture(autouse=True)
def _servers_forget(behaviour: ScriptedSmtpBehaviour, imap: Dovecot) -> None:
    behaviour.received.clear()
    behaviour.rcpt_next.clear()
    behaviour.drop_next.clear()
    imap.empty(IMAP_USER, "INBOX", "Sent")


@pytest.fixture
def lad(lad: Container, ca_bundle: Path) -> Container:
    """The campaigns container with its real SMTP channel back (not the recording one) and
    the test CAs trusted, on memory, SQLite and PostgreSQL. Sign-in tokens last a week: the
    tests move the clock by days."""
    lad.email_channel.reset_override()
    settings = lad.settings().model_copy(update={"mail_ca_file": ca_bundle,
                                                 "token_ttl_minutes": 7 * 24 * 60})
    lad.settings.override(providers.Object(settings))
    return lad


# --- a campaign of two emails a day apart ----------------------------------------------------

def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def principal(owner: Account) -> Principal:
    return Principal(kind=PrincipalKind.USER, tenant_id=uuid.UUID(owner.tenant_id),
                     role=Role.OWNER, user_id=uuid.UUID(owner.user_id))


@dataclass(frozen=True)
class Launched:
    client: TestClient
    owner: Account
    campaign_id: str
    mailbox_id: str
    leads: dict[str, str]  # address -> lead id

    def get(self, path: str, **params: Any) -> Any:
        return _ok(self.client.get(path, headers=self.owner.auth, params=params))

    def enrollments(self) -> dict[str, dict[str, Any]]:
        """The campaign's enrollments by their lead's address."""
        items = self.get(f"/v1/campaigns/{self.campaign_id}/enrollments")["items"]
        address = {lead_id: address for address, lead_id in self.leads.items()}
        return {address[item["lead_id"]]: item for item in items}

    def ledger(self, address: str) -> list[dict[str, Any]]:
        enrollment = self.enrollments()[address]
        rows: list[dict[str, Any]] = self.get(
            f"/v1/campaigns/{self.campaign_id}/enrollments/{enrollment['id']}")["ledger"]
        return rows

    def rows(self, address: str) -> list[tuple[int, int, str]]:
        return [(r["step_order"], r["attempt"], r["status"]) for r in self.ledger(address)]

    def wallet(self) -> tuple[Decimal, Decimal]:
        """The tenant wallet's balance and what is held on it (topped up with 100)."""
        found = self.get("/v1/billing/wallet")
        return Decimal(found["current_balance"]), Decimal(found["reserved_balance"])

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = self.get(f"/v1/campaigns/{self.campaign_id}/stats")["totals"]
        return totals


def launch(client: TestClient, lad: Container, owner: Account, *, smtp_port: int,
           imap: Dovecot, addresses: tuple[str, ...] = (ADA, BOB)) -> Launched:
    """The templates, the mailbox (verified over STARTTLS with AUTH before it is kept), the
    campaign from it, its leads enrolled, activated."""
    for template in (INTRO, NUDGE):
        _ok(client.post("/v1/templates", headers=owner.auth, json=template), 201)
    account, report = lad.outreach().add_email_account(principal(owner), {
        "email": USERNAME, "display_name": "Acme Sales", "smtp_host": HOST,
        "smtp_port": smtp_port, "smtp_security": "starttls", "smtp_username": USERNAME,
        "smtp_password": PASSWORD, "imap_host": HOST, "imap_port": imap.port,
        "imap_security": "starttls", "imap_username": IMAP_USER,
        "imap_password": IMAP_PASSWORD, "min_spacing_seconds": 0, "jitter_seconds": 0},
        verify=True)
    assert report is not None and report.ok, report
    assert report.detail.endswith(f"starttls; logged in as {USERNAME}")
    campaign = _ok(client.post("/v1/campaigns", headers=owner.auth, json={
        "name": "Spring", "settings": {"send_window": ALWAYS,
                                       "email_account_ids": [str(account.id)]},
        "steps": STEPS}), 201)
    leads = {address: _ok(client.post("/v1/leads", headers=owner.auth, json={
        "email": address, "first_name": address.split("@")[0].title()}), 201)["id"]
        for address in addresses}
    _ok(client.post(f"/v1/campaigns/{campaign['id']}/enroll", headers=owner.auth,
                    json={"lead_ids": list(leads.values())}))
    _ok(client.post(f"/v1/campaigns/{campaign['id']}/activate", headers=owner.auth))
    return Launched(client, owner, campaign["id"], str(account.id), leads)


def arrived(behaviour: ScriptedSmtpBehaviour) -> dict[str, list[tuple[Envelope, EmailMessage]]]:
    """What the SMTP server accepted, by recipient, in order."""
    found: dict[str, list[tuple[Envelope, EmailMessage]]] = {}
    for envelope in behaviour.received:
        assert isinstance(envelope.original_content, bytes)
        message = email.message_from_bytes(envelope.original_content,
                                           policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        [recipient] = envelope.rcpt_tos
        found.setdefault(recipient, []).append((envelope, message))
    return found


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# --- the scenarios ---------------------------------------------------------------------------

def test_the_first_emails_arrive_whole_over_starttls_and_auth(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        smtp_port: int, imap: Dovecot) -> None:
    world = launch(client, lad, owner, smtp_port=smtp_port, imap=imap)

    assert lad.send_engine().run_due() == {StepResult.SENT: 2}

    messages = arrived(behaviour)
    assert sorted(messages) == [ADA, BOB]
    for address, [(envelope, message)] in messages.items():
        [row] = world.ledger(address)
        assert (row["step_order"], row["attempt"], row["status"], row["recipient"]) == (
            1, 1, "sent", address)
        assert row["provider_id"] == QUEUE_ID  # the server's "queued as" id
        assert envelope.mail_from == USERNAME
        assert message["Message-ID"] == row["message_key"]
        assert row["message_key"].endswith("@example.test>")
        assert message["To"] == address and USERNAME in message["From"]
        assert message["Subject"] == f"Hello {address.split('@')[0].title()}"
        unsubscribe = message["List-Unsubscribe"]
        assert "/v1/public/unsubscribe/" in unsubscribe
        assert f"<mailto:{USERNAME}?subject=unsubscribe>" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_content_type() == "multipart/alternative"
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None and html is not None
        assert "A word from Acme Sales." in plain.get_content()
        assert "A word from Acme Sales." in html.get_content()
        assert "/v1/public/open/" in html.get_content()  # the open pixel

    enrollments = world.enrollments()
    assert {(e["status"], e["step_order"]) for e in enrollments.values()} == {("waiting", 3)}
    assert world.totals()["sent"] == 2
    account = world.get(f"/v1/outreach/email-accounts/{world.mailbox_id}")
    assert account["pacing"]["sent_today"] == {"email": 2}
    assert lad.send_engine().run_due() == {}  # the follow-ups wait a day


def test_without_the_test_ca_the_mailbox_is_refused_at_tls_and_not_kept(
        client: TestClient, lad: Container, owner: Account, smtp_port: int) -> None:
    untrusting = lad.settings().model_copy(update={"mail_ca_file": None})
    lad.settings.override(providers.Object(untrusting))

    with pytest.raises(ValidationFailed) as refused:
        lad.outreach().add_email_account(principal(owner), {
            "email": USERNAME, "smtp_host": HOST, "smtp_port": smtp_port,
            "smtp_security": "starttls", "smtp_username": USERNAME,
            "smtp_password": PASSWORD}, verify=True)

    [error] = refused.value.errors
    assert error.field == "smtp (tls)" and "certificate" in error.message.lower()
    assert _ok(client.get("/v1/outreach/email-accounts", headers=owner.auth))["items"] == []


def test_a_reply_stops_its_sequence_and_an_auto_reply_does_not(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        smtp_port: int, imap: Dovecot, clock: FixedClock) -> None:
    world = launch(client, lad, owner, smtp_port=smtp_port, imap=imap)
    assert lad.send_engine().run_due() == {StepResult.SENT: 2}
    first = {address: world.ledger(address)[0]["message_key"] for address in (ADA, BOB)}
    imap.append(IMAP_USER, raw(
        f"From: Ada <{ADA}>", f"To: {USERNAME}", "Subject: Re: Hello Ada",
        "Message-ID: <answer-1@example.test>", f"In-Reply-To: {first[ADA]}",
        f"References: {first[ADA]}"))
    imap.append(IMAP_USER, raw(
        f"From: {BOB}", f"To: {USERNAME}", "Subject: Absent until Monday",
        "Message-ID: <away-1@example.test>", "Auto-Submitted: auto-replied",
        f"In-Reply-To: {first[BOB]}"), )

    report = Worker.of(lad).run(once=True)  # what `lad worker --once` runs

    [poll] = report.mailboxes
    assert (str(poll.account_id), poll.messages, poll.replies, poll.auto_replies,
            poll.bounces, poll.error) == (world.mailbox_id, 2, 1, 1, 0, None)
    enrollments = world.enrollments()
    assert (enrollments[ADA]["status"], enrollments[ADA]["stop_reason"]) == (
        "stopped", "replied (email)")
    assert enrollments[ADA]["replied_at"] is not None
    assert world.ledger(ADA)[0]["replied_at"] is not None
    assert (enrollments[BOB]["status"], enrollments[BOB]["replied_at"]) == ("waiting", None)
    assert world.totals()["replied"] == 1

    clock.advance(timedelta(days=1, minutes=1))
    assert Worker.of(lad).run(once=True).steps == {"sent": 1}

    assert world.rows(ADA) == [(1, 1, "sent")]
    assert world.rows(BOB) == [(1, 1, "sent"), (3, 1, "sent")]
    messages = arrived(behaviour)
    assert len(messages[ADA]) == 1
    (_, follow_up) = messages[BOB][1]
    assert follow_up["Message-ID"] == world.ledger(BOB)[1]["message_key"]
    assert follow_up["In-Reply-To"] == first[BOB]  # the same thread
    assert follow_up["Subject"] == "Re: Hello Bob"
    assert world.enrollments()[BOB]["status"] == "completed"


def test_a_hard_bounce_suppresses_the_address_and_stops_its_sequence_a_soft_one_not(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        smtp_port: int, imap: Dovecot, clock: FixedClock) -> None:
    world = launch(client, lad, owner, smtp_port=smtp_port, imap=imap)
    assert lad.send_engine().run_due() == {StepResult.SENT: 2}
    sent_to_ada = world.ledger(ADA)[0]["message_key"]
    sent_to_bob = world.ledger(BOB)[0]["message_key"]
    imap.append(IMAP_USER, dsn((ADA, "failed", "5.1.1"), returned_id=sent_to_ada))
    imap.append(IMAP_USER, dsn((BOB, "delayed", "4.2.2"), returned_id=sent_to_bob,
                               returned="text/rfc822-headers"))

    [poll] = lad.inbound().poll_mailboxes(uuid.UUID(owner.tenant_id))

    assert (poll.messages, poll.bounces, poll.replies, poll.error) == (2, 2, 0, None)
    suppressions = world.get("/v1/suppressions")["items"]
    assert [(s["address"], s["reason"]) for s in suppressions] == [(ADA, "bounced")]
    ada = world.enrollments()[ADA]
    assert (ada["status"], ada["stop_reason"]) == ("stopped", "bounced (5.1.1)")
    assert ada["bounced_at"] is not None and world.ledger(ADA)[0]["bounced_at"] is not None
    bob = world.enrollments()[BOB]  # a delay report: the address still works
    assert (bob["status"], bob["bounced_at"]) == ("waiting", None)
    totals = world.totals()
    assert (totals["bounced"], totals["sent"]) == (1, 2)

    clock.advance(timedelta(days=1, minutes=1))
    assert lad.send_engine().run_due() == {StepResult.SENT: 1}
    assert world.rows(ADA) == [(1, 1, "sent")]
    assert world.rows(BOB) == [(1, 1, "sent"), (3, 1, "sent")]
    assert [len(found) for found in arrived(behaviour).values()] == [1, 2]


def test_a_421_on_rcpt_defers_the_step_and_cools_the_mailbox_down(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        smtp_port: int, imap: Dovecot, clock: FixedClock) -> None:
    world = launch(client, lad, owner, smtp_port=smtp_port, imap=imap, addresses=(ADA,))
    behaviour.rcpt_next[ADA] = [THROTTLED]
    now = clock.now()

    assert lad.send_engine().run_due() == {StepResult.DEFERRED: 1}

    [row] = world.ledger(ADA)
    assert (row["step_order"], row["attempt"], row["status"], row["code"]) == (
        1, 1, "deferred", "421")
    assert "421" in row["error"]
    assert behaviour.received == []
    pacing = world.get(f"/v1/outreach/email-accounts/{world.mailbox_id}")["pacing"]
    assert at(pacing["cooldown_until"]) == now + COOL_DOWN
    assert pacing["sent_today"] == {"email": 0}  # given back
    ada = world.enrollments()[ADA]
    assert (ada["status"], ada["step_order"], at(ada["next_run_at"])) == (
        "waiting", 1, now + COOL_DOWN)
    totals = world.totals()
    assert (totals["sent"], totals["deferred"]) == (0, 1)
    assert world.wallet() == (Decimal(100), Decimal(0))  # nothing charged, nothing held
    assert lad.send_engine().run_due() == {}  # still cooling down

    clock.advance(COOL_DOWN)
    assert lad.send_engine().run_due() == {StepResult.SENT: 1}

    assert world.rows(ADA) == [(1, 1, "deferred"), (1, 2, "sent")]
    first, second = world.ledger(ADA)
    assert first["message_key"] != second["message_key"]
    [(_, message)] = arrived(behaviour)[ADA]
    assert message["Message-ID"] == second["message_key"]
    assert world.totals()["sent"] == 1
    balance, held = world.wallet()
    assert 0 < 100 - balance < 1 and held == 0  # one email's price, once


def test_a_server_that_is_down_defers_and_the_step_goes_once_it_is_up(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        certificates: Certificates, imap: Dovecot, clock: FixedClock) -> None:
    port = free_port()
    with starttls_server(behaviour, certificates, port):
        world = launch(client, lad, owner, smtp_port=port, imap=imap, addresses=(ADA,))

    assert lad.send_engine().run_due() == {StepResult.DEFERRED: 1}  # nobody listens

    [row] = world.ledger(ADA)
    assert (row["attempt"], row["status"]) == (1, "deferred")
    assert row["error"].startswith("connect")
    campaign = world.get(f"/v1/campaigns/{world.campaign_id}")
    assert campaign["status"] == "active"
    account = world.get(f"/v1/outreach/email-accounts/{world.mailbox_id}")
    assert account["status"] == "active"  # a server down is no fault of the mailbox
    assert world.enrollments()[ADA]["status"] == "waiting"
    assert world.totals()["sent"] == 0

    with starttls_server(behaviour, certificates, port):
        clock.advance(COOL_DOWN)
        assert lad.send_engine().run_due() == {StepResult.SENT: 1}

    assert world.rows(ADA) == [(1, 1, "deferred"), (1, 2, "sent")]
    [(_, message)] = arrived(behaviour)[ADA]
    assert message["Message-ID"] == world.ledger(ADA)[1]["message_key"]


def test_unknown_sends_are_settled_from_the_sent_folder_or_by_a_person(
        client: TestClient, lad: Container, owner: Account, behaviour: ScriptedSmtpBehaviour,
        smtp_port: int, imap: Dovecot, clock: FixedClock) -> None:
    world = launch(client, lad, owner, smtp_port=smtp_port, imap=imap)
    behaviour.drop_next.update({ADA, BOB})  # the connection drops after DATA

    assert lad.send_engine().run_due() == {StepResult.UNKNOWN: 2}

    assert world.rows(ADA) == world.rows(BOB) == [(1, 1, "unknown")]
    assert {(e["status"], e["next_run_at"]) for e in world.enrollments().values()} == {
        ("waiting", None)}
    assert (world.totals()["unknown"], behaviour.received) == (2, [])
    assert lad.send_engine().run_due() == {}  # never resent blindly
    balance, held = world.wallet()
    assert balance == 100 and held > 0  # held until it is known
    [ada_row], [bob_row] = world.ledger(ADA), world.ledger(BOB)
    # Ada's message went after all: her mailbox's Sent folder has it.
    imap.append(IMAP_USER, raw(f"From: Acme Sales <{USERNAME}>", f"To: {ADA}",
                               "Subject: Hello Ada", f"Message-ID: {ada_row['message_key']}"),
                folder="Sent")
    reconciliation = lad.campaign_reconciliation()

    report = reconciliation.reconcile(principal(owner))

    assert {str(s.activity_id): s.result for s in report} == {
        ada_row["id"]: "sent (found in the sent folder)",
        bob_row["id"]: "unknown: not in the sent folder"}
    assert world.rows(ADA) == [(1, 1, "sent")]
    assert world.rows(BOB) == [(1, 1, "unknown")]
    balance, _ = world.wallet()
    price = 100 - balance  # Ada's first email, charged now
    assert price > 0
    ada = world.enrollments()[ADA]
    assert (ada["status"], ada["step_order"], at(ada["next_run_at"])) == (
        "waiting", 3, clock.now() + timedelta(days=1))

    settled = reconciliation.decide(principal(owner), uuid.UUID(bob_row["id"]), "not_sent")
    assert settled.result == "not_sent (operator)"
    assert lad.send_engine().run_due() == {StepResult.SENT: 1}

    assert world.rows(BOB) == [(1, 1, "failed"), (1, 2, "sent")]
    bob_first, bob_second = world.ledger(BOB)
    assert bob_first["code"] == "not_sent"
    assert bob_second["message_key"] != bob_first["message_key"]
    [(_, to_bob)] = arrived(behaviour)[BOB]
    assert to_bob["Message-ID"] == bob_second["message_key"]
    assert world.totals()["sent"] == 2
    assert world.wallet() == (100 - 2 * price, Decimal(0))  # each first email once, no hold

    clock.advance(timedelta(days=1, minutes=1))
    assert lad.send_engine().run_due() == {StepResult.SENT: 2}  # the sequences go on
    assert world.rows(ADA) == [(1, 1, "sent"), (3, 1, "sent")]
    [(_, follow_up)] = arrived(behaviour)[ADA]
    assert follow_up["In-Reply-To"] == ada_row["message_key"]
    assert {e["status"] for e in world.enrollments().values()} == {"completed"}
