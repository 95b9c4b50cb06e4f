"""Reading a mailbox over IMAP (stdlib ``imaplib``): the new messages by UID, classified as
replies, auto-replies and bounces (``classify``, a pure function of the raw message), and
whether a sent message is in a sent folder. Folders are opened read-only and bodies fetched
with BODY.PEEK: reading marks nothing as seen."""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr, parsedate_to_datetime

from lad_adapters.mail.message import message_ids, normalise_message_id
from lad_adapters.mail.smtp import StageFailed, tls_context, trusting
from lad_domain.outreach.channels import (
    SENT_FOLDERS,
    InboundKind,
    InboundMail,
    MailboxBatch,
    MailLogin,
    Security,
    VerifyReport,
    VerifyStage,
)

AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
#: The parts of a DSN that carry the returned message or its headers (RFC 3464, RFC 6533).
RETURNED_PARTS = frozenset({"message/rfc822", "text/rfc822-headers", "message/global",
                            "message/global-headers"})
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) ?(?P<name>.*)$')


class MailboxUnavailable(ConnectionError):
    """The mailbox could not be read: ``stage`` says where opening it failed (None: it was
    open, a command failed, e.g. the folder does not exist)."""

    def __init__(self, detail: str, stage: VerifyStage | None = None) -> None:
        super().__init__(f"{stage}: {detail}" if stage else detail)
        self.stage = stage
        self.detail = detail


# --- classification ------------------------------------------------------------------------

def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def _date(message: Message) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _refers_to(message: Message) -> tuple[str, ...]:
    """In-Reply-To then References, each id once."""
    found = message_ids(_header(message, "In-Reply-To")) + message_ids(
        _header(message, "References"))
    return tuple(dict.fromkeys(found))


def _is_auto_reply(message: Message) -> bool:
    submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if "X-Autoreply" in message or "X-Autorespond" in message:
        return True
    return _header(message, "Precedence").strip().lower() in AUTO_PRECEDENCE


def _address_field(value: str) -> str | None:
    """``rfc822; <bob@example.com>`` -> ``bob@example.com``."""
    address = value.partition(";")[2] if ";" in value else value
    address = address.strip().strip("<>").strip()
    return address or None


def _returned_message_id(report: Message) -> str | None:
    """The Message-ID of the message the report returns (whole, or its headers only)."""
    for part in report.walk():
        if part.get_content_type() not in RETURNED_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            returned = payload[0]
        elif isinstance(payload, str):
            returned = message_from_string(payload.lstrip("\r\n"), policy=compat32)
        else:
            continue
        value = _header(returned, "Message-ID")
        if value.strip():
            return normalise_message_id(value)
    return None


def _delivery_report(uid: int, message: Message, message_id: str | None,
                     from_address: str | None, received_at: datetime | None
                     ) -> InboundMail | None:
    """An RFC 3464 DSN, by the recipient that failed (else delayed, else the first one)."""
    if (message.get_content_type() != "multipart/report"
            or str(message.get_param("report-type", "")).lower() != "delivery-status"):
        return None
    blocks: list[Message] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks = [block for block in payload if isinstance(block, Message)]
            break
    recipients = [block for block in blocks
                  if "Final-Recipient" in block or "Original-Recipient" in block]
    if not recipients:
        return None

    def action(block: Message) -> str:
        return _header(block, "Action").strip().lower()

    chosen = next((b for b in recipients if action(b) == "failed"),
                  next((b for b in recipients if action(b) == "delayed"), recipients[0]))
    status_match = _STATUS.search(_header(chosen, "Status"))
    status = status_match.group(0) if status_match else None
    if status is not None:
        kind = {"5": InboundKind.HARD_BOUNCE, "4": InboundKind.SOFT_BOUNCE}.get(
            status[0], InboundKind.OTHER)
    else:
        kind = {"failed": InboundKind.HARD_BOUNCE, "delayed": InboundKind.SOFT_BOUNCE}.get(
            action(chosen), InboundKind.OTHER)
    recipient = (_address_field(_header(chosen, "Final-Recipient"))
                 or _address_field(_header(chosen, "Original-Recipient")))
    original = _returned_message_id(message)
    return InboundMail(uid=uid, kind=kind, message_id=message_id,
                       refers_to=(original,) if original else _refers_to(message),
                       from_address=from_address, received_at=received_at,
                       failed_recipient=recipient, status=status)


def classify(uid: int, raw: bytes, *, received_at: datetime | None = None) -> InboundMail:
    """What a message is: a DSN (hard or soft bounce), an auto-reply, a reply (it refers to
    earlier messages) or other. ``received_at``: the server's arrival time when known (else
    the Date header)."""
    message = message_from_bytes(raw, policy=compat32)
    own_id = _header(message, "Message-ID")
    message_id = normalise_message_id(own_id) if own_id.strip() else None
    from_address = parseaddr(_header(message, "From"))[1] or None
    received = received_at or _date(message)
    bounce = _delivery_report(uid, message, message_id, from_address, received)
    if bounce is not None:
        return bounce
    refers_to = _refers_to(message)
    if _is_auto_reply(message):
        kind = InboundKind.AUTO_REPLY
    elif refers_to:
        kind = InboundKind.REPLY
    else:
        kind = InboundKind.OTHER
    return InboundMail(uid=uid, kind=kind, message_id=message_id, refers_to=refers_to,
                       from_address=from_address, received_at=received)


# --- the IMAP session ----------------------------------------------------------------------

def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquoted(name: bytes) -> str:
    text = name.decode("utf-8", "replace").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _internaldate(meta: bytes) -> datetime | None:
    found = _INTERNALDATE.search(meta)
    if not found:
        return None
    try:
        value = datetime.strptime(found.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return value.astimezone(UTC)


def _words(error: BaseException) -> str:
    if error.args and isinstance(error.args[0], bytes):  # imaplib: the server's own words
        return error.args[0].decode("utf-8", "replace")
    if isinstance(error, OSError) and not isinstance(error, socket.gaierror | ssl.SSLError):
        return error.strerror or str(error) or type(error).__name__
    return str(error) or type(error).__name__


class ImapMailboxReader:
    """``MailboxReader`` over IMAP; ``batch``: how many messages one UID FETCH asks for."""

    def __init__(self, *, batch: int = 100, ca_file: str | None = None) -> None:
        self.batch = batch
        self.ca_file = ca_file

    def open(self, login: MailLogin) -> imaplib.IMAP4:
        """A logged-in session; ``MailboxUnavailable`` names the stage that failed."""
        login = trusting(login, self.ca_file)
        try:
            socket.getaddrinfo(login.host, login.port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise MailboxUnavailable(f"{login.host}: {_words(error)}", VerifyStage.DNS
                                     ) from error
        try:
            context = tls_context(login) if login.security is not Security.NONE else None
        except StageFailed as failure:
            raise MailboxUnavailable(failure.detail, VerifyStage.TLS) from failure
        try:
            if login.security is Security.TLS:
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(login.host, login.port,
                                                        ssl_context=context,
                                                        timeout=login.timeout)
            else:
                imap = imaplib.IMAP4(login.host, login.port, timeout=login.timeout)
        except ssl.SSLError as error:
            raise MailboxUnavailable(_words(error), VerifyStage.TLS) from error
        except (OSError, imaplib.IMAP4.error) as error:
            raise MailboxUnavailable(f"{login.host}:{login.port}: {_words(error)}",
                                     VerifyStage.CONNECT) from error
        try:
            if login.security is Security.STARTTLS:
                try:
                    imap.starttls(ssl_context=context)
                except (OSError, imaplib.IMAP4.error) as error:
                    raise MailboxUnavailable(_words(error), VerifyStage.TLS) from error
            if imap.state == "NONAUTH":
                if login.username is None:
                    raise MailboxUnavailable("the mailbox has no username", VerifyStage.AUTH)
                try:
                    imap.login(login.username, login.password or "")
                except (OSError, imaplib.IMAP4.error) as error:
                    raise MailboxUnavailable(_words(error), VerifyStage.AUTH) from error
        except BaseException:
            _drop(imap)
            raise
        return imap

    def verify(self, login: MailLogin) -> VerifyReport:
        try:
            imap = self.open(login)
        except MailboxUnavailable as error:
            return VerifyReport(error.stage or VerifyStage.CONNECT, error.detail)
        _logout(imap)
        return VerifyReport(VerifyStage.OK, f"{login.host}:{login.port} {login.security}; "
                                            f"logged in as {login.username}")

    def fetch(self, login: MailLogin, *, folder: str = "INBOX", after_uid: int = 0,
              uid_validity: int | None = None, limit: int = 500) -> MailboxBatch:
        imap = self.open(login)
        try:
            current_validity = _examine(imap, folder)
            start = after_uid if uid_validity in (None, current_validity) else 0
            uids = sorted(uid for uid in _search(imap, f"UID {start + 1}:*") if uid > start)
            chosen = uids[:max(limit, 0)]
            messages: list[InboundMail] = []
            for first in range(0, len(chosen), self.batch):
                messages.extend(self._fetch(imap, chosen[first:first + self.batch]))
            return MailboxBatch(messages=messages, last_uid=max(chosen, default=start),
                                uid_validity=current_validity)
        except (OSError, imaplib.IMAP4.error) as error:
            raise MailboxUnavailable(f"{folder}: {_words(error)}") from error
        finally:
            _logout(imap)

    @staticmethod
    def _fetch(imap: imaplib.IMAP4, uids: Sequence[int]) -> list[InboundMail]:
        typ, data = imap.uid("FETCH", ",".join(map(str, uids)), "(UID INTERNALDATE BODY.PEEK[])")
        if typ != "OK":
            raise MailboxUnavailable(f"UID FETCH: {_said(data)}")
        found: list[InboundMail] = []
        for index, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            meta = item[0]
            following = data[index + 1] if index + 1 < len(data) else None
            if isinstance(following, bytes):  # attributes after the literal
                meta += following
            uid = _FETCH_UID.search(meta)
            if uid is None:
                continue
            found.append(classify(int(uid.group(1)), item[1], received_at=_internaldate(meta)))
        return sorted(found, key=lambda mail: mail.uid)

    def find_sent(self, login: MailLogin, message_id: str, *,
                  folders: Sequence[str] = SENT_FOLDERS) -> bool | None:
        wanted = normalise_message_id(message_id)
        imap = self.open(login)
        try:
            existing = _sent_folders(imap, folders)
            if not existing:
                return None
            for folder in existing:
                _examine(imap, folder)
                if _search(imap, f"HEADER Message-ID {_quoted(wanted)}"):
                    return True
            return False
        except (OSError, imaplib.IMAP4.error) as error:
            raise MailboxUnavailable(_words(error)) from error
        finally:
            _logout(imap)


def _said(data: Sequence[object]) -> str:
    return " ".join(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
                    for item in data if item is not None)


def _examine(imap: imaplib.IMAP4, folder: str) -> int:
    """Open ``folder`` read-only; its UIDVALIDITY."""
    typ, data = imap.select(_quoted(folder), readonly=True)
    if typ != "OK":
        raise MailboxUnavailable(f"{folder}: {_said(data)}")
    _, validity = imap.response("UIDVALIDITY")
    if not validity or validity[0] is None:
        raise MailboxUnavailable(f"{folder}: the server gave no UIDVALIDITY")
    return int(validity[0])


def _search(imap: imaplib.IMAP4, criteria: str) -> list[int]:
    typ, data = imap.uid("SEARCH", criteria)
    if typ != "OK":
        raise MailboxUnavailable(f"UID SEARCH {criteria}: {_said(data)}")
    return [int(uid) for line in data if isinstance(line, bytes) for uid in line.split()]


def _sent_folders(imap: imaplib.IMAP4, names: Sequence[str]) -> list[str]:
    """The folders among ``names`` that exist, then those the server marks \\Sent
    (RFC 6154 SPECIAL-USE)."""
    typ, data = imap.list()
    if typ != "OK":
        raise MailboxUnavailable(f"LIST: {_said(data)}")
    existing: dict[str, bool] = {}
    for item in data:
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        if not isinstance(line, bytes):
            continue
        parsed = _LIST_LINE.match(line)
        if parsed is None:
            continue
        name = _unquoted(literal if literal is not None else parsed.group("name"))
        existing[name] = b"\\sent" in parsed.group("flags").lower().split()
    named = [name for name in names if name in existing]
    special = [name for name, sent in existing.items() if sent and name not in named]
    return named + special


def _drop(imap: imaplib.IMAP4) -> None:
    """Close the connection, already broken or not."""
    with suppress(OSError):
        imap.shutdown()


def _logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        _drop(imap)
