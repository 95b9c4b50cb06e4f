"""A few rows for the schema tests, written with SQLAlchemy Core."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lad_adapters.sql.tables.billing import billing_ledger_transactions, billing_wallets
from lad_adapters.sql.tables.leads import leads
from lad_adapters.sql.tables.tenancy import tenants
from lad_adapters.sql.tables.voice import voice_call_logs

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def scope(conn: Connection, tenant_id: uuid.UUID | None = None,
          user_id: uuid.UUID | None = None) -> None:
    """What the unit of work does at the start of each transaction."""
    conn.execute(sa.text("SELECT set_config('lad.tenant_id', :t, true), "
                         "set_config('lad.user_id', :u, true)"),
                 {"t": str(tenant_id or ""), "u": str(user_id or "")})


def tenant(conn: Connection, slug: str) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    conn.execute(tenants.insert().values(id=tenant_id, name=slug, slug=slug, created_at=NOW,
                                         updated_at=NOW))
    return tenant_id


def lead(conn: Connection, tenant_id: uuid.UUID, email: str) -> uuid.UUID:
    lead_id = uuid.uuid4()
    conn.execute(leads.insert().values(tenant_id=tenant_id, id=lead_id, email=email,
                                       created_at=NOW, updated_at=NOW))
    return lead_id


def call_log(conn: Connection, tenant_id: uuid.UUID, created_at: datetime) -> uuid.UUID:
    call_id = uuid.uuid4()
    conn.execute(voice_call_logs.insert().values(tenant_id=tenant_id, id=call_id,
                                                 created_at=created_at, updated_at=created_at))
    return call_id


def ledger_entry(conn: Connection, tenant_id: uuid.UUID) -> uuid.UUID:
    wallet_id, entry_id = uuid.uuid4(), uuid.uuid4()
    conn.execute(billing_wallets.insert().values(
        tenant_id=tenant_id, id=wallet_id, current_balance=Decimal("5"), created_at=NOW,
        updated_at=NOW))
    conn.execute(billing_ledger_transactions.insert().values(
        tenant_id=tenant_id, id=entry_id, wallet_id=wallet_id, transaction_type="top_up",
        amount=Decimal("5"), balance_after=Decimal("5"), cause_type="operator",
        idempotency_key="top-up-1", created_at=NOW))
    return entry_id
