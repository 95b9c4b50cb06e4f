"""Leads: create, read, update, soft delete, restore, move stage, assign owner, and who may."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import OPERATOR, Workspace


def _fields(error: ValidationFailed) -> set[str]:
    return {e.field for e in error.errors}


def test_create_normalises_email_and_phone(ws: Workspace) -> None:
    lead = ws.lead(email="  Ada@Example.COM ", phone="+44 20 7946 0958")
    assert (lead.email, lead.phone) == ("ada@example.com", "+442079460958")


def test_create_starts_in_the_first_stage_and_status(ws: Workspace) -> None:
    lead = ws.lead()
    assert (lead.stage, lead.status) == ("new", "open")


def test_create_reports_every_bad_field_at_once(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed) as failed:
        ws.lead(email="not-an-email", phone="12", title="x" * 300, colour="red")
    assert _fields(failed.value) == {"email", "phone", "title", "colour"}


def test_an_invalid_phone_is_rejected_with_the_reason(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="phone: '020 7946 0958' has no country code"):
        ws.lead(phone="020 7946 0958")


def test_a_phone_region_reads_a_national_number(ws: Workspace) -> None:
    assert ws.lead(phone="020 7946 0958", phone_region="gb").phone == "+442079460958"


def test_a_lead_needs_something_to_identify_it(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="a lead needs"):
        ws.lad.leads().create_lead(ws.owner, {"company": "Acme"})


def test_email_is_unique_among_live_leads_case_insensitively(ws: Workspace) -> None:
    ws.lead(email="ada@example.com")
    with pytest.raises(Conflict):
        ws.lead(email="ADA@example.com")


def test_a_deleted_leads_email_can_be_used_again(ws: Workspace) -> None:
    first = ws.lead(email="ada@example.com")
    ws.lad.leads().delete_lead(ws.owner, first.id)
    assert ws.lead(email="ada@example.com").id != first.id


def test_restore_brings_a_deleted_lead_back(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.leads().delete_lead(ws.owner, lead.id)
    with pytest.raises(NotFound):
        ws.lad.leads().get_lead(ws.owner, lead.id)
    assert ws.lad.leads().restore_lead(ws.owner, lead.id).deleted_at is None


def test_restore_conflicts_when_the_email_was_taken_meanwhile(ws: Workspace) -> None:
    lead = ws.lead(email="ada@example.com")
    ws.lad.leads().delete_lead(ws.owner, lead.id)
    ws.lead(email="ada@example.com")
    with pytest.raises(Conflict):
        ws.lad.leads().restore_lead(ws.owner, lead.id)


def test_update_changes_given_fields_and_null_clears(ws: Workspace) -> None:
    lead = ws.lead(company="Acme", title="CTO")
    updated = ws.lad.leads().update_lead(ws.owner, lead.id, {"company": "Initech",
                                                             "title": None})
    assert (updated.company, updated.title, updated.first_name) == ("Initech", None, "Ada")


def test_update_cannot_leave_a_lead_unidentifiable(ws: Workspace) -> None:
    lead = ws.lead()
    with pytest.raises(ValidationFailed):
        ws.lad.leads().update_lead(ws.owner, lead.id, {"first_name": None})


def test_moving_stage_is_kept_in_history_and_raises_an_event(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.leads().move_stage(ws.owner, lead.id, "qualified")
    history = ws.lad.leads().stage_history(ws.owner, lead.id)
    assert [(c.from_stage, c.to_stage, c.changed_by) for c in history] == [
        ("new", "qualified", ws.owner.user_id)]
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        events = uow.events.list(event_type="lead.stage_changed")
    assert events[0].payload == {"from": "new", "to": "qualified"}


def test_a_stage_change_through_update_is_a_move(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.leads().update_lead(ws.owner, lead.id, {"stage": "won"})
    assert [c.to_stage for c in ws.lad.leads().stage_history(ws.owner, lead.id)] == ["won"]


def test_moving_to_an_unknown_stage_names_the_field(ws: Workspace) -> None:
    lead = ws.lead()
    with pytest.raises(ValidationFailed, match="stage: 'nowhere' is not a stage"):
        ws.lad.leads().move_stage(ws.owner, lead.id, "nowhere")


def test_the_owner_must_be_a_member(ws: Workspace) -> None:
    lead = ws.lead()
    with pytest.raises(ValidationFailed, match="owner_id"):
        ws.lad.leads().assign_owner(ws.owner, lead.id, uuid.uuid4())


def test_assign_owner_sets_a_member(ws: Workspace) -> None:
    member = ws.member()
    lead = ws.lad.leads().assign_owner(ws.owner, ws.lead().id, member.user_id)
    assert lead.owner_id == member.user_id


def test_a_viewer_reads_but_cannot_write(ws: Workspace) -> None:
    lead, viewer = ws.lead(), ws.member(Role.VIEWER)
    assert ws.lad.leads().get_lead(viewer, lead.id).id == lead.id
    with pytest.raises(PermissionDenied):
        ws.lad.leads().update_lead(viewer, lead.id, {"title": "CEO"})


def test_without_the_leads_feature_nobody_reads(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.team().set_feature(ws.owner, "leads", False)
    with pytest.raises(PermissionDenied, match="leads feature"):
        ws.lad.leads().get_lead(ws.owner, lead.id)


def test_another_tenants_lead_is_not_found(ws: Workspace) -> None:
    other = Workspace.sign_up(ws.lad, "Other")
    lead = other.lead()
    with pytest.raises(NotFound):
        ws.lad.leads().get_lead(ws.owner, lead.id)


def test_the_operator_names_the_tenant(ws: Workspace) -> None:
    lead = ws.lead()
    assert ws.lad.leads().get_lead(OPERATOR, lead.id, tenant_id=ws.tenant_id).id == lead.id


def test_list_filters_by_stage_status_owner_and_text(ws: Workspace) -> None:
    member = ws.member()
    ws.lead(first_name="Ada", company="Initech")
    target = ws.lead(first_name="Grace", company="Acme", status="follow_up",
                     owner_id=member.user_id, stage="qualified")
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(
        stage="qualified", status="follow_up", owner_id=member.user_id, text="acm"),
        PageRequest())
    assert [lead.id for lead in found.items] == [target.id]


def test_list_filters_by_created_range(ws: Workspace, clock: FixedClock) -> None:
    ws.lead()
    clock.advance(timedelta(days=2))
    late = ws.lead()
    since = clock.now() - timedelta(days=1)
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(created_from=since), PageRequest())
    assert [lead.id for lead in found.items] == [late.id]


def test_list_pages_newest_first(ws: Workspace) -> None:
    made = [ws.lead(first_name=f"L{i}") for i in range(5)]
    first = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=3))
    rest = ws.lad.leads().list_leads(ws.owner, LeadFilter(),
                                     PageRequest.parse(limit=3, cursor=first.next_cursor))
    seen = [lead.id for lead in [*first.items, *rest.items]]
    assert seen == [lead.id for lead in reversed(made)] and rest.next_cursor is None


def test_list_skips_deleted_leads(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.leads().delete_lead(ws.owner, lead.id)
    assert ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items == []
