"""voice: apply one call event in one call (receipt, call log, hold, usage, entry, batch)

Revision ID: 0402_voice_event_in_one_call
Revises: 0401_voice
Create Date: 2026-12-03 09:00:00.000000

PostgreSQL only (a no-op on SQLite): ``voice_apply_event``, which the call-event applier
(``lad_adapters.sql.voice_events``) calls on an autocommit connection, so that applying one
normalised call event is one round trip. It mirrors the domain's rule
(``lad_domain.voice.services.events.apply_event``, the single source of the rule's meaning)
step for step, in its own transaction:

1. the tenant scope first (``set_config(..., true)``: row-level security binds every
   statement after it, and the settings end with the call's transaction);
2. the call, locked: by our call id when the event carries it (its provider and provider
   call id must agree when set), else by (provider, provider call id); none: ``ignored``;
3. a receipt seen before (tenant, provider, ``CallEvent.dedupe_key``): ``duplicate``;
4. ``Call.apply`` on the row's values (the status only forward, by ``CallStatus.rank``; an
   unknown call takes a real final status; fields set only when empty; the provider's costs
   into ``cost_breakdown.provider``; the ended reason into the metadata);
5. everything the rule would read is read and locked before any write (the hold and its
   wallet, the entry and its batch), and what the function does not handle answers
   ``unhandled`` with nothing written, for the rule to run instead: an analysis (its
   do-not-call request suppresses and cancels), a later report of a longer billed call
   (a correction), a hold that is missing, a usage key seen before, metadata or batch
   settings of a shape the rule reads otherwise;
6. the receipt stored; when the call becomes final: connected and not billed, the hold
   released (``release_hold``: reservation released, the wallet's reserved balance, a
   ``release`` ledger row keyed ``release:<reservation>``, ``billing.reservation_released``)
   and the usage posted by ``billing_post_usage`` (``call_items`` of ``billed_seconds``,
   keyed ``voice-call:<call>``), the call's cost and ``cost_breakdown.charged`` set,
   ``call.billed``; not connected, the hold released; then the entry finished
   (``BatchEntry.finish`` with the batch's retry policy) and the batch recounted
   (``Batch.count``);
7. the call log row updated, and ``lead.call`` when its status moved.

Returns ``applied``, ``duplicate``, ``ignored`` or ``unhandled``. A usage key found taken by
the posting itself raises SQLSTATE LADV1 (everything rolled back; the caller runs the rule).

SECURITY INVOKER (the default): it runs as the application role, under row-level security.
Frozen: a later change is a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0402_voice_event_in_one_call"
down_revision = "0401_voice"
branch_labels = None
depends_on = None


APPLY_EVENT = """
CREATE FUNCTION voice_apply_event(
    p_tenant uuid, p_provider text, p_provider_call_id text, p_call_id uuid,
    p_receipt boolean, p_event_key text, p_raw bytea, p_status text,
    p_started timestamptz, p_ended timestamptz, p_duration integer, p_recording text,
    p_transcript text, p_costs jsonb, p_ended_reason text, p_analysis boolean,
    p_now timestamptz, p_ids uuid[])
RETURNS text
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_call voice_call_logs%ROWTYPE;
    v_was text;
    v_was_rank integer;
    v_rank integer;
    v_new_rank integer;
    v_changed boolean := false;
    v_settle boolean;
    v_connected boolean;
    v_bill boolean := false;
    v_release boolean := false;
    v_max integer := 600;
    v_seconds integer;
    v_quantity numeric;
    v_telephony text;
    v_voice text;
    v_items jsonb;
    v_key text;
    v_res billing_reservations%ROWTYPE;
    v_wallet billing_wallets%ROWTYPE;
    v_entry voice_call_batch_entries%ROWTYPE;
    v_batch voice_call_batches%ROWTYPE;
    v_finish boolean := false;
    v_retry jsonb;
    v_attempts_max integer := 3;
    v_retry_on jsonb := '["busy", "no_answer"]';
    v_backoff integer := 60;
    v_posted record;
    v_inserted integer;
    v_events jsonb := '[]';
BEGIN
    -- 1. The scope first: every statement below (and in billing_post_usage) sees only
    -- this tenant's rows.
    PERFORM set_config('lad.tenant_id', p_tenant::text, true),
            set_config('lad.user_id', '', true);

    -- 2. The call, locked (_the_call).
    IF p_call_id IS NOT NULL THEN
        SELECT * INTO v_call FROM voice_call_logs c
         WHERE c.tenant_id = p_tenant AND c.id = p_call_id
         ORDER BY c.created_at, c.id LIMIT 1 FOR UPDATE;
        IF NOT FOUND
           OR (v_call.provider_call_id IS NOT NULL
               AND v_call.provider_call_id <> p_provider_call_id)
           OR (v_call.provider IS NOT NULL AND v_call.provider <> p_provider) THEN
            RETURN 'ignored';
        END IF;
    ELSE
        SELECT * INTO v_call FROM voice_call_logs c
         WHERE c.tenant_id = p_tenant AND c.provider = p_provider
           AND c.provider_call_id = p_provider_call_id
         ORDER BY c.created_at, c.id LIMIT 1 FOR UPDATE;
        IF NOT FOUND THEN
            RETURN 'ignored';
        END IF;
    END IF;

    -- 3. The same delivery before: nothing changes.
    IF p_receipt AND EXISTS (SELECT 1 FROM webhook_receipts r
                              WHERE r.tenant_id = p_tenant AND r.provider = p_provider
                                AND r.event_id = p_event_key) THEN
        RETURN 'duplicate';
    END IF;

    -- 5. What the rule alone handles: an analysis, a correction of a billed duration.
    IF p_analysis OR (v_call.cost IS NOT NULL AND v_call.duration_seconds IS NOT NULL
                      AND p_duration IS NOT NULL AND p_duration > v_call.duration_seconds) THEN
        RETURN 'unhandled';
    END IF;

    -- 4. Call.apply.
    v_was := v_call.status;
    v_was_rank := {rank_of_was};
    v_rank := {rank_of_event};
    IF v_rank > v_was_rank OR (v_was = 'unknown' AND v_rank >= 3 AND p_status <> 'unknown') THEN
        v_call.status := p_status;
        v_changed := true;
    END IF;
    IF v_call.provider_call_id IS NULL THEN
        v_call.provider_call_id := p_provider_call_id;
        v_changed := true;
    END IF;
    IF p_started IS NOT NULL AND v_call.started_at IS NULL THEN
        v_call.started_at := p_started;
        v_changed := true;
    END IF;
    IF p_ended IS NOT NULL AND v_call.ended_at IS NULL THEN
        v_call.ended_at := p_ended;
        v_changed := true;
    END IF;
    IF p_duration IS NOT NULL AND v_call.duration_seconds IS NULL THEN
        v_call.duration_seconds := p_duration;
        v_changed := true;
    END IF;
    IF p_recording IS NOT NULL AND v_call.recording_url IS NULL THEN
        v_call.recording_url := p_recording;
        v_changed := true;
    END IF;
    IF coalesce(p_transcript, '') <> '' AND coalesce(v_call.transcription, '') = '' THEN
        v_call.transcription := p_transcript;
        v_changed := true;
    END IF;
    IF p_costs IS NOT NULL THEN
        v_call.cost_breakdown := v_call.cost_breakdown || jsonb_build_object('provider', p_costs);
        v_changed := true;
    END IF;
    IF coalesce(p_ended_reason, '') <> '' AND NOT v_call.metadata ? 'ended_reason' THEN
        v_call.metadata := v_call.metadata || jsonb_build_object('ended_reason', p_ended_reason);
        v_changed := true;
    END IF;
    IF v_changed THEN
        v_call.updated_at := p_now;
    END IF;

    -- 5. Read and lock what settling needs, before any write.
    v_new_rank := {rank_of_call};
    v_settle := v_new_rank >= 3 AND (v_was_rank < 3 OR v_was = 'unknown');
    v_connected := v_call.status IN ('completed', 'voicemail');
    IF v_settle THEN
        v_bill := v_connected AND v_call.cost IS NULL;
        v_release := v_bill OR NOT v_connected;
    END IF;
    IF v_bill THEN
        -- call_items and billed_seconds read the metadata: only the shapes they read alike.
        IF v_call.metadata ? 'max_duration_seconds' THEN
            IF jsonb_typeof(v_call.metadata->'max_duration_seconds') <> 'number'
               OR (v_call.metadata->>'max_duration_seconds') !~ '^-?[0-9]+$' THEN
                RETURN 'unhandled';
            END IF;
            v_max := (v_call.metadata->>'max_duration_seconds')::integer;
        END IF;
        IF coalesce(jsonb_typeof(v_call.metadata->'telephony_provider'), 'null')
               NOT IN ('null', 'string')
           OR coalesce(jsonb_typeof(v_call.metadata->'voice_provider'), 'null')
               NOT IN ('null', 'string') THEN
            RETURN 'unhandled';
        END IF;
        v_key := 'voice-call:' || v_call.id::text;
        IF EXISTS (SELECT 1 FROM billing_usage_events u
                    WHERE u.tenant_id = p_tenant AND u.idempotency_key = v_key) THEN
            RETURN 'unhandled';
        END IF;
    END IF;
    -- The entry and its batch before the wallet, as the dialer locks them (entry, batch,
    -- wallet): the other order deadlocks a final event with a dial of the same batch.
    IF v_settle AND v_call.batch_entry_id IS NOT NULL AND v_call.batch_id IS NOT NULL THEN
        SELECT * INTO v_entry FROM voice_call_batch_entries e
         WHERE e.tenant_id = p_tenant AND e.id = v_call.batch_entry_id FOR UPDATE;
        IF FOUND THEN
            SELECT * INTO v_batch FROM voice_call_batches b
             WHERE b.tenant_id = p_tenant AND b.id = v_call.batch_id FOR UPDATE;
            v_finish := FOUND AND (v_entry.last_call_id IS NULL
                                   OR v_entry.last_call_id = v_call.id);
        END IF;
    END IF;
    IF v_release AND v_call.billing_reservation_id IS NOT NULL THEN
        -- _locked: the wallet first, then the reservation (as every posting locks them).
        SELECT w.* INTO v_wallet FROM billing_reservations r
          JOIN billing_wallets w ON w.tenant_id = r.tenant_id AND w.id = r.wallet_id
         WHERE r.tenant_id = p_tenant AND r.id = v_call.billing_reservation_id
           FOR UPDATE OF w;
        IF NOT FOUND THEN
            RETURN 'unhandled';
        END IF;
        SELECT * INTO v_res FROM billing_reservations r
         WHERE r.tenant_id = p_tenant AND r.id = v_call.billing_reservation_id FOR UPDATE;
        v_release := v_res.status = 'open';
    ELSE
        v_release := false;
    END IF;
    IF v_finish THEN
        v_retry := v_batch.settings->'retry';
        IF v_retry IS NOT NULL AND jsonb_typeof(v_retry) <> 'null' THEN
            IF jsonb_typeof(v_retry) <> 'object'
               OR coalesce(jsonb_typeof(v_retry->'max_attempts'), 'number') <> 'number'
               OR coalesce(jsonb_typeof(v_retry->'backoff_minutes'), 'number') <> 'number'
               OR coalesce(jsonb_typeof(v_retry->'on'), 'array') <> 'array'
               OR coalesce(v_retry->>'max_attempts', '3') !~ '^[0-9]+$'
               OR coalesce(v_retry->>'backoff_minutes', '60') !~ '^[0-9]+$' THEN
                RETURN 'unhandled';
            END IF;
            v_attempts_max := coalesce((v_retry->>'max_attempts')::integer, 3);
            v_backoff := coalesce((v_retry->>'backoff_minutes')::integer, 60);
            v_retry_on := coalesce(v_retry->'on', v_retry_on);
        END IF;
    END IF;

    -- 6. The writes: the receipt first.
    IF p_receipt THEN
        INSERT INTO webhook_receipts (tenant_id, provider, event_id, raw_payload, received_at)
        VALUES (p_tenant, p_provider, p_event_key, p_raw, p_now) ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
        IF v_inserted = 0 THEN
            RETURN 'duplicate';
        END IF;
    END IF;

    -- release_hold: the whole hold back to the wallet.
    IF v_release THEN
        WITH released AS (
            UPDATE billing_reservations SET status = 'released', settled_at = p_now,
                   updated_at = p_now
             WHERE tenant_id = p_tenant AND id = v_res.id
        ), wallet AS (
            UPDATE billing_wallets SET reserved_balance = reserved_balance - v_res.amount,
                   updated_at = p_now
             WHERE tenant_id = p_tenant AND id = v_wallet.id
            RETURNING id, current_balance
        )
        INSERT INTO billing_ledger_transactions (
            tenant_id, id, wallet_id, transaction_type, amount, balance_after, cause_type,
            cause_id, idempotency_key, request_hash, description, metadata, created_by,
            created_at)
        SELECT p_tenant, p_ids[1], w.id, 'release', 0, w.current_balance, 'reservation',
               v_res.id, 'release:' || v_res.id::text, nullif(v_res.request_hash, ''), NULL,
               CASE WHEN v_res.amount <> 0
                    THEN jsonb_build_object('actor', 'system:voice',
                                            'reserved_change', (-v_res.amount)::text)
                    ELSE jsonb_build_object('actor', 'system:voice') END,
               NULL, p_now
          FROM wallet w;
        v_events := v_events || jsonb_build_array(jsonb_build_object(
            'id', p_ids[2], 'event_type', 'billing.reservation_released',
            'aggregate_type', 'reservation', 'aggregate_id', v_res.id::text,
            'payload', jsonb_build_object('amount', v_res.amount::text)));
    END IF;

    -- bill_call: the usage of the billed seconds, posted once.
    IF v_bill THEN
        v_seconds := coalesce(v_call.duration_seconds, 0);
        IF v_seconds <= 0 AND v_call.started_at IS NOT NULL AND v_call.ended_at IS NOT NULL THEN
            v_seconds := trunc(extract(epoch FROM v_call.ended_at - v_call.started_at))::integer;
        END IF;
        v_seconds := greatest(0, least(v_seconds, v_max));
        v_quantity := lad_round_half_even(v_seconds::numeric / 60, 6);
        v_telephony := v_call.metadata->>'telephony_provider';
        v_voice := coalesce(nullif(v_call.metadata->>'voice_provider', ''), v_call.provider);
        v_items := '[]';
        IF v_quantity > 0 THEN
            v_items := jsonb_build_array(
                jsonb_build_object('category', 'telephony_minute', 'provider', v_telephony,
                                   'model', NULL, 'quantity', v_quantity::text),
                jsonb_build_object('category', 'voice_minute', 'provider', v_voice,
                                   'model', NULL, 'quantity', v_quantity::text));
        END IF;
        v_items := v_items || jsonb_build_array(jsonb_build_object(
            'category', 'voice_call_attempt', 'provider', NULL, 'model', NULL,
            'quantity', '1'));
        SELECT * INTO v_posted FROM billing_post_usage(
            p_tenant, p_ids[3], p_ids[4], p_ids[5], p_ids[6], p_ids[7], v_key,
            encode(sha256(convert_to(format('{"call":"%s","seconds":%s}', v_call.id,
                                            v_seconds), 'UTF8')), 'hex'),
            'voice', NULL, v_items, p_now, p_now, 'system:voice', NULL);
        IF v_posted.replayed THEN
            RAISE EXCEPTION USING ERRCODE = 'LADV1',
                MESSAGE = 'the call''s usage key was taken meanwhile';
        END IF;
        v_call.cost := v_posted.total_cost;
        v_call.cost_breakdown := v_call.cost_breakdown || jsonb_build_object('charged',
            jsonb_build_object(
                'seconds', v_seconds, 'usage_event_id', p_ids[3]::text,
                'status', v_posted.status,
                'items', coalesce((SELECT jsonb_object_agg(i.value->>'category', i.value->'cost')
                                     FROM jsonb_array_elements(v_posted.usage_items) i),
                                  '{}'::jsonb)));
        v_events := v_events || jsonb_build_array(jsonb_build_object(
            'id', p_ids[8], 'event_type', 'call.billed', 'aggregate_type', 'call',
            'aggregate_id', v_call.id::text, 'payload', jsonb_build_object(
                'lead_id', v_call.lead_id::text, 'amount', v_posted.total_cost::text,
                'seconds', v_seconds,
                'adjustment', coalesce(jsonb_typeof(v_call.metadata->'unknown_reason'),
                                       'null') <> 'null')));
    END IF;

    -- _finish_entry: BatchEntry.finish, then Batch.count.
    IF v_finish THEN
        IF v_entry.status NOT IN ('cancelled', 'skipped', 'completed')
           AND NOT (v_entry.status = 'failed' AND NOT v_connected) THEN
            v_entry.last_outcome := v_call.status;
            v_entry.updated_at := p_now;
            v_entry.claim_token := NULL;
            IF v_connected THEN
                v_entry.status := 'completed';
                v_entry.next_attempt_at := NULL;
                v_entry.last_error := NULL;
            ELSIF v_retry_on ? v_call.status AND v_entry.attempts < v_attempts_max THEN
                v_entry.status := 'pending';
                v_entry.next_attempt_at := p_now + make_interval(
                    mins => v_backoff * greatest(1, v_entry.attempts));
                v_entry.last_error := format('%s: attempt %s of %s', v_call.status,
                                             v_entry.attempts, v_attempts_max);
            ELSE
                v_entry.status := 'failed';
                v_entry.next_attempt_at := NULL;
                v_entry.last_error := CASE WHEN v_call.status <> 'unknown'
                    THEN format('%s after %s attempt(s)', v_call.status, v_entry.attempts)
                    ELSE 'the call''s outcome is unknown: not called again' END;
            END IF;
            UPDATE voice_call_batch_entries SET status = v_entry.status,
                   next_attempt_at = v_entry.next_attempt_at, last_error = v_entry.last_error,
                   last_outcome = v_entry.last_outcome, claim_token = NULL,
                   updated_at = p_now
             WHERE tenant_id = p_tenant AND id = v_entry.id;
        END IF;
        UPDATE voice_call_batches b SET total_calls = c.total,
               completed_calls = c.completed, failed_calls = c.failed,
               status = CASE WHEN b.status = 'running' AND c.open = 0
                             THEN 'completed' ELSE b.status END,
               finished_at = CASE WHEN b.status = 'running' AND c.open = 0
                                  THEN p_now ELSE b.finished_at END,
               updated_at = p_now
          FROM (SELECT count(*) AS total,
                       count(*) FILTER (WHERE e.status = 'completed') AS completed,
                       count(*) FILTER (WHERE e.status IN ('failed', 'skipped')) AS failed,
                       count(*) FILTER (WHERE e.status IN ('pending', 'queued', 'calling'))
                           AS open
                  FROM voice_call_batch_entries e
                 WHERE e.tenant_id = p_tenant AND e.batch_id = v_batch.id) c
         WHERE b.tenant_id = p_tenant AND b.id = v_batch.id;
    END IF;

    -- 7. The call log row (its partition by its key), and the events: the lead's history.
    IF v_call.status <> v_was AND v_call.lead_id IS NOT NULL THEN
        v_events := v_events || jsonb_build_array(jsonb_build_object(
            'id', p_ids[9], 'event_type', 'lead.call', 'aggregate_type', 'lead',
            'aggregate_id', v_call.lead_id::text, 'payload', jsonb_build_object(
                'call_id', v_call.id::text, 'status', v_call.status,
                'duration_seconds', v_call.duration_seconds, 'cost', v_call.cost::text)));
    END IF;
    WITH updated AS (
        UPDATE voice_call_logs SET status = v_call.status,
               provider_call_id = v_call.provider_call_id, started_at = v_call.started_at,
               ended_at = v_call.ended_at, duration_seconds = v_call.duration_seconds,
               cost = v_call.cost, cost_breakdown = v_call.cost_breakdown,
               recording_url = v_call.recording_url, transcription = v_call.transcription,
               metadata = v_call.metadata, updated_at = v_call.updated_at
         WHERE tenant_id = p_tenant AND id = v_call.id AND created_at = v_call.created_at
    )
    INSERT INTO domain_events (tenant_id, id, event_type, aggregate_type, aggregate_id,
                               payload, created_at)
    SELECT p_tenant, (e->>'id')::uuid, e->>'event_type', e->>'aggregate_type',
           e->>'aggregate_id', e->'payload', p_now
      FROM jsonb_array_elements(v_events) e;
    RETURN 'applied';
END
$$
"""

#: ``CallStatus.rank``: queued 0, ringing 1, in progress 2, unknown 3, the final ones 4.
_RANK = ("CASE {0} WHEN 'queued' THEN 0 WHEN 'ringing' THEN 1 WHEN 'in_progress' THEN 2 "
         "WHEN 'unknown' THEN 3 ELSE 4 END")
APPLY_EVENT = (APPLY_EVENT.replace("{rank_of_was}", _RANK.format("v_was"))
               .replace("{rank_of_event}", _RANK.format("p_status"))
               .replace("{rank_of_call}", _RANK.format("v_call.status")))
CREATE_FUNCTIONS = [APPLY_EVENT]
DROP_FUNCTIONS = [
    "DROP FUNCTION voice_apply_event(uuid, text, text, uuid, boolean, text, bytea, text, "
    "timestamptz, timestamptz, integer, text, text, jsonb, text, boolean, timestamptz, uuid[])",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in CREATE_FUNCTIONS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_FUNCTIONS:
            op.execute(statement)
