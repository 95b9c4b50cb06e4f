"""The voice context's narrow cross-tenant paths: the dialer's claim of due batch entries,
and whose call a provider's call id is. On PostgreSQL each is a SECURITY DEFINER function
(migration 0401) that answers ids only, called by the application role with no tenant in
scope; on SQLite, which has no row-level security, the same rule runs here in the caller's
one write transaction (BEGIN IMMEDIATE: one claimer at a time)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lad_adapters.sql.database import translate_errors
from lad_adapters.sql.tables.voice import (
    voice_call_batch_entries,
    voice_call_batches,
    voice_call_logs,
)
from lad_domain.shared.errors import ValidationFailed
from lad_domain.voice.model import BatchStatus, EntryStatus, batch_settings
from lad_domain.voice.ports import DialClaim, Limits

e = voice_call_batch_entries
b = voice_call_batches
cl = voice_call_logs

CLAIM_DUE = sa.text("SELECT tenant_id, id, batch_id FROM voice_claim_due(:now, :limit, "
                    "CAST(:lease AS interval), :token, :per_tenant, :total)")
CALL_TENANT = sa.text("SELECT voice_call_tenant(:provider, :call)")
_QUEUED, _CALLING, _PENDING = (str(EntryStatus.QUEUED), str(EntryStatus.CALLING),
                               str(EntryStatus.PENDING))


class SqlDialWork:
    """``DialWork`` on both dialects; ``engine`` is the application's."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID,
              limits: Limits) -> Sequence[DialClaim]:
        if lease <= timedelta(0):
            raise ValidationFailed.single("lease", "must be longer than 0")
        if limit < 1:
            return []
        with translate_errors(), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                rows = conn.execute(CLAIM_DUE, {
                    "now": now, "limit": limit, "token": token,
                    "lease": f"{lease.total_seconds()} seconds",
                    "per_tenant": limits.per_tenant, "total": limits.total}).all()
                claimed = [(row.tenant_id, row.id, row.batch_id) for row in rows]
            else:
                claimed = _claim_in_python(conn, now, limit, now + lease, token, limits)
        return [DialClaim(tenant_id=tenant_id, entry_id=entry_id, batch_id=batch_id,
                          token=token) for tenant_id, entry_id, batch_id in claimed]


Key = tuple[uuid.UUID, uuid.UUID]


def _claim_in_python(conn: Connection, now: datetime, limit: int, until: datetime,
                     token: uuid.UUID, limits: Limits
                     ) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """The function's rule: entries in flight (queued or calling, but not a queued one
    whose lease has run out) count against their batch's concurrency, their tenant's limit
    and the total. Each running batch offers its most overdue due entries, as many as its
    concurrency has room for; tenants take turns (their first, then their second, ...) in
    the order of their most overdue entry, within their own room, ``limit`` and the room
    left in all."""
    expired = sa.and_(e.c.status == _QUEUED, e.c.next_attempt_at.is_not(None),
                      e.c.next_attempt_at <= now)
    busy: Counter[Key] = Counter()
    for row in conn.execute(sa.select(e.c.tenant_id, e.c.batch_id, sa.func.count().label("n"))
                            .where(e.c.status.in_([_QUEUED, _CALLING]), sa.not_(expired))
                            .group_by(e.c.tenant_id, e.c.batch_id)):
        busy[(row.tenant_id, row.batch_id)] = int(row.n)
    busy_tenant: Counter[uuid.UUID] = Counter()
    for (tenant_id, _), count in busy.items():
        busy_tenant[tenant_id] += count
    room_in_all = min(limit, limits.total - sum(busy.values()))
    if room_in_all <= 0:
        return []
    offered: dict[uuid.UUID, list[tuple[datetime, uuid.UUID, uuid.UUID]]] = defaultdict(list)
    oldest: dict[uuid.UUID, datetime] = {}
    for batch in conn.execute(sa.select(b.c.tenant_id, b.c.id, b.c.settings)
                              .where(b.c.status == str(BatchStatus.RUNNING))):
        room = batch_settings(batch.settings).concurrency - busy[
            (batch.tenant_id, batch.id)]
        due = list(conn.execute(
            sa.select(e.c.id, e.c.next_attempt_at)
            .where(e.c.tenant_id == batch.tenant_id, e.c.batch_id == batch.id,
                   e.c.status.in_([_PENDING, _QUEUED]), e.c.next_attempt_at <= now)
            .order_by(e.c.next_attempt_at, e.c.id).limit(max(room, 1))))
        if not due:
            continue
        first = due[0].next_attempt_at
        oldest[batch.tenant_id] = min(oldest.get(batch.tenant_id, first), first)
        offered[batch.tenant_id] += [(row.next_attempt_at, row.id, batch.id)
                                     for row in due[:max(room, 0)]]
    turns = []
    for tenant_id, entries in offered.items():
        room = limits.per_tenant - busy_tenant[tenant_id]
        for turn, (_, entry_id, batch_id) in enumerate(sorted(entries)[:max(room, 0)]):
            turns.append((turn, oldest[tenant_id], tenant_id, entry_id, batch_id))
    chosen = [(tenant_id, entry_id, batch_id)
              for _, _, tenant_id, entry_id, batch_id in sorted(turns)[:room_in_all]]
    for tenant_id, entry_id, _ in chosen:
        conn.execute(e.update().where(e.c.tenant_id == tenant_id, e.c.id == entry_id)
                     .values(status=_QUEUED, next_attempt_at=until, claim_token=token))
    return chosen


class SqlCallTenants:
    """``CallTenants`` on both dialects."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tenant_of(self, provider: str, provider_call_id: str) -> uuid.UUID | None:
        with translate_errors(), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                found = conn.execute(CALL_TENANT, {"provider": provider,
                                                   "call": provider_call_id}).scalar_one()
            else:
                found = conn.execute(sa.select(cl.c.tenant_id).where(
                    cl.c.provider == provider, cl.c.provider_call_id == provider_call_id)
                    .order_by(cl.c.created_at).limit(1)).scalar()
        return uuid.UUID(str(found)) if found is not None else None
