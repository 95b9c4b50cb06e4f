"""Outreach tables: message templates, SMTP accounts, LinkedIn accounts (Unipile), the
LinkedIn accounts a campaign sends from, the suppression list and the webhook receipts."""

from __future__ import annotations

from typing import Any

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
SECURITIES = ("none", "starttls", "tls")
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "complained", "do_not_contact")


def pacing() -> list[sa.Column[Any]]:
    """A sender's pacing (``outreach.model.Pacing``) besides its daily caps."""
    return [
        sa.Column("warmup_start", sa.Integer(), nullable=True,
                  comment="Warm-up: the daily cap on its first day (NULL: no warm-up)"),
        sa.Column("warmup_step", sa.Integer(), nullable=False, server_default="0",
                  comment="Warm-up: what the cap grows by each day"),
        sa.Column("warmup_from", sa.Date(), nullable=True, comment="Warm-up: its first day"),
        sa.Column("min_spacing_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("jitter_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_send_at", UtcDateTime(), nullable=True,
                  comment="The earliest time of its next send (spacing)"),
        sa.Column("cooldown_until", UtcDateTime(), nullable=True),
        sa.Column("counted_day", sa.Date(), nullable=True,
                  comment="The UTC day the counts are of"),
        sa.Column("counts", Json(), nullable=False, server_default=sa.text("'{}'"),
                  comment="Sends of counted_day by kind (email, invite, message, ...)"),
    ]


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
    sa.Column("imap_host", sa.String(255), nullable=True),
    sa.Column("imap_port", sa.Integer(), nullable=True),
    sa.Column("imap_security", sa.String(16), nullable=False, server_default="tls"),
    sa.Column("imap_username", sa.String(255), nullable=True),
    sa.Column("imap_password_encrypted", sa.Text(), nullable=True,
              comment="Encrypted by the application; never stored in clear"),
    sa.Column("imap_uid_validity", sa.BigInteger(), nullable=True),
    sa.Column("imap_last_uid", sa.BigInteger(), nullable=False, server_default="0",
              comment="The last message read from the inbox (IMAP UID)"),
    sa.Column("daily_send_limit", sa.Integer(), nullable=True),
    *pacing(),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("last_error", sa.Text(), nullable=True),
    user_ref("owner_user_id"),
    *timestamps(),
    deleted_at(),
    one_of("smtp_security", SECURITIES),
    one_of("imap_security", SECURITIES),
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
    sa.Column("daily_view_limit", sa.Integer(), nullable=True),
    *pacing(),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("last_synced_at", UtcDateTime(), nullable=True),
    *timestamps(),
    deleted_at(),
    one_of("status", ACCOUNT_STATUSES),
    sa.Index("uq_social_linkedin_accounts_unipile_live", "tenant_id", "unipile_account_id",
             unique=True, **where(LIVE)),
    # Whose account a Unipile webhook is about, across tenants (outreach_linkedin_tenant).
    sa.Index("ix_social_linkedin_accounts_unipile", "unipile_account_id", **where(LIVE)),
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

outreach_suppressions = table(
    "outreach_suppressions", "outreach", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(1024), nullable=False,
              comment="As suppression_address writes it: emails lower-case, LinkedIn "
              "profiles bare"),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("lead_id", sa.Uuid(), nullable=True,
              comment="The lead it came from, if any (kept when the lead goes)"),
    sa.Column("source", sa.String(255), nullable=True,
              comment="What suppressed it: a bounce, an unsubscribe link, a person"),
    user_ref("created_by"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    one_of("channel", CHANNELS),
    one_of("reason", SUPPRESSION_REASONS),
    sa.UniqueConstraint("tenant_id", "channel", "address"),
    comment="Addresses a channel never reaches again, checked before every send.",
)

webhook_receipts = table(
    "webhook_receipts", "outreach", "tenant",
    tenant_key(),
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("raw_payload", sa.LargeBinary(), nullable=False,
              comment="The delivery as received, byte for byte"),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    comment="Webhook deliveries by provider and event id: a replay has no second effect.",
)
