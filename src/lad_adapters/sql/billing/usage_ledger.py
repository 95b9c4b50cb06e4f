"""Recording one usage event on PostgreSQL in one round trip: one prepared call of
``billing_record_usage`` on an autocommit connection of the engine's pool. The function
sets the tenant scope first (row-level security binds all it does), reads what the access
policy decides on and posts only when that passes the demand derived from the policy
(``lad_domain.billing.usage_ledger``); the call is its own transaction. No unit of work and
no SQLAlchemy statement is built: the driver's own prepared statement, and a tuple back."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lad_adapters.metrics import count_postings
from lad_adapters.sql.billing.ledger import items_from_document
from lad_adapters.sql.billing.posting import UNPRICED, requested_items, unpriced
from lad_adapters.sql.database import translate_errors
from lad_domain.billing.model import LedgerType, RejectionReason, UsageEvent, UsageStatus
from lad_domain.billing.ports import PostingContext, UsageLedger, UsageRequest
from lad_domain.billing.posting import replay
from lad_domain.billing.usage_ledger import FoundAccess, refusal, usage_access
from lad_domain.shared.access import AccessPolicy
from lad_domain.shared.principal import Principal, Role

if TYPE_CHECKING:
    import psycopg  # the PostgreSQL driver (the `postgres` extra): imported where used

_RECORD = (
    "SELECT * FROM billing_record_usage(%s::uuid, %s::uuid, %s::boolean, %s::uuid, "
    "%s::text[], %s::uuid, %s::uuid, %s::uuid, %s::uuid, %s::uuid, %s::text, %s::text, "
    "%s::text, %s::uuid, %s::jsonb, %s::timestamptz, %s::timestamptz, %s::text, %s::uuid)")


class PostgresUsageLedger:
    """``UsageLedger`` in one call; ``ordinary`` records what the call's demand cannot
    express (the policy then decides through the scope's unit of work)."""

    def __init__(self, engine: Engine, policy: AccessPolicy, ordinary: UsageLedger) -> None:
        self._engine = engine
        self._policy = policy
        self._ordinary = ordinary

    def record(self, principal: Principal, request: UsageRequest, context: PostingContext,
               *, tenant_id: uuid.UUID | None) -> UsageEvent:
        access = usage_access(self._policy, principal, tenant_id)
        if access is None:
            return self._ordinary.record(principal, request, context, tenant_id=tenant_id)
        new_id = context.ids.new_id
        row = self._call((
            access.tenant_id, principal.user_id, access.live_tenant, access.acting_user,
            sorted(access.roles), new_id(), new_id(), new_id(), new_id(), new_id(),
            request.idempotency_key, request.fingerprint, request.feature_key,
            request.user_id, requested_items(request), request.occurred_at, context.now,
            context.actor, context.user_id), request)
        tenant_live, acting_role, user_role, replayed = row[:4]
        if replayed is None:
            roles = {user: Role(role) for user, role in [(access.acting_user, acting_role),
                                                         (request.user_id, user_role)]
                     if user is not None and role is not None}
            raise refusal(self._policy, principal,
                          FoundAccess(access.tenant_id, tenant_live, roles), request.user_id)
        event = _event(access.tenant_id, request, row)
        if replayed:
            return replay(event, request)
        if event.ledger_entry_id is not None:
            count_postings([str(LedgerType.USAGE_DEBIT)])  # the call was its own transaction
        return event

    def _call(self, params: tuple[Any, ...], request: UsageRequest) -> tuple[Any, ...]:
        """One round trip: the statement is prepared once per connection."""
        import psycopg

        with translate_errors():
            pooled = self._engine.raw_connection()
        driver: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]  # the psycopg dialect's connection
        was_autocommit = driver.autocommit
        try:
            driver.autocommit = True
            row: tuple[Any, ...] | None = driver.execute(_RECORD, params, prepare=True
                                                         ).fetchone()
        except psycopg.Error as error:
            if driver.broken:
                pooled.invalidate(error)
            if error.sqlstate == UNPRICED:
                raise unpriced(request, str(error.diag.message_primary)) from None
            with translate_errors():
                raise sa.exc.DBAPIError.instance(_RECORD, params, error, psycopg.Error
                                                 ) from error
        finally:
            if not driver.closed:
                driver.autocommit = was_autocommit
            pooled.close()
        assert row is not None
        return row


def _event(tenant_id: uuid.UUID, request: UsageRequest, row: tuple[Any, ...]) -> UsageEvent:
    """The event the call posted, or the first one of a replayed key (its own fields)."""
    (event_id, user_id, feature_key, items, total_cost, status, reason, fingerprint,
     occurred_at, created_at, posted_at, wallet_id, ledger_id, within) = row[4:]
    return UsageEvent(
        id=event_id, tenant_id=tenant_id, feature_key=feature_key,
        items=items_from_document(items), total_cost=total_cost,
        idempotency_key=request.idempotency_key, fingerprint=fingerprint or "",
        occurred_at=occurred_at.astimezone(UTC), created_at=created_at.astimezone(UTC),
        status=UsageStatus(status), user_id=user_id, wallet_id=wallet_id, within_quota=within,
        rejection_reason=RejectionReason(reason) if reason else None,
        ledger_entry_id=ledger_id, posted_at=posted_at.astimezone(UTC) if posted_at else None)
