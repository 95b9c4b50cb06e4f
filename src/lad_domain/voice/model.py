"""Voice: the catalog (voices, agents, numbers), members' defaults and permissions, call
batches and their entries, calls (the call log) and the one normalised call event every
provider's webhooks and API answers become."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs

from lad_domain.campaigns.window import SendWindow
from lad_domain.shared.errors import Conflict, ValidationFailed

#: What an agent's call may last when its config says nothing (the provider is told).
DEFAULT_MAX_DURATION = 600
MAX_DURATION_LIMIT = 4 * 3600
#: TCPA: calls to a person between 08:00 and 21:00 in their local time.
LEGAL_START = time(8)
LEGAL_END = time(21)
LEGAL_WINDOW = SendWindow(days=frozenset(range(7)), start=LEGAL_START, end=LEGAL_END)


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    NEUTRAL = "neutral"


class Capability(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"


@attrs.frozen
class PhoneNumber:
    """A phone number as the seed stores it: the country calling code and the national
    number. Made from E.164 by the phone parser (``VoiceUnitOfWork`` never sees text)."""

    country_code: str
    base_number: int

    @property
    def e164(self) -> str:
        return f"+{self.country_code}{self.base_number}"


@attrs.define
class Voice:
    """A catalog voice: global (``tenant_id`` None, loaded from a data file) or a tenant's
    own."""

    id: uuid.UUID
    provider: str
    provider_voice_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    tenant_id: uuid.UUID | None = None
    gender: Gender | None = None
    language: str | None = None
    preview_url: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


@attrs.frozen
class AgentSettings:
    """An agent's call settings (the ``config`` column): which provider places its calls
    and under which id there, how long a call may last, and whether calls are recorded
    (then ``recording_disclosure`` is said first, and a call without one is refused)."""

    provider: str = "local"
    provider_agent_id: str | None = None
    max_duration_seconds: int = DEFAULT_MAX_DURATION
    recording: bool = False
    recording_disclosure: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def document(self) -> dict[str, Any]:
        return {**self.extra, "provider": self.provider,
                "provider_agent_id": self.provider_agent_id,
                "max_duration_seconds": self.max_duration_seconds,
                "recording": self.recording,
                "recording_disclosure": self.recording_disclosure}


@attrs.define
class Agent:
    """An AI voice agent. Its id is a BIGINT identity, as in the seed: None until stored."""

    tenant_id: uuid.UUID
    name: str
    language: str
    created_at: datetime
    updated_at: datetime
    id: int | None = None
    voice_id: uuid.UUID | None = None
    system_prompt: str | None = None
    first_message: str | None = None
    settings: AgentSettings = attrs.field(factory=AgentSettings)
    created_by: uuid.UUID | None = None
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None

    @property
    def number(self) -> int:
        if self.id is None:
            raise ValueError("the agent has no id until it is stored")
        return self.id


@attrs.define
class Number:
    """One of the tenant's phone numbers, and the agent answering it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    phone: PhoneNumber
    provider: str
    created_at: datetime
    updated_at: datetime
    provider_number_id: str | None = None
    agent_id: int | None = None
    label: str | None = None
    capabilities: frozenset[Capability] = frozenset({Capability.VOICE})
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


@attrs.define
class UserProfile:
    """A member's voice defaults."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    default_agent_id: int | None = None
    default_number_id: uuid.UUID | None = None
    preferences: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class Permission:
    """A grant to a member: calls from ``number_id`` (None: any number) with ``voice_id``
    (None: any voice). At least one of the two is set."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    number_id: uuid.UUID | None = None
    voice_id: uuid.UUID | None = None
    is_active: bool = True
    granted_by: uuid.UUID | None = None

    def covers(self, number_id: uuid.UUID | None, voice_id: uuid.UUID | None) -> bool:
        return (self.is_active
                and (self.number_id is None or self.number_id == number_id)
                and (self.voice_id is None or self.voice_id == voice_id))


# --- batches ------------------------------------------------------------------------------

class BatchStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        return self in (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.PAUSED)


class EntryStatus(enum.StrEnum):
    #: Waiting for its time (``next_attempt_at``): calling hours, a retry, the wallet.
    PENDING = "pending"
    #: Claimed by a worker, about to be dialed (counts toward the concurrency limits).
    QUEUED = "queued"
    #: A call is in flight.
    CALLING = "calling"
    COMPLETED = "completed"
    #: Every attempt allowed was made and none reached the lead, or the outcome is unknown.
    FAILED = "failed"
    #: Never called, for a reason stored on the entry (do-not-call, no phone, ...).
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in _OPEN_ENTRIES

    @property
    def in_flight(self) -> bool:
        return self in (EntryStatus.QUEUED, EntryStatus.CALLING)


_OPEN_ENTRIES = frozenset({EntryStatus.PENDING, EntryStatus.QUEUED, EntryStatus.CALLING})

RETRYABLE_OUTCOMES = ("no_answer", "busy", "failed")


@attrs.frozen
class RetryPolicy:
    """Which outcomes are tried again, how often and after how long."""

    max_attempts: int = 3
    on: frozenset[str] = frozenset({"no_answer", "busy"})
    backoff_minutes: int = 60

    def document(self) -> dict[str, Any]:
        return {"max_attempts": self.max_attempts, "on": sorted(self.on),
                "backoff_minutes": self.backoff_minutes}


@attrs.frozen
class BatchSettings:
    """``window``: the tenant's calling window for this batch, read in each lead's local
    time (the legal 08:00-21:00 applies on top); ``concurrency``: calls of this batch in
    flight at once; ``max_calls_per_lead_per_day``: across all the tenant's batches."""

    window: SendWindow = LEGAL_WINDOW
    concurrency: int = 5
    retry: RetryPolicy = RetryPolicy()
    max_calls_per_lead_per_day: int = 2

    def document(self) -> dict[str, Any]:
        return {"window": self.window.document(), "concurrency": self.concurrency,
                "retry": self.retry.document(),
                "max_calls_per_lead_per_day": self.max_calls_per_lead_per_day}


@attrs.define
class Batch:
    id: uuid.UUID
    tenant_id: uuid.UUID
    agent_id: int
    status: BatchStatus
    created_at: datetime
    updated_at: datetime
    number_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    name: str | None = None
    settings: BatchSettings = BatchSettings()
    total_calls: int = 0
    completed_calls: int = 0
    failed_calls: int = 0
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_by: uuid.UUID | None = None

    def pause(self, at: datetime) -> None:
        self._move({BatchStatus.PENDING, BatchStatus.RUNNING}, BatchStatus.PAUSED, at)

    def resume(self, at: datetime) -> None:
        self._move({BatchStatus.PAUSED}, BatchStatus.RUNNING, at)

    def cancel(self, at: datetime) -> None:
        self._move({BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.PAUSED},
                   BatchStatus.CANCELLED, at)
        self.finished_at = at

    def start(self, at: datetime) -> None:
        if self.status is BatchStatus.PENDING:
            self.status = BatchStatus.RUNNING
            self.started_at = self.started_at or at
            self.updated_at = at

    def count(self, counts: Mapping[EntryStatus, int], at: datetime) -> None:
        """The counters from the entries' statuses (so they always agree); a running batch
        with no open entry left is completed."""
        self.total_calls = sum(counts.values())
        self.completed_calls = counts.get(EntryStatus.COMPLETED, 0)
        self.failed_calls = sum(counts.get(s, 0) for s in (EntryStatus.FAILED,
                                                            EntryStatus.SKIPPED))
        open_left = sum(counts.get(s, 0) for s in _OPEN_ENTRIES)
        if self.status is BatchStatus.RUNNING and open_left == 0:
            self.status = BatchStatus.COMPLETED
            self.finished_at = at
        self.updated_at = at

    def _move(self, sources: set[BatchStatus], target: BatchStatus, at: datetime) -> None:
        if self.status not in sources:
            raise Conflict(f"a {self.status} batch cannot become {target}")
        self.status = target
        self.updated_at = at


class Decision(enum.StrEnum):
    """What the dial-time checks decided for an entry."""

    DIAL = "dial"
    WAIT = "wait"
    REFUSE = "refuse"


@attrs.frozen
class DialDecision:
    """The decision and its reason, stored on the entry: ``zones`` the lead's local time
    was read in, ``local_times`` the lead's clock then (HH:MM per zone)."""

    decision: Decision
    reason: str
    at: datetime
    zones: tuple[str, ...] = ()
    local_times: tuple[str, ...] = ()
    until: datetime | None = None

    def document(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "reason": self.reason,
                "at": self.at.isoformat(), "zones": list(self.zones),
                "local_times": list(self.local_times),
                "until": self.until.isoformat() if self.until else None}


@attrs.define
class BatchEntry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    batch_id: uuid.UUID
    status: EntryStatus
    created_at: datetime
    updated_at: datetime
    lead_id: uuid.UUID | None = None
    phone: PhoneNumber | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    decision: DialDecision | None = None
    last_call_id: uuid.UUID | None = None
    last_outcome: str | None = None
    claim_token: uuid.UUID | None = None

    def decide(self, decision: DialDecision) -> None:
        self.decision = decision
        self.updated_at = decision.at
        self.claim_token = None
        if decision.decision is Decision.REFUSE:
            self.status = EntryStatus.SKIPPED
            self.last_error = decision.reason
            self.next_attempt_at = None
        elif decision.decision is Decision.WAIT:
            self.status = EntryStatus.PENDING
            self.next_attempt_at = decision.until
        else:
            self.status = EntryStatus.CALLING
            self.attempts += 1
            self.next_attempt_at = None

    def cancel(self, reason: str, at: datetime) -> bool:
        if not self.status.is_open:
            return False
        self.status = EntryStatus.CANCELLED
        self.last_error = reason
        self.next_attempt_at = None
        self.claim_token = None
        self.updated_at = at
        return True

    def finish(self, outcome: str, retry: RetryPolicy, at: datetime, *,
               connected: bool) -> None:
        """A call of this entry ended: completed when it reached the lead, else tried
        again later when the policy allows, else failed."""
        if self.status in (EntryStatus.CANCELLED, EntryStatus.SKIPPED, EntryStatus.COMPLETED):
            return
        if self.status is EntryStatus.FAILED and not connected:
            return  # a late report of a call given up as unknown: nothing is reopened
        self.last_outcome = outcome
        self.updated_at = at
        self.claim_token = None
        if connected:
            self.status = EntryStatus.COMPLETED
            self.next_attempt_at = None
            self.last_error = None
        elif outcome in retry.on and self.attempts < retry.max_attempts:
            self.status = EntryStatus.PENDING
            self.next_attempt_at = at + retry_delay(retry, self.attempts)
            self.last_error = f"{outcome}: attempt {self.attempts} of {retry.max_attempts}"
        else:
            self.status = EntryStatus.FAILED
            self.next_attempt_at = None
            self.last_error = (f"{outcome} after {self.attempts} attempt(s)"
                               if outcome != "unknown" else
                               "the call's outcome is unknown: not called again")


def retry_delay(retry: RetryPolicy, attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: the backoff times the attempts made."""
    return timedelta(minutes=retry.backoff_minutes * max(1, attempts))


# --- calls --------------------------------------------------------------------------------

class CallStatus(enum.StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: No final event by the call's timeout and the provider could not say: released.
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self.rank >= 3

    @property
    def connected(self) -> bool:
        """The call reached the lead (or their voicemail): it is billed."""
        return self in (CallStatus.COMPLETED, CallStatus.VOICEMAIL)


_RANK = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 2,
         CallStatus.UNKNOWN: 3, CallStatus.COMPLETED: 4, CallStatus.VOICEMAIL: 4,
         CallStatus.NO_ANSWER: 4, CallStatus.BUSY: 4, CallStatus.FAILED: 4,
         CallStatus.CANCELLED: 4}

LIVE_CALL_STATUSES = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)


class EventKind(enum.StrEnum):
    """What a provider's message says: the call moved (status), it ended (its final
    report), or its analysis is ready (which may come after the end)."""

    STATUS = "status"
    ENDED = "ended"
    ANALYZED = "analyzed"


@attrs.frozen
class CostLine:
    """One component of a provider's cost, exact: ``amount`` in USD."""

    component: str
    amount: Decimal
    minutes: Decimal | None = None
    rate: Decimal | None = None


@attrs.frozen
class Analysis:
    sentiment: str | None = None
    lead_category: str | None = None
    summary: str | None = None
    extraction: Mapping[str, Any] = attrs.field(factory=dict)
    #: The lead asked not to be called again.
    do_not_call: bool = False
    model: str | None = None


@attrs.frozen
class CallEvent:
    """A provider's webhook or API answer, normalised: every adapter produces this."""

    provider: str
    provider_call_id: str
    kind: EventKind
    status: CallStatus
    occurred_at: datetime | None = None
    #: Our call's id, when the provider echoes the metadata we gave it.
    call_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    costs: tuple[CostLine, ...] = ()
    transcript: str | None = None
    recording_url: str | None = None
    analysis: Analysis | None = None
    ended_reason: str | None = None

    @property
    def dedupe_key(self) -> str:
        """(provider, call id, event): the second delivery of one event changes nothing."""
        name = self.kind.value if self.kind is not EventKind.STATUS else self.status.value
        return f"{self.provider_call_id}:{name}"

    @property
    def provider_cost(self) -> Decimal | None:
        if not self.costs:
            return None
        return sum((c.amount for c in self.costs), Decimal(0))


@attrs.define
class Call:
    """One call (a row of the monthly-partitioned call log)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    status: CallStatus
    to: PhoneNumber
    agent_id: int | None = None
    number_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    batch_entry_id: uuid.UUID | None = None
    initiated_by_user_id: uuid.UUID | None = None
    direction: str = "outbound"
    provider: str | None = None
    provider_call_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    #: What the tenant was charged (None until billed).
    cost: Decimal | None = None
    cost_breakdown: dict[str, Any] = attrs.field(factory=dict)
    reservation_id: uuid.UUID | None = None
    recording_url: str | None = None
    transcription: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)

    @property
    def billed(self) -> bool:
        return self.cost is not None

    @property
    def max_duration_seconds(self) -> int:
        value = self.metadata.get("max_duration_seconds", DEFAULT_MAX_DURATION)
        return int(value) if isinstance(value, int) else DEFAULT_MAX_DURATION

    def apply(self, event: CallEvent, at: datetime) -> bool:
        """Take what the event says; the status only moves forward (a late ringing after
        the end changes nothing; an unknown call takes its real final status when it comes
        late). Returns whether anything changed."""
        changed = False
        if event.status.rank > self.status.rank or (
                self.status is CallStatus.UNKNOWN and event.status.is_final
                and event.status is not CallStatus.UNKNOWN):
            self.status = event.status
            changed = True
        if self.provider_call_id is None:
            self.provider_call_id = event.provider_call_id
            changed = True
        for name in ("started_at", "ended_at", "duration_seconds", "recording_url"):
            value = getattr(event, name)
            if value is not None and getattr(self, name) is None:
                setattr(self, name, value)
                changed = True
        if event.transcript and not self.transcription:
            self.transcription = event.transcript
            changed = True
        if event.costs:
            self.cost_breakdown = {**self.cost_breakdown, "provider": {
                c.component: str(c.amount) for c in event.costs}}
            changed = True
        if event.ended_reason and "ended_reason" not in self.metadata:
            self.metadata = {**self.metadata, "ended_reason": event.ended_reason}
            changed = True
        if changed:
            self.updated_at = at
        return changed


@attrs.define
class CallAnalysis:
    id: uuid.UUID
    tenant_id: uuid.UUID
    call_id: uuid.UUID
    call_created_at: datetime
    created_at: datetime
    updated_at: datetime
    sentiment: str | None = None
    lead_category: str | None = None
    summary: str | None = None
    extraction: dict[str, Any] = attrs.field(factory=dict)
    model: str | None = None


SENTIMENTS = ("positive", "neutral", "negative", "mixed")


def billed_seconds(call: Call) -> int:
    """What a connected call is billed for: its duration to the second, at most the
    maximum it was placed with (the provider was told to end it there), so the charge never
    exceeds what was held."""
    duration = call.duration_seconds or 0
    if duration <= 0 and call.started_at and call.ended_at:
        duration = int((call.ended_at - call.started_at).total_seconds())
    return max(0, min(duration, call.max_duration_seconds))


def agent_settings(value: object, *, field: str = "config") -> AgentSettings:
    """An agent's config, checked: known keys typed, the rest kept as given."""
    if value is None:
        return AgentSettings()
    if not isinstance(value, Mapping):
        raise ValidationFailed.single(field, "must be an object")
    document = dict(value)
    provider = document.pop("provider", "local")
    if not isinstance(provider, str) or not provider.strip() or len(provider) > 32:
        raise ValidationFailed.single(f"{field}.provider", "must be a provider name")
    agent_id = document.pop("provider_agent_id", None)
    if agent_id is not None and (not isinstance(agent_id, str) or len(agent_id) > 128):
        raise ValidationFailed.single(f"{field}.provider_agent_id", "must be text")
    duration = document.pop("max_duration_seconds", DEFAULT_MAX_DURATION)
    if (not isinstance(duration, int) or isinstance(duration, bool)
            or not 10 <= duration <= MAX_DURATION_LIMIT):
        raise ValidationFailed.single(f"{field}.max_duration_seconds",
                                      f"must be a whole number from 10 to {MAX_DURATION_LIMIT}")
    recording = document.pop("recording", False)
    if not isinstance(recording, bool):
        raise ValidationFailed.single(f"{field}.recording", "must be true or false")
    disclosure = document.pop("recording_disclosure", None)
    if disclosure is not None and (not isinstance(disclosure, str) or len(disclosure) > 500):
        raise ValidationFailed.single(f"{field}.recording_disclosure",
                                      "must be text of at most 500 characters")
    return AgentSettings(provider=provider.strip().lower(), provider_agent_id=agent_id,
                         max_duration_seconds=duration, recording=recording,
                         recording_disclosure=(disclosure or "").strip() or None,
                         extra=document)


MAX_CONCURRENCY = 50
MAX_DAILY_CALLS = 10
MAX_ATTEMPTS = 10


def batch_settings(value: object, *, field: str = "settings") -> BatchSettings:
    """A batch's settings from their document (``BatchSettings.document()``), checked;
    missing keys take their defaults. The window must overlap the legal 08:00-21:00."""
    if value is None:
        return BatchSettings()
    if not isinstance(value, Mapping):
        raise ValidationFailed.single(field, "must be an object")
    unknown = sorted(set(value) - {"window", "concurrency", "retry",
                                   "max_calls_per_lead_per_day"})
    if unknown:
        raise ValidationFailed.single(f"{field}.{unknown[0]}", "is not a batch setting")
    # A window given in part takes the rest from the legal hours (every day, 08:00-21:00),
    # not from a campaign's office hours.
    given = value.get("window")
    window = (SendWindow.parse({**LEGAL_WINDOW.document(), **given}, field=f"{field}.window")
              if isinstance(given, Mapping) else
              SendWindow.parse(given, field=f"{field}.window") if given is not None
              else LEGAL_WINDOW)
    if window.end <= LEGAL_START or window.start >= LEGAL_END:
        raise ValidationFailed.single(f"{field}.window", "must overlap the legal calling "
                                      "hours, 08:00-21:00 in the lead's local time")
    concurrency = _whole(value.get("concurrency", 5), f"{field}.concurrency", 1,
                         MAX_CONCURRENCY)
    daily = _whole(value.get("max_calls_per_lead_per_day", 2),
                   f"{field}.max_calls_per_lead_per_day", 1, MAX_DAILY_CALLS)
    retry = _retry(value.get("retry"), f"{field}.retry")
    return BatchSettings(window=window, concurrency=concurrency, retry=retry,
                         max_calls_per_lead_per_day=daily)


def _retry(value: object, field: str) -> RetryPolicy:
    if value is None:
        return RetryPolicy()
    if not isinstance(value, Mapping):
        raise ValidationFailed.single(field, "must be an object with max_attempts, on and "
                                      "backoff_minutes")
    unknown = sorted(set(value) - {"max_attempts", "on", "backoff_minutes"})
    if unknown:
        raise ValidationFailed.single(f"{field}.{unknown[0]}", "is not a retry setting")
    on = value.get("on", ["no_answer", "busy"])
    if not isinstance(on, list) or not all(o in RETRYABLE_OUTCOMES for o in on):
        raise ValidationFailed.single(f"{field}.on", "must be a list of "
                                      + ", ".join(RETRYABLE_OUTCOMES))
    return RetryPolicy(max_attempts=_whole(value.get("max_attempts", 3),
                                           f"{field}.max_attempts", 1, MAX_ATTEMPTS),
                       on=frozenset(on),
                       backoff_minutes=_whole(value.get("backoff_minutes", 60),
                                              f"{field}.backoff_minutes", 1, 7 * 24 * 60))


def _whole(value: object, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed.single(field, f"must be a whole number from {low} to {high}")
    return value


def decision_from(document: Mapping[str, Any] | None) -> DialDecision | None:
    """A stored decision (``DialDecision.document()``) read back."""
    if not document:
        return None
    until = document.get("until")
    return DialDecision(decision=Decision(document["decision"]), reason=document["reason"],
                        at=datetime.fromisoformat(document["at"]),
                        zones=tuple(document.get("zones") or ()),
                        local_times=tuple(document.get("local_times") or ()),
                        until=datetime.fromisoformat(until) if until else None)
