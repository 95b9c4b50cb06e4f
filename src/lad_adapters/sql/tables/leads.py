"""Leads tables: leads, the tenant's pipeline (stages, statuses), notes, attachments, social
data, bookings and the stage history."""

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

BOOKING_STATUSES = ("scheduled", "completed", "failed", "cancelled")

lead_stages = table(
    "lead_stages", "leads", "tenant",
    tenant_key(),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("display_order", sa.Integer(), nullable=False),
    *timestamps(),
    comment="The tenant's ordered pipeline stages; a stage with leads cannot be deleted.",
)

lead_statuses = table(
    "lead_statuses", "leads", "tenant",
    tenant_key(),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("display_order", sa.Integer(), nullable=False, server_default="0"),
    *timestamps(),
    comment="The tenant's lead statuses.",
)

leads = table(
    "leads", "leads", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("first_name", sa.String(100), nullable=True),
    sa.Column("last_name", sa.String(100), nullable=True),
    sa.Column("email", sa.String(254), nullable=True, comment="Normalised to lower case; "
              "unique per tenant among live leads"),
    sa.Column("phone_e164", sa.String(16), nullable=True, comment="E.164, e.g. +15551234567"),
    sa.Column("company", sa.String(200), nullable=True),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("stage", sa.String(64), nullable=True, comment="A key of the tenant's lead_stages"),
    sa.Column("status", sa.String(64), nullable=True,
              comment="A key of the tenant's lead_statuses"),
    user_ref("owner_user_id", comment="The member who owns the lead"),
    sa.Column("source", sa.String(64), nullable=True, comment="import, api, campaign, ..."),
    sa.Column("custom_fields", Json(), nullable=False, server_default=sa.text("'{}'")),
    user_ref("created_by"),
    *timestamps(),
    deleted_at(),
    tenant_ref(["stage"], "lead_stages", ["key"], name="fk_leads_stage", onupdate="CASCADE"),
    tenant_ref(["status"], "lead_statuses", ["key"], name="fk_leads_status",
               onupdate="CASCADE"),
    # Lower-case by constraint, so the unique key is case-insensitive on a plain column: under
    # row-level security an index on lower(email) is unusable (lower() is not leakproof).
    sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
    sa.Index("uq_leads_email_live", "tenant_id", "email", unique=True, **where(LIVE)),
    sa.Index("ix_leads_stage", "tenant_id", "stage", **where(LIVE)),
    sa.Index("ix_leads_status", "tenant_id", "status", **where(LIVE)),
    sa.Index("ix_leads_owner", "tenant_id", "owner_user_id", **where(LIVE)),
    comment="The tenant's contacts: the pipeline's unit of work.",
    volume="medium",
)
newest_first(leads)

lead_stage_history = table(
    "lead_stage_history", "leads", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("from_stage", sa.String(64), nullable=True,
              comment="Plain keys, not references: history outlives a deleted stage"),
    sa.Column("to_stage", sa.String(64), nullable=False),
    user_ref("changed_by"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    tenant_ref(["lead_id"], "leads", name="fk_lead_stage_history_lead", ondelete="CASCADE"),
    sa.Index("ix_lead_stage_history_lead", "tenant_id", "lead_id", "created_at"),
    comment="Every move of a lead from one stage to another.",
)

lead_notes = table(
    "lead_notes", "leads", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    user_ref("created_by_user_id", comment="The author"),
    *timestamps(),
    deleted_at(),
    tenant_ref(["lead_id"], "leads", name="fk_lead_notes_lead", ondelete="CASCADE"),
    sa.Index("ix_lead_notes_lead", "tenant_id", "lead_id", "created_at", **where(LIVE)),
    comment="Comments on a lead; edited or deleted by their author or an admin.",
)

lead_attachments = table(
    "lead_attachments", "leads", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False,
              comment="As uploaded; shown to people, never used as a path"),
    sa.Column("content_type", sa.String(127), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("storage_key", sa.String(512), nullable=False,
              comment="Where the storage port keeps the bytes"),
    sa.Column("file_url", sa.String(2048), nullable=True,
              comment="A URL for the file where the storage offers one"),
    sa.Column("checksum_sha256", sa.String(64), nullable=True),
    user_ref("uploaded_by"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    deleted_at(),
    sa.CheckConstraint("size_bytes >= 0", name="size_bytes"),
    tenant_ref(["lead_id"], "leads", name="fk_lead_attachments_lead", ondelete="CASCADE"),
    sa.Index("ix_lead_attachments_lead", "tenant_id", "lead_id", **where(LIVE)),
    comment="File metadata of a lead's attachments; the bytes live behind the storage port.",
)

lead_social = table(
    "lead_social", "leads", "tenant",
    tenant_key(),
    sa.Column("lead_id", sa.Uuid(), primary_key=True),
    sa.Column("data", Json(), nullable=False, server_default=sa.text("'{}'"),
              comment="One document per lead, merged on update"),
    *timestamps(),
    tenant_ref(["lead_id"], "leads", name="fk_lead_social_lead", ondelete="CASCADE"),
    comment="Social profile data of a lead (LinkedIn, ...).",
)

lead_bookings = table(
    "lead_bookings", "leads", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("scheduled_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="scheduled"),
    sa.Column("retry_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True,
              comment="When a failed booking is tried again (backoff)"),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("notes", sa.Text(), nullable=True),
    user_ref("created_by"),
    *timestamps(),
    one_of("status", BOOKING_STATUSES),
    sa.CheckConstraint("retry_count >= 0", name="retry_count"),
    tenant_ref(["lead_id"], "leads", name="fk_lead_bookings_lead", ondelete="CASCADE"),
    sa.Index("ix_lead_bookings_lead", "tenant_id", "lead_id"),
    sa.Index("ix_lead_bookings_due", "tenant_id", "scheduled_at",
             **where("status = 'scheduled'")),
    comment="Call bookings with a lead: scheduled, then completed, failed or cancelled.",
    volume="medium",
)
newest_first(lead_bookings)
