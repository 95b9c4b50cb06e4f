"""ImapMailboxReader against a real Dovecot on loopback: new messages by UID, classified,
resumed after a UID, nothing marked read; a sent message looked up in the sent folders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from lad_adapters.mail.imap import ImapMailboxReader, MailboxUnavailable
from lad_domain.outreach.channels import InboundKind, MailLogin, Security, VerifyStage
from tests.mailservers import HOST, Dovecot, dovecot, free_port
from tests.unit.outreach.test_inbound_mail import ORIGINAL, dsn, raw

#: The tests of this module share its servers (module scope) and what they hold: one
#: xdist worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("imap_mailbox")

reader = ImapMailboxReader(batch=2)  # several UID FETCH rounds for five messages
SENT_ID = "<step-3.c0ffee@mail.lad.test>"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

INBOX = [  # (what it is, its raw bytes)
    (InboundKind.REPLY, raw("From: Zoé <zoe@example.test>", "Message-ID: <r1@example.test>",
                            "Date: Tue, 01 Dec 2026 10:15:00 +0100",
                            f"In-Reply-To: {ORIGINAL}", "Subject: Re: Hello")),
    (InboundKind.AUTO_REPLY, raw("From: max@example.test", "Auto-Submitted: auto-replied",
                                 f"References: {ORIGINAL}", "Subject: Out of office")),
    (InboundKind.HARD_BOUNCE, dsn(("nobody@example.test", "failed", "5.1.1"))),
    (InboundKind.SOFT_BOUNCE, dsn(("full@example.test", "delayed", "4.2.2"),
                                  returned="text/rfc822-headers")),
    (InboundKind.OTHER, raw("From: news@example.test", "Subject: Newsletter")),
]


@pytest.fixture(scope="module")
def imap() -> Iterator[Dovecot]:
    with dovecot(USERS) as server:
        yield server


@pytest.fixture(scope="module")
def inbox_uids(imap: Dovecot) -> list[int]:
    """alice's INBOX with the five messages; alice has a "Sent" folder, carol a folder the
    server marks \\Sent ("Gesendet"), bob none."""
    uids = [imap.append("alice", message) for _, message in INBOX]
    imap.append("alice", raw("From: alice@lad.test", f"Message-ID: {SENT_ID}"), folder="Sent")
    imap.append("carol", raw("From: carol@lad.test", f"Message-ID: {SENT_ID}"),
                folder="Gesendet")
    return uids


def alice(imap: Dovecot, security: Security = Security.NONE) -> MailLogin:
    return imap.login("alice", security)


def test_fetch_classifies_every_new_message(imap: Dovecot, inbox_uids: list[int]) -> None:
    batch = reader.fetch(alice(imap))

    assert [(mail.uid, mail.kind) for mail in batch.messages] == list(
        zip(inbox_uids, [kind for kind, _ in INBOX], strict=True))
    assert (batch.last_uid, batch.uid_validity > 0) == (inbox_uids[-1], True)
    reply, auto_reply, hard, soft, _ = batch.messages
    assert (reply.message_id, reply.refers_to, reply.from_address) == (
        "<r1@example.test>", (ORIGINAL,), "zoe@example.test")
    assert auto_reply.refers_to == (ORIGINAL,)
    assert (hard.failed_recipient, hard.status, hard.refers_to) == (
        "nobody@example.test", "5.1.1", (ORIGINAL,))
    assert (soft.failed_recipient, soft.status, soft.refers_to) == (
        "full@example.test", "4.2.2", (ORIGINAL,))
    # the server's arrival time (INTERNALDATE, set at APPEND), not the Date header (09:15)
    assert all(mail.received_at is not None
               and abs(mail.received_at - datetime.now(UTC)) < timedelta(minutes=10)
               for mail in batch.messages)


def test_fetch_marks_nothing_as_read(imap: Dovecot, inbox_uids: list[int]) -> None:
    reader.fetch(alice(imap))

    with imap.session("alice") as session:
        session.select("INBOX", readonly=True)
        typ, data = session.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    assert [b"\\Seen" in line for line in data if isinstance(line, bytes)] == [False] * 5


def test_fetch_resumes_after_a_uid(imap: Dovecot, inbox_uids: list[int]) -> None:
    first = reader.fetch(alice(imap))

    later = reader.fetch(alice(imap), after_uid=inbox_uids[2], uid_validity=first.uid_validity)
    nothing_new = reader.fetch(alice(imap), after_uid=first.last_uid,
                               uid_validity=first.uid_validity)

    assert [mail.uid for mail in later.messages] == inbox_uids[3:]
    # "UID n:*" answers the last message even when its UID is below n: not a new message
    assert (nothing_new.messages, nothing_new.last_uid) == ([], first.last_uid)


def test_fetch_stops_at_the_limit_and_the_rest_comes_next(
        imap: Dovecot, inbox_uids: list[int]) -> None:
    head = reader.fetch(alice(imap), limit=3)
    rest = reader.fetch(alice(imap), after_uid=head.last_uid, uid_validity=head.uid_validity)

    assert [mail.uid for mail in head.messages] == inbox_uids[:3]
    assert head.last_uid == inbox_uids[2]
    assert [mail.uid for mail in rest.messages] == inbox_uids[3:]


def test_a_changed_uid_validity_reads_from_the_start(imap: Dovecot,
                                                     inbox_uids: list[int]) -> None:
    first = reader.fetch(alice(imap))

    again = reader.fetch(alice(imap), after_uid=first.last_uid,
                         uid_validity=first.uid_validity + 1)

    assert [mail.uid for mail in again.messages] == inbox_uids
    assert again.uid_validity == first.uid_validity


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_fetch_over_tls(imap: Dovecot, inbox_uids: list[int], security: Security) -> None:
    assert [mail.uid for mail in reader.fetch(alice(imap, security)).messages] == inbox_uids


def test_find_sent_by_name_or_by_special_use(imap: Dovecot, inbox_uids: list[int]) -> None:
    assert reader.find_sent(alice(imap), f"  {SENT_ID}\r\n") is True
    assert reader.find_sent(alice(imap), "<never-sent@mail.lad.test>") is False
    assert reader.find_sent(imap.login("carol"), SENT_ID) is True
    assert reader.find_sent(imap.login("carol"), SENT_ID, folders=()) is True


def test_find_sent_cannot_tell_without_a_sent_folder(imap: Dovecot,
                                                     inbox_uids: list[int]) -> None:
    assert reader.find_sent(imap.login("bob"), SENT_ID) is None
    assert reader.find_sent(alice(imap), SENT_ID, folders=("Envoyés",)) is None


def test_a_missing_folder_is_unavailable(imap: Dovecot) -> None:
    with pytest.raises(MailboxUnavailable, match="Archive") as raised:
        reader.fetch(alice(imap), folder="Archive")

    assert raised.value.stage is None


def test_opening_fails_at_a_named_stage(imap: Dovecot) -> None:
    cases = {
        VerifyStage.DNS: MailLogin("mail.invalid", 993, Security.TLS, "alice", "x"),
        VerifyStage.CONNECT: MailLogin(HOST, free_port(), Security.NONE, "alice", "x"),
        VerifyStage.TLS: imap.login("alice", Security.TLS, trusted=False),
    }
    for stage, login in cases.items():
        with pytest.raises(MailboxUnavailable) as raised:
            reader.fetch(login)
        assert raised.value.stage is stage, raised.value
        assert reader.verify(login).stage is stage
    starttls_untrusted = reader.verify(imap.login("alice", Security.STARTTLS, trusted=False))
    assert starttls_untrusted.stage is VerifyStage.TLS
    assert re.search("certificate verify failed", starttls_untrusted.detail, re.IGNORECASE)
    assert reader.verify(alice(imap, Security.STARTTLS)).ok


def test_a_wrong_password_fails_at_auth_in_the_server_words(imap: Dovecot) -> None:
    # One failed login per module: Dovecot delays each further one from the same address.
    report = reader.verify(imap.login("alice", password="wrong-horse-battery"))

    assert report.stage is VerifyStage.AUTH
    assert report.detail == "[AUTHENTICATIONFAILED] Authentication failed."
