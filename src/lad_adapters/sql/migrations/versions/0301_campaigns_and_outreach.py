"""campaigns and outreach: statuses, enrollments, the send ledger, senders' pacing,
suppressions, webhook receipts and the narrow paths the worker and webhooks use

Revision ID: 0301_campaigns_and_outreach
Revises: 0202_usage_in_one_call
Create Date: 2026-12-01 10:30:00.000000

Both dialects: campaigns' statuses become draft|active|paused|completed|archived (scheduled
-> draft, running -> active, cancelled -> archived); steps count from 1, and two step types
are renamed (linkedin_connect -> linkedin_invite, delay -> wait); enrollments' statuses
become queued|active|waiting|completed|stopped|failed (pending -> queued, paused ->
waiting), with every field of an Enrollment and a due index that holds only enrollments
with something due; the send ledger's statuses become sending|sent|failed|deferred|unknown
(succeeded -> sent, skipped and pending -> deferred, in_progress -> unknown: it may have
left), with every field of an Activity (rows written before it get a nil sender, a
``legacy:<id>`` message key and an empty recipient); mailboxes and LinkedIn accounts get
their pacing and IMAP columns; new tables outreach_suppressions and webhook_receipts.

PostgreSQL: row-level security on the new tables, and two SECURITY DEFINER functions with a
fixed search_path, EXECUTE revoked from PUBLIC (``lad db app-role`` grants it to the
application role): ``campaigns_claim_due`` claims due enrollments across tenants, fairly,
and returns ids only; ``outreach_linkedin_tenant`` answers whose LinkedIn account a Unipile
webhook is about. Row-level security is forced on the tables' owner too, so each function
marks its transaction (``lad.narrow_path``) and a policy for the owner role alone lets that
mark through; the application role never runs as the owner.

Frozen: the functions' SQL is written out here as it is at this revision.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types
from lad_adapters.sql import rls

revision = "0301_campaigns_and_outreach"
down_revision = "0202_usage_in_one_call"
branch_labels = None
depends_on = None

NEW_TABLES = ("outreach_suppressions", "webhook_receipts")
NARROW_POLICY = "narrow_path"

CAMPAIGN_STATUSES = {"scheduled": "draft", "running": "active", "cancelled": "archived"}
ENROLLMENT_STATUSES = {"pending": "queued", "paused": "waiting"}
ACTIVITY_STATUSES = {"succeeded": "sent", "skipped": "deferred", "pending": "deferred",
                     "in_progress": "unknown"}
#: Step types renamed: the invitation and the wait.
STEP_TYPES = {"linkedin_connect": "linkedin_invite", "delay": "wait"}
#: Downgrade: the new statuses back to the old ones.
OLD_CAMPAIGN = {"active": "running", "archived": "cancelled"}
OLD_ENROLLMENT = {"queued": "pending", "waiting": "paused"}
OLD_ACTIVITY = {"sending": "in_progress", "sent": "succeeded", "deferred": "skipped",
                "unknown": "in_progress"}


def _check(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


CAMPAIGN_CHECK = _check("status", ("draft", "active", "paused", "completed", "archived"))
OLD_CAMPAIGN_CHECK = _check("status", ("draft", "scheduled", "running", "paused", "completed",
                                       "cancelled"))
ENROLLMENT_CHECK = _check("status", ("queued", "active", "waiting", "completed", "stopped",
                                     "failed"))
OLD_ENROLLMENT_CHECK = _check("status", ("pending", "active", "paused", "completed", "failed",
                                         "stopped"))
ACTIVITY_CHECK = _check("status", ("sending", "sent", "failed", "deferred", "unknown"))
OLD_ACTIVITY_CHECK = _check("status", ("pending", "in_progress", "succeeded", "failed",
                                       "skipped"))
SECURITY_CHECK = _check("imap_security", ("none", "starttls", "tls"))

CLAIM_DUE = """
CREATE FUNCTION campaigns_claim_due(p_now timestamptz, p_limit integer, p_lease interval,
                                    p_token uuid)
RETURNS TABLE (tenant_id uuid, id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
#variable_conflict use_column
DECLARE
    v_tenants uuid[];
    v_share integer;
    v_left integer := p_limit;
    v_tenant uuid;
    v_round integer;
    v_got integer;
BEGIN
    IF p_lease <= interval '0' THEN
        RAISE EXCEPTION 'a claim needs a lease longer than 0' USING ERRCODE = '22023';
    END IF;
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    PERFORM set_config('lad.narrow_path', 'campaigns_claim_due', true);
    -- The tenants with due work, most overdue first. The due index holds only enrollments
    -- with a next_run_at: a skip scan finds each tenant in it with one probe, and one more
    -- probe finds its oldest due time.
    WITH RECURSIVE present(tenant_id) AS (
        (SELECT c.tenant_id FROM campaign_leads c WHERE c.next_run_at IS NOT NULL
          ORDER BY c.tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT c.tenant_id FROM campaign_leads c
                 WHERE c.next_run_at IS NOT NULL AND c.tenant_id > p.tenant_id
                 ORDER BY c.tenant_id LIMIT 1)
          FROM present p WHERE p.tenant_id IS NOT NULL)
    SELECT array_agg(t.tenant_id ORDER BY t.oldest, t.tenant_id) INTO v_tenants
      FROM (SELECT p.tenant_id,
                   (SELECT c.next_run_at FROM campaign_leads c
                     WHERE c.tenant_id = p.tenant_id AND c.next_run_at IS NOT NULL
                     ORDER BY c.next_run_at LIMIT 1) AS oldest
              FROM present p WHERE p.tenant_id IS NOT NULL) t
     WHERE t.oldest <= p_now;
    IF v_tenants IS NULL THEN
        PERFORM set_config('lad.narrow_path', '', true);
        RETURN;
    END IF;
    -- Round 1: each tenant its share of the limit; round 2: what is left, tenant by tenant.
    -- A claimed row is due again only after the lease, so round 2 never takes it twice.
    v_share := ceil(p_limit::numeric / cardinality(v_tenants));
    FOR v_round IN 1..2 LOOP
        FOREACH v_tenant IN ARRAY v_tenants LOOP
            EXIT WHEN v_left <= 0;
            RETURN QUERY
            WITH due AS (
                SELECT c.tenant_id, c.id FROM campaign_leads c
                 WHERE c.tenant_id = v_tenant AND c.next_run_at IS NOT NULL
                   AND c.next_run_at <= p_now
                 ORDER BY c.next_run_at
                 LIMIT CASE WHEN v_round = 1 THEN least(v_share, v_left) ELSE v_left END
                 FOR UPDATE OF c SKIP LOCKED)
            UPDATE campaign_leads AS c
               SET next_run_at = p_now + p_lease, claim_token = p_token
              FROM due WHERE c.tenant_id = due.tenant_id AND c.id = due.id
            RETURNING c.tenant_id, c.id;
            GET DIAGNOSTICS v_got = ROW_COUNT;
            v_left := v_left - v_got;
        END LOOP;
    END LOOP;
    PERFORM set_config('lad.narrow_path', '', true);
END
$$
"""

LINKEDIN_TENANT = """
CREATE FUNCTION outreach_linkedin_tenant(p_account text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    v_tenant uuid;
BEGIN
    PERFORM set_config('lad.narrow_path', 'outreach_linkedin_tenant', true);
    SELECT a.tenant_id INTO v_tenant FROM social_linkedin_accounts a
     WHERE a.unipile_account_id = p_account AND a.deleted_at IS NULL
     ORDER BY a.created_at LIMIT 1;
    PERFORM set_config('lad.narrow_path', '', true);
    RETURN v_tenant;
END
$$
"""

FUNCTIONS = {
    "campaigns_claim_due(timestamptz, integer, interval, uuid)": CLAIM_DUE,
    "outreach_linkedin_tenant(text)": LINKEDIN_TENANT,
}
#: The owner's way through row-level security, only while a narrow path runs.
NARROW_POLICIES = {
    "campaign_leads": "CREATE POLICY narrow_path ON campaign_leads TO CURRENT_USER "
                      "USING (current_setting('lad.narrow_path', true) = 'campaigns_claim_due')",
    "social_linkedin_accounts":
        "CREATE POLICY narrow_path ON social_linkedin_accounts FOR SELECT TO CURRENT_USER "
        "USING (current_setting('lad.narrow_path', true) = 'outreach_linkedin_tenant')",
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _remap(table: str, mapping: dict[str, str], column: str = "status") -> None:
    for old, new in mapping.items():
        op.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"
                           ).bindparams(old=old, new=new))


def _pacing() -> list[sa.Column[object]]:
    return [
        sa.Column("warmup_start", sa.Integer(), nullable=True,
                  comment="Warm-up: the daily cap on its first day (NULL: no warm-up)"),
        sa.Column("warmup_step", sa.Integer(), server_default="0", nullable=False,
                  comment="Warm-up: what the cap grows by each day"),
        sa.Column("warmup_from", sa.Date(), nullable=True, comment="Warm-up: its first day"),
        sa.Column("min_spacing_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("jitter_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_send_at", lad_types.UtcDateTime(timezone=True), nullable=True,
                  comment="The earliest time of its next send (spacing)"),
        sa.Column("cooldown_until", lad_types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("counted_day", sa.Date(), nullable=True,
                  comment="The UTC day the counts are of"),
        sa.Column("counts", lad_types.JsonDocument(), server_default=sa.text("'{}'"),
                  nullable=False,
                  comment="Sends of counted_day by kind (email, invite, message, ...)"),
    ]


PACING_COLUMNS = ("warmup_start", "warmup_step", "warmup_from", "min_spacing_seconds",
                  "jitter_seconds", "next_send_at", "cooldown_until", "counted_day", "counts")


def upgrade() -> None:
    _new_tables()
    _campaigns()
    _enrollments()
    _activities()
    _senders()
    if _is_postgres():
        for table in NEW_TABLES:
            for statement in rls.tenant_owned(table):
                op.execute(statement)
        for statement in NARROW_POLICIES.values():
            op.execute(statement)
        # The search path fixed to the schema the tables are in (and pg_catalog first), so
        # a caller's own objects never stand in for them.
        bind = op.get_bind()
        schema = bind.dialect.identifier_preparer.quote(
            bind.execute(sa.text("SELECT current_schema()")).scalar_one())
        for signature, body in FUNCTIONS.items():
            op.execute(body.replace("{schema}", schema))
            op.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC")


def _new_tables() -> None:
    op.create_table(
        "webhook_receipts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("raw_payload", sa.LargeBinary(), nullable=False,
                  comment="The delivery as received, byte for byte"),
        sa.Column("received_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_webhook_receipts_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "provider", "event_id",
                                name=op.f("pk_webhook_receipts")),
        comment="Webhook deliveries by provider and event id: a replay has no second effect.",
        info={"lad_scope": "tenant", "lad_context": "outreach", "lad_volume": "low"},
    )
    op.create_table(
        "outreach_suppressions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=1024), nullable=False,
                  comment="As suppression_address writes it: emails lower-case, LinkedIn "
                  "profiles bare"),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True,
                  comment="The lead it came from, if any (kept when the lead goes)"),
        sa.Column("source", sa.String(length=255), nullable=True,
                  comment="What suppressed it: a bounce, an unsubscribe link, a person"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'linkedin', 'voice', 'sms')",
                           name=op.f("ck_outreach_suppressions_channel")),
        sa.CheckConstraint(
            "reason IN ('unsubscribed', 'bounced', 'complained', 'do_not_contact')",
            name=op.f("ck_outreach_suppressions_reason")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_outreach_suppressions_created_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_outreach_suppressions_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_outreach_suppressions")),
        sa.UniqueConstraint("tenant_id", "channel", "address",
                            name=op.f("uq_outreach_suppressions_tenant_id_channel_address")),
        comment="Addresses a channel never reaches again, checked before every send.",
        info={"lad_scope": "tenant", "lad_context": "outreach", "lad_volume": "low"},
    )


def _campaigns() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaigns_status"), type_="check")
        batch_op.drop_column("starts_at")
        batch_op.alter_column(
            "config", existing_type=lad_types.JsonDocument(), existing_nullable=False,
            comment="The campaign's settings: send window, time zone, daily cap, stop rules, "
            "mailboxes")
    _remap("campaigns", CAMPAIGN_STATUSES)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaigns_status"), CAMPAIGN_CHECK)
    _remap("campaign_steps", STEP_TYPES, column="type")
    # Steps count from 1: a campaign whose steps counted from 0 moves them all up one.
    # Found first: SQLite's UPDATE would see its own changes in a subquery.
    bind = op.get_bind()
    from_zero = bind.execute(sa.text(
        'SELECT DISTINCT tenant_id, campaign_id FROM campaign_steps WHERE "order" = 0')).all()
    for tenant_id, campaign_id in from_zero:
        bind.execute(sa.text('UPDATE campaign_steps SET "order" = "order" + 1 '
                             "WHERE tenant_id = :t AND campaign_id = :c"),
                     {"t": tenant_id, "c": campaign_id})
    with op.batch_alter_table("campaign_steps", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_steps_order"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaign_steps_order"), '"order" >= 1')
        batch_op.alter_column(
            "type", existing_type=sa.String(length=32), existing_nullable=False,
            comment="email, linkedin_invite, linkedin_message, voice_call, wait, condition",
            existing_comment="email, linkedin_connect, linkedin_message, voice_call, delay, ...")


def _enrollments() -> None:
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_leads_status"), type_="check")
        batch_op.drop_index("ix_campaign_leads_due")
        batch_op.drop_column("last_activity_at")
        batch_op.add_column(sa.Column("step_order", sa.Integer(), server_default="1",
                                      nullable=False, comment="The step to run next (from 1)"))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC",
                                      nullable=False,
                                      comment="The lead's IANA time zone: its send window's"))
        batch_op.add_column(sa.Column(
            "parked_run_at", lad_types.UtcDateTime(timezone=True), nullable=True,
            comment="While the campaign is paused: when the step was due"))
        batch_op.add_column(sa.Column(
            "sender_id", sa.Uuid(), nullable=True,
            comment="The email or LinkedIn account it sends from, for the whole sequence"))
        batch_op.add_column(sa.Column("chat_id", sa.String(length=255), nullable=True,
                                      comment="The LinkedIn chat its messages go to"))
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True,
                                      comment="The claim of the worker that holds it"))
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
        for name in ("replied_at", "opened_at", "accepted_at", "bounced_at"):
            batch_op.add_column(sa.Column(name, lad_types.UtcDateTime(timezone=True),
                                          nullable=True))
        batch_op.alter_column("status", existing_type=sa.String(length=16),
                              existing_nullable=False, server_default="queued")
        batch_op.alter_column(
            "current_step_id", existing_type=sa.Uuid(), existing_nullable=True,
            comment="The id of the step to run next, once known")
        batch_op.alter_column(
            "next_run_at", existing_type=lad_types.UtcDateTime(timezone=True),
            existing_nullable=True, comment="When the next step is due; NULL: nothing is due",
            existing_comment="When the enrollment is due for its next step")
    _remap("campaign_leads", ENROLLMENT_STATUSES)
    op.execute("UPDATE campaign_leads SET step_order = (SELECT s.\"order\" FROM campaign_steps s"
               " WHERE s.tenant_id = campaign_leads.tenant_id"
               " AND s.id = campaign_leads.current_step_id) WHERE current_step_id IS NOT NULL"
               " AND EXISTS (SELECT 1 FROM campaign_steps s"
               " WHERE s.tenant_id = campaign_leads.tenant_id"
               " AND s.id = campaign_leads.current_step_id)")
    # Ended enrollments have nothing due: they leave the due index.
    op.execute("UPDATE campaign_leads SET next_run_at = NULL "
               "WHERE status IN ('completed', 'stopped', 'failed')")
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaign_leads_status"), ENROLLMENT_CHECK)
        batch_op.create_check_constraint(op.f("ck_campaign_leads_step_order"), "step_order >= 1")
        batch_op.create_index("ix_campaign_leads_campaign_status",
                              ["tenant_id", "campaign_id", "status"], unique=False)
        batch_op.create_index("ix_campaign_leads_due", ["tenant_id", "next_run_at"],
                              unique=False,
                              postgresql_where=sa.text("next_run_at IS NOT NULL"),
                              sqlite_where=sa.text("next_run_at IS NOT NULL"))


def _activities() -> None:
    with op.batch_alter_table("campaign_lead_activities", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_lead_activities_status"), type_="check")
        batch_op.drop_index("ix_campaign_lead_activities_pending")
        batch_op.add_column(sa.Column("lead_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("step_order", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sender_id", sa.Uuid(), nullable=True,
                                      comment="The email or LinkedIn account it was sent from"))
        batch_op.add_column(sa.Column(
            "message_key", sa.String(length=255), nullable=True,
            comment="The email's Message-ID, or the client key of a LinkedIn action"))
        batch_op.add_column(sa.Column("recipient", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reservation_id", sa.Uuid(), nullable=True,
                                      comment="The billing hold taken for this send"))
        for name in ("opened_at", "replied_at", "bounced_at", "accepted_at"):
            batch_op.add_column(sa.Column(name, lad_types.UtcDateTime(timezone=True),
                                          nullable=True))
    _remap("campaign_lead_activities", ACTIVITY_STATUSES)
    # Rows written before the ledger: what they did is kept, with placeholders for what
    # nobody recorded then (no sender, no message key, no recipient).
    op.execute(sa.text(
        "UPDATE campaign_lead_activities SET"
        " lead_id = (SELECT l.lead_id FROM campaign_leads l"
        "  WHERE l.tenant_id = campaign_lead_activities.tenant_id"
        "  AND l.id = campaign_lead_activities.campaign_lead_id),"
        " step_order = (SELECT s.\"order\" FROM campaign_steps s"
        "  WHERE s.tenant_id = campaign_lead_activities.tenant_id"
        "  AND s.id = campaign_lead_activities.step_id),"
        " channel = COALESCE(channel, (SELECT CASE WHEN s.type LIKE 'linkedin%' THEN 'linkedin'"
        "  WHEN s.type = 'voice_call' THEN 'voice' ELSE 'email' END FROM campaign_steps s"
        "  WHERE s.tenant_id = campaign_lead_activities.tenant_id"
        "  AND s.id = campaign_lead_activities.step_id)),"
        " sender_id = :nobody, message_key = 'legacy:' || id, recipient = ''"
    ).bindparams(sa.bindparam("nobody", uuid.UUID(int=0), type_=sa.Uuid())))
    with op.batch_alter_table("campaign_lead_activities", schema=None) as batch_op:
        for name, kind in (("lead_id", sa.Uuid()), ("step_order", sa.Integer()),
                           ("sender_id", sa.Uuid()), ("message_key", sa.String(length=255)),
                           ("recipient", sa.String(length=1024)),
                           ("channel", sa.String(length=32))):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.alter_column("status", existing_type=sa.String(length=16),
                              existing_nullable=False, server_default="sending")
        batch_op.create_check_constraint(op.f("ck_campaign_lead_activities_status"), ACTIVITY_CHECK)
        batch_op.create_index("ix_campaign_lead_activities_message_key",
                              ["tenant_id", "message_key"], unique=False)
        batch_op.create_index("ix_campaign_lead_activities_recipient",
                              ["tenant_id", "sender_id", "recipient", "created_at"],
                              unique=False)
        batch_op.create_index("ix_campaign_lead_activities_unknown", ["tenant_id", "created_at"],
                              unique=False, postgresql_where=sa.text("status = 'unknown'"),
                              sqlite_where=sa.text("status = 'unknown'"))
    if _is_postgres():
        op.create_table_comment(
            "campaign_lead_activities",
            "The send ledger: one row per attempted step of each enrollment, written before "
            "the provider is called.",
            existing_comment="What each step did for each enrollment: the campaign's action "
            "history.")


def _senders() -> None:
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imap_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("imap_port", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("imap_security", sa.String(length=16),
                                      server_default="tls", nullable=False))
        batch_op.add_column(sa.Column("imap_username", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column(
            "imap_password_encrypted", sa.Text(), nullable=True,
            comment="Encrypted by the application; never stored in clear"))
        batch_op.add_column(sa.Column("imap_uid_validity", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column(
            "imap_last_uid", sa.BigInteger(), server_default="0", nullable=False,
            comment="The last message read from the inbox (IMAP UID)"))
        for column in _pacing():
            batch_op.add_column(column)
        batch_op.create_check_constraint(op.f("ck_email_accounts_imap_security"), SECURITY_CHECK)
    with op.batch_alter_table("social_linkedin_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_view_limit", sa.Integer(), nullable=True))
        for column in _pacing():
            batch_op.add_column(column)
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_social_linkedin_accounts_unipile", ["unipile_account_id"],
                              unique=False, postgresql_where=sa.text("deleted_at IS NULL"),
                              sqlite_where=sa.text("deleted_at IS NULL"))


def downgrade() -> None:
    if _is_postgres():
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION {signature}")
        for table in NARROW_POLICIES:
            op.execute(f"DROP POLICY {NARROW_POLICY} ON {table}")
    with op.batch_alter_table("social_linkedin_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_social_linkedin_accounts_unipile")
        for name in ("last_error", *PACING_COLUMNS, "daily_view_limit"):
            batch_op.drop_column(name)
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_email_accounts_imap_security"), type_="check")
        for name in (*PACING_COLUMNS, "imap_last_uid", "imap_uid_validity",
                     "imap_password_encrypted", "imap_username", "imap_security", "imap_port",
                     "imap_host"):
            batch_op.drop_column(name)

    if _is_postgres():
        op.create_table_comment(
            "campaign_lead_activities",
            "What each step did for each enrollment: the campaign's action history.",
            existing_comment="The send ledger: one row per attempted step of each enrollment, "
            "written before the provider is called.")
    with op.batch_alter_table("campaign_lead_activities", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_lead_activities_status"), type_="check")
        batch_op.drop_index("ix_campaign_lead_activities_unknown")
        batch_op.drop_index("ix_campaign_lead_activities_recipient")
        batch_op.drop_index("ix_campaign_lead_activities_message_key")
        batch_op.alter_column("channel", existing_type=sa.String(length=32), nullable=True)
        batch_op.alter_column("status", existing_type=sa.String(length=16),
                              existing_nullable=False, server_default="pending")
        for name in ("accepted_at", "bounced_at", "replied_at", "opened_at", "reservation_id",
                     "code", "recipient", "message_key", "sender_id", "step_order", "lead_id"):
            batch_op.drop_column(name)
    _remap("campaign_lead_activities", OLD_ACTIVITY)
    with op.batch_alter_table("campaign_lead_activities", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaign_lead_activities_status"),
                                         OLD_ACTIVITY_CHECK)
        batch_op.create_index("ix_campaign_lead_activities_pending", ["tenant_id", "created_at"],
                              unique=False,
                              postgresql_where=sa.text("status IN ('pending', 'in_progress')"),
                              sqlite_where=sa.text("status IN ('pending', 'in_progress')"))

    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_leads_status"), type_="check")
        batch_op.drop_constraint(op.f("ck_campaign_leads_step_order"), type_="check")
        batch_op.drop_index("ix_campaign_leads_due")
        batch_op.drop_index("ix_campaign_leads_campaign_status")
        for name in ("bounced_at", "accepted_at", "opened_at", "replied_at", "stop_reason",
                     "claim_token", "chat_id", "sender_id", "parked_run_at", "timezone",
                     "step_order"):
            batch_op.drop_column(name)
        batch_op.add_column(sa.Column("last_activity_at", lad_types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.alter_column("status", existing_type=sa.String(length=16),
                              existing_nullable=False, server_default="pending")
        batch_op.alter_column("current_step_id", existing_type=sa.Uuid(),
                              existing_nullable=True, comment=None,
                              existing_comment="The id of the step to run next, once known")
        batch_op.alter_column(
            "next_run_at", existing_type=lad_types.UtcDateTime(timezone=True),
            existing_nullable=True, comment="When the enrollment is due for its next step",
            existing_comment="When the next step is due; NULL: nothing is due")
    _remap("campaign_leads", OLD_ENROLLMENT)
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaign_leads_status"), OLD_ENROLLMENT_CHECK)
        batch_op.create_index("ix_campaign_leads_due", ["tenant_id", "next_run_at"],
                              unique=False,
                              postgresql_where=sa.text("status IN ('pending', 'active')"),
                              sqlite_where=sa.text("status IN ('pending', 'active')"))

    _remap("campaign_steps", {new: old for old, new in STEP_TYPES.items()}, column="type")
    with op.batch_alter_table("campaign_steps", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_steps_order"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaign_steps_order"), '"order" >= 0')
        batch_op.alter_column(
            "type", existing_type=sa.String(length=32), existing_nullable=False,
            comment="email, linkedin_connect, linkedin_message, voice_call, delay, ...",
            existing_comment="email, linkedin_invite, linkedin_message, voice_call, wait, "
            "condition")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaigns_status"), type_="check")
        batch_op.add_column(sa.Column("starts_at", lad_types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.alter_column("config", existing_type=lad_types.JsonDocument(),
                              existing_nullable=False, comment=None,
                              existing_comment="The campaign's settings: send window, time "
                              "zone, daily cap, stop rules, mailboxes")
    _remap("campaigns", OLD_CAMPAIGN)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_campaigns_status"), OLD_CAMPAIGN_CHECK)

    op.drop_table("outreach_suppressions")
    op.drop_table("webhook_receipts")
