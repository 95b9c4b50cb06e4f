"""Notes, attachments, social data and bookings of a lead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lad_adapters.storage import InMemoryFileStorage
from lad_domain.leads.activity_model import MAX_ATTACHMENT_BYTES, MAX_BOOKING_RETRIES, BookingStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import Workspace


def test_a_note_records_its_author(ws: Workspace) -> None:
    lead = ws.lead()
    note = ws.lad.lead_activity().add_note(ws.owner, lead.id, "  called, no answer ")
    found = ws.lad.lead_activity().list_notes(ws.owner, lead.id, PageRequest()).items
    assert [(n.content, n.author_id) for n in found] == [("called, no answer",
                                                           ws.owner.user_id)]
    assert found[0].id == note.id


def test_the_author_edits_their_note(ws: Workspace) -> None:
    member = ws.member()
    note = ws.lad.lead_activity().add_note(member, ws.lead().id, "draft")
    assert ws.lad.lead_activity().edit_note(member, note.lead_id, note.id, "final").content \
        == "final"


def test_another_member_cannot_edit_or_delete_a_note(ws: Workspace) -> None:
    author, other = ws.member(), ws.member()
    note = ws.lad.lead_activity().add_note(author, ws.lead().id, "mine")
    with pytest.raises(PermissionDenied):
        ws.lad.lead_activity().edit_note(other, note.lead_id, note.id, "yours")
    with pytest.raises(PermissionDenied):
        ws.lad.lead_activity().delete_note(other, note.lead_id, note.id)


def test_an_admin_deletes_anyones_note(ws: Workspace) -> None:
    note = ws.lad.lead_activity().add_note(ws.member(), ws.lead().id, "mine")
    ws.lad.lead_activity().delete_note(ws.member(Role.ADMIN), note.lead_id, note.id)
    assert ws.lad.lead_activity().list_notes(ws.owner, note.lead_id, PageRequest()).items == []


def test_an_empty_note_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="content"):
        ws.lad.lead_activity().add_note(ws.owner, ws.lead().id, "   ")


def _attach(ws: Workspace, content: bytes = b"%PDF-1.7", **kw: str):  # type: ignore[no-untyped-def]
    args = {"file_name": "proposal.pdf", "content_type": "application/pdf"} | kw
    return ws.lad.lead_activity().add_attachment(ws.owner, ws.lead().id, content=content,
                                                 **args)


def test_an_attachment_keeps_metadata_and_bytes(ws: Workspace) -> None:
    attachment = _attach(ws)
    found, content = ws.lad.lead_activity().attachment_content(
        ws.owner, attachment.lead_id, attachment.id)
    assert (found.file_name, found.size_bytes, content) == ("proposal.pdf", 8, b"%PDF-1.7")


def test_the_file_name_never_becomes_the_storage_key(ws: Workspace) -> None:
    attachment = _attach(ws, file_name="../../etc/passwd")
    assert attachment.file_name == "passwd"
    assert ".." not in attachment.storage_key and "passwd" not in attachment.storage_key


def test_a_disallowed_content_type_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="content_type"):
        _attach(ws, content_type="application/x-msdownload")


def test_an_oversized_attachment_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="file: is larger"):
        _attach(ws, content=b"x" * (MAX_ATTACHMENT_BYTES + 1))


def test_deleting_an_attachment_removes_its_bytes(ws: Workspace) -> None:
    attachment = _attach(ws)
    ws.lad.lead_activity().delete_attachment(ws.owner, attachment.lead_id, attachment.id)
    storage: InMemoryFileStorage = ws.lad.file_storage()
    assert storage.files == {}
    with pytest.raises(NotFound):
        ws.lad.lead_activity().attachment_content(ws.owner, attachment.lead_id, attachment.id)


def test_social_data_is_merged(ws: Workspace) -> None:
    lead, activity = ws.lead(), ws.lad.lead_activity()
    activity.merge_social(ws.owner, lead.id, {"linkedin": {"url": "u", "followers": 10}})
    merged = activity.merge_social(ws.owner, lead.id, {"linkedin": {"followers": None},
                                                       "x": "@ada"})
    assert merged.data == {"linkedin": {"url": "u"}, "x": "@ada"}
    assert activity.social(ws.owner, lead.id).data == merged.data


def test_social_data_must_be_an_object(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="data"):
        ws.lad.lead_activity().merge_social(ws.owner, ws.lead().id, ["x"])  # type: ignore[arg-type]


def test_a_booking_must_be_in_the_future(ws: Workspace, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed, match="scheduled_at: must be in the future"):
        ws.lad.lead_activity().schedule_booking(ws.owner, ws.lead().id, clock.now())


def test_a_failed_attempt_is_retried_after_a_doubling_backoff(
        ws: Workspace, clock: FixedClock) -> None:
    activity = ws.lad.lead_activity()
    booking = activity.schedule_booking(ws.owner, ws.lead().id, clock.now() + timedelta(hours=1))
    first = activity.record_booking_failure(ws.owner, booking.lead_id, booking.id, error="busy")
    second = activity.record_booking_failure(ws.owner, booking.lead_id, booking.id)
    assert (first.retry_count, first.next_attempt_at) == (1, clock.now() + timedelta(minutes=15))
    assert (second.retry_count, second.next_attempt_at) == (2, clock.now() + timedelta(minutes=30))
    assert second.status is BookingStatus.SCHEDULED


def test_a_booking_fails_after_the_last_retry(ws: Workspace, clock: FixedClock) -> None:
    activity = ws.lad.lead_activity()
    booking = activity.schedule_booking(ws.owner, ws.lead().id, clock.now() + timedelta(hours=1))
    for _ in range(MAX_BOOKING_RETRIES + 1):
        booking = activity.record_booking_failure(ws.owner, booking.lead_id, booking.id)
    assert (booking.status, booking.retry_count) == (BookingStatus.FAILED, MAX_BOOKING_RETRIES)


def test_a_completed_booking_cannot_change(ws: Workspace, clock: FixedClock) -> None:
    activity = ws.lad.lead_activity()
    booking = activity.schedule_booking(ws.owner, ws.lead().id, clock.now() + timedelta(hours=1))
    activity.complete_booking(ws.owner, booking.lead_id, booking.id)
    with pytest.raises(Conflict, match="already completed"):
        activity.cancel_booking(ws.owner, booking.lead_id, booking.id)


def test_bookings_list_by_status(ws: Workspace, clock: FixedClock) -> None:
    activity, lead = ws.lad.lead_activity(), ws.lead()
    kept = activity.schedule_booking(ws.owner, lead.id, clock.now() + timedelta(hours=1))
    gone = activity.schedule_booking(ws.owner, lead.id, clock.now() + timedelta(hours=2))
    activity.cancel_booking(ws.owner, lead.id, gone.id)
    found = activity.list_bookings(ws.owner, lead.id, PageRequest(),
                                   status=BookingStatus.SCHEDULED)
    assert [b.id for b in found.items] == [kept.id]


def test_activity_on_a_deleted_lead_is_not_found(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.leads().delete_lead(ws.owner, lead.id)
    with pytest.raises(NotFound):
        ws.lad.lead_activity().add_note(ws.owner, lead.id, "hello")
