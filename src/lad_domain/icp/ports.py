"""The ICP assistant's ports: its repositories, and the language model that reads what a
user says (the offline rules extractor, or an OpenAI-compatible chat model)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from lad_domain.billing.ports import BillingUnitOfWork
from lad_domain.icp.model import (
    Conversation,
    ExpansionStats,
    IcpDocument,
    IcpProfile,
    IcpUpdate,
    KeywordExpansion,
    Message,
)
from lad_domain.shared.pagination import Page, PageRequest


class ConversationRepository(Protocol):
    def add(self, conversation: Conversation) -> None: ...
    def get(self, conversation_id: uuid.UUID, *, lock: bool = False) -> Conversation | None: ...
    def update(self, conversation: Conversation) -> None: ...
    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Conversation]:
        """Newest first; ``user_id`` None: every member's."""
        ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> None: ...
    def list(self, conversation_id: uuid.UUID, page: PageRequest) -> Page[Message]:
        """Oldest first: a conversation reads from its start."""
        ...
    def recent(self, conversation_id: uuid.UUID, limit: int) -> Sequence[Message]:
        """The last ``limit`` messages, oldest first."""
        ...


class ProfileRepository(Protocol):
    def add(self, profile: IcpProfile) -> None:
        """Conflict when a live profile of the tenant has the name."""
        ...
    def get(self, profile_id: uuid.UUID, *, lock: bool = False) -> IcpProfile | None:
        """A live profile of the tenant, or None."""
        ...
    def update(self, profile: IcpProfile) -> None:
        """Every field (a soft delete sets ``deleted_at``); Conflict on a taken name."""
        ...
    def list(self, page: PageRequest) -> Page[IcpProfile]:
        """Live profiles, newest first."""
        ...


class KeywordExpansionRepository(Protocol):
    def find(self, keyword: str, context: str) -> KeywordExpansion | None:
        """The tenant's own row, else the global one."""
        ...
    def add(self, expansion: KeywordExpansion) -> None:
        """A row that another transaction added meanwhile is not an error: the first
        stays (the same keyword expands the same way)."""
        ...
    def record_hit(self, expansion_id: uuid.UUID, at: datetime) -> None: ...
    def stats(self) -> ExpansionStats:
        """Over the rows the tenant sees (its own and the global ones)."""
        ...


@runtime_checkable
class IcpUnitOfWork(BillingUnitOfWork, Protocol):
    conversations: ConversationRepository
    icp_messages: MessageRepository
    icp_profiles: ProfileRepository
    keyword_expansions: KeywordExpansionRepository


# --- the language model ----------------------------------------------------------------------

@attrs.frozen
class Turn:
    role: str  # "user" or "assistant"
    content: str


@attrs.frozen
class Usage:
    """What one call to the model used, for the usage event (priced by provider and
    model from the catalog)."""

    provider: str
    model: str
    input_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@attrs.frozen
class Extraction:
    update: IcpUpdate
    usage: Usage


@attrs.frozen
class Expansion:
    keywords: tuple[str, ...]
    usage: Usage


class ModelErrorKind(enum.StrEnum):
    #: The model declined to answer (its refusal is in the message).
    REFUSED = "refused"
    #: The answer was cut off (``finish_reason: length``) every time it was asked.
    TRUNCATED = "truncated"
    #: The answer was not JSON of the schema every time it was asked.
    MALFORMED = "malformed"
    #: 429 after the retries; ``retry_after`` says when to come back.
    THROTTLED = "throttled"
    #: 5xx, a refused connection or a timeout after the retries.
    UNAVAILABLE = "unavailable"
    #: The model is not configured (the message names the setting).
    NOT_CONFIGURED = "not_configured"


class ModelError(Exception):
    """``usage``: the tokens the failed call spent before it gave up (answers that were
    refused, cut off or malformed are paid for all the same)."""

    def __init__(self, kind: ModelErrorKind, message: str, *,
                 retry_after: int | None = None, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.usage = usage


class IcpExtractor(Protocol):
    """Reads one user message, with the conversation so far and the document built up to
    now, into an update of the document; expands a keyword into related ones. Raises
    ModelError."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    def extract(self, message: str, history: Sequence[Turn], current: IcpDocument
                ) -> Extraction: ...

    def expand(self, keyword: str, context: str) -> Expansion: ...

    def worst_case(self, input_tokens: int) -> Usage:
        """The most one ``extract`` or ``expand`` may use when its prompt is about
        ``input_tokens``, every retry included: what is held from the wallet before the
        call. ModelError(NOT_CONFIGURED) when the model cannot be called at all."""
        ...
