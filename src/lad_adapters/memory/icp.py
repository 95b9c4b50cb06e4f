"""In-memory repositories of the ICP assistant, with the same keys, order and errors as SQL."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime

import attrs

from lad_adapters.memory.store import (
    InMemoryRepository,
    InMemoryTenantKeyedRepository,
    conflict_message,
)
from lad_domain.icp.model import (
    Conversation,
    ExpansionStats,
    IcpProfile,
    KeywordExpansion,
    Message,
)
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import Page, PageRequest

CONVERSATIONS = "ai_conversations"


class InMemoryConversationRepository(InMemoryTenantKeyedRepository):
    table_name = CONVERSATIONS

    def add(self, conversation: Conversation) -> None:
        self._references("users", conversation.user_id)
        self._insert((self.tenant_id, conversation.id), conversation, "pk_ai_conversations")

    def get(self, conversation_id: uuid.UUID, *, lock: bool = False) -> Conversation | None:
        found: Conversation | None = self._own(conversation_id)
        return found

    def update(self, conversation: Conversation) -> None:
        if (self.tenant_id, conversation.id) in self.rows:
            self._put((self.tenant_id, conversation.id), conversation)

    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Conversation]:
        return self._paginate(self._mine(lambda c: user_id in (None, c.user_id)), page,
                              lambda c: (c.created_at, c.id), within=user_id)


class InMemoryMessageRepository(InMemoryTenantKeyedRepository):
    table_name = "ai_messages"

    def add(self, message: Message) -> None:
        self._references(CONVERSATIONS, (self.tenant_id, message.conversation_id))
        self._insert((self.tenant_id, message.id), message, "pk_ai_messages")

    def list(self, conversation_id: uuid.UUID, page: PageRequest) -> Page[Message]:
        """Oldest first, as the SQL adapter pages them."""
        return self._paginate(self._mine(lambda m: m.conversation_id == conversation_id),
                              page, lambda m: (m.created_at, m.id), within=conversation_id,
                              oldest_first=True)

    def recent(self, conversation_id: uuid.UUID, limit: int) -> Sequence[Message]:
        found = self._ordered(conversation_id)
        return found[max(len(found) - limit, 0):] if limit > 0 else []

    def _ordered(self, conversation_id: uuid.UUID) -> Sequence[Message]:
        return sorted(self._mine(lambda m: m.conversation_id == conversation_id),
                      key=lambda m: (m.created_at, m.id))


class InMemoryProfileRepository(InMemoryTenantKeyedRepository):
    table_name = "ai_icp_profiles"

    def add(self, profile: IcpProfile) -> None:
        self._check(profile)
        self._insert((self.tenant_id, profile.id), profile, "pk_ai_icp_profiles")

    def get(self, profile_id: uuid.UUID, *, lock: bool = False) -> IcpProfile | None:
        found: IcpProfile | None = self._own(profile_id)
        return found if found is not None and found.deleted_at is None else None

    def update(self, profile: IcpProfile) -> None:
        if (self.tenant_id, profile.id) in self.rows:
            self._check(profile)
            self._put((self.tenant_id, profile.id), profile)

    def list(self, page: PageRequest) -> Page[IcpProfile]:
        return self._paginate(self._mine(lambda p: p.deleted_at is None), page,
                              lambda p: (p.created_at, p.id))

    def _check(self, profile: IcpProfile) -> None:
        """The unique live name, and the conversation it came from."""
        if profile.source_conversation_id is not None:
            self._references(CONVERSATIONS, (self.tenant_id, profile.source_conversation_id))
        if profile.deleted_at is None:
            self._unique((p for k, p in self.rows.items() if k[0] == self.tenant_id),
                         lambda p: p.id != profile.id and p.deleted_at is None
                         and p.name == profile.name, "uq_ai_icp_profiles_name_live")


class InMemoryKeywordExpansionRepository(InMemoryRepository):
    """Global rows (tenant_id None), which any tenant may add to and count hits on, and
    the scope's own; with no tenant, the global ones only."""

    table_name = "ai_keyword_expansions"

    def _visible(self) -> list[KeywordExpansion]:
        return [x for x in self.rows.values() if x.tenant_id in (None, self._tenant_id)]

    def find(self, keyword: str, context: str) -> KeywordExpansion | None:
        found = [x for x in self._visible()
                 if x.original_keyword == keyword and x.context == context]
        found.sort(key=lambda x: x.tenant_id is None)  # the tenant's own first
        return copy.deepcopy(found[0]) if found else None

    def add(self, expansion: KeywordExpansion) -> None:
        if any(x.original_keyword == expansion.original_keyword
               and x.context == expansion.context and x.tenant_id == expansion.tenant_id
               for x in self.rows.values()):
            return  # added meanwhile: the first stays
        if expansion.id in self.rows:
            raise Conflict(conflict_message("pk_ai_keyword_expansions"))
        self._put(expansion.id, expansion)

    def record_hit(self, expansion_id: uuid.UUID, at: datetime) -> None:
        stored = self.rows.get(expansion_id)
        if stored is not None and stored.tenant_id in (None, self._tenant_id):
            self.rows[expansion_id] = attrs.evolve(stored, hit_count=stored.hit_count + 1,
                                                   last_used_at=at)

    def stats(self) -> ExpansionStats:
        visible = self._visible()
        return ExpansionStats(entries=len(visible), hits=sum(x.hit_count for x in visible),
                              misses=len(visible))
