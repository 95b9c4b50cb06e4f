"""Routes of what hangs off a lead: notes, attachments, social data and bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Response, UploadFile, status
from pydantic import BaseModel, Field

from lad_domain.leads.activity_model import (
    MAX_ATTACHMENT_BYTES,
    MAX_NOTE_LENGTH,
    Attachment,
    Booking,
    BookingStatus,
    Note,
    SocialProfile,
)
from lad_domain.leads.services.activity import ActivityService
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.schemas import NOT_BLANK, Instant, PageOut, Strict

router = APIRouter(prefix="/v1/leads/{lead_id}", tags=["lead activity"])


Activity = Annotated[ActivityService, Depends(provided(lambda c: c.lead_activity()))]


class NoteIn(Strict):
    content: str = Field(max_length=MAX_NOTE_LENGTH, json_schema_extra=NOT_BLANK)


class NoteOut(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    content: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: Note) -> NoteOut:
        return cls(id=n.id, author_id=n.author_id, content=n.content, created_at=n.created_at,
                   updated_at=n.updated_at)


class AttachmentOut(BaseModel):
    id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    checksum_sha256: str
    uploaded_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(id=a.id, file_name=a.file_name, content_type=a.content_type,
                   size_bytes=a.size_bytes, checksum_sha256=a.checksum_sha256,
                   uploaded_by=a.uploaded_by, created_at=a.created_at)


class SocialOut(BaseModel):
    data: dict[str, Any]
    updated_at: datetime

    @classmethod
    def of(cls, s: SocialProfile) -> SocialOut:
        return cls(data=s.data, updated_at=s.updated_at)


class BookingIn(Strict):
    scheduled_at: Instant = Field(description="In the future, ISO 8601 with a time zone")
    notes: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)


class RescheduleIn(Strict):
    scheduled_at: Instant


class FailureIn(Strict):
    error: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)


class BookingOut(BaseModel):
    id: uuid.UUID
    scheduled_at: datetime
    status: BookingStatus
    retry_count: int
    next_attempt_at: datetime | None
    last_error: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, b: Booking) -> BookingOut:
        return cls(id=b.id, scheduled_at=b.scheduled_at, status=b.status,
                   retry_count=b.retry_count, next_attempt_at=b.next_attempt_at,
                   last_error=b.last_error, notes=b.notes, created_at=b.created_at,
                   updated_at=b.updated_at)


# --- notes ------------------------------------------------------------------------------


@router.get("/notes")
def list_notes(lead_id: uuid.UUID, principal: CurrentPrincipal, activity: Activity,
               page: Paging) -> PageOut[NoteOut]:
    found = activity.list_notes(principal, lead_id, page)
    return PageOut(items=[NoteOut.of(n) for n in found.items], next_cursor=found.next_cursor)


@router.post("/notes", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/leads/{lead_id}/notes/{id}"))
def add_note(lead_id: uuid.UUID, body: NoteIn, principal: CurrentPrincipal,
             activity: Activity) -> NoteOut:
    return NoteOut.of(activity.add_note(principal, lead_id, body.content))


@router.patch("/notes/{note_id}")
def edit_note(lead_id: uuid.UUID, note_id: uuid.UUID, body: NoteIn,
              principal: CurrentPrincipal, activity: Activity) -> NoteOut:
    """The note's author or an admin."""
    return NoteOut.of(activity.edit_note(principal, lead_id, note_id, body.content))


@router.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_note(lead_id: uuid.UUID, note_id: uuid.UUID, principal: CurrentPrincipal,
                activity: Activity) -> Response:
    activity.delete_note(principal, lead_id, note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- attachments ------------------------------------------------------------------------


@router.get("/attachments")
def list_attachments(lead_id: uuid.UUID, principal: CurrentPrincipal, activity: Activity,
                     page: Paging) -> PageOut[AttachmentOut]:
    found = activity.list_attachments(principal, lead_id, page)
    return PageOut(items=[AttachmentOut.of(a) for a in found.items],
                   next_cursor=found.next_cursor)


@router.post("/attachments", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/leads/{lead_id}/attachments/{id}"))
def add_attachment(lead_id: uuid.UUID, principal: CurrentPrincipal, activity: Activity,
                   file: Annotated[UploadFile, File(description="At most 10 MiB: PDF, "
                                                    "images, text, office documents")]
                   ) -> AttachmentOut:
    # One byte past the limit is enough for the use case to refuse it.
    content = file.file.read(MAX_ATTACHMENT_BYTES + 1)
    return AttachmentOut.of(activity.add_attachment(
        principal, lead_id, file_name=file.filename or "", content=content,
        content_type=file.content_type or "application/octet-stream"))


@router.get("/attachments/{attachment_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_attachment(lead_id: uuid.UUID, attachment_id: uuid.UUID,
                        principal: CurrentPrincipal, activity: Activity) -> Response:
    attachment, content = activity.attachment_content(principal, lead_id, attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.file_name)}"
    return Response(content, media_type=attachment.content_type,
                    headers={"Content-Disposition": disposition,
                             "X-Content-Type-Options": "nosniff"})


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attachment(lead_id: uuid.UUID, attachment_id: uuid.UUID,
                      principal: CurrentPrincipal, activity: Activity) -> Response:
    activity.delete_attachment(principal, lead_id, attachment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- social -----------------------------------------------------------------------------


@router.get("/social")
def get_social(lead_id: uuid.UUID, principal: CurrentPrincipal, activity: Activity
               ) -> SocialOut:
    return SocialOut.of(activity.social(principal, lead_id))


@router.patch("/social")
def merge_social(lead_id: uuid.UUID, body: dict[str, Any], principal: CurrentPrincipal,
                 activity: Activity) -> SocialOut:
    """JSON Merge Patch (RFC 7386) into the lead's social document: null removes a key."""
    return SocialOut.of(activity.merge_social(principal, lead_id, body))


# --- bookings ---------------------------------------------------------------------------


@router.get("/bookings")
def list_bookings(lead_id: uuid.UUID, principal: CurrentPrincipal, activity: Activity,
                  page: Paging, status: BookingStatus | None = None) -> PageOut[BookingOut]:
    found = activity.list_bookings(principal, lead_id, page, status=status)
    return PageOut(items=[BookingOut.of(b) for b in found.items],
                   next_cursor=found.next_cursor)


@router.post("/bookings", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/leads/{lead_id}/bookings/{id}"))
def schedule_booking(lead_id: uuid.UUID, body: BookingIn, principal: CurrentPrincipal,
                     activity: Activity) -> BookingOut:
    return BookingOut.of(activity.schedule_booking(principal, lead_id, body.scheduled_at,
                                                   notes=body.notes))


@router.patch("/bookings/{booking_id}")
def reschedule_booking(lead_id: uuid.UUID, booking_id: uuid.UUID, body: RescheduleIn,
                       principal: CurrentPrincipal, activity: Activity) -> BookingOut:
    return BookingOut.of(activity.reschedule_booking(principal, lead_id, booking_id,
                                                     body.scheduled_at))


@router.post("/bookings/{booking_id}/complete")
def complete_booking(lead_id: uuid.UUID, booking_id: uuid.UUID, principal: CurrentPrincipal,
                     activity: Activity) -> BookingOut:
    return BookingOut.of(activity.complete_booking(principal, lead_id, booking_id))


@router.post("/bookings/{booking_id}/cancel")
def cancel_booking(lead_id: uuid.UUID, booking_id: uuid.UUID, principal: CurrentPrincipal,
                   activity: Activity) -> BookingOut:
    return BookingOut.of(activity.cancel_booking(principal, lead_id, booking_id))


@router.post("/bookings/{booking_id}/fail")
def fail_booking(lead_id: uuid.UUID, booking_id: uuid.UUID, body: FailureIn,
                 principal: CurrentPrincipal, activity: Activity) -> BookingOut:
    """The attempt failed: retried after a backoff, or failed after the last retry."""
    return BookingOut.of(activity.record_booking_failure(principal, lead_id, booking_id,
                                                         error=body.error))
