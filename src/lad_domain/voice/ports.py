"""Voice ports: the repositories of the catalog, batches and calls; the narrow
cross-tenant paths the dialer and the webhooks need; the phone plan (numbers and their
time zones) and the call providers."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from lad_domain.campaigns.ports import CampaignsUnitOfWork
from lad_domain.shared.ids import IdGenerator
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallAnalysis,
    CallEvent,
    CallStatus,
    EntryStatus,
    Number,
    Permission,
    PhoneNumber,
    UserProfile,
    Voice,
)


class VoiceCatalog(Protocol):
    def add(self, voice: Voice) -> None:
        """A Conflict when (provider, provider_voice_id) exists in the same scope."""
        ...

    def get(self, voice_id: uuid.UUID) -> Voice | None:
        """A live global voice or one of the tenant's own."""
        ...

    def find(self, provider: str, provider_voice_id: str, *, global_only: bool = False
             ) -> Voice | None: ...
    def update(self, voice: Voice) -> None: ...
    def list(self, provider: str | None, page: PageRequest) -> Page[Voice]:
        """Global voices and the tenant's own, live ones."""
        ...


class AgentRepository(Protocol):
    def add(self, agent: Agent) -> None:
        """Stores it and sets ``agent.id`` (the identity; on SQLite MAX(id) + 1 in the
        write transaction)."""
        ...

    def get(self, agent_id: int) -> Agent | None: ...
    def update(self, agent: Agent) -> None: ...
    def list(self, page: PageRequest) -> Page[Agent]: ...


class NumberRepository(Protocol):
    def add(self, number: Number) -> None:
        """A Conflict when the tenant has this live number."""
        ...

    def get(self, number_id: uuid.UUID) -> Number | None: ...
    def find(self, phone: PhoneNumber) -> Number | None: ...
    def update(self, number: Number) -> None: ...
    def list(self, page: PageRequest) -> Page[Number]: ...


class UserProfileRepository(Protocol):
    def get(self, user_id: uuid.UUID) -> UserProfile | None: ...
    def put(self, profile: UserProfile) -> None:
        """Insert or replace the member's profile."""
        ...


class PermissionRepository(Protocol):
    def add(self, permission: Permission) -> None: ...
    def get(self, permission_id: uuid.UUID) -> Permission | None: ...
    def update(self, permission: Permission) -> None: ...
    def for_user(self, user_id: uuid.UUID) -> Sequence[Permission]: ...
    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Permission]: ...


class BatchRepository(Protocol):
    def add(self, batch: Batch) -> None: ...
    def get(self, batch_id: uuid.UUID, *, lock: bool = False) -> Batch | None: ...
    def update(self, batch: Batch) -> None: ...
    def list(self, status: BatchStatus | None, page: PageRequest) -> Page[Batch]: ...
    def open_for_campaign(self, campaign_id: uuid.UUID, name: str) -> Batch | None:
        """The campaign's running batch of that name (a campaign step's calls share one)."""
        ...


class EntryRepository(Protocol):
    def add_many(self, entries: Sequence[BatchEntry]) -> None: ...
    def get(self, entry_id: uuid.UUID, *, lock: bool = False) -> BatchEntry | None: ...
    def update(self, entry: BatchEntry) -> None: ...
    def list(self, batch_id: uuid.UUID, status: EntryStatus | None, page: PageRequest
             ) -> Page[BatchEntry]:
        """Oldest first."""
        ...

    def counts(self, batch_id: uuid.UUID) -> dict[EntryStatus, int]: ...
    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[BatchEntry]:
        """The lead's open entries in every batch (a do-not-call request cancels them)."""
        ...

    def cancel_open(self, batch_id: uuid.UUID, reason: str, at: datetime) -> int:
        """Cancel the batch's pending entries (queued and calling ones finish); how many."""
        ...


class CallRepository(Protocol):
    def add(self, call: Call) -> None: ...
    def get(self, call_id: uuid.UUID, *, lock: bool = False) -> Call | None: ...
    def get_by_provider(self, provider: str, provider_call_id: str, *, lock: bool = False
                        ) -> Call | None: ...
    def update(self, call: Call) -> None: ...
    def list(self, page: PageRequest, *, lead_id: uuid.UUID | None = None,
             batch_id: uuid.UUID | None = None, since: datetime | None = None,
             until: datetime | None = None) -> Page[Call]:
        """Newest first; ``since``/``until`` bound ``created_at`` (on PostgreSQL only the
        partitions of those months are read)."""
        ...

    def placed_since(self, lead_id: uuid.UUID, since: datetime) -> int:
        """Calls to the lead created since ``since`` (the per-lead daily cap)."""
        ...

    def overdue(self, before: datetime, limit: int) -> Sequence[Call]:
        """Live calls (queued, ringing, in progress) created before ``before``."""
        ...


class AnalysisRepository(Protocol):
    def put(self, analysis: CallAnalysis) -> None:
        """Insert or replace the call's analysis (one per call)."""
        ...

    def get_for(self, call_id: uuid.UUID) -> CallAnalysis | None: ...


@runtime_checkable
class VoiceUnitOfWork(CampaignsUnitOfWork, Protocol):
    voices: VoiceCatalog
    agents: AgentRepository
    numbers: NumberRepository
    voice_profiles: UserProfileRepository
    voice_permissions: PermissionRepository
    call_batches: BatchRepository
    batch_entries: EntryRepository
    calls: CallRepository
    call_analyses: AnalysisRepository


# --- the narrow cross-tenant paths --------------------------------------------------------

@attrs.frozen
class DialClaim:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    batch_id: uuid.UUID
    token: uuid.UUID


@attrs.frozen
class Limits:
    """Calls in flight at once: per tenant and in all (kept below the provider's own
    limit, past which providers drop calls). A batch's own limit is its concurrency."""

    per_tenant: int = 10
    total: int = 20


class DialWork(Protocol):
    """Claims due entries across tenants: pending entries of running batches whose
    ``next_attempt_at`` has come, within each batch's concurrency, the per-tenant limit and
    the total limit (counting queued and calling entries), fair across tenants (each tenant
    with due entries gets its share in turn). A claim moves the entry to ``queued`` with
    ``next_attempt_at = now + lease`` and the claim token: an entry whose worker died is
    claimed again after the lease."""

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID,
              limits: Limits) -> Sequence[DialClaim]: ...


class Applied(enum.StrEnum):
    """What applying a call event did."""

    APPLIED = "applied"
    #: The same event of the same call was received before: nothing changed.
    DUPLICATE = "duplicate"
    #: No call of ours has this id (or the event names another tenant's call).
    IGNORED = "ignored"


class CallEventApplier(Protocol):
    """Applies one call event in the call's tenant as the domain's rule
    (``lad_domain.voice.services.events.apply_event``) does, in one transaction of its
    own, faster (a database function that mirrors the rule step for step; the rule stays
    the single source of its meaning). None: this event is not one it handles (an
    analysis, a correction, anything unusual), detected before anything is written; the
    caller then runs the rule."""

    def apply(self, tenant_id: uuid.UUID, event: CallEvent, raw: bytes, now: datetime,
              ids: IdGenerator, *, receipt: bool = True) -> Applied | None: ...


class CallTenants(Protocol):
    """Whose call a provider's call id is (the webhook's one cross-tenant lookup)."""

    def tenant_of(self, provider: str, provider_call_id: str) -> uuid.UUID | None: ...


# --- phone numbers ------------------------------------------------------------------------

class InvalidPhone(ValueError):
    """Raised by the phone plan; its message is the reason, safe to show."""


class PhonePlan(Protocol):
    def parse(self, raw: str, *, region: str | None = None) -> PhoneNumber:
        """A number split into country calling code and national number; InvalidPhone
        with the reason."""
        ...

    def zones(self, phone: PhoneNumber) -> tuple[str, ...]:
        """The IANA zones the number may be in (an area code may span several); empty
        when unknown."""
        ...


# --- providers ----------------------------------------------------------------------------

@attrs.frozen
class CallRequest:
    """What a provider needs to place one call; ``metadata`` comes back in its webhooks
    (our call and tenant ids)."""

    call_id: uuid.UUID
    tenant_id: uuid.UUID
    to: str
    from_: str | None
    provider_agent_id: str | None
    language: str
    max_duration_seconds: int
    system_prompt: str | None = None
    first_message: str | None = None
    voice_provider: str | None = None
    provider_voice_id: str | None = None
    recording: bool = False
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class PlacedCall:
    provider_call_id: str
    status: CallStatus = CallStatus.QUEUED


class ProviderErrorKind:
    #: 429: try again after ``retry_after``; nothing was placed.
    THROTTLED = "throttled"
    #: 4xx: the provider refused the request (bad number, bad agent); nothing was placed.
    REJECTED = "rejected"
    #: 5xx or the connection refused: nothing was placed; try again later.
    UNAVAILABLE = "unavailable"
    #: No answer in time: the call may or may not have been placed.
    TIMEOUT = "timeout"


class ProviderError(Exception):
    def __init__(self, kind: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after

    @property
    def placed_maybe(self) -> bool:
        return self.kind == ProviderErrorKind.TIMEOUT


class VoiceProvider(Protocol):
    """One call provider: places, ends and fetches calls, and reads its own webhooks."""

    @property
    def name(self) -> str: ...

    def start_call(self, request: CallRequest) -> PlacedCall:
        """ProviderError when it could not (its kind says whether it may have)."""
        ...

    def end_call(self, provider_call_id: str) -> None: ...

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        """The call as the provider knows it now; None when it does not know it."""
        ...

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        """Verify the signature over the raw bytes (constant-time; the timestamp window
        where the provider signs one) and normalise the payload: AuthenticationFailed when
        the signature is missing, wrong or stale; ValidationFailed when the payload is not
        the provider's; an empty sequence for events that say nothing about a call."""
        ...


class VoiceProviders(Protocol):
    def get(self, name: str) -> VoiceProvider:
        """NotConfigured (a ValidationFailed naming the setting) when it is not set up."""
        ...

    def names(self) -> Sequence[str]: ...
