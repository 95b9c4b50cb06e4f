"""SQL repositories of the ICP assistant: conversations, their messages, saved profiles and
the keyword-expansion cache (global rows and the tenant's own)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.outreach import OutreachRepository
from lad_adapters.sql.pagination import keyset, paginate
from lad_adapters.sql.tables.icp import (
    ai_conversations,
    ai_icp_profiles,
    ai_keyword_expansions,
    ai_messages,
)
from lad_domain.icp.model import (
    Conversation,
    ConversationStatus,
    ExpansionStats,
    IcpDocument,
    IcpProfile,
    KeywordExpansion,
    Message,
    Role,
    search_params,
)
from lad_domain.shared.pagination import Page, PageRequest

c = ai_conversations
m = ai_messages
pr = ai_icp_profiles
kx = ai_keyword_expansions


def _document(value: Any) -> IcpDocument:
    return IcpDocument.from_json(value or {}, source="rules")


def _row_to_conversation(row: sa.Row[Any]) -> Conversation:
    return Conversation(id=row.id, tenant_id=row.tenant_id, user_id=row.user_id,
                        created_at=row.created_at, updated_at=row.updated_at,
                        status=ConversationStatus(row.status), title=row.title,
                        icp=_document(row.icp_data))


class SqlConversationRepository(OutreachRepository):
    def add(self, conversation: Conversation) -> None:
        self._db.execute(c.insert().values(
            tenant_id=self.tenant_id, id=conversation.id, user_id=conversation.user_id,
            created_at=conversation.created_at, **self._values(conversation)))

    def get(self, conversation_id: uuid.UUID, *, lock: bool = False) -> Conversation | None:
        query = sa.select(c).where(c.c.tenant_id == self.tenant_id, c.c.id == conversation_id)
        row = self._one(self._locked(query, lock))
        return _row_to_conversation(row) if row else None

    def update(self, conversation: Conversation) -> None:
        self._db.execute(c.update().where(c.c.tenant_id == self.tenant_id,
                                          c.c.id == conversation.id)
                         .values(self._values(conversation)))

    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Conversation]:
        where = [c.c.tenant_id == self.tenant_id]
        if user_id is not None:
            where.append(c.c.user_id == user_id)
        return paginate(self._db, sa.select(c).where(*where), created_at=c.c.created_at,
                        id_column=c.c.id, page=page, to_item=_row_to_conversation)

    @staticmethod
    def _values(conversation: Conversation) -> dict[str, Any]:
        return {"status": str(conversation.status), "title": conversation.title,
                "icp_data": conversation.icp.to_json(),
                "search_params": search_params(conversation.icp),
                "updated_at": conversation.updated_at}


def _row_to_message(row: sa.Row[Any]) -> Message:
    return Message(id=row.id, conversation_id=row.conversation_id, role=Role(row.role),
                   content=row.content, created_at=row.created_at,
                   tokens_used=row.tokens_used, model=row.model,
                   metadata=dict(row.metadata or {}))


class SqlMessageRepository(OutreachRepository):
    def add(self, message: Message) -> None:
        self._db.execute(m.insert().values(
            tenant_id=self.tenant_id, id=message.id, conversation_id=message.conversation_id,
            role=str(message.role), content=message.content, tokens_used=message.tokens_used,
            model=message.model, metadata=dict(message.metadata),
            created_at=message.created_at))

    def list(self, conversation_id: uuid.UUID, page: PageRequest) -> Page[Message]:
        """Oldest first by (created_at, id), with the unit of work's sealed cursors for
        this conversation's list (``paginate`` pages newest first)."""
        query = sa.select(m).where(m.c.tenant_id == self.tenant_id,
                                   m.c.conversation_id == conversation_id)
        return keyset(self._db, query, kind=f"{m.name}\0{conversation_id}",
                      created_at=m.c.created_at, id_column=m.c.id, page=page,
                      to_item=_row_to_message, oldest_first=True)

    def recent(self, conversation_id: uuid.UUID, limit: int) -> Sequence[Message]:
        rows = self._db.execute(sa.select(m).where(
            m.c.tenant_id == self.tenant_id, m.c.conversation_id == conversation_id)
            .order_by(m.c.created_at.desc(), m.c.id.desc()).limit(max(limit, 0))).all()
        return [_row_to_message(row) for row in reversed(rows)]


def _row_to_profile(row: sa.Row[Any]) -> IcpProfile:
    return IcpProfile(id=row.id, tenant_id=row.tenant_id, name=row.name,
                      icp=_document(row.icp_data), created_at=row.created_at,
                      updated_at=row.updated_at, user_id=row.user_id,
                      description=row.description,
                      source_conversation_id=row.source_conversation_id,
                      usage_count=row.usage_count, last_used_at=row.last_used_at,
                      deleted_at=row.deleted_at)


class SqlProfileRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [pr.c.tenant_id == self.tenant_id, pr.c.deleted_at.is_(None), *where]

    def add(self, profile: IcpProfile) -> None:
        self._db.execute(pr.insert().values(
            tenant_id=self.tenant_id, id=profile.id, created_at=profile.created_at,
            **self._values(profile)))

    def get(self, profile_id: uuid.UUID, *, lock: bool = False) -> IcpProfile | None:
        query = sa.select(pr).where(*self._live(pr.c.id == profile_id))
        row = self._one(self._locked(query, lock))
        return _row_to_profile(row) if row else None

    def update(self, profile: IcpProfile) -> None:
        self._db.execute(pr.update().where(pr.c.tenant_id == self.tenant_id,
                                           pr.c.id == profile.id)
                         .values(self._values(profile)))

    def list(self, page: PageRequest) -> Page[IcpProfile]:
        return paginate(self._db, sa.select(pr).where(*self._live()),
                        created_at=pr.c.created_at, id_column=pr.c.id, page=page,
                        to_item=_row_to_profile)

    @staticmethod
    def _values(profile: IcpProfile) -> dict[str, Any]:
        return {"user_id": profile.user_id, "name": profile.name,
                "description": profile.description, "icp_data": profile.icp.to_json(),
                "search_params": search_params(profile.icp),
                "source_conversation_id": profile.source_conversation_id,
                "usage_count": profile.usage_count, "last_used_at": profile.last_used_at,
                "updated_at": profile.updated_at, "deleted_at": profile.deleted_at}


def _row_to_expansion(row: sa.Row[Any]) -> KeywordExpansion:
    return KeywordExpansion(id=row.id, original_keyword=row.original_keyword,
                            context=row.context, expanded=tuple(row.expanded_keywords),
                            created_at=row.created_at, updated_at=row.updated_at,
                            tenant_id=row.tenant_id, model=row.model,
                            hit_count=row.hit_count, last_used_at=row.last_used_at)


class SqlKeywordExpansionRepository(OutreachRepository):
    """Global rows (tenant_id NULL), which any tenant may add to and count hits on (the
    table's policy lets it), and the scope's own; with no tenant, the global ones only."""

    def _visible(self) -> sa.ColumnElement[bool]:
        shared: sa.ColumnElement[bool] = kx.c.tenant_id.is_(None)
        if self._tenant_id is None:
            return shared
        return sa.or_(shared, kx.c.tenant_id == self._tenant_id)

    def find(self, keyword: str, context: str) -> KeywordExpansion | None:
        # The tenant's own row sorts before the global one (false before true).
        row = self._one(sa.select(kx).where(
            self._visible(), kx.c.original_keyword == keyword, kx.c.context == context)
            .order_by(kx.c.tenant_id.is_(None)).limit(1))
        return _row_to_expansion(row) if row else None

    def add(self, expansion: KeywordExpansion) -> None:
        # A row another transaction added meanwhile stays: DO NOTHING on the key of the
        # row's scope (global rows have their own partial index: NULLs never conflict in
        # the plain unique key).
        insert = self._insert(kx).values(
            id=expansion.id, tenant_id=expansion.tenant_id,
            original_keyword=expansion.original_keyword, context=expansion.context,
            expanded_keywords=list(expansion.expanded), model=expansion.model,
            hit_count=expansion.hit_count, last_used_at=expansion.last_used_at,
            created_at=expansion.created_at, updated_at=expansion.updated_at)
        if expansion.tenant_id is None:
            insert = insert.on_conflict_do_nothing(
                index_elements=[kx.c.original_keyword, kx.c.context],
                index_where=kx.c.tenant_id.is_(None))
        else:
            insert = insert.on_conflict_do_nothing(
                index_elements=[kx.c.original_keyword, kx.c.context, kx.c.organization_id])
        self._db.execute(insert)

    def record_hit(self, expansion_id: uuid.UUID, at: datetime) -> None:
        self._db.execute(kx.update().where(self._visible(), kx.c.id == expansion_id).values(
            hit_count=kx.c.hit_count + 1, last_used_at=at))

    def stats(self) -> ExpansionStats:
        row = self._db.execute(sa.select(
            sa.func.count().label("entries"),
            sa.func.coalesce(sa.func.sum(kx.c.hit_count), 0).label("hits"),
        ).where(self._visible())).one()
        entries = int(row.entries)
        return ExpansionStats(entries=entries, hits=int(row.hits), misses=entries)
