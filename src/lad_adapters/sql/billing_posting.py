"""Posting usage on SQL. PostgreSQL posts a single event in one round trip: the function
``billing_post_usage`` (created by revision 0201) runs the domain's posting rule
(``lad_domain.billing.posting``) step for step: lock the tenant's and the member's wallets,
return the first result of a key seen before, price every item at the time it happened,
check the quota, debit the paying wallet only if the funds suffice, and write the ledger row,
the usage event and its domain events. Batches, and SQLite, run the rule in Python over the
repositories; the contract tests hold every path to the same results."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.billing import row_to_usage_event
from lad_adapters.sql.billing_bulk import insert_many
from lad_adapters.sql.database import Db
from lad_adapters.sql.tables.billing import billing_usage_events
from lad_adapters.sql.tables.tenancy import domain_events
from lad_domain.billing.model import UsageEvent
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext, UsagePostings, UsageRequest
from lad_domain.billing.posting import USAGE_KEY_PREFIX, RepositoryUsagePostings, replay
from lad_domain.shared.errors import FieldError, ValidationFailed

#: The SQLSTATE the function raises for items without a price; its message lists their
#: indexes.
UNPRICED = "LADP1"

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
    p_tenant uuid, p_id uuid, p_ledger_id uuid, p_event_ids uuid[], p_new_wallet uuid,
    p_key text, p_hash text, p_feature text, p_user uuid, p_items jsonb,
    p_occurred timestamptz, p_now timestamptz, p_actor text, p_created_by uuid)
RETURNS SETOF billing_usage_events
LANGUAGE plpgsql AS $$
DECLARE
    v_wallet billing_wallets%ROWTYPE;
    v_event billing_usage_events%ROWTYPE;
    v_item jsonb;
    v_price record;
    v_index integer := 0;
    v_missing text[] := '{}';
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
    -- postings of one tenant (and retries of one key) run one after the other.
    PERFORM 1 FROM billing_wallets
     WHERE tenant_id = p_tenant AND (user_id IS NULL OR user_id = p_user)
     ORDER BY id FOR UPDATE;
    SELECT * INTO v_wallet FROM billing_wallets WHERE tenant_id = p_tenant AND user_id = p_user;
    IF NOT FOUND THEN
        SELECT * INTO v_wallet FROM billing_wallets
         WHERE tenant_id = p_tenant AND user_id IS NULL;
    END IF;
    IF NOT FOUND THEN
        INSERT INTO billing_wallets (tenant_id, id, user_id, created_at, updated_at)
        VALUES (p_tenant, p_new_wallet, NULL, p_now, p_now) ON CONFLICT DO NOTHING;
        SELECT * INTO v_wallet FROM billing_wallets
         WHERE tenant_id = p_tenant AND user_id IS NULL FOR UPDATE;
    END IF;

    -- A key seen before: its first result (the caller compares the payload).
    SELECT * INTO v_event FROM billing_usage_events
     WHERE tenant_id = p_tenant AND idempotency_key = p_key;
    IF FOUND THEN
        RETURN NEXT v_event;
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
            v_missing := v_missing || v_index::text;
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
    SELECT e.monthly_quota, e.overage_policy INTO v_quota, v_overage
      FROM billing_feature_entitlements e
     WHERE e.tenant_id = p_tenant AND e.feature_key = p_feature;
    v_limited := FOUND;
    IF v_limited THEN
        SELECT u.used INTO v_used FROM billing_entitlement_usage u
         WHERE u.tenant_id = p_tenant AND u.feature_key = p_feature AND u.period = v_period;
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
                VALUES (p_tenant, p_event_ids[2], 'billing.balance_low', 'wallet',
                        v_wallet.id::text, jsonb_build_object(
                            'wallet_id', v_wallet.id::text, 'available', v_after::text,
                            'threshold', v_wallet.low_balance_threshold::text), p_now);
            END IF;
            IF v_before > 0 AND v_after <= 0 THEN
                INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type,
                                           aggregate_id, payload, created_at)
                VALUES (p_tenant, p_event_ids[3], 'billing.balance_depleted', 'wallet',
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
            v_ledger, v_status = 'posted' AND v_within, p_now, p_now)
    RETURNING * INTO v_event;
    INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type, aggregate_id,
                               payload, created_at)
    VALUES (p_tenant, p_event_ids[1], 'billing.usage_' || v_status, 'usage_event', p_id::text,
            CASE WHEN v_status = 'posted' THEN jsonb_build_object(
                     'feature_key', p_feature, 'total_cost', v_total::text,
                     'charged', v_charge::text, 'within_quota', v_within)
                 ELSE jsonb_build_object(
                     'feature_key', p_feature, 'total_cost', v_total::text,
                     'reason', v_reason) END,
            p_now);
    RETURN NEXT v_event;
END
$$
""".replace("{usage_prefix}", USAGE_KEY_PREFIX)

CREATE_FUNCTION = [ROUND_HALF_EVEN, POST_USAGE]
DROP_FUNCTION = [
    "DROP FUNCTION billing_post_usage(uuid, uuid, uuid, uuid[], uuid, text, text, text, uuid, "
    "jsonb, timestamptz, timestamptz, text, uuid)",
    "DROP FUNCTION lad_round_half_even(numeric, integer)",
]

_POST = sa.text(
    "SELECT * FROM billing_post_usage(CAST(:tenant AS uuid), CAST(:id AS uuid), "
    "CAST(:ledger_id AS uuid), CAST(:event_ids AS uuid[]), CAST(:new_wallet AS uuid), "
    "CAST(:key AS text), CAST(:hash AS text), CAST(:feature AS text), CAST(:user AS uuid), "
    "CAST(:items AS jsonb), :occurred, :now, CAST(:actor AS text), CAST(:created_by AS uuid))"
).bindparams(
    sa.bindparam("items", type_=sa.JSON()),
    sa.bindparam("occurred", type_=billing_usage_events.c.occurred_at.type),
    sa.bindparam("now", type_=billing_usage_events.c.created_at.type),
).columns(*billing_usage_events.c)


class PostgresUsagePostings:
    """One event: one call of ``billing_post_usage``. A batch: the shared rule, which
    writes many rows per statement."""

    def __init__(self, uow: BillingUnitOfWork, db: Db, tenant_id: uuid.UUID | None,
                 shared: UsagePostings) -> None:
        self._uow = uow
        self._db = db
        self._tenant_id = tenant_id
        self._shared = shared

    def post(self, requests: Sequence[UsageRequest], context: PostingContext
             ) -> list[UsageEvent]:
        if len(requests) != 1:
            posted = self._shared.post(requests, context)
            self._store_outbox()
            return posted
        [request] = requests
        event_id, ledger_id, *event_ids, wallet_id = (context.ids.new_id() for _ in range(6))
        try:
            row = self._db.execute(_POST, {
                **_params(request, context), "tenant": self._tenant_id, "id": event_id,
                "ledger_id": ledger_id, "event_ids": event_ids, "new_wallet": wallet_id,
            }).one()
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == UNPRICED:
                diag = error.orig.diag  # type: ignore[union-attr]
                raise _unpriced(request, str(diag.message_primary)) from None
            raise
        event = row_to_usage_event(row)
        return [event if event.id == event_id else replay(event, request)]


    def _store_outbox(self) -> None:
        """A batch's events, stored now in one statement (the unit of work would send
        them one row per statement at commit); the same transaction, the same rows."""
        events = self._uow.outbox.drain()
        if events:
            insert_many(self._db, domain_events, [
                {"tenant_id": e.tenant_id, "id": e.id, "event_type": e.event_type,
                 "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
                 "payload": e.payload, "created_at": e.occurred_at} for e in events])


def usage_postings(uow: BillingUnitOfWork, db: Db, tenant_id: uuid.UUID | None
                   ) -> UsagePostings:
    """The posting port of a SQL unit of work, by dialect."""
    shared = RepositoryUsagePostings(uow)
    if db.dialect == "postgresql":
        return PostgresUsagePostings(uow, db, tenant_id, shared)
    return shared


def _params(request: UsageRequest, context: PostingContext) -> dict[str, Any]:
    return {
        "key": request.idempotency_key, "hash": request.fingerprint,
        "feature": request.feature_key, "user": request.user_id,
        "items": [{"category": i.category, "provider": i.provider, "model": i.model,
                   "quantity": str(i.quantity)} for i in request.items],
        "occurred": request.occurred_at, "now": context.now, "actor": context.actor,
        "created_by": context.user_id,
    }


def _unpriced(request: UsageRequest, indexes: str) -> ValidationFailed:
    errors = []
    for index in (int(i) for i in indexes.split(",")):
        item = request.items[index]
        errors.append(FieldError(f"usage_items[{index}]", "no price in the catalog for " + "/".join(
            part or "*" for part in item.price_key)))
    return ValidationFailed(errors)
