"""SmtpEmailChannel against a real SMTP server (aiosmtpd on loopback): what arrives, and what
each server answer becomes."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from lad_adapters.mail.smtp import SmtpEmailChannel
from lad_domain.outreach.channels import (
    Delivery,
    MailLogin,
    Outcome,
    OutgoingEmail,
    Security,
    VerifyStage,
)
from tests.mailservers import (
    DROP,
    HOST,
    NO_QUEUE_ID,
    PASSWORD,
    QUEUE_ID,
    SLOW,
    SPAM,
    USERNAME,
    SmtpServers,
    free_port,
    greeting_only,
    smtp_servers,
)

channel = SmtpEmailChannel(helo_name="lad.test")
#: The tests of this module share its servers (module scope) and what they hold: one
#: xdist worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("smtp_channel")


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServers]:
    with smtp_servers(tmp_path_factory.mktemp("smtp")) as servers:
        yield servers


@pytest.fixture(autouse=True)
def _nothing_received_yet(smtp: SmtpServers) -> None:
    smtp.behaviour.received.clear()


def outgoing(to: str = "lead@example.test", **changes: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": "<step-2.7f3a@mail.lad.test>", "from_address": USERNAME,
        "to_address": to, "subject": "Suivi : notre échange", "text": "Bonjour Zoé,\nÀ bientôt",
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]  # fields checked by attrs


def received_message(smtp: SmtpServers) -> EmailMessage:
    [envelope] = smtp.behaviour.received
    assert isinstance(envelope.original_content, bytes)
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def authenticated(smtp: SmtpServers, security: Security = Security.STARTTLS) -> MailLogin:
    return smtp.login(security, username=USERNAME, password=PASSWORD)


def test_a_follow_up_arrives_whole_over_starttls_after_login(smtp: SmtpServers) -> None:
    sent = outgoing(
        from_name="Zoë Durand", html="<p>Bonjour Zoé,</p>\n<p>.À bientôt</p>",
        text="Bonjour Zoé,\n.a line starting with a dot\nÀ bientôt",
        in_reply_to="<step-1.aa@mail.lad.test>",
        references=("<step-0.bb@mail.lad.test>", "<step-1.aa@mail.lad.test>"),
        headers={"List-Unsubscribe": "<https://lad.test/u/abc>, <mailto:u+abc@lad.test>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})

    delivery = channel.send(authenticated(smtp), sent)

    assert delivery == Delivery(Outcome.SENT, provider_id=QUEUE_ID)
    [envelope] = smtp.behaviour.received
    assert (envelope.mail_from, envelope.rcpt_tos) == (USERNAME, ["lead@example.test"])
    raw = envelope.original_content
    assert isinstance(raw, bytes) and raw.isascii()  # RFC 2047 headers, quoted-printable
    assert b"From: =?utf-8?" in raw
    message = received_message(smtp)
    assert message["Message-ID"] == "<step-2.7f3a@mail.lad.test>"
    assert message["In-Reply-To"] == "<step-1.aa@mail.lad.test>"
    assert message["References"] == "<step-0.bb@mail.lad.test> <step-1.aa@mail.lad.test>"
    assert message["List-Unsubscribe"] == "<https://lad.test/u/abc>, <mailto:u+abc@lad.test>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Suivi : notre échange"
    assert message["From"].addresses[0].display_name == "Zoë Durand"
    assert message["From"].addresses[0].addr_spec == USERNAME
    assert message["To"] == "lead@example.test"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content().splitlines() == ["Bonjour Zoé,", ".a line starting with a dot",
                                                "À bientôt"]
    assert html.get_content().splitlines() == ["<p>Bonjour Zoé,</p>", "<p>.À bientôt</p>"]


def test_implicit_tls_sends_a_text_only_message_as_one_part(smtp: SmtpServers) -> None:
    delivery = channel.send(authenticated(smtp, Security.TLS), outgoing(text="Hello"))

    assert delivery == Delivery(Outcome.SENT, provider_id=QUEUE_ID)
    message = received_message(smtp)
    assert message.get_content_type() == "text/plain"
    assert message.get_content().splitlines() == ["Hello"]


def test_without_a_queue_id_in_the_reply_the_message_id_is_the_provider_id(
        smtp: SmtpServers) -> None:
    delivery = channel.send(smtp.login(Security.NONE), outgoing(f"{NO_QUEUE_ID}@example.test"))

    assert delivery == Delivery(Outcome.SENT, provider_id="<step-2.7f3a@mail.lad.test>")


@pytest.mark.parametrize(("local", "outcome", "code", "hard_bounce", "words"), [
    ("busy", Outcome.DEFERRED, "450", False, "rcpt: 450 4.2.1 Mailbox busy"),
    ("throttled", Outcome.DEFERRED, "421", False, "rcpt: 421 4.7.0 Too many messages"),
    ("nobody", Outcome.FAILED, "550", True, "rcpt: 550 5.1.1 <nobody@example.test>"),
    ("moved", Outcome.FAILED, "551", True, "rcpt: 551 User not local"),
    ("blocked", Outcome.FAILED, "550", False, "rcpt: 550 5.7.1 Message refused by policy"),
    ("quota", Outcome.FAILED, "552", False, "rcpt: 552 5.2.2 Mailbox full"),
])
def test_a_refused_recipient(smtp: SmtpServers, local: str, outcome: Outcome, code: str,
                             hard_bounce: bool, words: str) -> None:
    delivery = channel.send(smtp.login(Security.NONE), outgoing(f"{local}@example.test"))

    assert (delivery.outcome, delivery.code, delivery.hard_bounce) == (outcome, code, hard_bounce)
    assert delivery.reason is not None and delivery.reason.startswith(words)
    assert delivery.provider_id is None
    assert smtp.behaviour.received == []


def test_content_refused_after_data_is_failed_not_a_bounce(smtp: SmtpServers) -> None:
    delivery = channel.send(smtp.login(Security.NONE), outgoing(f"{SPAM}@example.test"))

    assert delivery == Delivery(Outcome.FAILED, code="554", hard_bounce=False,
                                reason="data: 554 5.7.1 Message content rejected")


def test_a_connection_closed_after_the_content_leaves_the_outcome_unknown(
        smtp: SmtpServers) -> None:
    delivery = channel.send(smtp.login(Security.NONE), outgoing(f"{DROP}@example.test"))

    assert delivery.outcome is Outcome.UNKNOWN
    assert delivery.reason is not None and delivery.reason.startswith("data: no reply")


def test_no_final_reply_within_the_timeout_is_unknown(smtp: SmtpServers) -> None:
    login = smtp.login(Security.NONE, timeout=0.5)

    delivery = channel.send(login, outgoing(f"{SLOW}@example.test"))

    assert delivery.outcome is Outcome.UNKNOWN
    assert delivery.reason is not None and "timed out" in delivery.reason


def test_a_wrong_password_defers_with_the_auth_code(smtp: SmtpServers) -> None:
    login = smtp.login(Security.STARTTLS, username=USERNAME, password="wrong-horse-battery")

    delivery = channel.send(login, outgoing())

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, "auth")
    assert delivery.reason is not None and delivery.reason.startswith("auth: 535 5.7.8")
    assert "wrong-horse-battery" not in delivery.reason
    assert smtp.behaviour.received == []


def test_a_login_the_server_does_not_offer_in_clear_defers_with_the_auth_code(
        smtp: SmtpServers) -> None:
    login = smtp.login(Security.NONE, username=USERNAME, password=PASSWORD)

    assert channel.send(login, outgoing()) == Delivery(
        Outcome.DEFERRED, code="auth", reason="auth: the server offers no AUTH here")


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_an_untrusted_certificate_defers_at_tls(smtp: SmtpServers, security: Security) -> None:
    login = smtp.login(security, username=USERNAME, password=PASSWORD, trusted=False)

    delivery = channel.send(login, outgoing())

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, None)
    assert delivery.reason is not None and delivery.reason.startswith("tls: ")
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.reason


def test_a_server_that_is_down_defers(smtp: SmtpServers) -> None:
    login = MailLogin(HOST, free_port(), Security.NONE, None, None, timeout=2)

    delivery = channel.send(login, outgoing())

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, None)
    assert delivery.reason is not None and delivery.reason.startswith("connect: ")
    assert "refused" in delivery.reason.lower()


@pytest.mark.parametrize(("greeting", "code"), [
    ("421 4.3.2 Service not available, closing channel", "421"),
    ("554 5.7.1 No SMTP service here", "554"),
])
def test_a_server_refusing_service_defers_with_its_code(greeting: str, code: str) -> None:
    with greeting_only(greeting) as port:
        login = MailLogin(HOST, port, Security.STARTTLS, USERNAME, PASSWORD, timeout=2)
        delivery = channel.send(login, outgoing())
        report = channel.verify(login)

    assert delivery == Delivery(Outcome.DEFERRED, code=code, reason=f"connect: {greeting}")
    assert (report.stage, report.detail) == (VerifyStage.CONNECT, greeting)


def test_a_host_that_does_not_resolve_defers() -> None:
    login = MailLogin("mail.invalid", 587, Security.STARTTLS, USERNAME, PASSWORD, timeout=2)

    delivery = channel.send(login, outgoing())

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, None)
    assert delivery.reason is not None and delivery.reason.startswith("dns: mail.invalid: ")


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_verify_logs_in_and_sends_nothing(smtp: SmtpServers, security: Security) -> None:
    report = channel.verify(authenticated(smtp, security))

    assert report.ok, report
    assert report.detail.endswith(f"logged in as {USERNAME}")
    assert smtp.behaviour.received == []


def test_verify_names_the_stage_that_failed(smtp: SmtpServers) -> None:
    unresolved = channel.verify(MailLogin("mail.invalid", 587, Security.STARTTLS, None, None))
    refused = channel.verify(MailLogin(HOST, free_port(), Security.NONE, None, None))
    untrusted = channel.verify(smtp.login(Security.STARTTLS, trusted=False))
    refused_login = channel.verify(
        smtp.login(Security.STARTTLS, username=USERNAME, password="wrong-horse-battery"))

    assert unresolved.stage is VerifyStage.DNS and "mail.invalid" in unresolved.detail
    assert refused.stage is VerifyStage.CONNECT and "refused" in refused.detail.lower()
    assert untrusted.stage is VerifyStage.TLS
    assert "certificate verify failed" in untrusted.detail.lower()
    assert refused_login.stage is VerifyStage.AUTH
    assert refused_login.detail.startswith("535 5.7.8")
    assert "wrong-horse-battery" not in refused_login.detail
