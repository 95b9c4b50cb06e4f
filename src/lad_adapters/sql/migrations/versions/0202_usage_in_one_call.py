"""billing: record one usage event in one call (scope, access data, posting)

Revision ID: 0202_usage_in_one_call
Revises: 0201_billing
Create Date: 2026-12-02 09:00:00.000000

PostgreSQL only: ``billing_record_usage``, which the usage ledger
(``lad_adapters.sql.billing.usage_ledger``) calls on an autocommit connection, so that
recording one usage event is one round trip. In its own transaction it sets the tenant
scope first (``set_config(..., true)``: row-level security binds every statement after
it), reads what the access policy decides on (the tenant row, the acting member's role,
the role of the member the usage is for, if any), and posts with
``billing_post_usage`` only when that data passes the demand the caller derived from the
domain's access policy. A refusal posts nothing and returns the data, from which the
domain's policy raises its own error. A replayed key returns the first event's row.

The function is SECURITY INVOKER (the default): it runs as the application role, under
row-level security. Frozen: a later change is a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0202_usage_in_one_call"
down_revision = "0201_billing"
branch_labels = None
depends_on = None

RECORD_USAGE = """
CREATE FUNCTION billing_record_usage(
    p_tenant uuid, p_scope_user uuid, p_live_tenant boolean, p_acting_user uuid,
    p_roles text[], p_id uuid, p_ledger_id uuid, p_low_id uuid, p_depleted_id uuid,
    p_new_wallet uuid, p_key text, p_hash text, p_feature text, p_user uuid, p_items jsonb,
    p_occurred timestamptz, p_now timestamptz, p_actor text, p_created_by uuid)
RETURNS TABLE (tenant_live boolean, acting_role text, user_role text, replayed boolean,
               id uuid, user_id uuid, feature_key text, usage_items jsonb, total_cost numeric,
               status text, rejection_reason text, request_hash text,
               occurred_at timestamptz, created_at timestamptz, posted_at timestamptz,
               wallet_id uuid, ledger_transaction_id uuid, within_quota boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_live boolean;
    v_role text;
    v_user_role text;
    v_posted record;
BEGIN
    -- The scope first: every statement below, and in billing_post_usage, sees only this
    -- tenant's rows (the settings end with this call's transaction).
    PERFORM set_config('lad.tenant_id', p_tenant::text, true),
            set_config('lad.user_id', coalesce(p_scope_user::text, ''), true);

    -- What the access policy decides on, read inside the transaction that posts.
    SELECT t.deleted_at IS NULL AND t.status <> 'deleted' INTO v_live
      FROM tenants t WHERE t.id = p_tenant;
    IF p_acting_user IS NOT NULL THEN
        SELECT m.role::text INTO v_role FROM memberships m
         WHERE m.tenant_id = p_tenant AND m.user_id = p_acting_user;
    END IF;
    IF p_user IS NOT NULL THEN
        SELECT m.role::text INTO v_user_role FROM memberships m
         WHERE m.tenant_id = p_tenant AND m.user_id = p_user;
    END IF;
    IF (p_live_tenant AND v_live IS NOT TRUE)
       OR (p_acting_user IS NOT NULL AND (v_role IS NULL OR NOT v_role = ANY (p_roles)))
       OR (p_user IS NOT NULL AND v_user_role IS NULL) THEN
        RETURN QUERY SELECT v_live, v_role, v_user_role, NULL::boolean, NULL::uuid, NULL::uuid,
            NULL::text, NULL::jsonb, NULL::numeric, NULL::text, NULL::text, NULL::text,
            NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::uuid, NULL::uuid,
            NULL::boolean;
        RETURN;
    END IF;

    SELECT * INTO v_posted FROM billing_post_usage(
        p_tenant, p_id, p_ledger_id, p_low_id, p_depleted_id, p_new_wallet, p_key, p_hash,
        p_feature, p_user, p_items, p_occurred, p_now, p_actor, p_created_by);
    IF v_posted.replayed THEN
        -- The first event of this key: the caller compares the payload.
        RETURN QUERY SELECT v_live, v_role, v_user_role, true, e.id, e.user_id,
            e.feature_key::text, e.usage_items, e.total_cost::numeric, e.status::text,
            e.rejection_reason::text, e.request_hash::text, e.occurred_at, e.created_at,
            e.posted_at, e.wallet_id, e.ledger_transaction_id, e.within_quota
          FROM billing_usage_events e
         WHERE e.tenant_id = p_tenant AND e.idempotency_key = p_key;
        RETURN;
    END IF;
    RETURN QUERY SELECT v_live, v_role, v_user_role, false, p_id, p_user, p_feature,
        v_posted.usage_items, v_posted.total_cost, v_posted.status, v_posted.rejection_reason,
        p_hash, p_occurred, p_now, CASE WHEN v_posted.status = 'posted' THEN p_now END,
        v_posted.wallet_id, v_posted.ledger_transaction_id, v_posted.within_quota;
END
$$
"""

DROP_FUNCTION = (
    "DROP FUNCTION billing_record_usage(uuid, uuid, boolean, uuid, text[], uuid, uuid, uuid, "
    "uuid, uuid, text, text, text, uuid, jsonb, timestamptz, timestamptz, text, uuid)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RECORD_USAGE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_FUNCTION)
