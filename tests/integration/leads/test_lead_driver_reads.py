"""On PostgreSQL a lead and a page of leads are read through the driver (prepared, rows by
position); they are the same leads SQLAlchemy's path reads, every field set."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lad_adapters.sql.leads.leads import row_to_lead
from lad_adapters.sql.tables.leads import leads
from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def _lead(ws: Workspace, clock: FixedClock, n: int, **fields: object) -> Lead:
    at = clock.now() + timedelta(seconds=n, microseconds=123457)
    return Lead(id=uuid.uuid4(), tenant_id=ws.tenant_id, stage="new", status="open",
                created_at=at, updated_at=at + timedelta(minutes=1), first_name=f"Ada{n}",
                last_name="Lovelace", email=f"ada{n}@x.io", phone="+442079460958",
                company="Acme", title="CTO", owner_id=ws.owner.user_id, source="api",
                custom_fields={"tier": n, "tags": ["a", "é"], "score": 1.5, "none": None},
                created_by=ws.owner.user_id, **fields)  # type: ignore[arg-type]  # the test's own fields


def _by_sqlalchemy(uow: object, lead_id: uuid.UUID) -> Lead:
    db = uow.db  # type: ignore[attr-defined]  # a SQL unit of work
    row = db.execute(sa.select(leads).where(leads.c.id == lead_id)).first()
    return row_to_lead(row)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_lead_and_a_page_read_the_same_values_as_sqlalchemy(
        ws: Workspace, clock: FixedClock) -> None:
    deleted = _lead(ws, clock, 0, deleted_at=clock.now() + timedelta(hours=1))
    live = [_lead(ws, clock, n) for n in range(1, 4)]
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        for lead in [deleted, *live]:
            uow.leads.add(lead)
        uow.commit()
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        for lead in [deleted, *live]:
            read = uow.leads.get(lead.id)
            assert read == _by_sqlalchemy(uow, lead.id) == lead
            assert read is not None and read.created_at.utcoffset() == timedelta(0)
        first = uow.leads.list(LeadFilter(text="ada", stage="new"), PageRequest(limit=2))
        rest = uow.leads.list(LeadFilter(text="ada", stage="new"),
                              PageRequest(limit=2, cursor=first.next_cursor))
        assert [*first.items, *rest.items] == [_by_sqlalchemy(uow, lead.id)
                                               for lead in reversed(live)]
        assert rest.next_cursor is None
