"""Posting usage on SQL: one event in one round trip on PostgreSQL (a stored function),
batches and SQLite by the domain's rule over the repositories."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.billing import items_from_document
from lad_adapters.sql.billing_bulk import insert_many
from lad_adapters.sql.database import Db, translate_errors
from lad_adapters.sql.tables.tenancy import domain_events
from lad_domain.billing.model import RejectionReason, UsageEvent, UsageStatus
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
""".replace("{usage_prefix}", USAGE_KEY_PREFIX)

CREATE_FUNCTION = [ROUND_HALF_EVEN, POST_USAGE]
DROP_FUNCTION = [
    "DROP FUNCTION billing_post_usage(uuid, uuid, uuid, uuid, uuid, uuid, text, text, text, "
    "uuid, jsonb, timestamptz, timestamptz, text, uuid)",
    "DROP FUNCTION lad_round_half_even(numeric, integer)",
]

#: Called with the driver's own parameters: the hot path skips SQLAlchemy's statement
#: compilation and type processing (errors are still translated in the one place).
_CALL = (
    "SELECT replayed, status, rejection_reason, total_cost, usage_items, wallet_id, "
    "ledger_transaction_id, within_quota FROM billing_post_usage(%s::uuid, %s::uuid, "
    "%s::uuid, %s::uuid, %s::uuid, %s::uuid, %s::text, %s::text, %s::text, %s::uuid, "
    "%s::jsonb, %s::timestamptz, %s::timestamptz, %s::text, %s::uuid)")


class PostgresUsagePostings:
    """One event: one call of ``billing_post_usage``, which runs the domain's posting rule
    (``lad_domain.billing.posting``) step for step: lock the tenant's and the member's
    wallets, find a key seen before, price every item at the time it happened, check the
    quota, debit the paying wallet only if the funds suffice, write the ledger row, the
    usage event and the low or depleted balance events. A batch: the shared rule, which
    writes many rows per statement. The contract tests hold both paths (and memory and
    SQLite) to the same results."""

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
        ids = [context.ids.new_id() for _ in range(5)]  # event, ledger, low, depleted, wallet
        items = json.dumps([{"category": i.category, "provider": i.provider, "model": i.model,
                             "quantity": str(i.quantity)} for i in request.items])
        try:
            with translate_errors():
                row = self._db.connection.exec_driver_sql(_CALL, (
                    self._tenant_id, *ids, request.idempotency_key, request.fingerprint,
                    request.feature_key, request.user_id, items, request.occurred_at,
                    context.now, context.actor, context.user_id)).one()
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == UNPRICED:
                diag = error.orig.diag  # type: ignore[union-attr]
                raise _unpriced(request, str(diag.message_primary)) from None
            raise
        if row.replayed:
            first = self._uow.usage_events.get_by_keys([request.idempotency_key])
            return [replay(first[request.idempotency_key], request)]
        assert self._tenant_id is not None
        return [_posted(self._tenant_id, request, context, ids[0], row)]

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


def _posted(tenant_id: uuid.UUID, request: UsageRequest, context: PostingContext,
            event_id: uuid.UUID, row: sa.Row[Any]) -> UsageEvent:
    """The new event: what the request said, and what the function decided."""
    posted = row.status == UsageStatus.POSTED
    return UsageEvent(
        id=event_id, tenant_id=tenant_id,
        feature_key=request.feature_key, items=items_from_document(row.usage_items),
        total_cost=row.total_cost, idempotency_key=request.idempotency_key,
        fingerprint=request.fingerprint, occurred_at=request.occurred_at,
        created_at=context.now, status=UsageStatus(row.status), user_id=request.user_id,
        wallet_id=row.wallet_id, within_quota=row.within_quota,
        rejection_reason=RejectionReason(row.rejection_reason) if row.rejection_reason
        else None, ledger_entry_id=row.ledger_transaction_id,
        posted_at=context.now if posted else None)


def _unpriced(request: UsageRequest, indexes: str) -> ValidationFailed:
    errors = []
    for index in (int(i) for i in indexes.split(",")):
        item = request.items[index]
        errors.append(FieldError(f"usage_items[{index}]", "no price in the catalog for " + "/".join(
            part or "*" for part in item.price_key)))
    return ValidationFailed(errors)
