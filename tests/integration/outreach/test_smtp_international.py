"""SmtpEmailChannel and internationalised addresses, against real SMTP servers (aiosmtpd on
loopback): a domain beyond ASCII goes out IDNA-encoded, and a local part beyond ASCII is sent
with SMTPUTF8 where the server offers it, and refused (never a crash) where it does not."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from lad_adapters.mail.smtp import SmtpEmailChannel
from lad_domain.outreach.channels import Delivery, MailLogin, Outcome, OutgoingEmail, Security
from tests.mailservers import (
    HOST,
    PASSWORD,
    QUEUE_ID,
    USERNAME,
    SmtpBehaviour,
    SmtpServers,
    free_port,
    smtp_servers,
)

channel = SmtpEmailChannel(helo_name="lad.test")
pytestmark = pytest.mark.xdist_group("smtp_international")


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServers]:
    with smtp_servers(tmp_path_factory.mktemp("smtp")) as servers:
        yield servers


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii-only"])
def plain_server(request: pytest.FixtureRequest
                 ) -> Iterator[tuple[SmtpBehaviour, MailLogin, bool]]:
    """A server (no TLS, no login) that offers SMTPUTF8, or does not (aiosmtpd's
    controllers, the module's servers included, offer it unless told not to)."""
    behaviour = SmtpBehaviour()
    controller = Controller(behaviour, hostname=HOST, port=free_port(),
                            enable_SMTPUTF8=request.param)
    controller.start()
    try:
        yield behaviour, MailLogin(host=HOST, port=controller.port, security=Security.NONE,
                                   username=None, password=None, timeout=5.0), request.param
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _nothing_received_yet(smtp: SmtpServers) -> None:
    smtp.behaviour.received.clear()


def outgoing(to: str) -> OutgoingEmail:
    return OutgoingEmail(message_id="<step-1.idn@mail.lad.test>", from_address=USERNAME,
                         to_address=to, subject="Grüße", text="Hallo Jürgen")


def parsed(raw: object) -> EmailMessage:
    assert isinstance(raw, bytes)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_domain_beyond_ascii_goes_out_idna_encoded(smtp: SmtpServers) -> None:
    login = smtp.login(Security.STARTTLS, username=USERNAME, password=PASSWORD)

    delivery = channel.send(login, outgoing("juergen@müller.de"))

    assert delivery == Delivery(Outcome.SENT, provider_id=QUEUE_ID)
    [envelope] = smtp.behaviour.received
    assert envelope.rcpt_tos == ["juergen@xn--mller-kva.de"]
    assert isinstance(envelope.original_content, bytes) and envelope.original_content.isascii()
    assert parsed(envelope.original_content)["To"] == "juergen@xn--mller-kva.de"


def test_a_local_part_beyond_ascii_is_sent_with_smtputf8_or_refused_without_it(
        plain_server: tuple[SmtpBehaviour, MailLogin, bool]) -> None:
    behaviour, login, offered = plain_server

    delivery = channel.send(login, outgoing("jürgen@müller.de"))

    if not offered:
        assert delivery.outcome is Outcome.FAILED
        assert delivery.code == "smtputf8"
        assert delivery.reason is not None and "does not offer SMTPUTF8" in delivery.reason
        assert behaviour.received == []
        return
    assert delivery == Delivery(Outcome.SENT, provider_id=QUEUE_ID)
    [envelope] = behaviour.received
    assert envelope.smtp_utf8
    assert envelope.rcpt_tos == ["jürgen@xn--mller-kva.de"]
    message = parsed(envelope.original_content)
    assert message["To"] == "jürgen@xn--mller-kva.de"
    assert message["Subject"] == "Grüße"
    assert message.get_content().strip() == "Hallo Jürgen"
