"""Voice agent tables: agents, their numbers and voices, members' defaults and permissions,
call batches, the monthly-partitioned call logs and their analysis."""

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
from lad_adapters.sql.types import Json, Money, UtcDateTime

GENDERS = ("female", "male", "neutral")
BATCH_STATUSES = ("pending", "running", "paused", "completed", "cancelled", "failed")
ENTRY_STATUSES = ("pending", "queued", "calling", "completed", "failed", "skipped", "cancelled")
CALL_STATUSES = ("queued", "ringing", "in_progress", "completed", "voicemail", "failed",
                 "no_answer", "busy", "cancelled", "unknown")
SENTIMENTS = ("positive", "neutral", "negative", "mixed")


def _phone(prefix: str = "") -> list[sa.Column[Any]]:
    """A phone number as the seed stores it: country calling code + national number."""
    return [sa.Column(f"{prefix}country_code", sa.String(4), nullable=bool(prefix),
                      comment="Country calling code without '+', e.g. '1'"),
            sa.Column(f"{prefix}base_number", sa.BigInteger(), nullable=bool(prefix),
                      comment="The national number as digits, e.g. 5551234567")]


voice_agent_voices = table(
    "voice_agent_voices", "voice", "mixed",
    id_key(),
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              nullable=True, comment="NULL: a shared catalog voice; else the tenant's own"),
    sa.Column("provider", sa.String(32), nullable=False,
              comment="elevenlabs, google, openai, cartesia, ..."),
    sa.Column("provider_voice_id", sa.String(128), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("gender", sa.String(16), nullable=True),
    sa.Column("language", sa.String(16), nullable=True, comment="BCP 47"),
    sa.Column("preview_url", sa.String(2048), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    *timestamps(),
    deleted_at(),
    one_of("gender", GENDERS),
    sa.Index("uq_voice_agent_voices_global", "provider", "provider_voice_id", unique=True,
             **where("tenant_id IS NULL AND deleted_at IS NULL")),
    sa.Index("uq_voice_agent_voices_tenant", "tenant_id", "provider", "provider_voice_id",
             unique=True, **where("tenant_id IS NOT NULL AND deleted_at IS NULL")),
    comment="The voice catalog: shared voices plus a tenant's own.",
)

voice_agents = table(
    "voice_agents", "voice", "tenant",
    tenant_key(),
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True,
              comment="BIGINT identity as in the seed; on SQLite (no identity inside a "
              "composite key) the repository assigns MAX(id) + 1 in its write transaction"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("voice_id", sa.Uuid(), sa.ForeignKey("voice_agent_voices.id"), nullable=True),
    sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    sa.Column("system_prompt", sa.Text(), nullable=True),
    sa.Column("first_message", sa.Text(), nullable=True),
    sa.Column("config", Json(), nullable=False, server_default=sa.text("'{}'")),
    user_ref("created_by"),
    *timestamps(),
    deleted_at(),
    comment="AI voice agents: prompt, voice and language.",
)

voice_agent_numbers = table(
    "voice_agent_numbers", "voice", "tenant",
    tenant_key(),
    id_key(),
    *_phone(),
    sa.Column("provider", sa.String(32), nullable=False, comment="twilio, vonage, ..."),
    sa.Column("provider_number_id", sa.String(128), nullable=True),
    sa.Column("agent_id", sa.BigInteger(), nullable=True, comment="The agent answering it"),
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("capabilities", Json(), nullable=False, server_default=sa.text("'[\"voice\"]'"),
              comment="What the number is used for: voice, sms"),
    *timestamps(),
    deleted_at(),
    sa.CheckConstraint("base_number > 0", name="base_number"),
    tenant_ref(["agent_id"], "voice_agents", name="fk_voice_agent_numbers_agent"),
    sa.Index("uq_voice_agent_numbers_number_live", "tenant_id", "country_code", "base_number",
             unique=True, **where(LIVE)),
    sa.Index("ix_voice_agent_numbers_agent", "tenant_id", "agent_id"),
    comment="The tenant's phone numbers, stored as country code + national number.",
)

voice_user_profiles = table(
    "voice_user_profiles", "voice", "tenant",
    tenant_key(),
    sa.Column("user_id", sa.Uuid(), primary_key=True),
    sa.Column("default_agent_id", sa.BigInteger(), nullable=True),
    sa.Column("default_number_id", sa.Uuid(), nullable=True),
    sa.Column("preferences", Json(), nullable=False, server_default=sa.text("'{}'")),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"],
                            ["memberships.tenant_id", "memberships.user_id"],
                            name="fk_voice_user_profiles_member", ondelete="CASCADE"),
    tenant_ref(["default_agent_id"], "voice_agents", name="fk_voice_user_profiles_agent"),
    tenant_ref(["default_number_id"], "voice_agent_numbers", name="fk_voice_user_profiles_number"),
    comment="A member's voice defaults; gone with the membership.",
)

voice_permissions = table(
    "voice_permissions", "voice", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("user_id", sa.Uuid(), nullable=False),
    sa.Column("number_id", sa.Uuid(), nullable=True),
    sa.Column("voice_id", sa.Uuid(), sa.ForeignKey("voice_agent_voices.id", ondelete="CASCADE"),
              nullable=True),
    sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    user_ref("granted_by"),
    *timestamps(),
    sa.CheckConstraint("number_id IS NOT NULL OR voice_id IS NOT NULL", name="resource"),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"],
                            ["memberships.tenant_id", "memberships.user_id"],
                            name="fk_voice_permissions_member", ondelete="CASCADE"),
    tenant_ref(["number_id"], "voice_agent_numbers", name="fk_voice_permissions_number",
               ondelete="CASCADE"),
    sa.Index("ix_voice_permissions_user", "tenant_id", "user_id"),
    comment="Which numbers and voices a member may use; gone with the membership.",
)

voice_call_batches = table(
    "voice_call_batches", "voice", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("agent_id", sa.BigInteger(), nullable=False),
    sa.Column("number_id", sa.Uuid(), nullable=True),
    sa.Column("campaign_id", sa.Uuid(), nullable=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("total_calls", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("completed_calls", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("failed_calls", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("scheduled_at", UtcDateTime(), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("settings", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="Calling window (each lead's local time), concurrency, retries and "
              "the per-lead daily cap"),
    user_ref("created_by"),
    *timestamps(),
    one_of("status", BATCH_STATUSES),
    sa.CheckConstraint("total_calls >= 0 AND completed_calls >= 0 AND failed_calls >= 0",
                       name="counts"),
    tenant_ref(["agent_id"], "voice_agents", name="fk_voice_call_batches_agent"),
    tenant_ref(["number_id"], "voice_agent_numbers", name="fk_voice_call_batches_number"),
    tenant_ref(["campaign_id"], "campaigns", name="fk_voice_call_batches_campaign"),
    sa.Index("ix_voice_call_batches_agent", "tenant_id", "agent_id"),
    sa.Index("ix_voice_call_batches_campaign", "tenant_id", "campaign_id",
             **where("campaign_id IS NOT NULL")),
    sa.Index("ix_voice_call_batches_active", "tenant_id", "scheduled_at",
             **where("status IN ('pending', 'running')")),
    comment="Batches of outbound calls made by one agent.",
)
newest_first(voice_call_batches)

voice_call_batch_entries = table(
    "voice_call_batch_entries", "voice", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("batch_id", sa.Uuid(), nullable=False),
    sa.Column("lead_id", sa.Uuid(), nullable=True),
    *_phone("to_"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("decision", Json(), nullable=True,
              comment="The last dial-time decision: dial, wait or refuse, why, and the lead's "
              "local time then"),
    sa.Column("last_call_id", sa.Uuid(), nullable=True, comment="The entry's latest call"),
    sa.Column("last_outcome", sa.String(16), nullable=True,
              comment="The final status of the entry's latest call"),
    sa.Column("claim_token", sa.Uuid(), nullable=True,
              comment="The claim of the dialer that holds it"),
    *timestamps(),
    one_of("status", ENTRY_STATUSES),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    tenant_ref(["batch_id"], "voice_call_batches", name="fk_voice_call_batch_entries_batch",
               ondelete="CASCADE"),
    tenant_ref(["lead_id"], "leads", name="fk_voice_call_batch_entries_lead", ondelete="CASCADE"),
    sa.Index("ix_voice_call_batch_entries_batch", "tenant_id", "batch_id", "status"),
    sa.Index("ix_voice_call_batch_entries_lead", "tenant_id", "lead_id"),
    sa.Index("ix_voice_call_batch_entries_due", "tenant_id", "batch_id", "next_attempt_at",
             **where("status IN ('pending', 'queued')")),
    sa.Index("ix_voice_call_batch_entries_in_flight", "tenant_id", "batch_id", "next_attempt_at",
             **where("status IN ('queued', 'calling')")),
    comment="The leads (numbers) of a call batch and how each call went.",
)

voice_call_logs = table(
    "voice_call_logs", "voice", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("created_at", UtcDateTime(), primary_key=True,
              comment="The partition key: part of the primary key and of keys referring here"),
    sa.Column("agent_id", sa.BigInteger(), nullable=True),
    sa.Column("number_id", sa.Uuid(), nullable=True, comment="The tenant's number used"),
    sa.Column("lead_id", sa.Uuid(), nullable=True),
    sa.Column("campaign_id", sa.Uuid(), nullable=True),
    sa.Column("batch_id", sa.Uuid(), nullable=True),
    sa.Column("batch_entry_id", sa.Uuid(), nullable=True),
    user_ref("initiated_by_user_id"),
    sa.Column("direction", sa.String(16), nullable=False, server_default="outbound"),
    *_phone("to_"),
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("provider", sa.String(32), nullable=True),
    sa.Column("provider_call_id", sa.String(128), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("duration_seconds", sa.Integer(), nullable=True),
    sa.Column("cost", Money(), nullable=True),
    sa.Column("cost_breakdown", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="Cost per component: telephony, voice, LLM, ..."),
    sa.Column("billing_reservation_id", sa.Uuid(), nullable=True),
    sa.Column("recording_url", sa.String(2048), nullable=True),
    sa.Column("transcription", sa.Text(), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    one_of("direction", ("outbound", "inbound")),
    one_of("status", CALL_STATUSES),
    sa.CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0",
                       name="duration_seconds"),
    sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost"),
    tenant_ref(["agent_id"], "voice_agents", name="fk_voice_call_logs_agent"),
    tenant_ref(["number_id"], "voice_agent_numbers", name="fk_voice_call_logs_number"),
    tenant_ref(["lead_id"], "leads", name="fk_voice_call_logs_lead"),
    tenant_ref(["campaign_id"], "campaigns", name="fk_voice_call_logs_campaign"),
    tenant_ref(["batch_id"], "voice_call_batches", name="fk_voice_call_logs_batch"),
    tenant_ref(["batch_entry_id"], "voice_call_batch_entries", name="fk_voice_call_logs_entry"),
    tenant_ref(["billing_reservation_id"], "billing_reservations",
               name="fk_voice_call_logs_reservation"),
    sa.Index("ix_voice_call_logs_agent", "tenant_id", "agent_id", "created_at"),
    sa.Index("ix_voice_call_logs_lead", "tenant_id", "lead_id", "created_at"),
    # The webhook's lookup: across tenants (voice_call_tenant), then in the tenant's scope.
    sa.Index("ix_voice_call_logs_provider_call", "provider", "provider_call_id",
             **where("provider_call_id IS NOT NULL")),
    sa.Index("ix_voice_call_logs_tenant_provider_call", "tenant_id", "provider",
             "provider_call_id", **where("provider_call_id IS NOT NULL")),
    sa.Index("ix_voice_call_logs_campaign", "tenant_id", "campaign_id",
             **where("campaign_id IS NOT NULL")),
    sa.Index("ix_voice_call_logs_batch", "tenant_id", "batch_id", **where("batch_id IS NOT NULL")),
    sa.Index("ix_voice_call_logs_live", "tenant_id", "created_at",
             **where("status IN ('queued', 'ringing', 'in_progress')")),
    comment="Call records: recording, transcription, cost. Range-partitioned by month on "
    "created_at on PostgreSQL.",
    volume="high",
    partition_by="created_at",
)
newest_first(voice_call_logs)

voice_call_analysis = table(
    "voice_call_analysis", "voice", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("call_log_id", sa.Uuid(), nullable=False),
    sa.Column("call_created_at", UtcDateTime(), nullable=False,
              comment="The call's created_at: the partition key is part of its key"),
    sa.Column("sentiment", sa.String(16), nullable=True),
    sa.Column("lead_category", sa.String(64), nullable=True,
              comment="hot, warm, cold, not_interested, ..."),
    sa.Column("summary", sa.Text(), nullable=True),
    sa.Column("extraction", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="Lead data extracted from the call"),
    sa.Column("model", sa.String(128), nullable=True),
    *timestamps(),
    one_of("sentiment", SENTIMENTS),
    sa.ForeignKeyConstraint(
        ["tenant_id", "call_log_id", "call_created_at"],
        ["voice_call_logs.tenant_id", "voice_call_logs.id", "voice_call_logs.created_at"],
        name="fk_voice_call_analysis_call", ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "call_log_id", name="uq_voice_call_analysis_call"),
    comment="AI analysis of a call: sentiment, lead category, extracted data.",
)
