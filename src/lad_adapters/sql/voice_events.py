"""Applying one call event on PostgreSQL in one round trip: one prepared call of
``voice_apply_event`` (migration 0402) on an autocommit connection of the engine's pool.
The function sets the tenant scope first (row-level security binds all it does) and
mirrors the domain's rule (``lad_domain.voice.services.events.apply_event``, the single
source of the rule's meaning) step for step: the receipt and its dedupe, the call locked,
its status only forward, the hold released and the usage posted once when it ends, the
entry finished and the batch recounted, the domain events. What it does not mirror it
answers "unhandled" before writing anything, and the rule runs instead."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lad_adapters.sql.billing.posting import UNPRICED
from lad_adapters.sql.database import translate_errors
from lad_domain.shared.ids import IdGenerator
from lad_domain.voice.model import CallEvent
from lad_domain.voice.ports import Applied

if TYPE_CHECKING:
    import psycopg  # the PostgreSQL driver (the `postgres` extra): imported where used

#: The SQLSTATE the function raises when the call's usage key was taken while it ran:
#: nothing was written, the rule decides.
TAKEN = "LADV1"
#: New ids the function may use: release ledger row, reservation event, usage event, its
#: ledger row, low and depleted balance events, a new wallet, call.billed, lead.call.
IDS = 9

_APPLY = (
    "SELECT voice_apply_event(%s::uuid, %s::text, %s::text, %s::uuid, %s::boolean, "
    "%s::text, %s::bytea, %s::text, %s::timestamptz, %s::timestamptz, %s::integer, "
    "%s::text, %s::text, %s::jsonb, %s::text, %s::boolean, %s::timestamptz, %s::uuid[])")
_ANSWERS = {"applied": Applied.APPLIED, "duplicate": Applied.DUPLICATE,
            "ignored": Applied.IGNORED}


class PostgresCallEventApplier:
    """``CallEventApplier`` in one call of ``voice_apply_event``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def apply(self, tenant_id: uuid.UUID, event: CallEvent, raw: bytes, now: datetime,
              ids: IdGenerator, *, receipt: bool = True) -> Applied | None:
        costs = (json.dumps({c.component: str(c.amount) for c in event.costs})
                 if event.costs else None)
        params = (tenant_id, event.provider, event.provider_call_id, event.call_id, receipt,
                  event.dedupe_key, raw, event.status.value, event.started_at,
                  event.ended_at, event.duration_seconds, event.recording_url,
                  event.transcript, costs, event.ended_reason, event.analysis is not None,
                  now, [ids.new_id() for _ in range(IDS)])
        answer = self._call(params)
        return _ANSWERS.get(answer) if answer is not None else None

    def _call(self, params: tuple[Any, ...]) -> str | None:
        """One round trip (the statement is prepared once per connection); None when the
        function declined or could not price the call (the rule then says why)."""
        import psycopg

        with translate_errors():
            pooled = self._engine.raw_connection()
        driver: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]  # the psycopg dialect's connection
        was_autocommit = driver.autocommit
        try:
            driver.autocommit = True
            row = driver.execute(_APPLY, params, prepare=True).fetchone()
        except psycopg.Error as error:
            if driver.broken:
                pooled.invalidate(error)
            if error.sqlstate in (UNPRICED, TAKEN):
                return None
            with translate_errors():
                raise sa.exc.DBAPIError.instance(_APPLY, params, error, psycopg.Error
                                                 ) from error
        finally:
            if not driver.closed:
                driver.autocommit = was_autocommit
            pooled.close()
        assert row is not None
        answer: str = row[0]
        return answer
