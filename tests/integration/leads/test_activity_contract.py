"""Notes, attachments, social data and bookings through the use cases, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lad_domain.leads.activity_model import BookingStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import NotFound
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import Workspace


def test_notes_are_added_edited_listed_and_deleted(ws: Workspace) -> None:
    activity, lead = ws.lad.lead_activity(), ws.lead()
    note = activity.add_note(ws.owner, lead.id, "first")
    activity.edit_note(ws.owner, lead.id, note.id, "edited")
    assert [n.content for n in activity.list_notes(ws.owner, lead.id, PageRequest()).items] == [
        "edited"]
    activity.delete_note(ws.member(Role.ADMIN), lead.id, note.id)
    assert activity.list_notes(ws.owner, lead.id, PageRequest()).items == []


def test_an_attachment_round_trips_and_is_deleted(ws: Workspace) -> None:
    activity, lead = ws.lad.lead_activity(), ws.lead()
    added = activity.add_attachment(ws.owner, lead.id, file_name="a/../note.txt",
                                    content_type="text/plain; charset=utf-8", content=b"hello")
    listed = activity.list_attachments(ws.owner, lead.id, PageRequest()).items
    assert listed == [added] and added.content_type == "text/plain"
    assert activity.attachment_content(ws.owner, lead.id, added.id) == (added, b"hello")
    activity.delete_attachment(ws.owner, lead.id, added.id)
    with pytest.raises(NotFound):
        activity.attachment_content(ws.owner, lead.id, added.id)


def test_social_data_is_stored_and_merged(ws: Workspace) -> None:
    activity, lead = ws.lad.lead_activity(), ws.lead()
    activity.merge_social(ws.owner, lead.id, {"linkedin": {"url": "u"}, "n": 1})
    activity.merge_social(ws.owner, lead.id, {"linkedin": {"headline": "CTO"}, "n": None})
    assert activity.social(ws.owner, lead.id).data == {"linkedin": {"url": "u",
                                                                    "headline": "CTO"}}


def test_bookings_keep_their_retries(ws: Workspace, clock: FixedClock) -> None:
    activity, lead = ws.lad.lead_activity(), ws.lead()
    booking = activity.schedule_booking(ws.owner, lead.id, clock.now() + timedelta(days=1),
                                        notes="intro call")
    activity.record_booking_failure(ws.owner, lead.id, booking.id, error="no answer")
    found = activity.list_bookings(ws.owner, lead.id, PageRequest(),
                                   status=BookingStatus.SCHEDULED).items
    assert [(b.retry_count, b.last_error, b.notes) for b in found] == [(1, "no answer",
                                                                        "intro call")]
    assert found[0].next_attempt_at == clock.now() + timedelta(minutes=15)


def test_deleting_a_stage_moves_leads_and_records_history(ws: Workspace) -> None:
    lead = ws.lead(stage="qualified")
    assert ws.lad.pipeline().delete_stage(ws.owner, "qualified", move_to="won") == 1
    assert ws.lad.leads().get_lead(ws.owner, lead.id).stage == "won"
    assert [c.to_stage for c in ws.lad.leads().stage_history(ws.owner, lead.id)] == ["won"]
    assert "qualified" not in [s.key for s in ws.lad.pipeline().pipeline(ws.owner).stages]


def test_reordering_and_renaming_stages_persist(ws: Workspace) -> None:
    keys = [s.key for s in ws.lad.pipeline().pipeline(ws.owner).stages]
    ws.lad.pipeline().reorder_stages(ws.owner, list(reversed(keys)))
    ws.lad.pipeline().rename_stage(ws.owner, "won", "Closed won")
    stages = ws.lad.pipeline().pipeline(ws.owner).stages
    assert [s.key for s in stages] == list(reversed(keys))
    assert ws.lad.pipeline().pipeline(ws.owner).stage("won").label == "Closed won"
