"""The pipeline: a default for new tenants, stages added, renamed, reordered and deleted
(moving their leads in the same step), statuses likewise."""

from __future__ import annotations

import pytest

from lad_domain.leads.model import DEFAULT_STAGES, DEFAULT_STATUSES
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import Workspace


def test_a_new_tenant_starts_with_the_default_pipeline(ws: Workspace) -> None:
    pipeline = ws.lad.pipeline().pipeline(ws.owner)
    assert [(s.key, s.label) for s in pipeline.stages] == list(DEFAULT_STAGES)
    assert [(s.key, s.label) for s in pipeline.statuses] == list(DEFAULT_STATUSES)


def test_an_added_stage_goes_last(ws: Workspace) -> None:
    ws.lad.pipeline().add_stage(ws.owner, key="nurture", label="Nurture")
    assert ws.lad.pipeline().pipeline(ws.owner).stages[-1].key == "nurture"


def test_a_stage_key_is_unique(ws: Workspace) -> None:
    with pytest.raises(Conflict):
        ws.lad.pipeline().add_stage(ws.owner, key="new", label="Again")


def test_a_stage_key_is_a_machine_key(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="key"):
        ws.lad.pipeline().add_stage(ws.owner, key="Not A Key", label="x")


def test_renaming_keeps_the_key_and_the_leads(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.pipeline().rename_stage(ws.owner, "new", "Fresh")
    assert ws.lad.pipeline().pipeline(ws.owner).stage("new").label == "Fresh"
    assert ws.lad.leads().get_lead(ws.owner, lead.id).stage == "new"


def test_reordering_renumbers_the_stages(ws: Workspace) -> None:
    keys = [key for key, _ in reversed(DEFAULT_STAGES)]
    ws.lad.pipeline().reorder_stages(ws.owner, keys)
    stages = ws.lad.pipeline().pipeline(ws.owner).stages
    assert [s.key for s in stages] == keys and [s.display_order for s in stages] == list(
        range(len(keys)))


def test_reordering_must_name_every_stage_once(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="keys"):
        ws.lad.pipeline().reorder_stages(ws.owner, ["new", "won"])


def test_deleting_a_stage_with_leads_is_refused(ws: Workspace) -> None:
    ws.lead(stage="qualified")
    with pytest.raises(Conflict, match="move_to"):
        ws.lad.pipeline().delete_stage(ws.owner, "qualified")
    assert ws.lad.pipeline().pipeline(ws.owner).stage("qualified")


def test_deleting_a_stage_moves_its_leads_in_the_same_step(ws: Workspace) -> None:
    lead = ws.lead(stage="qualified")
    assert ws.lad.pipeline().delete_stage(ws.owner, "qualified", move_to="meeting") == 1
    assert ws.lad.leads().get_lead(ws.owner, lead.id).stage == "meeting"
    history = ws.lad.leads().stage_history(ws.owner, lead.id)
    assert [(c.from_stage, c.to_stage) for c in history] == [("qualified", "meeting")]


def test_leads_moved_by_a_stage_deletion_each_record_a_stage_change(ws: Workspace) -> None:
    lead = ws.lead(stage="qualified")
    ws.lad.pipeline().delete_stage(ws.owner, "qualified", move_to="meeting")
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        events = uow.events.list(event_type="lead.stage_changed")
    assert [(e.aggregate_id, e.payload["to"]) for e in events] == [(str(lead.id), "meeting")]


def test_a_deleted_lead_moves_with_its_stage_but_is_not_counted(ws: Workspace) -> None:
    ws.lad.leads().delete_lead(ws.owner, ws.lead(stage="qualified").id)
    assert ws.lad.pipeline().delete_stage(ws.owner, "qualified") == 0


def test_deleting_renumbers_the_remaining_stages(ws: Workspace) -> None:
    ws.lad.pipeline().delete_stage(ws.owner, "contacted")
    stages = ws.lad.pipeline().pipeline(ws.owner).stages
    assert [s.display_order for s in stages] == list(range(len(DEFAULT_STAGES) - 1))


def test_moving_to_the_deleted_stage_itself_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="move_to"):
        ws.lad.pipeline().delete_stage(ws.owner, "new", move_to="new")


def test_deleting_an_unknown_stage_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFound):
        ws.lad.pipeline().delete_stage(ws.owner, "nowhere")


def test_the_last_stage_cannot_be_deleted(ws: Workspace) -> None:
    for key, _ in DEFAULT_STAGES[1:]:
        ws.lad.pipeline().delete_stage(ws.owner, key)
    with pytest.raises(Conflict, match="last stage"):
        ws.lad.pipeline().delete_stage(ws.owner, "new")


def test_a_member_cannot_change_the_pipeline(ws: Workspace) -> None:
    member = ws.member(Role.MEMBER)
    with pytest.raises(PermissionDenied):
        ws.lad.pipeline().add_stage(member, key="x", label="X")


def test_an_admin_changes_the_pipeline(ws: Workspace) -> None:
    admin = ws.member(Role.ADMIN)
    assert ws.lad.pipeline().add_stage(admin, key="x", label="X").key == "x"


def test_statuses_are_added_renamed_and_deleted(ws: Workspace) -> None:
    pipeline = ws.lad.pipeline()
    pipeline.add_status(ws.owner, key="vip", label="VIP")
    pipeline.rename_status(ws.owner, "vip", "Very important")
    assert pipeline.pipeline(ws.owner).status("vip").label == "Very important"
    pipeline.delete_status(ws.owner, "vip")
    assert "vip" not in [s.key for s in pipeline.pipeline(ws.owner).statuses]


def test_deleting_a_status_in_use_needs_move_to(ws: Workspace) -> None:
    lead = ws.lead(status="follow_up")
    with pytest.raises(Conflict):
        ws.lad.pipeline().delete_status(ws.owner, "follow_up")
    ws.lad.pipeline().delete_status(ws.owner, "follow_up", move_to="open")
    assert ws.lad.leads().get_lead(ws.owner, lead.id).status == "open"


def test_a_key_the_api_s_paths_use_is_reserved(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="'order' is reserved"):
        ws.lad.pipeline().add_stage(ws.owner, key="order", label="Order")
    with pytest.raises(ValidationFailed, match="'order' is reserved"):
        ws.lad.pipeline().add_status(ws.owner, key="order", label="Order")
