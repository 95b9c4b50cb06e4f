"""Campaign tables: campaigns, their steps, lead enrollments and the action history."""

from __future__ import annotations

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

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled")
ENROLLMENT_STATUSES = ("pending", "active", "paused", "completed", "failed", "stopped")
ACTIVITY_STATUSES = ("pending", "in_progress", "succeeded", "failed", "skipped")

campaigns = table(
    "campaigns", "campaigns", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("config", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("starts_at", UtcDateTime(), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    user_ref("created_by"),
    *timestamps(),
    deleted_at(),
    one_of("status", CAMPAIGN_STATUSES),
    sa.Index("ix_campaigns_status", "tenant_id", "status", **where(LIVE)),
    comment="Multi-step outreach campaigns over email, LinkedIn and voice.",
)
newest_first(campaigns)

campaign_steps = table(
    "campaign_steps", "campaigns", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("campaign_id", sa.Uuid(), nullable=False),
    sa.Column("type", sa.String(32), nullable=False,
              comment="email, linkedin_connect, linkedin_message, voice_call, delay, ..."),
    sa.Column("order", sa.Integer(), nullable=False, comment="Position in the campaign, from 1"),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("config", Json(), nullable=False, server_default=sa.text("'{}'")),
    *timestamps(),
    sa.CheckConstraint('"order" >= 0', name="order"),
    tenant_ref(["campaign_id"], "campaigns", name="fk_campaign_steps_campaign",
               ondelete="CASCADE"),
    sa.Index("ix_campaign_steps_campaign", "tenant_id", "campaign_id", "order"),
    comment="The ordered steps (workflow) of a campaign.",
)

campaign_leads = table(
    "campaign_leads", "campaigns", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("campaign_id", sa.Uuid(), nullable=False),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("current_step_id", sa.Uuid(), nullable=True),
    sa.Column("next_run_at", UtcDateTime(), nullable=True,
              comment="When the enrollment is due for its next step"),
    sa.Column("last_activity_at", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    *timestamps(),
    one_of("status", ENROLLMENT_STATUSES),
    tenant_ref(["campaign_id"], "campaigns", name="fk_campaign_leads_campaign",
               ondelete="CASCADE"),
    tenant_ref(["lead_id"], "leads", name="fk_campaign_leads_lead", ondelete="CASCADE"),
    tenant_ref(["current_step_id"], "campaign_steps", name="fk_campaign_leads_step"),
    sa.UniqueConstraint("tenant_id", "campaign_id", "lead_id"),
    sa.Index("ix_campaign_leads_lead", "tenant_id", "lead_id"),
    sa.Index("ix_campaign_leads_due", "tenant_id", "next_run_at",
             **where("status IN ('pending', 'active')")),
    comment="A lead's enrollment in a campaign, and where it stands.",
    volume="medium",
)
newest_first(campaign_leads)

campaign_lead_activities = table(
    "campaign_lead_activities", "campaigns", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("campaign_lead_id", sa.Uuid(), nullable=False),
    sa.Column("campaign_id", sa.Uuid(), nullable=False,
              comment="Denormalised from the enrollment: the campaign's activity feed"),
    sa.Column("step_id", sa.Uuid(), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    *timestamps(),
    one_of("status", ACTIVITY_STATUSES),
    sa.CheckConstraint("attempt >= 1", name="attempt"),
    tenant_ref(["campaign_lead_id"], "campaign_leads", name="fk_campaign_lead_activities_lead",
               ondelete="CASCADE"),
    tenant_ref(["campaign_id"], "campaigns", name="fk_campaign_lead_activities_campaign",
               ondelete="CASCADE"),
    tenant_ref(["step_id"], "campaign_steps", name="fk_campaign_lead_activities_step",
               ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "campaign_lead_id", "step_id", "attempt",
                        name="uq_campaign_lead_activities_attempt"),
    sa.Index("ix_campaign_lead_activities_campaign", "tenant_id", "campaign_id", "created_at"),
    sa.Index("ix_campaign_lead_activities_pending", "tenant_id", "created_at",
             **where("status IN ('pending', 'in_progress')")),
    comment="What each step did for each enrollment: the campaign's action history.",
    volume="high",
)
newest_first(campaign_lead_activities)
