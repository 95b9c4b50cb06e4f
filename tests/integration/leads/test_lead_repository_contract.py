"""The leads repositories: one contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from lad_domain.leads.model import Lead, LeadFilter, StageChange
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def _lead(ws: Workspace, clock: FixedClock, **fields: object) -> Lead:
    values: dict[str, object] = {"id": uuid.uuid4(), "tenant_id": ws.tenant_id, "stage": "new",
                                 "status": "open", "created_at": clock.now(),
                                 "updated_at": clock.now()} | fields
    return Lead(**values)  # type: ignore[arg-type]


def _add(ws: Workspace, lead: Lead) -> None:
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        uow.leads.add(lead)
        uow.commit()


def test_a_lead_round_trips_every_field(ws: Workspace, clock: FixedClock) -> None:
    lead = _lead(ws, clock, first_name="Ada", last_name="L", email="ada@x.io",
                 phone="+442079460958", company="Acme", title="CTO", owner_id=ws.owner.user_id,
                 source="api", custom_fields={"tier": 1, "tags": ["a"]},
                 created_by=ws.owner.user_id)
    _add(ws, lead)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.leads.get(lead.id) == lead


def test_email_is_unique_among_live_leads(ws: Workspace, clock: FixedClock) -> None:
    _add(ws, _lead(ws, clock, email="ada@x.io"))
    with pytest.raises(Conflict, match="a lead with this email already exists"):
        _add(ws, _lead(ws, clock, email="ada@x.io"))


def test_a_soft_deleted_lead_frees_its_email(ws: Workspace, clock: FixedClock) -> None:
    _add(ws, _lead(ws, clock, email="ada@x.io", deleted_at=clock.now()))
    _add(ws, _lead(ws, clock, email="ada@x.io"))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.leads.find_live_by_email("ADA@X.IO") is not None


def test_a_lead_needs_a_stage_of_its_pipeline(ws: Workspace, clock: FixedClock) -> None:
    with pytest.raises(Conflict):
        _add(ws, _lead(ws, clock, stage="nowhere"))


def test_uncommitted_work_is_rolled_back(ws: Workspace, clock: FixedClock) -> None:
    lead = _lead(ws, clock)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        uow.leads.add(lead)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert uow.leads.get(lead.id) is None


def test_another_tenant_sees_nothing(ws: Workspace, clock: FixedClock) -> None:
    lead = _lead(ws, clock)
    _add(ws, lead)
    other = Workspace.sign_up(ws.lad, "Other")
    with ws.lad.unit_of_work()(other.tenant_id) as uow:
        assert uow.leads.get(lead.id) is None
        assert uow.leads.list(LeadFilter(), PageRequest()).items == []


def test_text_search_takes_wildcards_literally(ws: Workspace, clock: FixedClock) -> None:
    _add(ws, _lead(ws, clock, company="100% Cotton"))
    _add(ws, _lead(ws, clock, company="1000 Cotton"))
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        found = uow.leads.list(LeadFilter(text="0% c"), PageRequest()).items
    assert [lead.company for lead in found] == ["100% Cotton"]


def test_list_pages_by_created_at_then_id(ws: Workspace, clock: FixedClock) -> None:
    leads = [_lead(ws, clock, first_name=str(i), created_at=clock.now() + timedelta(
        seconds=i // 2)) for i in range(5)]
    for lead in leads:
        _add(ws, lead)
    expected = sorted(leads, key=lambda x: (x.created_at, x.id), reverse=True)
    seen, page = [], PageRequest(limit=2)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        while True:
            found = uow.leads.list(LeadFilter(), page)
            seen.extend(found.items)
            if found.next_cursor is None:
                break
            page = PageRequest.parse(limit=2, cursor=found.next_cursor)
    assert [x.id for x in seen] == [x.id for x in expected]


def test_moving_a_stage_moves_every_lead_in_it(ws: Workspace, clock: FixedClock) -> None:
    live, gone = _lead(ws, clock, stage="won"), _lead(ws, clock, stage="won",
                                                      deleted_at=clock.now())
    for lead in (live, gone):
        _add(ws, lead)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert (uow.leads.count_live(stage="won"), list(uow.leads.ids_in_stage("won"))) == (
            1, [live.id])
        assert uow.leads.move_stage("won", "lost", clock.now()) == 2
        assert uow.leads.count_live(stage="lost") == 1


def test_history_lists_changes_oldest_first(ws: Workspace, clock: FixedClock) -> None:
    lead = _lead(ws, clock)
    _add(ws, lead)
    changes = [StageChange(id=uuid.uuid4(), lead_id=lead.id, from_stage=a, to_stage=b,
                           changed_at=clock.now() + timedelta(minutes=i), changed_by=None)
               for i, (a, b) in enumerate([("new", "won"), ("won", "lost")])]
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        uow.lead_history.add_many(list(reversed(changes)))
        uow.commit()
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        assert list(uow.lead_history.list_for(lead.id)) == changes
