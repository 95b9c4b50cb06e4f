"""The narrow cross-tenant paths: the worker's claim of due enrollments, and whose LinkedIn
account a Unipile webhook is about. On PostgreSQL each is a SECURITY DEFINER function
(migration 0301) that answers ids only, called by the application role with no tenant in
scope; on SQLite, which has no row-level security, the same queries run here."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lad_adapters.sql.database import translate_errors
from lad_adapters.sql.tables.campaigns import campaign_leads
from lad_adapters.sql.tables.outreach import social_linkedin_accounts
from lad_domain.campaigns.model import Claim
from lad_domain.shared.errors import ValidationFailed

e = campaign_leads
_DUE = e.c.next_run_at.is_not(None)

CLAIM_DUE = sa.text("SELECT tenant_id, id FROM campaigns_claim_due("
                    ":now, :limit, CAST(:lease AS interval), :token)")
LINKEDIN_TENANT = sa.text("SELECT outreach_linkedin_tenant(:account)")


class SqlDueWork:
    """``DueWork`` on both dialects; ``engine`` is the application's (on SQLite, LAD's
    engine, whose transactions begin with BEGIN IMMEDIATE: one claimer at a time)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID
              ) -> Sequence[Claim]:
        if lease <= timedelta(0):
            raise ValidationFailed.single("lease", "must be longer than 0")
        if limit < 1:
            return []
        with translate_errors(), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                rows = conn.execute(CLAIM_DUE, {
                    "now": now, "limit": limit, "token": token,
                    "lease": f"{lease.total_seconds()} seconds"}).all()
                claimed = [(row.tenant_id, row.id) for row in rows]
            else:
                claimed = _claim_in_python(conn, now, limit, now + lease, token)
        return [Claim(tenant_id=tenant_id, enrollment_id=enrollment_id, token=token)
                for tenant_id, enrollment_id in claimed]


def _claim_in_python(conn: Connection, now: datetime, limit: int, until: datetime,
                     token: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The function's rule, in the caller's one write transaction: the tenants with due
    work, most overdue first; each its share of ``limit`` (rounded up), then what is left
    tenant by tenant. A claimed row is due again only after ``until``."""
    tenants = [row.tenant_id for row in conn.execute(
        sa.select(e.c.tenant_id, sa.func.min(e.c.next_run_at).label("oldest"))
        .where(_DUE, e.c.next_run_at <= now).group_by(e.c.tenant_id)
        .order_by(sa.text("oldest"), e.c.tenant_id))]
    if not tenants:
        return []
    share = math.ceil(limit / len(tenants))
    claimed: list[tuple[uuid.UUID, uuid.UUID]] = []
    for first_round in (True, False):
        for tenant_id in tenants:
            left = limit - len(claimed)
            if left <= 0:
                return claimed
            ids = list(conn.execute(
                sa.select(e.c.id).where(e.c.tenant_id == tenant_id, _DUE, e.c.next_run_at <= now)
                .order_by(e.c.next_run_at, e.c.id)
                .limit(min(share, left) if first_round else left)).scalars())
            if ids:
                conn.execute(e.update().where(e.c.tenant_id == tenant_id, e.c.id.in_(ids))
                             .values(next_run_at=until, claim_token=token))
                claimed += [(tenant_id, i) for i in ids]
    return claimed


class SqlLinkedInAccountTenants:
    """``LinkedInAccountTenants`` on both dialects."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tenant_of(self, unipile_account_id: str) -> uuid.UUID | None:
        with translate_errors(), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                found = conn.execute(LINKEDIN_TENANT,
                                     {"account": unipile_account_id}).scalar_one()
            else:
                la = social_linkedin_accounts
                found = conn.execute(sa.select(la.c.tenant_id).where(
                    la.c.unipile_account_id == unipile_account_id, la.c.deleted_at.is_(None))
                    .order_by(la.c.created_at).limit(1)).scalar()
        return uuid.UUID(str(found)) if found is not None else None
