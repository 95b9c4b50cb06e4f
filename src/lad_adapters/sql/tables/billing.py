"""Billing tables: wallets, the append-only ledger, usage events, reservations, the pricing
catalog, invoices, entitlements, and the legacy per-user credits."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import (
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
from lad_adapters.sql.types import Json, Money, UnitPrice, UtcDateTime

LEDGER_TYPES = ("top_up", "usage_debit", "reservation", "capture", "release", "refund",
                "adjustment", "transfer_in", "transfer_out", "legacy_migration")
USAGE_STATUSES = ("pending", "posted", "rejected")
RESERVATION_STATUSES = ("open", "captured", "released", "expired")
INVOICE_STATUSES = ("draft", "issued", "paid", "void")
OVERAGE_POLICIES = ("charge", "refuse")

ZERO = sa.text("0")


def _key(name: str = "idempotency_key") -> sa.Column[str]:
    return sa.Column(name, sa.String(255), nullable=False,
                     comment="Unique per tenant: a retry returns the first result")


def _request_hash() -> sa.Column[str]:
    return sa.Column("request_hash", sa.String(64), nullable=True,
                     comment="Fingerprint of the request: same key, other payload = conflict")


billing_wallets = table(
    "billing_wallets", "billing", "tenant",
    tenant_key(),
    id_key(),
    user_ref("user_id", comment="NULL: the tenant's wallet; else a member's sub-wallet"),
    sa.Column("current_balance", Money(), nullable=False, server_default=ZERO,
              comment="A cache of the sum of the wallet's ledger"),
    sa.Column("reserved_balance", Money(), nullable=False, server_default=ZERO,
              comment="The sum of the wallet's open reservations"),
    sa.Column("credit_limit", Money(), nullable=True,
              comment="How far available may go below zero; NULL: not at all"),
    sa.Column("low_balance_threshold", Money(), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    *timestamps(),
    sa.CheckConstraint("reserved_balance >= 0", name="reserved_balance"),
    sa.CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="credit_limit"),
    sa.CheckConstraint("current_balance - reserved_balance + COALESCE(credit_limit, 0) >= 0",
                       name="available"),
    sa.UniqueConstraint("tenant_id", "user_id"),
    sa.Index("uq_billing_wallets_tenant_wallet", "tenant_id", unique=True,
             **where("user_id IS NULL")),
    comment="Balances: one wallet per tenant plus optional per-member sub-wallets.",
)

billing_ledger_transactions = table(
    "billing_ledger_transactions", "billing", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("wallet_id", sa.Uuid(), nullable=False),
    sa.Column("transaction_type", sa.String(32), nullable=False),
    sa.Column("amount", Money(), nullable=False,
              comment="Signed: credits positive, debits negative"),
    sa.Column("balance_after", Money(), nullable=False),
    sa.Column("cause_type", sa.String(32), nullable=False,
              comment="usage_event, reservation, invoice, operator, ..."),
    sa.Column("cause_id", sa.Uuid(), nullable=True),
    _key(),
    _request_hash(),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    user_ref("created_by"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    one_of("transaction_type", LEDGER_TYPES),
    tenant_ref(["wallet_id"], "billing_wallets", name="fk_billing_ledger_wallet"),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index("ix_billing_ledger_transactions_wallet", "tenant_id", "wallet_id", "created_at"),
    comment="The immutable ledger: rows are only ever inserted (a trigger refuses UPDATE and "
    "DELETE).",
    volume="high",
)
newest_first(billing_ledger_transactions)

billing_usage_events = table(
    "billing_usage_events", "billing", "tenant",
    tenant_key(),
    id_key(),
    user_ref("user_id"),
    sa.Column("feature_key", sa.String(64), nullable=False),
    sa.Column("usage_items", Json(), nullable=False,
              comment="[{category, provider, model, quantity, unit_price, cost}]: the price "
              "in force at occurred_at is recorded per item"),
    sa.Column("total_cost", Money(), nullable=False, server_default=ZERO),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("rejection_reason", sa.Text(), nullable=True),
    _key(),
    _request_hash(),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("posted_at", UtcDateTime(), nullable=True),
    sa.Column("wallet_id", sa.Uuid(), nullable=True),
    sa.Column("ledger_transaction_id", sa.Uuid(), nullable=True),
    *timestamps(),
    one_of("status", USAGE_STATUSES),
    sa.CheckConstraint("total_cost >= 0", name="total_cost"),
    tenant_ref(["wallet_id"], "billing_wallets", name="fk_billing_usage_events_wallet"),
    tenant_ref(["ledger_transaction_id"], "billing_ledger_transactions",
               name="fk_billing_usage_events_ledger"),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index("ix_billing_usage_events_pending", "tenant_id", "created_at",
             **where("status = 'pending'")),
    sa.Index("ix_billing_usage_events_feature", "tenant_id", "feature_key", "occurred_at"),
    sa.Index("ix_billing_usage_events_user", "tenant_id", "user_id"),
    comment="Priced usage of a feature: pending, then posted to the ledger or rejected.",
    volume="medium",
)
newest_first(billing_usage_events)

billing_reservations = table(
    "billing_reservations", "billing", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("wallet_id", sa.Uuid(), nullable=False),
    sa.Column("amount", Money(), nullable=False, comment="The estimate held"),
    sa.Column("captured_amount", Money(), nullable=False, server_default=ZERO),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("feature_key", sa.String(64), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("settled_at", UtcDateTime(), nullable=True,
              comment="When it was captured, released or expired"),
    _key(),
    _request_hash(),
    sa.Column("metadata", Json(), nullable=False, server_default=sa.text("'{}'")),
    user_ref("created_by"),
    *timestamps(),
    one_of("status", RESERVATION_STATUSES),
    sa.CheckConstraint("amount > 0", name="amount"),
    sa.CheckConstraint("captured_amount >= 0 AND captured_amount <= amount",
                       name="captured_amount"),
    tenant_ref(["wallet_id"], "billing_wallets", name="fk_billing_reservations_wallet"),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index("ix_billing_reservations_open", "tenant_id", "wallet_id",
             **where("status = 'open'")),
    sa.Index("ix_billing_reservations_expiring", "tenant_id", "expires_at",
             **where("status = 'open'")),
    comment="Money held for work whose cost is known at the end: captured, released or "
    "expired.",
)
newest_first(billing_reservations)

billing_pricing_catalog = table(
    "billing_pricing_catalog", "billing", "mixed",
    id_key(),
    sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
              nullable=True, comment="NULL: the global price; else the tenant's override"),
    sa.Column("category", sa.String(64), nullable=False,
              comment="email_send, linkedin_action, voice_minute, llm_tokens, apollo_lookup"),
    sa.Column("provider", sa.String(64), nullable=False, server_default="",
              comment="'' when the price does not depend on it"),
    sa.Column("model", sa.String(128), nullable=False, server_default="",
              comment="'' when the price does not depend on it"),
    sa.Column("unit", sa.String(32), nullable=False, comment="message, minute, 1k_tokens, ..."),
    sa.Column("unit_price", UnitPrice(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("effective_from", UtcDateTime(), nullable=False),
    sa.Column("effective_to", UtcDateTime(), nullable=True, comment="Exclusive; NULL: open"),
    *timestamps(),
    sa.CheckConstraint("unit_price >= 0", name="unit_price"),
    sa.CheckConstraint("effective_to IS NULL OR effective_to > effective_from",
                       name="effective_range"),
    sa.Index("uq_billing_pricing_catalog_global", "category", "provider", "model",
             "effective_from", unique=True, **where("tenant_id IS NULL")),
    sa.Index("uq_billing_pricing_catalog_tenant", "tenant_id", "category", "provider", "model",
             "effective_from", unique=True, **where("tenant_id IS NOT NULL")),
    comment="Unit prices by category, provider and model over time; global rows and "
    "per-tenant overrides.",
)

billing_invoices = table(
    "billing_invoices", "billing", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("invoice_number", sa.BigInteger(), nullable=False,
              comment="Sequential per tenant, without gaps"),
    sa.Column("period", sa.String(7), nullable=False, comment="The month billed: YYYY-MM"),
    sa.Column("lines", Json(), nullable=False, server_default=sa.text("'[]'"),
              comment="[{feature_key, category, quantity, amount}] from posted usage"),
    sa.Column("subtotal", Money(), nullable=False, server_default=ZERO),
    sa.Column("tax", Money(), nullable=False, server_default=ZERO),
    sa.Column("total", Money(), nullable=False, server_default=ZERO),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("issued_at", UtcDateTime(), nullable=True),
    sa.Column("paid_at", UtcDateTime(), nullable=True),
    sa.Column("voided_at", UtcDateTime(), nullable=True),
    *timestamps(),
    one_of("status", INVOICE_STATUSES),
    sa.CheckConstraint("invoice_number > 0", name="invoice_number"),
    sa.UniqueConstraint("tenant_id", "invoice_number"),
    sa.Index("uq_billing_invoices_period", "tenant_id", "period", unique=True,
             **where("status <> 'void'")),
    comment="One invoice per tenant per month, aggregated from posted usage.",
)
newest_first(billing_invoices)

billing_feature_entitlements = table(
    "billing_feature_entitlements", "billing", "tenant",
    tenant_key(),
    sa.Column("feature_key", sa.String(64), primary_key=True),
    sa.Column("monthly_quota", sa.BigInteger(), nullable=True, comment="NULL: unlimited"),
    sa.Column("overage_policy", sa.String(16), nullable=False, server_default="charge",
              comment="Beyond the quota: charge the usage or refuse it"),
    *timestamps(),
    one_of("overage_policy", OVERAGE_POLICIES),
    sa.CheckConstraint("monthly_quota IS NULL OR monthly_quota >= 0", name="monthly_quota"),
    comment="Plan quotas per tenant and feature.",
)

user_credits = table(
    "user_credits", "billing", "tenant",
    tenant_key(),
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("balance", Money(), nullable=False, server_default=ZERO),
    sa.Column("migrated_at", UtcDateTime(), nullable=True,
              comment="When migrate-legacy moved the balance into a wallet"),
    *timestamps(),
    comment="Legacy per-user credit balances (read-only since the wallets).",
)

credit_transactions = table(
    "credit_transactions", "billing", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("user_id", sa.Uuid(), nullable=False),
    sa.Column("amount", Money(), nullable=False, comment="Signed"),
    sa.Column("transaction_type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    tenant_ref(["user_id"], "user_credits", ["user_id"], name="fk_credit_transactions_credits",
               ondelete="CASCADE"),
    sa.Index("ix_credit_transactions_user", "tenant_id", "user_id", "created_at"),
    comment="Legacy audit trail of the per-user credits.",
)
