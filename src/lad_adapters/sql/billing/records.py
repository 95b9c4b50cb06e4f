"""SQL repositories of billing's records: reservations, invoices (with their gapless
counter) and the legacy per-user credits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.billing.ledger import Repository
from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.tables.billing import billing_invoices as invoices
from lad_adapters.sql.tables.billing import billing_reservations as reservations
from lad_adapters.sql.tables.billing import credit_transactions, user_credits
from lad_adapters.sql.tables.billing_counters import billing_invoice_counters as counters
from lad_domain.billing.invoice import Invoice, InvoiceLine, InvoiceStatus, Period
from lad_domain.billing.model import (
    CURRENCY,
    LegacyCredit,
    LegacyTransaction,
    Reservation,
    ReservationStatus,
)
from lad_domain.shared.money import ZERO
from lad_domain.shared.pagination import Page, PageRequest


def _row_to_reservation(row: sa.Row[Any]) -> Reservation:
    m = row._mapping
    return Reservation(id=m["id"], tenant_id=m["tenant_id"], wallet_id=m["wallet_id"],
                       feature_key=m["feature_key"] or "", amount=m["amount"],
                       status=ReservationStatus(m["status"]),
                       idempotency_key=m["idempotency_key"],
                       fingerprint=m["request_hash"] or "", created_at=m["created_at"],
                       expires_at=m["expires_at"], captured_amount=m["captured_amount"],
                       closed_at=m["settled_at"], created_by=m["created_by"])


class SqlReservationRepository(Repository):
    def add(self, r: Reservation) -> None:
        self._db.execute(reservations.insert().values(
            tenant_id=self.tenant_id, id=r.id, wallet_id=r.wallet_id, amount=r.amount,
            captured_amount=r.captured_amount, status=str(r.status), feature_key=r.feature_key,
            expires_at=r.expires_at, settled_at=r.closed_at, idempotency_key=r.idempotency_key,
            request_hash=r.fingerprint, created_by=r.created_by, created_at=r.created_at,
            updated_at=r.created_at))

    def get(self, reservation_id: uuid.UUID, *, lock: bool = False) -> Reservation | None:
        query = self._mine().where(reservations.c.id == reservation_id)
        row = self._db.execute(query.with_for_update() if lock else query).first()
        return _row_to_reservation(row) if row else None

    def get_by_key(self, idempotency_key: str) -> Reservation | None:
        row = self._db.execute(self._mine().where(
            reservations.c.idempotency_key == idempotency_key)).first()
        return _row_to_reservation(row) if row else None

    def update(self, r: Reservation) -> None:
        self._db.execute(reservations.update().where(
            reservations.c.tenant_id == self.tenant_id, reservations.c.id == r.id).values(
            status=str(r.status), captured_amount=r.captured_amount, settled_at=r.closed_at,
            updated_at=r.closed_at or r.created_at))

    def open_totals(self) -> Mapping[uuid.UUID, Decimal]:
        rows = self._db.execute(sa.select(
            reservations.c.wallet_id, sa.func.sum(reservations.c.amount).label("held")).where(
            reservations.c.tenant_id == self.tenant_id, reservations.c.status == "open",
        ).group_by(reservations.c.wallet_id))
        return {row.wallet_id: row.held for row in rows}

    def expired(self, now: datetime, *, limit: int) -> Sequence[Reservation]:
        rows = self._db.execute(self._mine().where(
            reservations.c.status == "open", reservations.c.expires_at <= now,
        ).order_by(reservations.c.expires_at, reservations.c.id).limit(limit))
        return [_row_to_reservation(row) for row in rows]

    def captured_between(self, start: datetime, end: datetime
                         ) -> Sequence[tuple[str, Decimal]]:
        rows = self._db.execute(sa.select(
            reservations.c.feature_key, reservations.c.captured_amount).where(
            reservations.c.tenant_id == self.tenant_id, reservations.c.status == "captured",
            reservations.c.captured_amount > 0, reservations.c.settled_at >= start,
            reservations.c.settled_at < end))
        return [(row.feature_key or "", row.captured_amount) for row in rows]

    def _mine(self) -> sa.Select[Any]:
        return sa.select(reservations).where(reservations.c.tenant_id == self.tenant_id)


def _row_to_invoice(row: sa.Row[Any]) -> Invoice:
    m = row._mapping
    lines = tuple(InvoiceLine(feature_key=line["feature_key"], category=line["category"],
                              quantity=Decimal(str(line["quantity"])),
                              amount=Decimal(str(line["amount"]))) for line in m["lines"])
    return Invoice(id=m["id"], tenant_id=m["tenant_id"], invoice_number=m["invoice_number"],
                   period=Period.parse(m["period"]), status=InvoiceStatus(m["status"]),
                   lines=lines, total=m["total"], created_at=m["created_at"],
                   updated_at=m["updated_at"], issued_at=m["issued_at"], paid_at=m["paid_at"],
                   voided_at=m["voided_at"])


class SqlInvoiceRepository(Repository):
    def add(self, i: Invoice) -> None:
        self._db.execute(invoices.insert().values(
            tenant_id=self.tenant_id, id=i.id, invoice_number=i.invoice_number,
            period=str(i.period), lines=[
                {"feature_key": line.feature_key, "category": line.category,
                 "quantity": str(line.quantity), "amount": str(line.amount)}
                for line in i.lines],
            subtotal=i.total, tax=ZERO, total=i.total, currency=CURRENCY, status=str(i.status),
            created_at=i.created_at, updated_at=i.updated_at))

    def get(self, invoice_id: uuid.UUID) -> Invoice | None:
        row = self._db.execute(self._mine().where(invoices.c.id == invoice_id)).first()
        return _row_to_invoice(row) if row else None

    def get_for_period(self, period: Period) -> Invoice | None:
        row = self._db.execute(self._mine().where(
            invoices.c.period == str(period), invoices.c.status != "void")).first()
        return _row_to_invoice(row) if row else None

    def update(self, i: Invoice) -> None:
        self._db.execute(invoices.update().where(
            invoices.c.tenant_id == self.tenant_id, invoices.c.id == i.id).values(
            status=str(i.status), issued_at=i.issued_at, paid_at=i.paid_at,
            voided_at=i.voided_at, updated_at=i.updated_at))

    def list(self, page: PageRequest) -> Page[Invoice]:
        return paginate(self._db, self._mine(), created_at=invoices.c.created_at,
                        id_column=invoices.c.id, page=page, to_item=_row_to_invoice)

    def next_number(self, at: datetime) -> int:
        # The upsert takes the counter row's lock until the transaction ends.
        insert = self._insert(counters).values(tenant_id=self.tenant_id, last_number=1,
                                               updated_at=at)
        self._db.execute(insert.on_conflict_do_update(
            index_elements=["tenant_id"], set_={"last_number": counters.c.last_number + 1,
                                                "updated_at": insert.excluded.updated_at}))
        number: int = self._db.execute(sa.select(counters.c.last_number).where(
            counters.c.tenant_id == self.tenant_id)).scalar_one()
        return number

    def _mine(self) -> sa.Select[Any]:
        return sa.select(invoices).where(invoices.c.tenant_id == self.tenant_id)


class SqlLegacyCreditRepository(Repository):
    """The legacy tables, read as they were; ``record`` is what the legacy system did."""

    def balances(self) -> Sequence[LegacyCredit]:
        rows = self._db.execute(sa.select(user_credits).where(
            user_credits.c.tenant_id == self.tenant_id).order_by(user_credits.c.user_id))
        return [LegacyCredit(tenant_id=r.tenant_id, user_id=r.user_id, balance=r.balance,
                             updated_at=r.updated_at, migrated_at=r.migrated_at) for r in rows]

    def transactions(self, page: PageRequest, *, user_id: uuid.UUID | None = None
                     ) -> Page[LegacyTransaction]:
        query = sa.select(credit_transactions).where(
            credit_transactions.c.tenant_id == self.tenant_id)
        if user_id is not None:
            query = query.where(credit_transactions.c.user_id == user_id)
        return paginate(self._db, query, created_at=credit_transactions.c.created_at,
                        id_column=credit_transactions.c.id, page=page, to_item=lambda r: (
                            LegacyTransaction(id=r.id, tenant_id=r.tenant_id, user_id=r.user_id,
                                              amount=r.amount,
                                              transaction_type=r.transaction_type,
                                              created_at=r.created_at,
                                              description=r.description)))

    def record(self, t: LegacyTransaction) -> LegacyCredit:
        insert = self._insert(user_credits).values(
            tenant_id=self.tenant_id, user_id=t.user_id, balance=t.amount,
            created_at=t.created_at, updated_at=t.created_at)
        self._db.execute(insert.on_conflict_do_update(
            index_elements=["tenant_id", "user_id"],
            set_={"balance": user_credits.c.balance + insert.excluded.balance,
                  "updated_at": insert.excluded.updated_at}))
        self._db.execute(credit_transactions.insert().values(
            tenant_id=self.tenant_id, id=t.id, user_id=t.user_id, amount=t.amount,
            transaction_type=t.transaction_type, description=t.description,
            created_at=t.created_at))
        return next(c for c in self.balances() if c.user_id == t.user_id)

    def mark_migrated(self, user_id: uuid.UUID, at: datetime) -> None:
        self._db.execute(user_credits.update().where(
            user_credits.c.tenant_id == self.tenant_id, user_credits.c.user_id == user_id,
        ).values(migrated_at=at, updated_at=at))
