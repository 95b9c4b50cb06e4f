"""Tenancy tables: tenants, users, identities, memberships, features, capabilities,
invitations, domain events, feature flags and tenant API keys."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import table
from lad_adapters.sql.types import Json, UtcDateTime

ROLES = "'owner', 'admin', 'member', 'viewer'"


def _created_updated() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


tenants = table(
    "tenants", "tenancy", "global",
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("plan_tier", sa.String(32), nullable=False, server_default="free"),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    *_created_updated(),
    sa.Column("deleted_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('active', 'suspended', 'deleted')", name="status"),
    sa.Index("uq_tenants_slug_live", "slug", unique=True,
             postgresql_where=sa.text("deleted_at IS NULL"),
             sqlite_where=sa.text("deleted_at IS NULL")),
    comment="Organisations: the root of every tenant's data (global).",
)

users = table(
    "users", "tenancy", "global",
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True, comment="argon2id; NULL: OAuth only"),
    sa.Column("primary_tenant_id", sa.Uuid(),
              sa.ForeignKey("tenants.id", ondelete="SET NULL"), nullable=True),
    sa.Column("display_name", sa.String(200), nullable=True),
    *_created_updated(),
    sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
    comment="Global user accounts; email unique case-insensitively.",
)

user_identities = table(
    "user_identities", "tenancy", "global",
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("provider_user_id", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("provider", "provider_user_id"),
    comment="OAuth identities linked to a user.",
)

memberships = table(
    "memberships", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("invited_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    *_created_updated(),
    sa.CheckConstraint(f"role IN ({ROLES})", name="role"),
    sa.UniqueConstraint("user_id", "tenant_id"),
    sa.Index("uq_memberships_one_owner", "tenant_id", unique=True,
             postgresql_where=sa.text("role = 'owner'"),
             sqlite_where=sa.text("role = 'owner'")),
    comment="A user's role in a tenant; exactly one owner per tenant.",
)

tenant_features = table(
    "tenant_features", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("feature_key", sa.String(64), primary_key=True),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    comment="Plan-level enablement of a feature for a tenant.",
)

user_capabilities = table(
    "user_capabilities", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), primary_key=True),
    sa.Column("user_id", sa.Uuid(), primary_key=True),
    sa.Column("feature_key", sa.String(64), primary_key=True),
    sa.Column("capability_key", sa.String(64), primary_key=True),
    sa.Column("granted_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"],
                            ["memberships.tenant_id", "memberships.user_id"],
                            ondelete="CASCADE"),
    sa.Index("ix_user_capabilities_user", "tenant_id", "user_id"),
    comment="Feature-scoped capabilities granted to a member beyond their role.",
)

tenant_invitations = table(
    "tenant_invitations", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("invitation_token", sa.String(64), nullable=False,
              comment="SHA-256 digest of the token; the token itself is never stored"),
    sa.Column("invited_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("accepted_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name="role"),
    # Per tenant (the token names its tenant): a distributed (Citus) table's unique keys
    # must include tenant_id.
    sa.UniqueConstraint("tenant_id", "invitation_token"),
    comment="Single-use, expiring invitations to join a tenant.",
)

sa.Index("ix_tenant_invitations_created", tenant_invitations.c.tenant_id,
         tenant_invitations.c.created_at.desc())

domain_events = table(
    "domain_events", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("aggregate_type", sa.String(64), nullable=False, server_default=""),
    sa.Column("aggregate_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("payload", Json(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("published_at", UtcDateTime(), nullable=True),
    sa.Index("ix_domain_events_unpublished", "created_at",
             postgresql_where=sa.text("published_at IS NULL"),
             sqlite_where=sa.text("published_at IS NULL")),
    comment="Transactional outbox: events stored in the transaction of their change.",
)

sa.Index("ix_domain_events_created", domain_events.c.tenant_id, domain_events.c.created_at.desc())
#: One aggregate's events, newest first (a lead's history: its calls).
sa.Index("ix_domain_events_aggregate", domain_events.c.tenant_id, domain_events.c.aggregate_type,
         domain_events.c.aggregate_id, domain_events.c.created_at.desc())

feature_flags = table(
    "feature_flags", "tenancy", "mixed",
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("feature_key", sa.String(64), nullable=False),
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              nullable=True),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"),
              nullable=True),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("user_id IS NULL OR tenant_id IS NOT NULL", name="user_needs_tenant"),
    sa.Index("uq_feature_flags_global", "feature_key", unique=True,
             postgresql_where=sa.text("tenant_id IS NULL"),
             sqlite_where=sa.text("tenant_id IS NULL")),
    sa.Index("uq_feature_flags_tenant", "feature_key", "tenant_id", unique=True,
             postgresql_where=sa.text("tenant_id IS NOT NULL AND user_id IS NULL"),
             sqlite_where=sa.text("tenant_id IS NOT NULL AND user_id IS NULL")),
    sa.Index("uq_feature_flags_user", "feature_key", "tenant_id", "user_id", unique=True,
             postgresql_where=sa.text("user_id IS NOT NULL"),
             sqlite_where=sa.text("user_id IS NOT NULL")),
    comment="Dynamic toggles: global default, tenant override, user override.",
)

tenant_api_keys = table(
    "tenant_api_keys", "tenancy", "tenant",
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False,
              comment="SHA-256 digest of the secret; the secret itself is never stored"),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"),
              nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name="role"),
    comment="Server credentials acting as a role in one tenant.",
)
