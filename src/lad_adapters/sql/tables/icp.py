"""AI ICP assistant tables: conversations, their messages, saved ICP profiles and the
keyword-expansion cache."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.tables.base import (
    LIVE,
    deleted_at,
    id_key,
    newest_first,
    one_of,
    table,
    tenant_key,
    tenant_ref,
    timestamps,
    user_ref,
    where,
)
from lad_adapters.sql.types import Json, UtcDateTime

CONVERSATION_STATUSES = ("active", "completed", "archived")
MESSAGE_ROLES = ("user", "assistant", "system", "tool")


def organization_id() -> sa.Column[Any]:
    """The seed's name for the owning tenant in the AI tables, kept as a column generated
    from tenant_id so the two can never disagree (never written by the application)."""
    return sa.Column("organization_id", sa.Uuid(), sa.Computed("tenant_id", persisted=True),
                     comment="Always equal to tenant_id (generated)")


ai_conversations = table(
    "ai_conversations", "icp", "tenant",
    tenant_key(),
    id_key(),
    organization_id(),
    user_ref("user_id", nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("icp_data", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="ICP parameters extracted so far: industry, company size, location, ..."),
    sa.Column("search_params", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="Search parameters built from the conversation"),
    *timestamps(),
    one_of("status", CONVERSATION_STATUSES),
    sa.Index("ix_ai_conversations_user", "tenant_id", "user_id", "created_at"),
    comment="Chat sessions in which a member defines an ideal customer profile.",
)
newest_first(ai_conversations)

ai_messages = table(
    "ai_messages", "icp", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("conversation_id", sa.Uuid(), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("tokens_used", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("model", sa.String(128), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    one_of("role", MESSAGE_ROLES),
    sa.CheckConstraint("tokens_used >= 0", name="tokens_used"),
    tenant_ref(["conversation_id"], "ai_conversations", name="fk_ai_messages_conversation",
               ondelete="CASCADE"),
    sa.Index("ix_ai_messages_conversation", "tenant_id", "conversation_id", "created_at"),
    comment="The messages of a conversation, with the tokens each used (LLM billing).",
    volume="medium",
)
newest_first(ai_messages)

ai_icp_profiles = table(
    "ai_icp_profiles", "icp", "tenant",
    tenant_key(),
    id_key(),
    organization_id(),
    user_ref("user_id", comment="Who saved it"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("icp_data", Json(), nullable=False),
    sa.Column("search_params", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("source_conversation_id", sa.Uuid(), nullable=True),
    sa.Column("usage_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    *timestamps(),
    deleted_at(),
    sa.CheckConstraint("usage_count >= 0", name="usage_count"),
    tenant_ref(["source_conversation_id"], "ai_conversations",
               name="fk_ai_icp_profiles_conversation"),
    sa.Index("uq_ai_icp_profiles_name_live", "tenant_id", "name", unique=True, **where(LIVE)),
    comment="Saved ICP profiles, reused for searches, with usage analytics.",
)

ai_keyword_expansions = table(
    "ai_keyword_expansions", "icp", "mixed",
    id_key(),
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              nullable=True, comment="NULL: shared by every tenant"),
    organization_id(),
    sa.Column("original_keyword", sa.String(200), nullable=False),
    sa.Column("context", sa.String(200), nullable=False, server_default="",
              comment="What the keyword is about (industry, title, ...); '' for none"),
    sa.Column("expanded_keywords", Json(), nullable=False),
    sa.Column("model", sa.String(128), nullable=True),
    sa.Column("hit_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    *timestamps(),
    sa.UniqueConstraint("original_keyword", "context", "organization_id",
                        name="uq_ai_keyword_expansions_keyword"),
    sa.Index("uq_ai_keyword_expansions_global", "original_keyword", "context", unique=True,
             **where("tenant_id IS NULL")),
    comment="Cache of LLM keyword expansions: global rows and per-tenant rows.",
)
