"""voice: numbers' capabilities, batches' settings, what the dialer keeps on an entry, the
calls' final statuses and webhook lookups, and the narrow paths the dialer and webhooks use

Revision ID: 0401_voice
Revises: 0301_campaigns_and_outreach
Create Date: 2026-12-01 14:00:00.000000

Both dialects: voice_agent_numbers get ``capabilities`` (a JSON list, ``["voice"]``);
voice_call_batches get ``settings`` (a JSON object: calling window, concurrency, retries,
the per-lead daily cap); voice_call_batch_entries get ``decision`` (the last dial-time
decision, JSON), ``last_call_id``, ``last_outcome`` and ``claim_token``, and an index of the
entries in flight (queued or calling: what the concurrency limits count);
voice_call_logs' statuses also allow ``voicemail`` and ``unknown``, a lead's calls are
indexed newest first, and a provider's call id is indexed across tenants (the webhook's
tenant lookup) and within one.

voice_call_logs is range-partitioned by month on PostgreSQL: its CHECK and its indexes are
changed on the parent, which PostgreSQL carries to every partition (a partition made later
by ``lad db partitions`` copies the parent's constraints and gets its indexes on attach).

PostgreSQL: two SECURITY DEFINER functions with a fixed search_path, EXECUTE revoked from
PUBLIC (``lad db app-role`` grants it to the application role), each marking its
transaction (``lad.narrow_path``) for a policy of the owner role alone, as in 0301:
``voice_claim_due`` claims due entries across tenants within the limits and returns ids
only; ``voice_call_tenant`` answers whose call a provider's call id is.

Both dialects: one aggregate's domain events are indexed newest first (a lead's history
shows its calls). The price of a call's per-attempt minimum (``voice_call_attempt``, as in
``lad_adapters/catalog/pricing.json``) joins the default catalog, keyed as 0201 keys its rows.

Frozen: the functions' SQL and the price are written out here as they are at this revision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import lad_adapters.sql.types as lad_types

revision = "0401_voice"
down_revision = "0301_campaigns_and_outreach"
branch_labels = None
depends_on = None

NARROW_POLICY = "narrow_path"


def _check(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


OLD_CALL_STATUSES = ("queued", "ringing", "in_progress", "completed", "failed", "no_answer",
                     "busy", "cancelled")
CALL_STATUSES = ("queued", "ringing", "in_progress", "completed", "voicemail", "failed",
                 "no_answer", "busy", "cancelled", "unknown")
#: Downgrade: the new statuses as the old CHECK allows them.
OLD_CALL = {"voicemail": "completed", "unknown": "failed"}
ENTRY_COLUMNS = ("claim_token", "last_outcome", "last_call_id", "decision")

#: An arbitrary, fixed advisory-lock key: one claim at a time (the limits count the entries
#: in flight, which a concurrent claim would change between its count and its update).
CLAIM_LOCK = 7_301_843_401

CLAIM_DUE = """
CREATE FUNCTION voice_claim_due(p_now timestamptz, p_limit integer, p_lease interval,
                                p_token uuid, p_per_tenant integer, p_total integer)
RETURNS TABLE (tenant_id uuid, id uuid, batch_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
#variable_conflict use_column
BEGIN
    IF p_lease <= interval '0' THEN
        RAISE EXCEPTION 'a claim needs a lease longer than 0' USING ERRCODE = '22023';
    END IF;
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    PERFORM set_config('lad.narrow_path', 'voice_claim_due', true);
    PERFORM pg_advisory_xact_lock(7301843401);  -- CLAIM_LOCK
    RETURN QUERY
    WITH busy AS (
        -- In flight: queued or calling, except a queued entry whose lease has run out.
        SELECT e.tenant_id, e.batch_id, count(*) AS n FROM voice_call_batch_entries e
         WHERE e.status IN ('queued', 'calling')
           AND NOT (e.status = 'queued' AND e.next_attempt_at IS NOT NULL
                    AND e.next_attempt_at <= p_now)
         GROUP BY e.tenant_id, e.batch_id),
    running AS (
        SELECT b.tenant_id, b.id AS batch_id,
               greatest(0, COALESCE((b.settings ->> 'concurrency')::integer, 5)
                           - COALESCE(u.n, 0)) AS room
          FROM voice_call_batches b
          LEFT JOIN busy u ON u.tenant_id = b.tenant_id AND u.batch_id = b.id
         WHERE b.status = 'running'),
    oldest AS (
        -- Tenants take turns in the order of their most overdue entry.
        SELECT r.tenant_id, min(earliest.at) AS at
          FROM running r CROSS JOIN LATERAL (
               SELECT e.next_attempt_at AS at FROM voice_call_batch_entries e
                WHERE e.tenant_id = r.tenant_id AND e.batch_id = r.batch_id
                  AND e.status IN ('pending', 'queued') AND e.next_attempt_at <= p_now
                ORDER BY e.next_attempt_at LIMIT 1) earliest
         GROUP BY r.tenant_id),
    due AS (
        -- Each batch's most overdue entries, as many as its concurrency has room for.
        SELECT r.tenant_id, d.id, r.batch_id, d.next_attempt_at,
               row_number() OVER (PARTITION BY r.tenant_id
                                  ORDER BY d.next_attempt_at, d.id) AS turn
          FROM running r CROSS JOIN LATERAL (
               SELECT e.id, e.next_attempt_at FROM voice_call_batch_entries e
                WHERE e.tenant_id = r.tenant_id AND e.batch_id = r.batch_id
                  AND e.status IN ('pending', 'queued') AND e.next_attempt_at <= p_now
                ORDER BY e.next_attempt_at, e.id LIMIT r.room) d),
    chosen AS (
        -- Turn by turn (each tenant's first, then each one's second, ...), within the
        -- tenant's room, the claim's limit and the room left in all.
        SELECT d.tenant_id, d.id, d.turn, o.at FROM due d
          JOIN oldest o ON o.tenant_id = d.tenant_id
          LEFT JOIN (SELECT u.tenant_id, sum(u.n) AS n FROM busy u GROUP BY u.tenant_id) t
                 ON t.tenant_id = d.tenant_id
         WHERE d.turn <= p_per_tenant - COALESCE(t.n, 0)
         ORDER BY d.turn, o.at, d.tenant_id
         LIMIT greatest(0, least(p_limit, p_total - (SELECT COALESCE(sum(u.n), 0)
                                                       FROM busy u)))),
    held AS (
        SELECT e.tenant_id, e.id FROM voice_call_batch_entries e
          JOIN chosen c ON c.tenant_id = e.tenant_id AND c.id = e.id
         WHERE e.status IN ('pending', 'queued') AND e.next_attempt_at <= p_now
           FOR UPDATE OF e SKIP LOCKED),
    claimed AS (
        UPDATE voice_call_batch_entries AS e
           SET status = 'queued', next_attempt_at = p_now + p_lease, claim_token = p_token
          FROM held WHERE e.tenant_id = held.tenant_id AND e.id = held.id
        RETURNING e.tenant_id, e.id, e.batch_id)
    SELECT k.tenant_id, k.id, k.batch_id FROM claimed k
      JOIN chosen c ON c.tenant_id = k.tenant_id AND c.id = k.id
     ORDER BY c.turn, c.at, c.tenant_id;
    PERFORM set_config('lad.narrow_path', '', true);
END
$$
"""

CALL_TENANT = """
CREATE FUNCTION voice_call_tenant(p_provider text, p_provider_call_id text) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema} AS $$
DECLARE
    v_tenant uuid;
BEGIN
    PERFORM set_config('lad.narrow_path', 'voice_call_tenant', true);
    SELECT c.tenant_id INTO v_tenant FROM voice_call_logs c
     WHERE c.provider = p_provider AND c.provider_call_id = p_provider_call_id
     ORDER BY c.created_at LIMIT 1;
    PERFORM set_config('lad.narrow_path', '', true);
    RETURN v_tenant;
END
$$
"""

FUNCTIONS = {
    "voice_claim_due(timestamptz, integer, interval, uuid, integer, integer)": CLAIM_DUE,
    "voice_call_tenant(text, text)": CALL_TENANT,
}
#: The owner's way through row-level security, only while a narrow path runs.
NARROW_POLICIES = {
    "voice_call_batch_entries":
        "CREATE POLICY narrow_path ON voice_call_batch_entries TO CURRENT_USER "
        "USING (current_setting('lad.narrow_path', true) = 'voice_claim_due')",
    "voice_call_batches":
        "CREATE POLICY narrow_path ON voice_call_batches FOR SELECT TO CURRENT_USER "
        "USING (current_setting('lad.narrow_path', true) = 'voice_claim_due')",
    "voice_call_logs":
        "CREATE POLICY narrow_path ON voice_call_logs FOR SELECT TO CURRENT_USER "
        "USING (current_setting('lad.narrow_path', true) = 'voice_call_tenant')",
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


#: 0201's namespace and epoch, so the row's id is what 0201 would have given it.
CATALOG_NAMESPACE = uuid.UUID("5f0d7a3e-9a3c-4a8e-9d55-3b1c2f6a0b01")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
#: Written as 0201 writes its rows: no provider or model is an empty string there.
ATTEMPT_PRICE = {
    "id": uuid.uuid5(CATALOG_NAMESPACE, f"voice_call_attempt///{EPOCH}"),
    "tenant_id": None, "category": "voice_call_attempt", "provider": "", "model": "",
    "unit": "call", "unit_price": Decimal("0.0100"), "currency": "USD",
    "effective_from": EPOCH, "effective_to": None, "created_at": EPOCH, "updated_at": EPOCH}
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


def upgrade() -> None:
    op.get_bind().execute(_catalog.insert(), [ATTEMPT_PRICE])
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index("ix_domain_events_aggregate",
                              ["tenant_id", "aggregate_type", "aggregate_id",
                               sa.literal_column("created_at DESC")], unique=False)
    with op.batch_alter_table("voice_agent_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "capabilities", lad_types.JsonDocument(), server_default=sa.text("'[\"voice\"]'"),
            nullable=False, comment="What the number is used for: voice, sms"))
    with op.batch_alter_table("voice_call_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "settings", lad_types.JsonDocument(), server_default=sa.text("'{}'"),
            nullable=False, comment="Calling window (each lead's local time), concurrency, "
            "retries and the per-lead daily cap"))
    with op.batch_alter_table("voice_call_batch_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "decision", lad_types.JsonDocument(), nullable=True,
            comment="The last dial-time decision: dial, wait or refuse, why, and the lead's "
            "local time then"))
        batch_op.add_column(sa.Column("last_call_id", sa.Uuid(), nullable=True,
                                      comment="The entry's latest call"))
        batch_op.add_column(sa.Column("last_outcome", sa.String(length=16), nullable=True,
                                      comment="The final status of the entry's latest call"))
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True,
                                      comment="The claim of the dialer that holds it"))
        batch_op.create_index("ix_voice_call_batch_entries_in_flight",
                              ["tenant_id", "batch_id", "next_attempt_at"], unique=False,
                              postgresql_where=sa.text("status IN ('queued', 'calling')"),
                              sqlite_where=sa.text("status IN ('queued', 'calling')"))
    with op.batch_alter_table("voice_call_logs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_voice_call_logs_status"), type_="check")
        batch_op.drop_index("ix_voice_call_logs_lead")
    with op.batch_alter_table("voice_call_logs", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_voice_call_logs_status"),
                                         _check("status", CALL_STATUSES))
        batch_op.create_index("ix_voice_call_logs_lead", ["tenant_id", "lead_id", "created_at"],
                              unique=False)
        batch_op.create_index("ix_voice_call_logs_provider_call",
                              ["provider", "provider_call_id"], unique=False,
                              postgresql_where=sa.text("provider_call_id IS NOT NULL"),
                              sqlite_where=sa.text("provider_call_id IS NOT NULL"))
        batch_op.create_index("ix_voice_call_logs_tenant_provider_call",
                              ["tenant_id", "provider", "provider_call_id"], unique=False,
                              postgresql_where=sa.text("provider_call_id IS NOT NULL"),
                              sqlite_where=sa.text("provider_call_id IS NOT NULL"))
    if _is_postgres():
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


def downgrade() -> None:
    op.execute(_catalog.delete().where(_catalog.c.id == ATTEMPT_PRICE["id"]))
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_domain_events_aggregate")
    if _is_postgres():
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION {signature}")
        for table in NARROW_POLICIES:
            op.execute(f"DROP POLICY {NARROW_POLICY} ON {table}")
    with op.batch_alter_table("voice_call_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_call_logs_tenant_provider_call")
        batch_op.drop_index("ix_voice_call_logs_provider_call")
        batch_op.drop_index("ix_voice_call_logs_lead")
        batch_op.drop_constraint(op.f("ck_voice_call_logs_status"), type_="check")
    for new, old in OLD_CALL.items():
        op.execute(sa.text("UPDATE voice_call_logs SET status = :old WHERE status = :new"
                           ).bindparams(old=old, new=new))
    with op.batch_alter_table("voice_call_logs", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_voice_call_logs_status"),
                                         _check("status", OLD_CALL_STATUSES))
        batch_op.create_index("ix_voice_call_logs_lead", ["tenant_id", "lead_id"], unique=False)
    with op.batch_alter_table("voice_call_batch_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_call_batch_entries_in_flight")
        for name in ENTRY_COLUMNS:
            batch_op.drop_column(name)
    with op.batch_alter_table("voice_call_batches", schema=None) as batch_op:
        batch_op.drop_column("settings")
    with op.batch_alter_table("voice_agent_numbers", schema=None) as batch_op:
        batch_op.drop_column("capabilities")
