"""SQL repositories of billing's money: wallets, the ledger and usage events; explicit row
<-> object mapping."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lad_adapters.sql.billing.bulk import insert_many
from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.repository import SqlRepository
from lad_adapters.sql.tables.billing import (
    billing_ledger_transactions as ledger,
)
from lad_adapters.sql.tables.billing import (
    billing_usage_events as usage_events,
)
from lad_adapters.sql.tables.billing import (
    billing_wallets as wallets,
)
from lad_domain.billing.model import (
    CURRENCY,
    Cause,
    LedgerEntry,
    LedgerType,
    PricedItem,
    RejectionReason,
    UsageEvent,
    UsageStatus,
    Wallet,
)
from lad_domain.billing.ports import LedgerTotals, UsageLine
from lad_domain.shared.pagination import Page, PageRequest


class Repository(SqlRepository):
    """Billing's repositories: the shared base, and upserts."""

    def _insert(self, table: sa.Table) -> Any:
        """INSERT with the dialect's ON CONFLICT clauses (both speak them)."""
        return (postgresql if self._db.dialect == "postgresql" else sqlite).insert(table)


# --- wallets ---------------------------------------------------------------------------------


def _row_to_wallet(row: sa.Row[Any]) -> Wallet:
    m = row._mapping
    return Wallet(id=m["id"], tenant_id=m["tenant_id"], user_id=m["user_id"],
                  current_balance=m["current_balance"], reserved_balance=m["reserved_balance"],
                  credit_limit=m["credit_limit"], low_balance_threshold=m["low_balance_threshold"],
                  created_at=m["created_at"], updated_at=m["updated_at"])


class SqlWalletRepository(Repository):
    def add(self, wallet: Wallet) -> None:
        self._db.execute(self._insert(wallets).values(
            tenant_id=self.tenant_id, id=wallet.id, user_id=wallet.user_id,
            current_balance=wallet.current_balance, reserved_balance=wallet.reserved_balance,
            credit_limit=wallet.credit_limit, low_balance_threshold=wallet.low_balance_threshold,
            currency=CURRENCY, created_at=wallet.created_at, updated_at=wallet.updated_at,
        ).on_conflict_do_nothing())

    def get(self, wallet_id: uuid.UUID) -> Wallet | None:
        row = self._db.execute(self._mine().where(wallets.c.id == wallet_id)).first()
        return _row_to_wallet(row) if row else None

    def get_for(self, user_id: uuid.UUID | None) -> Wallet | None:
        owner = wallets.c.user_id.is_(None) if user_id is None else wallets.c.user_id == user_id
        row = self._db.execute(self._mine().where(owner)).first()
        return _row_to_wallet(row) if row else None

    def lock(self, owners: Collection[uuid.UUID | None]) -> list[Wallet]:
        users = [o for o in owners if o is not None]
        conditions = [wallets.c.user_id.in_(users)] if users else []
        if None in owners:
            conditions.append(wallets.c.user_id.is_(None))
        if not conditions:
            return []
        query = self._mine().where(sa.or_(*conditions)).order_by(wallets.c.id).with_for_update()
        return [_row_to_wallet(row) for row in self._db.execute(query)]

    def save_balances(self, changed: Iterable[Wallet]) -> None:
        rows = [{"w_id": w.id, "w_current": w.current_balance, "w_reserved": w.reserved_balance,
                 "w_updated": w.updated_at} for w in changed]
        if rows:
            self._db.execute(_SAVE_BALANCES.where(wallets.c.tenant_id == self.tenant_id), rows)

    def update(self, wallet: Wallet) -> None:
        self._db.execute(wallets.update().where(
            wallets.c.tenant_id == self.tenant_id, wallets.c.id == wallet.id).values(
            current_balance=wallet.current_balance, reserved_balance=wallet.reserved_balance,
            credit_limit=wallet.credit_limit, low_balance_threshold=wallet.low_balance_threshold,
            updated_at=wallet.updated_at))

    def list(self) -> Sequence[Wallet]:
        query = self._mine().order_by(wallets.c.user_id.is_not(None), wallets.c.created_at,
                                      wallets.c.id)
        return [_row_to_wallet(row) for row in self._db.execute(query)]

    def _mine(self) -> sa.Select[Any]:
        return sa.select(wallets).where(wallets.c.tenant_id == self.tenant_id)


_SAVE_BALANCES = wallets.update().where(wallets.c.id == sa.bindparam("w_id")).values(
    current_balance=sa.bindparam("w_current"), reserved_balance=sa.bindparam("w_reserved"),
    updated_at=sa.bindparam("w_updated"))


# --- the ledger ------------------------------------------------------------------------------


def _row_to_entry(row: sa.Row[Any]) -> LedgerEntry:
    m = row._mapping
    extra = m["metadata"] or {}
    return LedgerEntry(id=m["id"], tenant_id=m["tenant_id"], wallet_id=m["wallet_id"],
                       type=LedgerType(m["transaction_type"]), amount=m["amount"],
                       balance_after=m["balance_after"], idempotency_key=m["idempotency_key"],
                       created_at=m["created_at"], actor=extra.get("actor", ""),
                       cause=Cause(m["cause_type"]), cause_id=m["cause_id"],
                       reserved_change=Decimal(extra.get("reserved_change", "0")),
                       fingerprint=m["request_hash"] or "", note=m["description"],
                       created_by=m["created_by"])


def entry_values(e: LedgerEntry) -> dict[str, Any]:
    extra: dict[str, str] = {"actor": e.actor}
    if e.reserved_change:
        extra["reserved_change"] = str(e.reserved_change)
    return {"tenant_id": e.tenant_id, "id": e.id, "wallet_id": e.wallet_id,
            "transaction_type": str(e.type), "amount": e.amount,
            "balance_after": e.balance_after, "cause_type": str(e.cause),
            "cause_id": e.cause_id, "idempotency_key": e.idempotency_key,
            "request_hash": e.fingerprint or None, "description": e.note, "metadata": extra,
            "created_by": e.created_by, "created_at": e.created_at}


class SqlLedgerRepository(Repository):
    """Append-only: INSERT and SELECT only (a trigger refuses UPDATE and DELETE)."""

    def add_many(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            insert_many(self._db, ledger, [entry_values(e) for e in entries])
            self._db.postings.add(str(e.type) for e in entries)

    def get_by_key(self, idempotency_key: str) -> LedgerEntry | None:
        row = self._db.execute(sa.select(ledger).where(
            ledger.c.tenant_id == self.tenant_id,
            ledger.c.idempotency_key == idempotency_key)).first()
        return _row_to_entry(row) if row else None

    def list(self, page: PageRequest, *, wallet_id: uuid.UUID | None = None
             ) -> Page[LedgerEntry]:
        query = sa.select(ledger).where(ledger.c.tenant_id == self.tenant_id)
        if wallet_id is not None:
            query = query.where(ledger.c.wallet_id == wallet_id)
        return paginate(self._db, query, created_at=ledger.c.created_at, id_column=ledger.c.id,
                        page=page, to_item=_row_to_entry)

    def totals(self) -> Mapping[uuid.UUID, LedgerTotals]:
        query = sa.select(ledger.c.wallet_id, sa.func.sum(ledger.c.amount).label("amount"),
                          sa.func.count().label("entries")).where(
            ledger.c.tenant_id == self.tenant_id).group_by(ledger.c.wallet_id)
        return {row.wallet_id: LedgerTotals(amount=row.amount, entries=row.entries)
                for row in self._db.execute(query)}


# --- usage events ----------------------------------------------------------------------------


def items_document(items: Sequence[PricedItem]) -> list[dict[str, Any]]:
    """Decimals as strings, so no price passes through a JSON float."""
    return [{"category": i.category, "provider": i.provider, "model": i.model,
             "quantity": str(i.quantity), "unit_price": str(i.unit_price),
             "cost": str(i.cost), "price_id": str(i.price_id) if i.price_id else None}
            for i in items]


def items_from_document(document: Sequence[Mapping[str, Any]]) -> tuple[PricedItem, ...]:
    return tuple(PricedItem(category=i["category"], provider=i.get("provider"),
                            model=i.get("model"), quantity=Decimal(str(i["quantity"])),
                            unit_price=Decimal(str(i["unit_price"])),
                            cost=Decimal(str(i["cost"])),
                            price_id=uuid.UUID(i["price_id"]) if i.get("price_id") else None)
                 for i in document)


def _row_to_usage_event(row: sa.Row[Any]) -> UsageEvent:
    m = row._mapping
    reason = m["rejection_reason"]
    return UsageEvent(id=m["id"], tenant_id=m["tenant_id"], feature_key=m["feature_key"],
                      items=items_from_document(m["usage_items"]), total_cost=m["total_cost"],
                      status=UsageStatus(m["status"]), idempotency_key=m["idempotency_key"],
                      fingerprint=m["request_hash"] or "", occurred_at=m["occurred_at"],
                      created_at=m["created_at"], user_id=m["user_id"],
                      wallet_id=m["wallet_id"], within_quota=m["within_quota"],
                      rejection_reason=RejectionReason(reason) if reason else None,
                      ledger_entry_id=m["ledger_transaction_id"], posted_at=m["posted_at"])


def _usage_values(e: UsageEvent, documents: dict[int, list[dict[str, Any]]]
                  ) -> dict[str, Any]:
    """``documents``: the documents made so far in this call, by the identity of the items
    (the posting rule gives a batch's events priced alike one tuple of items)."""
    document = documents.get(id(e.items))
    if document is None:
        document = documents[id(e.items)] = items_document(e.items)
    return {"tenant_id": e.tenant_id, "id": e.id, "user_id": e.user_id,
            "feature_key": e.feature_key, "usage_items": document,
            "total_cost": e.total_cost, "status": str(e.status),
            "rejection_reason": str(e.rejection_reason) if e.rejection_reason else None,
            "idempotency_key": e.idempotency_key, "request_hash": e.fingerprint,
            "occurred_at": e.occurred_at, "posted_at": e.posted_at, "wallet_id": e.wallet_id,
            "ledger_transaction_id": e.ledger_entry_id, "within_quota": e.within_quota,
            "created_at": e.created_at, "updated_at": e.posted_at or e.created_at}


class SqlUsageEventRepository(Repository):
    def add_many(self, events: Sequence[UsageEvent]) -> None:
        if events:
            documents: dict[int, list[dict[str, Any]]] = {}
            insert_many(self._db, usage_events, [_usage_values(e, documents) for e in events])

    def get(self, event_id: uuid.UUID) -> UsageEvent | None:
        row = self._db.execute(sa.select(usage_events).where(
            usage_events.c.tenant_id == self.tenant_id, usage_events.c.id == event_id)).first()
        return _row_to_usage_event(row) if row else None

    def get_by_keys(self, keys: Collection[str]) -> Mapping[str, UsageEvent]:
        if not keys:
            return {}
        wanted = list(keys)
        # PostgreSQL: one array parameter, not a placeholder per key (a batch has thousands).
        match = (usage_events.c.idempotency_key == sa.any_(sa.bindparam(
            "keys", wanted, type_=postgresql.ARRAY(sa.String()))))
        if self._db.dialect != "postgresql":
            match = usage_events.c.idempotency_key.in_(wanted)
        rows = self._db.execute(sa.select(usage_events).where(
            usage_events.c.tenant_id == self.tenant_id, match))
        return {row.idempotency_key: _row_to_usage_event(row) for row in rows}

    def posted_between(self, start: datetime, end: datetime) -> Iterable[UsageLine]:
        query = sa.select(usage_events.c.feature_key, usage_events.c.usage_items,
                          usage_events.c.within_quota).where(
            usage_events.c.tenant_id == self.tenant_id, usage_events.c.status == "posted",
            usage_events.c.created_at >= start, usage_events.c.created_at < end)
        for row in self._db.execute(query):
            yield UsageLine(row.feature_key, [
                (i["category"], Decimal(str(i["quantity"])), Decimal(str(i["cost"])))
                for i in row.usage_items], row.within_quota)

