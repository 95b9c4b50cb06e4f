"""Campaigns: the Campaign aggregate (its steps and settings), a lead's Enrollment and
the send ledger (Activity: one row per attempted step)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from lad_domain.campaigns.window import SendWindow, time_zone
from lad_domain.outreach.model import Channel, SendKind
from lad_domain.shared.errors import Conflict, FieldError, ValidationFailed
from lad_domain.shared.validation import key, plain_text

MAX_STEPS = 50
MAX_WAIT = timedelta(days=90)


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class StepType(enum.StrEnum):
    EMAIL = "email"
    LINKEDIN_INVITE = "linkedin_invite"
    LINKEDIN_MESSAGE = "linkedin_message"
    VOICE_CALL = "voice_call"
    WAIT = "wait"
    CONDITION = "condition"

    @property
    def sends(self) -> bool:
        return self in _SENDS

    @property
    def channel(self) -> Channel | None:
        return _CHANNELS.get(self)

    @property
    def send_kind(self) -> SendKind | None:
        return _KINDS.get(self)


_SENDS = frozenset({StepType.EMAIL, StepType.LINKEDIN_INVITE, StepType.LINKEDIN_MESSAGE,
                    StepType.VOICE_CALL})
_CHANNELS = {StepType.EMAIL: Channel.EMAIL, StepType.LINKEDIN_INVITE: Channel.LINKEDIN,
             StepType.LINKEDIN_MESSAGE: Channel.LINKEDIN, StepType.VOICE_CALL: Channel.VOICE}
_KINDS = {StepType.EMAIL: SendKind.EMAIL, StepType.LINKEDIN_INVITE: SendKind.INVITE,
          StepType.LINKEDIN_MESSAGE: SendKind.MESSAGE}

CONDITIONS = ("replied", "opened", "accepted")
BRANCHES = ("continue", "stop")


@attrs.frozen
class Step:
    """One step; ``order`` counts from 1. Config by type:
    email ``{template_key, new_thread?}``; linkedin_invite ``{template_key?}`` (the note);
    linkedin_message ``{template_key}``; voice_call ``{agent_id}``;
    wait ``{days?, hours?, minutes?}``; condition ``{if: replied|opened|accepted,
    then: continue|stop, else: continue|stop}``."""

    id: uuid.UUID
    order: int
    type: StepType
    config: Mapping[str, Any]
    title: str | None = None

    @property
    def template_key(self) -> str | None:
        value = self.config.get("template_key")
        return value if isinstance(value, str) else None

    @property
    def wait(self) -> timedelta:
        return timedelta(days=self.config.get("days", 0), hours=self.config.get("hours", 0),
                         minutes=self.config.get("minutes", 0))


def step_config(type_: StepType, config: object, *, field: str) -> dict[str, Any]:
    """A step's config, checked for its type."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationFailed.single(field, "must be an object")
    allowed = {StepType.EMAIL: {"template_key", "new_thread"},
               StepType.LINKEDIN_INVITE: {"template_key"},
               StepType.LINKEDIN_MESSAGE: {"template_key"},
               StepType.VOICE_CALL: {"agent_id"},
               StepType.WAIT: {"days", "hours", "minutes"},
               StepType.CONDITION: {"if", "then", "else"}}[type_]
    unknown = sorted(set(config) - allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        raise ValidationFailed.single(f"{field}.{unknown[0]}",
                                      f"is not a {type_} setting (allowed: {names})")
    clean: dict[str, Any] = {}
    if "template_key" in config or type_ in (StepType.EMAIL, StepType.LINKEDIN_MESSAGE):
        clean["template_key"] = key(config.get("template_key"), field=f"{field}.template_key")
    if type_ is StepType.EMAIL and "new_thread" in config:
        if not isinstance(config["new_thread"], bool):
            raise ValidationFailed.single(f"{field}.new_thread", "must be true or false")
        clean["new_thread"] = config["new_thread"]
    if type_ is StepType.VOICE_CALL:
        agent = config.get("agent_id")
        if isinstance(agent, bool) or not isinstance(agent, int) or agent < 1:
            raise ValidationFailed.single(f"{field}.agent_id", "must be a voice agent's id")
        clean["agent_id"] = agent
    if type_ is StepType.WAIT:
        for unit in ("days", "hours", "minutes"):
            value = config.get(unit, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationFailed.single(f"{field}.{unit}", "must be a whole number >= 0")
            if value:
                clean[unit] = value
        total = timedelta(days=clean.get("days", 0), hours=clean.get("hours", 0),
                          minutes=clean.get("minutes", 0))
        if not timedelta(0) < total <= MAX_WAIT:
            raise ValidationFailed.single(field, "a wait must last more than 0 and at most 90 days")
    if type_ is StepType.CONDITION:
        if config.get("if") not in CONDITIONS:
            raise ValidationFailed.single(f"{field}.if", f"must be one of {', '.join(CONDITIONS)}")
        clean["if"] = config["if"]
        for branch, default in (("then", "stop"), ("else", "continue")):
            value = config.get(branch, default)
            if value not in BRANCHES:
                raise ValidationFailed.single(f"{field}.{branch}", "must be continue or stop")
            clean[branch] = value
    return clean


@attrs.frozen
class CampaignSettings:
    send_window: SendWindow = attrs.field(factory=SendWindow)
    #: The zone of leads who have none (else the tenant's default, else UTC).
    timezone: str | None = None
    #: Sends of the whole campaign per UTC day (None: only the senders' caps).
    daily_cap: int | None = None
    stop_on_reply: bool = True
    stop_on_bounce: bool = True
    #: The mailboxes email steps go from (an enrollment keeps the one it started with).
    email_account_ids: tuple[uuid.UUID, ...] = ()

    def document(self) -> dict[str, Any]:
        return {"send_window": self.send_window.document(), "timezone": self.timezone,
                "daily_cap": self.daily_cap, "stop_on_reply": self.stop_on_reply,
                "stop_on_bounce": self.stop_on_bounce,
                "email_account_ids": [str(i) for i in self.email_account_ids]}

    @classmethod
    def parse(cls, value: Mapping[str, Any] | None, *, base: CampaignSettings | None = None
              ) -> CampaignSettings:
        """Settings from a document; absent keys keep ``base``'s (default: the defaults)."""
        base = base or cls()
        if value is None:
            return base
        errors: list[FieldError] = []
        known = {"send_window", "timezone", "daily_cap", "stop_on_reply", "stop_on_bounce",
                 "email_account_ids"}
        errors += [FieldError(f"settings.{k}", "is not a campaign setting")
                   for k in sorted(set(value) - known)]
        changes: dict[str, Any] = {}
        try:
            if "send_window" in value:
                changes["send_window"] = SendWindow.parse(value["send_window"],
                                                          field="settings.send_window")
            if value.get("timezone") is not None:
                changes["timezone"] = time_zone(value["timezone"], field="settings.timezone")
            elif "timezone" in value:
                changes["timezone"] = None
        except ValidationFailed as failed:
            errors += failed.errors
        if "daily_cap" in value:
            cap = value["daily_cap"]
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int)
                                    or not 1 <= cap <= 1_000_000):
                errors.append(FieldError("settings.daily_cap", "must be 1 to 1000000, or null"))
            changes["daily_cap"] = cap
        for flag in ("stop_on_reply", "stop_on_bounce"):
            if flag in value:
                if not isinstance(value[flag], bool):
                    errors.append(FieldError(f"settings.{flag}", "must be true or false"))
                changes[flag] = value[flag]
        if "email_account_ids" in value:
            ids = value["email_account_ids"]
            try:
                changes["email_account_ids"] = tuple(dict.fromkeys(
                    i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in ids))
            except (TypeError, ValueError):
                errors.append(FieldError("settings.email_account_ids", "must be a list of ids"))
        if errors:
            raise ValidationFailed(errors)
        return attrs.evolve(base, **changes)


@attrs.define
class Campaign:
    id: uuid.UUID
    name: str
    status: CampaignStatus
    settings: CampaignSettings
    steps: list[Step]
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    linkedin_account_ids: tuple[uuid.UUID, ...] = ()
    deleted_at: datetime | None = None

    def step(self, order: int) -> Step | None:
        return self.steps[order - 1] if 1 <= order <= len(self.steps) else None

    def step_by_id(self, step_id: uuid.UUID) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def replace_steps(self, steps: Sequence[Step], at: datetime) -> None:
        """Steps are edited only in draft: a running sequence never changes under a lead."""
        self._ensure(CampaignStatus.DRAFT, "edit steps")
        if len(steps) > MAX_STEPS:
            raise ValidationFailed.single("steps", f"at most {MAX_STEPS} steps")
        orders = [s.order for s in steps]
        if orders != list(range(1, len(steps) + 1)):
            raise ValidationFailed.single("steps", "orders must be 1, 2, 3 ... in sequence, "
                                          f"got {orders}")
        self.steps = list(steps)
        self.updated_at = at

    def rename(self, name: object, at: datetime) -> None:
        if self.status is CampaignStatus.ARCHIVED:
            raise Conflict("an archived campaign cannot change")
        self.name = plain_text(name, field="name")
        self.updated_at = at

    def configure(self, settings: CampaignSettings, at: datetime) -> None:
        if self.status in (CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED):
            raise Conflict(f"a {self.status} campaign cannot change")
        self.settings = settings
        self.updated_at = at

    def activate(self, at: datetime) -> None:
        self._ensure(CampaignStatus.DRAFT, "activate")
        if not any(s.type.sends for s in self.steps):
            raise ValidationFailed.single("steps", "a campaign needs at least one step that "
                                          "sends (email, linkedin_invite, linkedin_message, "
                                          "voice_call)")
        if self.steps[-1].type in (StepType.WAIT, StepType.CONDITION):
            raise ValidationFailed.single(f"steps[{len(self.steps)}]",
                                          "the last step must send something")
        self.status = CampaignStatus.ACTIVE
        self.started_at = self.updated_at = at

    def pause(self, at: datetime) -> None:
        self._ensure(CampaignStatus.ACTIVE, "pause")
        self.status = CampaignStatus.PAUSED
        self.updated_at = at

    def resume(self, at: datetime) -> None:
        self._ensure(CampaignStatus.PAUSED, "resume")
        self.status = CampaignStatus.ACTIVE
        self.updated_at = at

    def complete(self, at: datetime) -> None:
        if self.status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
            raise Conflict(f"a {self.status} campaign cannot be completed")
        self.status = CampaignStatus.COMPLETED
        self.ended_at = self.updated_at = at

    def archive(self, at: datetime) -> None:
        if self.status is CampaignStatus.ARCHIVED:
            return
        self.status = CampaignStatus.ARCHIVED
        self.ended_at = self.ended_at or at
        self.updated_at = at

    @property
    def accepts_enrollments(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.ACTIVE,
                               CampaignStatus.PAUSED)

    def _ensure(self, status: CampaignStatus, action: str) -> None:
        if self.status is not status:
            raise Conflict(f"cannot {action} a {self.status} campaign (only a {status} one)")


class EnrollmentStatus(enum.StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    WAITING = "waiting"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        return self in (EnrollmentStatus.QUEUED, EnrollmentStatus.ACTIVE,
                        EnrollmentStatus.WAITING)


@attrs.define
class Enrollment:
    """A lead in a campaign: at most once per campaign. ``step_order`` is the step to run
    next; ``next_run_at`` when (None: nothing is due: finished, parked while the campaign is
    paused, or waiting for reconcile)."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    lead_id: uuid.UUID
    status: EnrollmentStatus
    step_order: int
    timezone: str
    created_at: datetime
    updated_at: datetime
    next_run_at: datetime | None = None
    #: While the campaign is paused: when the step was due, given back on resume.
    parked_run_at: datetime | None = None
    #: The account it sends from (email or LinkedIn), kept for the whole sequence.
    sender_id: uuid.UUID | None = None
    #: The LinkedIn chat its messages go to, once one exists.
    chat_id: str | None = None
    stop_reason: str | None = None
    last_error: str | None = None
    replied_at: datetime | None = None
    opened_at: datetime | None = None
    accepted_at: datetime | None = None
    bounced_at: datetime | None = None
    #: Set by the claim: which worker's claim this is, and until when it is held.
    claim_token: uuid.UUID | None = None
    step_id: uuid.UUID | None = None

    def advance(self, campaign: Campaign, now: datetime, *, to_order: int) -> None:
        """Move to step ``to_order``, running the steps that send nothing on the way: a wait
        puts the next step later, a condition continues or stops (one after a wait is read
        when the wait is over: the enrollment is due at the condition). Ends completed past
        the last step."""
        due = now
        order = to_order
        while True:
            step = campaign.step(order)
            if step is None:
                self._end(EnrollmentStatus.COMPLETED, None, now)
                return
            if step.type is StepType.WAIT:
                due += step.wait
                order += 1
                continue
            if step.type is StepType.CONDITION and due <= now:
                met = {"replied": self.replied_at, "opened": self.opened_at,
                       "accepted": self.accepted_at}[step.config["if"]] is not None
                if step.config["then" if met else "else"] == "stop":
                    self.step_order, self.step_id = order, step.id
                    self._end(EnrollmentStatus.STOPPED, f"condition: {step.config['if']}"
                              f"{'' if met else ' (not)'}", now)
                    return
                order += 1
                continue
            self.step_order, self.step_id = order, step.id
            self.next_run_at = due
            self.status = EnrollmentStatus.WAITING if due > now else EnrollmentStatus.ACTIVE
            self.claim_token = None
            self.updated_at = now
            return

    def stop(self, reason: str, at: datetime) -> bool:
        """Stop for good (a reply, an unsubscribe, a person's decision); False when it had
        already ended."""
        if not self.status.is_open:
            return False
        self._end(EnrollmentStatus.STOPPED, reason, at)
        return True

    def fail(self, reason: str, at: datetime) -> None:
        self._end(EnrollmentStatus.FAILED, reason, at)

    def wait_until(self, at: datetime | None, reason: str | None, now: datetime) -> None:
        """Not now: due again at ``at`` (None: until someone acts, e.g. reconcile)."""
        self.next_run_at = at
        self.status = EnrollmentStatus.WAITING
        self.last_error = reason
        self.claim_token = None
        self.updated_at = now

    def park(self, now: datetime) -> None:
        """The campaign is paused: keep the step and its due time, claim nothing."""
        if self.next_run_at is not None:
            self.parked_run_at = self.next_run_at
        self.next_run_at = None
        self.claim_token = None
        self.updated_at = now

    def _end(self, status: EnrollmentStatus, reason: str | None, at: datetime) -> None:
        self.status = status
        self.stop_reason = reason
        self.next_run_at = self.parked_run_at = None
        self.claim_token = None
        self.updated_at = at


class ActivityStatus(enum.StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEFERRED = "deferred"
    UNKNOWN = "unknown"


@attrs.define
class Activity:
    """The send ledger: one row per attempted step, unique per (enrollment, step, attempt).
    Written as ``sending`` with its ``message_key`` (the email's Message-ID, or the client
    key of a LinkedIn action) and committed before the provider is called."""

    id: uuid.UUID
    enrollment_id: uuid.UUID
    campaign_id: uuid.UUID
    lead_id: uuid.UUID
    step_id: uuid.UUID
    step_order: int
    attempt: int
    status: ActivityStatus
    channel: Channel
    sender_id: uuid.UUID
    message_key: str
    recipient: str
    created_at: datetime
    updated_at: datetime
    provider_id: str | None = None
    code: str | None = None
    error: str | None = None
    completed_at: datetime | None = None
    #: The billing hold taken for this send, released when it settles.
    reservation_id: uuid.UUID | None = None
    opened_at: datetime | None = None
    replied_at: datetime | None = None
    bounced_at: datetime | None = None
    accepted_at: datetime | None = None

    def settle(self, status: ActivityStatus, at: datetime, *, provider_id: str | None = None,
               code: str | None = None, error: str | None = None) -> None:
        """The outcome of a send in flight (``sending``), or of an ``unknown`` one being
        reconciled; a settled row never changes again."""
        if self.status not in (ActivityStatus.SENDING, ActivityStatus.UNKNOWN):
            raise Conflict(f"this send is already {self.status}")
        self.status = status
        self.provider_id = provider_id or self.provider_id
        self.code, self.error = code, error
        self.updated_at = at
        if status is not ActivityStatus.UNKNOWN:
            self.completed_at = at


@attrs.frozen
class Claim:
    """An enrollment a worker holds: due work found across tenants by the narrow path,
    then run in its own tenant's scope."""

    tenant_id: uuid.UUID
    enrollment_id: uuid.UUID
    token: uuid.UUID


@attrs.frozen
class StepStats:
    step_order: int
    sender_id: uuid.UUID | None
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    sending: int = 0
    opened: int = 0
    replied: int = 0
    bounced: int = 0
    accepted: int = 0
