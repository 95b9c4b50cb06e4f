"""Posting usage on SQL: one event in one round trip on PostgreSQL (a stored function),
batches and SQLite by the domain's rule over the repositories."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, cast

import sqlalchemy as sa

from lad_adapters.sql.billing.bulk import insert_many
from lad_adapters.sql.billing.ledger import items_from_document
from lad_adapters.sql.database import Db, translate_errors
from lad_adapters.sql.tables.tenancy import domain_events
from lad_domain.billing.model import LedgerType, RejectionReason, UsageEvent, UsageStatus
from lad_domain.billing.ports import (
    PostingContext,
    PostingUnitOfWork,
    UsagePostings,
    UsageRequest,
)
from lad_domain.billing.posting import RepositoryUsagePostings, replay
from lad_domain.shared.errors import FieldError, ValidationFailed

#: The SQLSTATE the function raises for items without a price; its message lists their
#: indexes.
UNPRICED = "LADP1"


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
    writes many rows per statement, and sends them in pipeline mode: the server stores one
    part of the batch while Python decides the next. The contract tests hold both paths (and
    memory and SQLite) to the same results."""

    def __init__(self, uow: PostingUnitOfWork, db: Db, tenant_id: uuid.UUID | None) -> None:
        self._uow = uow
        self._db = db
        self._tenant_id = tenant_id
        self._shared = RepositoryUsagePostings(uow, overlap=lambda: pipelined(db))

    def post(self, requests: Sequence[UsageRequest], context: PostingContext
             ) -> list[UsageEvent]:
        if len(requests) != 1:
            posted = self._shared.post(requests, context)
            self._store_outbox()
            return posted
        [request] = requests
        ids = [context.ids.new_id() for _ in range(5)]  # event, ledger, low, depleted, wallet
        items = requested_items(request)
        try:
            with translate_errors():
                row = self._db.connection.exec_driver_sql(_CALL, (
                    self._tenant_id, *ids, request.idempotency_key, request.fingerprint,
                    request.feature_key, request.user_id, items, request.occurred_at,
                    context.now, context.actor, context.user_id)).one()
        except sa.exc.DBAPIError as error:
            import psycopg

            if isinstance(error.orig, psycopg.Error) and error.orig.sqlstate == UNPRICED:
                raise unpriced(request, str(error.orig.diag.message_primary)) from None
            raise
        if row.replayed:
            first = self._uow.usage_events.get_by_keys([request.idempotency_key])
            return [replay(first[request.idempotency_key], request)]
        assert self._tenant_id is not None
        if row.ledger_transaction_id is not None:
            self._db.postings.add([str(LedgerType.USAGE_DEBIT)])
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


def requested_items(request: UsageRequest) -> str:
    """The request's items as the posting functions take them (a JSON document; each
    quantity an exact decimal string)."""
    return json.dumps([{"category": i.category, "provider": i.provider, "model": i.model,
                        "quantity": str(i.quantity)} for i in request.items])


def usage_postings(uow: PostingUnitOfWork, db: Db, tenant_id: uuid.UUID | None
                   ) -> UsagePostings:
    """The posting port of a SQL unit of work, by dialect."""
    if db.dialect == "postgresql":
        return PostgresUsagePostings(uow, db, tenant_id)
    return RepositoryUsagePostings(uow)


@contextlib.contextmanager
def pipelined(db: Db) -> Iterator[None]:
    """Writes sent without waiting for the server (psycopg's pipeline mode; no read may run
    inside): the server works on them while Python goes on. An error of the server arrives
    at the next statement or at the end, and is translated as every driver error is."""
    import psycopg  # the PostgreSQL driver (the `postgres` extra): only here

    driver = cast(psycopg.Connection[Any], db.connection.connection.driver_connection)
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as error:
        with translate_errors():
            raise sa.exc.DBAPIError.instance(None, None, error, psycopg.Error) from error


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


def unpriced(request: UsageRequest, indexes: str) -> ValidationFailed:
    errors = []
    for index in (int(i) for i in indexes.split(",")):
        item = request.items[index]
        errors.append(FieldError(f"usage_items[{index}]", "no price in the catalog for " + "/".join(
            part or "*" for part in item.price_key)))
    return ValidationFailed(errors)
