"""row-level security, the default call-log partition and the append-only ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:10:00.000000

PostgreSQL: row-level security on every tenant-owned table (and the mixed tables), the
default partition of voice_call_logs. Both dialects: triggers that refuse UPDATE and DELETE
on the ledger. Tables added by later revisions enable their own policies the same way.
"""

from __future__ import annotations

from alembic import op

from lad_adapters.sql import rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Every tenant-owned table at this revision (frozen: later tables are not added here).
TENANT_TABLES = (
    # tenancy (0001)
    "memberships", "tenant_features", "user_capabilities", "tenant_invitations",
    "domain_events", "tenant_api_keys",
    # leads and education (0002)
    "lead_stages", "lead_statuses", "leads", "lead_stage_history", "lead_notes",
    "lead_attachments", "lead_social", "lead_bookings", "education_counsellors",
    "education_students",
    # campaigns, outreach, enrichment (0003)
    "campaigns", "campaign_steps", "campaign_leads", "campaign_lead_activities",
    "communication_templates", "email_accounts", "social_linkedin_accounts",
    "campaign_linkedin_accounts", "company_search_cache", "employees_cache",
    # billing (0004)
    "billing_wallets", "billing_ledger_transactions", "billing_usage_events",
    "billing_reservations", "billing_invoices", "billing_feature_entitlements",
    "user_credits", "credit_transactions",
    # icp and voice (0005)
    "ai_conversations", "ai_messages", "ai_icp_profiles", "voice_agents",
    "voice_agent_numbers", "voice_user_profiles", "voice_permissions", "voice_call_batches",
    "voice_call_batch_entries", "voice_call_logs", "voice_call_analysis",
)
#: Mixed tables: global rows plus tenant rows; the value says whether any tenant may write
#: the global rows (a shared cache) or only the operator, with no tenant in scope.
MIXED_TABLES = {
    "feature_flags": False,
    "billing_pricing_catalog": False,
    "voice_agent_voices": False,
    "ai_keyword_expansions": True,
}
LEDGER = "billing_ledger_transactions"
CALL_LOGS_DEFAULT = "voice_call_logs_default"

PG_REFUSE_CHANGE = """
CREATE FUNCTION lad_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = TG_TABLE_NAME || '_append_only';
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_REFUSE_CHANGE)
        op.execute(f"CREATE TRIGGER {LEDGER}_append_only BEFORE UPDATE OR DELETE ON {LEDGER} "
                   "FOR EACH ROW EXECUTE FUNCTION lad_refuse_change()")
        op.execute(f"CREATE TABLE {CALL_LOGS_DEFAULT} PARTITION OF voice_call_logs DEFAULT")
        for table in TENANT_TABLES:
            _run(rls.tenant_owned(table))
        _run(rls.member_self_read("memberships"))
        for table, shared_rows_writable in MIXED_TABLES.items():
            _run(rls.mixed(table, shared_rows_writable=shared_rows_writable))
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {LEDGER}_append_only_{verb.lower()} BEFORE {verb} ON "
                       f"{LEDGER} BEGIN SELECT RAISE(ABORT, '{LEDGER}_append_only: "
                       f"{LEDGER} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in MIXED_TABLES:
            _run(rls.drop(table, rls.SHARED_POLICIES))
        for table in reversed(TENANT_TABLES):
            policies: tuple[str, ...] = (rls.TENANT_POLICY,)
            if table == "memberships":
                policies += (rls.MEMBER_POLICY,)
            _run(rls.drop(table, policies))
        # Detached first: a partition that a foreign key refers to cannot be dropped.
        op.execute(f"ALTER TABLE voice_call_logs DETACH PARTITION {CALL_LOGS_DEFAULT}")
        op.execute(f"DROP TABLE {CALL_LOGS_DEFAULT}")
        op.execute(f"DROP TRIGGER {LEDGER}_append_only ON {LEDGER}")
        op.execute("DROP FUNCTION lad_refuse_change()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER {LEDGER}_append_only_{verb}")


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)
