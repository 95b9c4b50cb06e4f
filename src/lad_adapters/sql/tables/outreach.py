"""Outreach tables: message templates, SMTP accounts, LinkedIn accounts (Unipile) and the
LinkedIn accounts a campaign sends from."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import (
    LIVE,
    deleted_at,
    id_key,
    one_of,
    table,
    tenant_key,
    tenant_ref,
    timestamps,
    user_ref,
    where,
)
from lad_adapters.sql.types import Json, UtcDateTime

CHANNELS = ("email", "linkedin", "voice", "sms")
ACCOUNT_STATUSES = ("active", "paused", "disconnected", "error")

communication_templates = table(
    "communication_templates", "outreach", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("template_key", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("subject", sa.String(998), nullable=True, comment="Email only"),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("variables", Json(), nullable=False, server_default=sa.text("'[]'"),
              comment="The placeholders the body uses"),
    user_ref("created_by"),
    *timestamps(),
    deleted_at(),
    one_of("channel", CHANNELS),
    sa.Index("uq_communication_templates_key_live", "tenant_id", "channel", "template_key",
             unique=True, **where(LIVE)),
    comment="Message templates per channel; template_key unique per tenant and channel.",
)

email_accounts = table(
    "email_accounts", "outreach", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=True),
    sa.Column("smtp_host", sa.String(255), nullable=False),
    sa.Column("smtp_port", sa.Integer(), nullable=False),
    sa.Column("smtp_security", sa.String(16), nullable=False, server_default="starttls"),
    sa.Column("smtp_username", sa.String(255), nullable=True),
    sa.Column("smtp_password_encrypted", sa.Text(), nullable=True,
              comment="Encrypted by the application; never stored in clear"),
    sa.Column("daily_send_limit", sa.Integer(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("last_error", sa.Text(), nullable=True),
    user_ref("owner_user_id"),
    *timestamps(),
    deleted_at(),
    one_of("smtp_security", ("none", "starttls", "tls")),
    one_of("status", ACCOUNT_STATUSES),
    sa.CheckConstraint("smtp_port BETWEEN 1 AND 65535", name="smtp_port"),
    sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
    sa.Index("uq_email_accounts_email_live", "tenant_id", "email", unique=True, **where(LIVE)),
    comment="SMTP sending accounts of a tenant.",
)

social_linkedin_accounts = table(
    "social_linkedin_accounts", "outreach", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("unipile_account_id", sa.String(128), nullable=False),
    user_ref("user_id", comment="The member whose LinkedIn account it is"),
    sa.Column("display_name", sa.String(200), nullable=True),
    sa.Column("profile_url", sa.String(2048), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("daily_invite_limit", sa.Integer(), nullable=True),
    sa.Column("daily_message_limit", sa.Integer(), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("last_synced_at", UtcDateTime(), nullable=True),
    *timestamps(),
    deleted_at(),
    one_of("status", ACCOUNT_STATUSES),
    sa.Index("uq_social_linkedin_accounts_unipile_live", "tenant_id", "unipile_account_id",
             unique=True, **where(LIVE)),
    comment="LinkedIn accounts connected through Unipile.",
)

campaign_linkedin_accounts = table(
    "campaign_linkedin_accounts", "outreach", "tenant",
    tenant_key(),
    sa.Column("campaign_id", sa.Uuid(), primary_key=True),
    sa.Column("linkedin_account_id", sa.Uuid(), primary_key=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    tenant_ref(["campaign_id"], "campaigns", name="fk_campaign_linkedin_accounts_campaign",
               ondelete="CASCADE"),
    tenant_ref(["linkedin_account_id"], "social_linkedin_accounts",
               name="fk_campaign_linkedin_accounts_account", ondelete="CASCADE"),
    sa.Index("ix_campaign_linkedin_accounts_account", "tenant_id", "linkedin_account_id"),
    comment="The LinkedIn accounts a campaign sends from.",
)
