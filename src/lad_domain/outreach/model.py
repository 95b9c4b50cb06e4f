"""Outreach: the accounts a tenant sends from, its message templates and its suppression
list, with the pacing rules every sender obeys (daily cap, warm-up, spacing, cool-down)."""

from __future__ import annotations

import enum
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs

from lad_domain.outreach.channels import Security
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.validation import normalise_email


class Channel(enum.StrEnum):
    EMAIL = "email"
    LINKEDIN = "linkedin"
    VOICE = "voice"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    #: Paused by a person: sends wait.
    PAUSED = "paused"
    #: The provider says the account is disconnected (Unipile): sends wait.
    DISCONNECTED = "disconnected"
    #: Logging in failed at send time: sends wait until someone fixes and resumes it.
    ERROR = "error"


class SendKind(enum.StrEnum):
    """What a sender's daily caps count."""

    EMAIL = "email"
    INVITE = "invite"
    MESSAGE = "message"
    PROFILE_VIEW = "profile_view"


#: How long a sender rests after a throttle that named no time (SMTP 4xx, 429 without
#: Retry-After), and after a send refused for its login.
DEFAULT_COOLDOWN = timedelta(minutes=15)
ACCOUNT_RECHECK = timedelta(hours=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@attrs.define
class Pacing:
    """A sender's pace: at most ``caps[kind]`` sends a day (UTC days), the cap ramping up
    from ``warmup_start`` by ``warmup_step`` a day since ``warmup_from`` (warm-up), at least
    ``min_spacing`` plus a random jitter of up to ``jitter`` between two sends, and a
    cool-down after a throttle. Counted where the sender's row is locked, so caps hold
    across every worker."""

    caps: dict[str, int]
    min_spacing: timedelta
    jitter: timedelta
    warmup_start: int | None = None
    warmup_step: int = 0
    warmup_from: date | None = None
    next_send_at: datetime | None = None
    cooldown_until: datetime | None = None
    counted_day: date | None = None
    counts: dict[str, int] = attrs.field(factory=dict)

    def cap(self, kind: SendKind, day: date) -> int:
        cap = self.caps.get(kind, 0)
        if self.warmup_start is not None and self.warmup_from is not None:
            days = max(0, (day - self.warmup_from).days)
            cap = min(cap, self.warmup_start + self.warmup_step * days)
        return cap

    def sent(self, kind: SendKind, day: date) -> int:
        return self.counts.get(kind, 0) if self.counted_day == day else 0

    def ready_at(self, kind: SendKind, now: datetime) -> datetime:
        """When this sender may send next (``now`` when it may now): after its cool-down
        and spacing, and tomorrow when today's cap is reached."""
        ready = now
        for later in (self.cooldown_until, self.next_send_at):
            if later is not None and later > ready:
                ready = later
        day = ready.date()
        while self.sent(kind, day) >= self.cap(kind, day):
            day += timedelta(days=1)
            ready = day_start(day)
            if day - now.date() > timedelta(days=366):
                break  # a cap of 0: far in the future, the caller reports it
        return ready

    def count(self, kind: SendKind, now: datetime, rng: random.Random) -> None:
        """One send now: counted for today, and the next one spaced out."""
        day = now.date()
        if self.counted_day != day:
            self.counted_day, self.counts = day, {}
        self.counts[kind] = self.counts.get(kind, 0) + 1
        jitter = self.jitter.total_seconds() * rng.random()
        self.next_send_at = now + self.min_spacing + timedelta(seconds=jitter)

    def uncount(self, kind: SendKind, at: datetime) -> None:
        """A send that did not happen (deferred, failed before leaving) gives its place back."""
        if self.counted_day == at.date() and self.counts.get(kind, 0) > 0:
            self.counts[kind] -= 1

    def cool_down(self, until: datetime) -> None:
        if self.cooldown_until is None or until > self.cooldown_until:
            self.cooldown_until = until


@attrs.define
class EmailAccount:
    """A mailbox a tenant sends from (SMTP) and reads replies and bounces from (IMAP)."""

    id: uuid.UUID
    email: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    pacing: Pacing
    created_at: datetime
    updated_at: datetime
    display_name: str | None = None
    smtp_username: str | None = None
    #: Sealed by the secret box (AES-GCM); never in clear.
    smtp_password_sealed: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security = Security.TLS
    imap_username: str | None = None
    imap_password_sealed: str | None = None
    imap_uid_validity: int | None = None
    imap_last_uid: int = 0
    status: AccountStatus = AccountStatus.ACTIVE
    last_error: str | None = None
    owner_user_id: uuid.UUID | None = None
    deleted_at: datetime | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def reads_mail(self) -> bool:
        return self.imap_host is not None and self.imap_port is not None


@attrs.define
class LinkedInAccount:
    """A member's LinkedIn account, connected through Unipile."""

    id: uuid.UUID
    unipile_account_id: str
    pacing: Pacing
    created_at: datetime
    updated_at: datetime
    user_id: uuid.UUID | None = None
    display_name: str | None = None
    profile_url: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    last_error: str | None = None
    deleted_at: datetime | None = None


@attrs.define
class Template:
    """A message template of one channel, unique per tenant by (channel, key)."""

    id: uuid.UUID
    channel: Channel
    key: str
    body: str
    variables: list[str]
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    subject: str | None = None
    created_by: uuid.UUID | None = None
    deleted_at: datetime | None = None


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    DO_NOT_CONTACT = "do_not_contact"


@attrs.frozen
class Suppression:
    """An address (an email, a LinkedIn profile, a phone number) that one channel never
    reaches again; checked when a step is claimed."""

    id: uuid.UUID
    channel: Channel
    address: str
    reason: SuppressionReason
    created_at: datetime
    lead_id: uuid.UUID | None = None
    source: str | None = None
    created_by: uuid.UUID | None = None


def suppression_address(channel: Channel, value: str) -> str:
    """The form an address is suppressed and looked up in: emails as stored (lower-case, an
    IDNA domain in Unicode, as a bounce may report it), LinkedIn profiles without scheme,
    host and trailing slash, phone numbers as given (E.164)."""
    text = value.strip()
    if channel is Channel.EMAIL:
        if text.isascii() and "xn--" not in text.lower():
            return text.lower()
        try:
            return normalise_email(text)
        except ValidationFailed:
            return text.lower()
    if channel is Channel.LINKEDIN:
        lowered = text.lower().rstrip("/")
        for prefix in ("https://", "http://", "www.", "linkedin.com/in/"):
            lowered = lowered.removeprefix(prefix)
        return lowered
    return text


def pacing_from(values: dict[str, Any], *, defaults: dict[str, int], spacing: int,
                jitter: int) -> Pacing:
    """A new sender's pacing from checked inputs (see ``outreach.validation``)."""
    return Pacing(caps={k: int(values.get(f"daily_{k}_cap", v)) for k, v in defaults.items()},
                  min_spacing=timedelta(seconds=int(values.get("min_spacing_seconds", spacing))),
                  jitter=timedelta(seconds=int(values.get("jitter_seconds", jitter))),
                  warmup_start=values.get("warmup_start"),
                  warmup_step=int(values.get("warmup_step") or 0),
                  warmup_from=values.get("warmup_from"))


def positive(value: object, *, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValidationFailed.single(field, f"must be a whole number from 0 to {maximum}")
    return value
