"""billing: quota and invoice counters, within_quota, the posting function, default prices

Revision ID: 0201_billing
Revises: 0007
Create Date: 2026-11-25 14:00:00.000000

Both dialects: the counters that posting and invoicing lock, the usage events' within_quota
flag, and the default pricing catalog (global rows with fixed ids, so that downgrade removes
exactly them). PostgreSQL: row-level security on the new tables, and the function that posts
one usage event in one round trip (called by ``lad_adapters.sql.billing_posting``).

Frozen: the function's SQL and the catalog rows are written out here as they were at this
revision; a later change to either is a new revision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types
from lad_adapters.sql import rls

revision = "0201_billing"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW_TABLES = ("billing_entitlement_usage", "billing_invoice_counters")
#: The default catalog's rows get ids derived from what they price, so they are the same
#: in every database and a downgrade deletes exactly them.
CATALOG_NAMESPACE = uuid.UUID("5f0d7a3e-9a3c-4a8e-9d55-3b1c2f6a0b01")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_catalog = sa.table(
    "billing_pricing_catalog",
    sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.Uuid()),
    sa.column("category", sa.String()), sa.column("provider", sa.String()),
    sa.column("model", sa.String()), sa.column("unit", sa.String()),
    sa.column("unit_price", lad_types.UnitPrice()), sa.column("currency", sa.String()),
    sa.column("effective_from", lad_types.UtcDateTime()),
    sa.column("effective_to", lad_types.UtcDateTime()),
    sa.column("created_at", lad_types.UtcDateTime()),
    sa.column("updated_at", lad_types.UtcDateTime()),
)


#: The default catalog at this revision: (category, provider, model, unit, unit_price,
#: effective_from, effective_to).
DEFAULT_PRICES = [
    ('email_send', '', '', 'message', '0.0010000000', '2020-01-01T00:00:00+00:00', None),
    ('linkedin_action', '', '', 'action', '0.0100000000', '2020-01-01T00:00:00+00:00', None),
    ('linkedin_action', 'unipile', 'connection_request', 'action', '0.0200000000', '2020-01-01T00:00:00+00:00', None),
    ('telephony_minute', '', '', 'minute', '0.0150000000', '2020-01-01T00:00:00+00:00', None),
    ('telephony_minute', 'twilio', '', 'minute', '0.0140000000', '2020-01-01T00:00:00+00:00', None),
    ('telephony_minute', 'vonage', '', 'minute', '0.0130000000', '2020-01-01T00:00:00+00:00', None),
    ('telephony_minute', 'plivo', '', 'minute', '0.0120000000', '2020-01-01T00:00:00+00:00', None),
    ('voice_minute', '', '', 'minute', '0.0800000000', '2020-01-01T00:00:00+00:00', None),
    ('voice_minute', 'vapi', '', 'minute', '0.0500000000', '2020-01-01T00:00:00+00:00', None),
    ('voice_minute', 'retell', '', 'minute', '0.0700000000', '2020-01-01T00:00:00+00:00', None),
    ('voice_minute', 'elevenlabs', '', 'minute', '0.0800000000', '2020-01-01T00:00:00+00:00', None),
    ('voice_minute', 'elevenlabs', 'eleven_turbo_v2', 'minute', '0.0600000000', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', '', '', 'token', '0.0000050000', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', 'openai', 'gpt-4o', 'token', '0.0000025000', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', 'openai', 'gpt-4o-mini', 'token', '1.500E-7', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', 'anthropic', 'claude-3-5-sonnet', 'token', '0.0000030000', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', 'anthropic', 'claude-3-5-haiku', 'token', '8.000E-7', '2020-01-01T00:00:00+00:00', None),
    ('llm_input_tokens', 'google', 'gemini-1.5-flash', 'token', '7.50E-8', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', '', '', 'token', '0.0000200000', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', 'openai', 'gpt-4o', 'token', '0.0000100000', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', 'openai', 'gpt-4o-mini', 'token', '6.000E-7', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', 'anthropic', 'claude-3-5-sonnet', 'token', '0.0000150000', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', 'anthropic', 'claude-3-5-haiku', 'token', '0.0000040000', '2020-01-01T00:00:00+00:00', None),
    ('llm_output_tokens', 'google', 'gemini-1.5-flash', 'token', '3.000E-7', '2020-01-01T00:00:00+00:00', None),
    ('apollo_lookup', 'apollo', '', 'lookup', '0.0200000000', '2020-01-01T00:00:00+00:00', None),
    ('apollo_lookup', '', '', 'lookup', '0.0300000000', '2020-01-01T00:00:00+00:00', None),
]

ROUND_HALF_EVEN = """
CREATE FUNCTION lad_round_half_even(value numeric, places integer) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
        WHEN abs(value - trunc(value, places)) * power(10::numeric, places) = 0.5 THEN
            trunc(value, places) + CASE
                WHEN mod(abs(trunc(value, places)) * power(10::numeric, places), 2) = 0 THEN 0
                ELSE sign(value) * power(10::numeric, -places) END
        ELSE round(value, places)
    END
$$
"""

POST_USAGE = """
CREATE FUNCTION billing_post_usage(
    p_tenant uuid, p_id uuid, p_ledger_id uuid, p_low_id uuid, p_depleted_id uuid,
    p_new_wallet uuid, p_key text, p_hash text, p_feature text, p_user uuid, p_items jsonb,
    p_occurred timestamptz, p_now timestamptz, p_actor text, p_created_by uuid)
RETURNS TABLE (replayed boolean, status text, rejection_reason text, total_cost numeric,
               usage_items jsonb, wallet_id uuid, ledger_transaction_id uuid,
               within_quota boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_wallet billing_wallets%ROWTYPE;
    v_row billing_wallets%ROWTYPE;
    v_has_tenant_wallet boolean := false;
    v_item jsonb;
    v_price record;
    v_index integer := 0;
    v_missing integer[] := '{}';
    v_priced jsonb := '[]';
    v_cost numeric(20, 6);
    v_total numeric(20, 6) := 0;
    v_quota bigint;
    v_overage text;
    v_limited boolean;
    v_used bigint;
    v_within boolean := false;
    v_charge numeric(20, 6);
    v_before numeric(20, 6);
    v_after numeric(20, 6);
    v_status text := 'posted';
    v_reason text;
    v_ledger uuid;
    v_period text := to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM');
BEGIN
    -- The tenant's wallet and the member's, locked in id order as every posting locks them:
    -- postings of one tenant (and retries of one key) run one after the other. The member's
    -- sub-wallet pays when there is one; the tenant's is created empty when missing.
    FOR v_row IN SELECT * FROM billing_wallets
                  WHERE tenant_id = p_tenant AND (user_id IS NULL OR user_id = p_user)
                  ORDER BY id FOR UPDATE LOOP
        IF v_row.user_id IS NULL THEN
            v_has_tenant_wallet := true;
        END IF;
        IF v_wallet.id IS NULL OR v_row.user_id IS NOT NULL THEN
            v_wallet := v_row;
        END IF;
    END LOOP;
    IF NOT v_has_tenant_wallet THEN
        INSERT INTO billing_wallets (tenant_id, id, user_id, created_at, updated_at)
        VALUES (p_tenant, p_new_wallet, NULL, p_now, p_now) ON CONFLICT DO NOTHING;
        SELECT * INTO v_row FROM billing_wallets
         WHERE tenant_id = p_tenant AND user_id IS NULL FOR UPDATE;
        IF v_wallet.id IS NULL THEN
            v_wallet := v_row;
        END IF;
    END IF;

    -- A key seen before: the caller reads its first result and compares the payload.
    PERFORM 1 FROM billing_usage_events e
     WHERE e.tenant_id = p_tenant AND e.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT true, NULL::text, NULL::text, NULL::numeric, NULL::jsonb,
                            NULL::uuid, NULL::uuid, NULL::boolean;
        RETURN;
    END IF;

    -- Each item at the most specific price in force when it happened.
    FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        SELECT c.id, c.unit_price INTO v_price FROM billing_pricing_catalog c
         WHERE c.category = v_item->>'category'
           AND c.provider IN ('', coalesce(v_item->>'provider', ''))
           AND c.model IN ('', coalesce(v_item->>'model', ''))
           AND (c.tenant_id IS NULL OR c.tenant_id = p_tenant)
           AND c.effective_from <= p_occurred
           AND (c.effective_to IS NULL OR c.effective_to > p_occurred)
         ORDER BY c.tenant_id IS NOT NULL DESC, c.provider <> '' DESC, c.model <> '' DESC
         LIMIT 1;
        IF NOT FOUND THEN
            v_missing := v_missing || v_index;
        ELSE
            v_cost := lad_round_half_even((v_item->>'quantity')::numeric * v_price.unit_price, 6);
            v_total := v_total + v_cost;
            v_priced := v_priced || jsonb_build_array(jsonb_build_object(
                'category', v_item->'category', 'provider', v_item->'provider',
                'model', v_item->'model', 'quantity', v_item->'quantity',
                'unit_price', v_price.unit_price::text, 'cost', v_cost::text,
                'price_id', v_price.id::text));
        END IF;
        v_index := v_index + 1;
    END LOOP;
    IF cardinality(v_missing) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LADP1', MESSAGE = array_to_string(v_missing, ',');
    END IF;

    -- The quota: within it, counted and not charged; beyond it, charged or refused.
    SELECT e.monthly_quota, e.overage_policy, u.used INTO v_quota, v_overage, v_used
      FROM billing_feature_entitlements e
      LEFT JOIN billing_entitlement_usage u
        ON u.tenant_id = e.tenant_id AND u.feature_key = e.feature_key AND u.period = v_period
     WHERE e.tenant_id = p_tenant AND e.feature_key = p_feature;
    v_limited := FOUND;
    IF v_limited THEN
        v_within := v_quota IS NULL OR coalesce(v_used, 0) < v_quota;
        IF NOT v_within AND v_overage = 'refuse' THEN
            v_status := 'rejected';
            v_reason := 'quota_exhausted';
        END IF;
    END IF;

    -- The debit, only when the funds suffice.
    v_charge := CASE WHEN v_within THEN 0 ELSE v_total END;
    IF v_status = 'posted' AND v_charge > 0 THEN
        v_before := v_wallet.current_balance - v_wallet.reserved_balance;
        IF v_before - v_charge < -coalesce(v_wallet.credit_limit, 0) THEN
            v_status := 'rejected';
            v_reason := 'insufficient_funds';
        ELSE
            UPDATE billing_wallets SET current_balance = current_balance - v_charge,
                   updated_at = p_now
             WHERE tenant_id = p_tenant AND id = v_wallet.id
            RETURNING current_balance INTO v_after;
            INSERT INTO billing_ledger_transactions (
                tenant_id, id, wallet_id, transaction_type, amount, balance_after, cause_type,
                cause_id, idempotency_key, request_hash, metadata, created_by, created_at)
            VALUES (p_tenant, p_ledger_id, v_wallet.id, 'usage_debit', -v_charge, v_after,
                    'usage_event', p_id, '{usage_prefix}' || p_key, p_hash,
                    jsonb_build_object('actor', p_actor), p_created_by, p_now);
            v_ledger := p_ledger_id;
            v_after := v_after - v_wallet.reserved_balance;
            IF v_wallet.low_balance_threshold IS NOT NULL
               AND v_before >= v_wallet.low_balance_threshold
               AND v_wallet.low_balance_threshold > v_after THEN
                INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type,
                                           aggregate_id, payload, created_at)
                VALUES (p_tenant, p_low_id, 'billing.balance_low', 'wallet',
                        v_wallet.id::text, jsonb_build_object(
                            'wallet_id', v_wallet.id::text, 'available', v_after::text,
                            'threshold', v_wallet.low_balance_threshold::text), p_now);
            END IF;
            IF v_before > 0 AND v_after <= 0 THEN
                INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type,
                                           aggregate_id, payload, created_at)
                VALUES (p_tenant, p_depleted_id, 'billing.balance_depleted', 'wallet',
                        v_wallet.id::text, jsonb_build_object(
                            'wallet_id', v_wallet.id::text, 'available', v_after::text,
                            'threshold', coalesce(v_wallet.low_balance_threshold,
                                                  0::numeric(20, 6))::text), p_now);
            END IF;
        END IF;
    END IF;

    IF v_status = 'posted' AND v_limited THEN
        INSERT INTO billing_entitlement_usage (tenant_id, feature_key, period, used, updated_at)
        VALUES (p_tenant, p_feature, v_period, 1, p_now)
        ON CONFLICT (tenant_id, feature_key, period)
        DO UPDATE SET used = billing_entitlement_usage.used + 1, updated_at = p_now;
    END IF;
    INSERT INTO billing_usage_events (
        tenant_id, id, user_id, feature_key, usage_items, total_cost, status, rejection_reason,
        idempotency_key, request_hash, occurred_at, posted_at, wallet_id,
        ledger_transaction_id, within_quota, created_at, updated_at)
    VALUES (p_tenant, p_id, p_user, p_feature, v_priced, v_total, v_status, v_reason, p_key,
            p_hash, p_occurred, CASE WHEN v_status = 'posted' THEN p_now END, v_wallet.id,
            v_ledger, v_status = 'posted' AND v_within, p_now, p_now);
    RETURN QUERY SELECT false, v_status, v_reason, v_total::numeric, v_priced, v_wallet.id,
                        v_ledger, v_status = 'posted' AND v_within;
END
$$
""".replace("{usage_prefix}", "usage:")

CREATE_FUNCTION = [ROUND_HALF_EVEN, POST_USAGE]
DROP_FUNCTION = [
    "DROP FUNCTION billing_post_usage(uuid, uuid, uuid, uuid, uuid, uuid, text, text, text, "
    "uuid, jsonb, timestamptz, timestamptz, text, uuid)",
    "DROP FUNCTION lad_round_half_even(numeric, integer)",
]


def upgrade() -> None:
    op.create_table(
        "billing_entitlement_usage",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("feature_key", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False, comment="The month: YYYY-MM"),
        sa.Column("used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_billing_entitlement_usage_used")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_billing_entitlement_usage_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "feature_key", "period",
                                name=op.f("pk_billing_entitlement_usage")),
        comment="Uses of each quota-limited feature per month (posting increments it, under "
        "its row lock).",
        info={"lad_scope": "tenant", "lad_context": "billing", "lad_volume": "low"},
    )
    op.create_table(
        "billing_invoice_counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", lad_types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("last_number >= 0",
                           name=op.f("ck_billing_invoice_counters_last_number")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_billing_invoice_counters_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_billing_invoice_counters")),
        comment="Each tenant's last invoice number; its row lock makes the numbers gapless.",
        info={"lad_scope": "tenant", "lad_context": "billing", "lad_volume": "low"},
    )
    # A plain ADD COLUMN (not a batch copy), which SQLite supports with a constant default.
    op.add_column("billing_usage_events", sa.Column(
        "within_quota", sa.Boolean(), server_default=sa.false(), nullable=False,
        comment="Paid by the monthly quota: counted, not charged"))
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TABLES:
            for statement in rls.tenant_owned(table):
                op.execute(statement)
        for statement in CREATE_FUNCTION:
            op.execute(statement)
    _load_default_catalog()


def downgrade() -> None:
    ids = [row["id"] for row in _default_rows()]
    op.get_bind().execute(_catalog.delete().where(_catalog.c.id.in_(ids)))
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_FUNCTION:
            op.execute(statement)
    with op.batch_alter_table("billing_usage_events", schema=None) as batch_op:
        batch_op.drop_column("within_quota")
    op.drop_table("billing_invoice_counters")
    op.drop_table("billing_entitlement_usage")


def _default_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for category, provider, model, unit, price, start, end in DEFAULT_PRICES:
        effective_from = datetime.fromisoformat(start)
        name = f"{category}/{provider}/{model}/{effective_from}"
        rows.append({"id": uuid.uuid5(CATALOG_NAMESPACE, name), "tenant_id": None,
                     "category": category, "provider": provider, "model": model,
                     "unit": unit, "unit_price": Decimal(price), "currency": "USD",
                     "effective_from": effective_from,
                     "effective_to": datetime.fromisoformat(end) if end else None,
                     "created_at": EPOCH, "updated_at": EPOCH})
    return rows


def _load_default_catalog() -> None:
    op.get_bind().execute(_catalog.insert(), _default_rows())
