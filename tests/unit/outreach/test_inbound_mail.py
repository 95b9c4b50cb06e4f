"""classify: what a message found in a mailbox is, from its raw bytes alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lad_adapters.mail.imap import classify
from lad_adapters.mail.message import normalise_message_id
from lad_domain.outreach.channels import InboundKind, InboundMail

ORIGINAL = "<step-1.7f3a@mail.lad.test>"


def raw(*headers: str, body: str = "Merci, parlons-en jeudi.") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def dsn(*recipients: tuple[str, str, str], returned: str = "message/rfc822",
        returned_id: str = ORIGINAL) -> bytes:
    """A Postfix-style RFC 3464 report; ``recipients``: (address, action, status)."""
    blocks = "\r\n".join(
        f"Final-Recipient: rfc822; {address}\r\nOriginal-Recipient: rfc822;{address}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status} the answer of the remote server\r\n"
        for address, action, status in recipients)
    returned_body = (f"From: sender@lad.test\r\nTo: {recipients[0][0]}\r\n"
                     f"Subject: Hello\r\nMessage-ID: \r\n {returned_id}\r\n")
    if returned == "message/rfc822":
        returned_body += "\r\nThe original text.\r\n"
    return (
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n"
        "To: sender@lad.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 01 Dec 2026 09:30:00 +0100\r\n"
        "Message-ID: <20261201083000.ABC@mx.example.test>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0"\r\n'
        "\r\n"
        "--B0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B0\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\nArrival-Date: Tue, 1 Dec 2026 09:29:58 +0100\r\n"
        "\r\n" + blocks +
        f"\r\n--B0\r\nContent-Type: {returned}\r\n\r\n" + returned_body +
        "\r\n--B0--\r\n"
    ).encode()


def test_a_reply_refers_to_what_it_answers_in_order_each_id_once() -> None:
    mail = classify(7, raw(
        "From: Zoé Durand <zoe@example.test>", "To: sender@lad.test", "Subject: Re: Hello",
        "Date: Tue, 01 Dec 2026 10:15:00 +0100", "Message-ID:   <r1@example.test>  ",
        f"In-Reply-To: {ORIGINAL}",
        f"References: <step-0.aa@mail.lad.test>\r\n\t{ORIGINAL}"))

    assert mail == InboundMail(
        uid=7, kind=InboundKind.REPLY, message_id="<r1@example.test>",
        refers_to=(ORIGINAL, "<step-0.aa@mail.lad.test>"), from_address="zoe@example.test",
        received_at=datetime(2026, 12, 1, 9, 15, tzinfo=UTC))


def test_the_server_arrival_time_is_preferred_to_the_date_header() -> None:
    arrived = datetime(2026, 12, 1, 9, 16, 30, tzinfo=UTC)

    mail = classify(1, raw("From: a@example.test", "Date: Mon, 30 Nov 2026 10:00:00 +0000"),
                    received_at=arrived)

    assert mail.received_at == arrived


@pytest.mark.parametrize("marker", [
    "Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated; owner-email=x@y.test",
    "X-Autoreply: yes", "X-Autorespond: Out of office", "Precedence: bulk",
    "Precedence: junk", "Precedence: list", "Precedence: auto_reply",
])
def test_an_auto_reply_still_says_what_it_answers(marker: str) -> None:
    mail = classify(3, raw("From: zoe@example.test", "Subject: Absent", marker,
                           f"In-Reply-To: {ORIGINAL}"))

    assert (mail.kind, mail.refers_to) == (InboundKind.AUTO_REPLY, (ORIGINAL,))


@pytest.mark.parametrize("marker", ["Auto-Submitted: no", "Auto-Submitted: No ",
                                    "Precedence: first-class"])
def test_a_marker_that_says_a_person_wrote_it_is_a_reply(marker: str) -> None:
    mail = classify(3, raw("From: zoe@example.test", marker, f"References: {ORIGINAL}"))

    assert mail.kind is InboundKind.REPLY


def test_a_message_that_answers_nothing_is_other() -> None:
    mail = classify(9, raw("From: news@example.test", "Subject: Our newsletter"))

    assert (mail.kind, mail.refers_to, mail.message_id) == (InboundKind.OTHER, (), None)


def test_a_permanent_failure_report_is_a_hard_bounce_of_the_original_message() -> None:
    mail = classify(11, dsn(("nobody@example.test", "failed", "5.1.1")))

    assert mail == InboundMail(
        uid=11, kind=InboundKind.HARD_BOUNCE, message_id="<20261201083000.ABC@mx.example.test>",
        refers_to=(ORIGINAL,), from_address="MAILER-DAEMON@mx.example.test",
        received_at=datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
        failed_recipient="nobody@example.test", status="5.1.1")


def test_a_delay_report_returning_headers_only_is_a_soft_bounce() -> None:
    mail = classify(12, dsn(("full@example.test", "delayed", "4.2.2 (mailbox full)"),
                            returned="text/rfc822-headers"))

    assert (mail.kind, mail.failed_recipient, mail.status, mail.refers_to) == (
        InboundKind.SOFT_BOUNCE, "full@example.test", "4.2.2", (ORIGINAL,))


def test_the_failed_recipient_of_a_report_on_several_is_chosen() -> None:
    mail = classify(13, dsn(("ok@example.test", "delivered", "2.0.0"),
                            ("later@example.test", "delayed", "4.4.1"),
                            ("gone@example.test", "failed", "5.1.10")))

    assert (mail.kind, mail.failed_recipient, mail.status) == (
        InboundKind.HARD_BOUNCE, "gone@example.test", "5.1.10")


def test_a_success_report_is_other_and_still_names_the_message() -> None:
    mail = classify(14, dsn(("ok@example.test", "delivered", "2.0.0")))

    assert (mail.kind, mail.status, mail.refers_to) == (InboundKind.OTHER, "2.0.0", (ORIGINAL,))


def test_a_report_of_another_type_is_not_a_bounce() -> None:
    report = dsn(("nobody@example.test", "failed", "5.1.1")).replace(
        b"report-type=delivery-status", b"report-type=disposition-notification")

    assert classify(15, report).kind is InboundKind.AUTO_REPLY  # Auto-Submitted: auto-replied


@pytest.mark.parametrize(("value", "normalised"), [
    ("<a@b>", "<a@b>"), ("  <a@b>\r\n", "<a@b>"), ("\r\n <a@b> (comment)", "<a@b>"),
    (" a@b ", "a@b"),
])
def test_message_ids_are_compared_with_brackets_and_without_surrounding_space(
        value: str, normalised: str) -> None:
    assert normalise_message_id(value) == normalised
