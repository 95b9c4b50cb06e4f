"""The provider ports of outreach: how a message leaves (SMTP, Unipile) and how replies,
bounces and LinkedIn events come back (IMAP, Unipile webhooks). Pure values and Protocols;
the adapters live in ``lad_adapters.mail`` and ``lad_adapters.unipile``."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs


class Security(enum.StrEnum):
    """How a connection to a mail server is protected."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


@attrs.frozen(repr=False)
class MailLogin:
    """Where and as whom to log in (SMTP or IMAP). ``password`` is in clear here, decrypted
    just before use; ``repr`` never shows it."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None
    timeout: float = 30.0
    #: PEM file of extra trusted CAs (tests: a self-signed certificate); None: the system's.
    ca_file: str | None = None

    def __repr__(self) -> str:
        return (f"MailLogin(host={self.host!r}, port={self.port}, security={self.security}, "
                f"username={self.username!r})")


@attrs.frozen
class OutgoingEmail:
    """One email of a campaign step. ``message_id`` is ours ("<...@domain>"), chosen and
    stored in the send ledger before the send."""

    message_id: str
    from_address: str
    to_address: str
    subject: str
    text: str
    html: str | None = None
    from_name: str | None = None
    #: A follow-up in the same thread: the first message's id, and the thread so far.
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    #: Extra headers: List-Unsubscribe, List-Unsubscribe-Post, ...
    headers: Mapping[str, str] = attrs.field(factory=dict)


class Outcome(enum.StrEnum):
    SENT = "sent"
    #: A throttle or a server that is down: try again later; never counted as sent.
    DEFERRED = "deferred"
    #: Permanent: this message will never go (a 5xx, an invalid recipient).
    FAILED = "failed"
    #: It may or may not have gone (the connection dropped after the message was handed
    #: over): never resent blindly; settled by reconcile.
    UNKNOWN = "unknown"


@attrs.frozen
class Delivery:
    """What a channel says of one send."""

    outcome: Outcome
    #: The provider's id of what was sent (SMTP: the server's queue id or our Message-ID;
    #: Unipile: the invitation's or message's id).
    provider_id: str | None = None
    reason: str | None = None
    #: DEFERRED: how long the provider asked us to wait (Retry-After), when it said.
    retry_after: timedelta | None = None
    #: FAILED because the recipient does not exist (SMTP 550/551/553 on RCPT, 5.1.x):
    #: the address is suppressed.
    hard_bounce: bool = False
    #: The provider's code ("421", "450", "429", "5.1.1", ...), for the ledger.
    code: str | None = None
    #: Unipile: the chat the message went to (a new chat's id), for the next message.
    chat_id: str | None = None


class VerifyStage(enum.StrEnum):
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    AUTH = "auth"
    OK = "ok"


@attrs.frozen
class VerifyReport:
    """The result of logging in: ``stage`` is where it failed (OK: it did not)."""

    stage: VerifyStage
    detail: str

    @property
    def ok(self) -> bool:
        return self.stage is VerifyStage.OK


class EmailChannel(Protocol):
    def send(self, login: MailLogin, email: OutgoingEmail) -> Delivery:
        """Send one email; never raises for what the server answers (a Delivery says it)."""
        ...

    def verify(self, login: MailLogin) -> VerifyReport:
        """Connect, secure and log in, then quit; sends nothing."""
        ...


class InboundKind(enum.StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    OTHER = "other"


@attrs.frozen
class InboundMail:
    """A message found in a mailbox, classified. ``refers_to``: the Message-IDs it answers
    (In-Reply-To, References; for a DSN, the original message's id)."""

    uid: int
    kind: InboundKind
    message_id: str | None
    refers_to: tuple[str, ...]
    from_address: str | None
    received_at: datetime | None
    #: A DSN: the recipient that failed and its RFC 3464 status ("5.1.1").
    failed_recipient: str | None = None
    status: str | None = None


@attrs.frozen
class MailboxBatch:
    messages: Sequence[InboundMail]
    #: The highest UID seen, to resume from; and the mailbox's UIDVALIDITY (a change
    #: means the UIDs restarted: read from the start).
    last_uid: int
    uid_validity: int


SENT_FOLDERS = ("Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail")


class MailboxReader(Protocol):
    """Raises an ``OSError`` (``ConnectionError``) when the mailbox cannot be read."""

    def fetch(self, login: MailLogin, *, folder: str = "INBOX", after_uid: int = 0,
              uid_validity: int | None = None, limit: int = 500) -> MailboxBatch:
        """The messages after ``after_uid`` (all of them when ``uid_validity`` changed)."""
        ...

    def find_sent(self, login: MailLogin, message_id: str, *,
                  folders: Sequence[str] = SENT_FOLDERS
                  ) -> bool | None:
        """Whether a message with this Message-ID is in a sent folder; None when no such
        folder exists (the mailbox cannot tell)."""
        ...


class AccountState(enum.StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class LinkedInChannel(Protocol):
    """Unipile. ``client_key`` is the send ledger's key of the attempt."""

    def invite(self, account_id: str, profile: str, note: str | None, *,
               client_key: str) -> Delivery:
        """An invitation; ``profile``: a LinkedIn profile URL, public identifier or
        provider id."""
        ...

    def message(self, account_id: str, profile: str, text: str, *, chat_id: str | None,
                client_key: str) -> Delivery:
        """A message in ``chat_id``, or in a new chat with the person."""
        ...

    def account_state(self, account_id: str) -> AccountState: ...


class LinkedInEventKind(enum.StrEnum):
    MESSAGE_RECEIVED = "message_received"
    NEW_RELATION = "new_relation"
    ACCOUNT_DISCONNECTED = "account_disconnected"


@attrs.frozen
class LinkedInEvent:
    """A Unipile webhook, normalised. ``event_id`` deduplicates deliveries."""

    kind: LinkedInEventKind
    event_id: str
    account_id: str
    #: The other person: their provider id and, when given, public identifier / URL.
    person_provider_id: str | None
    person_public_id: str | None
    chat_id: str | None
    occurred_at: datetime | None
