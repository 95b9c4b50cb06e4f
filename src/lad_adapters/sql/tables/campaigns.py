"""Campaign tables: campaigns, their steps, lead enrollments and the send ledger."""

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

CAMPAIGN_STATUSES = ("draft", "active", "paused", "completed", "archived")
ENROLLMENT_STATUSES = ("queued", "active", "waiting", "completed", "stopped", "failed")
OPEN_ENROLLMENT_STATUSES = ("queued", "active", "waiting")
ACTIVITY_STATUSES = ("sending", "sent", "failed", "deferred", "unknown")
#: The due index's predicate: an enrollment is in it only while something is due.
DUE = "next_run_at IS NOT NULL"

campaigns = table(
    "campaigns", "campaigns", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("config", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="The campaign's settings: send window, time zone, daily cap, stop "
              "rules, mailboxes"),
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
              comment="email, linkedin_invite, linkedin_message, voice_call, wait, condition"),
    sa.Column("order", sa.Integer(), nullable=False, comment="Position in the campaign, from 1"),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("config", Json(), nullable=False, server_default=sa.text("'{}'")),
    *timestamps(),
    sa.CheckConstraint('"order" >= 1', name="order"),
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
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("step_order", sa.Integer(), nullable=False, server_default="1",
              comment="The step to run next (from 1)"),
    sa.Column("current_step_id", sa.Uuid(), nullable=True,
              comment="The id of the step to run next, once known"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC",
              comment="The lead's IANA time zone: its send window's"),
    sa.Column("next_run_at", UtcDateTime(), nullable=True,
              comment="When the next step is due; NULL: nothing is due"),
    sa.Column("parked_run_at", UtcDateTime(), nullable=True,
              comment="While the campaign is paused: when the step was due"),
    sa.Column("sender_id", sa.Uuid(), nullable=True,
              comment="The email or LinkedIn account it sends from, for the whole sequence"),
    sa.Column("chat_id", sa.String(255), nullable=True,
              comment="The LinkedIn chat its messages go to"),
    sa.Column("claim_token", sa.Uuid(), nullable=True,
              comment="The claim of the worker that holds it"),
    sa.Column("stop_reason", sa.Text(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("replied_at", UtcDateTime(), nullable=True),
    sa.Column("opened_at", UtcDateTime(), nullable=True),
    sa.Column("accepted_at", UtcDateTime(), nullable=True),
    sa.Column("bounced_at", UtcDateTime(), nullable=True),
    *timestamps(),
    one_of("status", ENROLLMENT_STATUSES),
    sa.CheckConstraint("step_order >= 1", name="step_order"),
    tenant_ref(["campaign_id"], "campaigns", name="fk_campaign_leads_campaign",
               ondelete="CASCADE"),
    tenant_ref(["lead_id"], "leads", name="fk_campaign_leads_lead", ondelete="CASCADE"),
    tenant_ref(["current_step_id"], "campaign_steps", name="fk_campaign_leads_step"),
    sa.UniqueConstraint("tenant_id", "campaign_id", "lead_id"),
    sa.Index("ix_campaign_leads_lead", "tenant_id", "lead_id"),
    sa.Index("ix_campaign_leads_campaign_status", "tenant_id", "campaign_id", "status"),
    sa.Index("ix_campaign_leads_due", "tenant_id", "next_run_at", **where(DUE)),
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
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("step_id", sa.Uuid(), nullable=False),
    sa.Column("step_order", sa.Integer(), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("status", sa.String(16), nullable=False, server_default="sending"),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.Uuid(), nullable=False,
              comment="The email or LinkedIn account it was sent from"),
    sa.Column("message_key", sa.String(255), nullable=False,
              comment="The email's Message-ID, or the client key of a LinkedIn action"),
    sa.Column("recipient", sa.String(1024), nullable=False),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("reservation_id", sa.Uuid(), nullable=True,
              comment="The billing hold taken for this send"),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    sa.Column("opened_at", UtcDateTime(), nullable=True),
    sa.Column("replied_at", UtcDateTime(), nullable=True),
    sa.Column("bounced_at", UtcDateTime(), nullable=True),
    sa.Column("accepted_at", UtcDateTime(), nullable=True),
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
    sa.Index("ix_campaign_lead_activities_message_key", "tenant_id", "message_key"),
    sa.Index("ix_campaign_lead_activities_recipient", "tenant_id", "sender_id", "recipient",
             "created_at"),
    sa.Index("ix_campaign_lead_activities_unknown", "tenant_id", "created_at",
             **where("status = 'unknown'")),
    comment="The send ledger: one row per attempted step of each enrollment, written "
    "before the provider is called.",
    volume="high",
)
newest_first(campaign_lead_activities)
