"""Use cases on what hangs off a lead: notes, attachments, social data and bookings."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from lad_domain.leads.activity_model import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    Booking,
    BookingStatus,
    Note,
    SocialProfile,
    attachment_content_type,
    booking_text,
    display_file_name,
    future_time,
    note_content,
)
from lad_domain.leads.events import (
    AttachmentAdded,
    AttachmentDeleted,
    BookingAttemptFailed,
    BookingCancelled,
    BookingChanged,
    BookingCompleted,
    BookingRescheduled,
    BookingScheduled,
    NoteAdded,
    NoteDeleted,
    NoteEdited,
    SocialUpdated,
)
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.ports import FileStorage, LeadsUnitOfWork
from lad_domain.leads.services.leads import LeadsScope, live_lead
from lad_domain.shared.errors import NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import tenant_of


@attrs.define
class ActivityService:
    scope: LeadsScope
    storage: FileStorage

    # --- notes ----------------------------------------------------------------------------

    def add_note(self, principal: Principal, lead_id: uuid.UUID, content: str, *,
                 tenant_id: uuid.UUID | None = None) -> Note:
        content = note_content(content)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            live_lead(uow, lead_id)
            note = Note(id=self.scope.ids.new_id(), lead_id=lead_id, author_id=principal.user_id,
                        content=content, created_at=now, updated_at=now)
            uow.lead_notes.add(note)
            self.scope.record(uow, NoteAdded(aggregate_id=lead_id, note_id=note.id))
            uow.commit()
        return note

    def list_notes(self, principal: Principal, lead_id: uuid.UUID, page: PageRequest, *,
                   tenant_id: uuid.UUID | None = None) -> Page[Note]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            return uow.lead_notes.list(lead_id, page)

    def edit_note(self, principal: Principal, lead_id: uuid.UUID, note_id: uuid.UUID,
                  content: str, *, tenant_id: uuid.UUID | None = None) -> Note:
        content = note_content(content)
        with self.scope.open(principal, tenant_id) as uow:
            note = self._own_note(uow, principal, lead_id, note_id)
            note.edit(content, self.scope.clock.now())
            uow.lead_notes.update(note)
            self.scope.record(uow, NoteEdited(aggregate_id=lead_id, note_id=note_id))
            uow.commit()
        return note

    def delete_note(self, principal: Principal, lead_id: uuid.UUID, note_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self._own_note(uow, principal, lead_id, note_id)
            uow.lead_notes.remove(lead_id, note_id, self.scope.clock.now())
            self.scope.record(uow, NoteDeleted(aggregate_id=lead_id, note_id=note_id))
            uow.commit()

    def _own_note(self, uow: LeadsUnitOfWork, principal: Principal, lead_id: uuid.UUID,
                  note_id: uuid.UUID) -> Note:
        """The note, if the principal wrote it or is an admin (or the operator)."""
        role = self.scope.require(uow, principal, LeadPermission.WRITE)
        live_lead(uow, lead_id)
        note = uow.lead_notes.get(lead_id, note_id)
        if note is None:
            raise NotFound("note not found")
        is_author = principal.user_id is not None and note.author_id == principal.user_id
        if not (is_author or role is None or role.rank >= Role.ADMIN.rank):
            raise PermissionDenied("only the note's author or an admin may change it")
        return note

    # --- attachments ----------------------------------------------------------------------

    def add_attachment(self, principal: Principal, lead_id: uuid.UUID, *, file_name: str,
                       content_type: str, content: bytes,
                       tenant_id: uuid.UUID | None = None) -> Attachment:
        """Store the bytes, then the metadata; if the metadata cannot be written, the bytes
        are removed again."""
        media_type = attachment_content_type(content_type)
        if not content:
            raise ValidationFailed.single("file", "is empty")
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise ValidationFailed.single(
                "file", f"is larger than the {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB limit")
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            live_lead(uow, lead_id)
            attachment_id = self.scope.ids.new_id()
            attachment = Attachment(
                id=attachment_id, lead_id=lead_id, file_name=display_file_name(file_name),
                content_type=media_type, size_bytes=len(content),
                checksum_sha256=hashlib.sha256(content).hexdigest(),
                storage_key=f"{tenant_of(uow).hex}/{lead_id.hex}/{attachment_id.hex}",
                created_at=self.scope.clock.now(), uploaded_by=principal.user_id)
            self.storage.put(attachment.storage_key, content)
            try:
                uow.lead_attachments.add(attachment)
                self.scope.record(uow, AttachmentAdded(aggregate_id=lead_id,
                                                       attachment_id=attachment_id))
                uow.commit()
            except BaseException:
                self.storage.delete(attachment.storage_key)
                raise
        return attachment

    def list_attachments(self, principal: Principal, lead_id: uuid.UUID, page: PageRequest,
                         *, tenant_id: uuid.UUID | None = None) -> Page[Attachment]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            return uow.lead_attachments.list(lead_id, page)

    def attachment_content(self, principal: Principal, lead_id: uuid.UUID,
                           attachment_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
                           ) -> tuple[Attachment, bytes]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            attachment = self._attachment(uow, lead_id, attachment_id)
        return attachment, self.storage.get(attachment.storage_key)

    def delete_attachment(self, principal: Principal, lead_id: uuid.UUID,
                          attachment_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
                          ) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            attachment = self._attachment(uow, lead_id, attachment_id)
            uow.lead_attachments.remove(lead_id, attachment_id, self.scope.clock.now())
            self.scope.record(uow, AttachmentDeleted(aggregate_id=lead_id,
                                                     attachment_id=attachment_id))
            uow.commit()
        # After the commit: a failed delete leaves an orphan file, never a dangling row.
        self.storage.delete(attachment.storage_key)

    @staticmethod
    def _attachment(uow: LeadsUnitOfWork, lead_id: uuid.UUID, attachment_id: uuid.UUID
                    ) -> Attachment:
        live_lead(uow, lead_id)
        attachment = uow.lead_attachments.get(lead_id, attachment_id)
        if attachment is None:
            raise NotFound("attachment not found")
        return attachment

    # --- social ---------------------------------------------------------------------------

    def social(self, principal: Principal, lead_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> SocialProfile:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            found = uow.lead_social.get(lead_id)
        return found or SocialProfile(lead_id=lead_id, data={}, updated_at=self.scope.clock.now())

    def merge_social(self, principal: Principal, lead_id: uuid.UUID, patch: dict[str, Any], *,
                     tenant_id: uuid.UUID | None = None) -> SocialProfile:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            live_lead(uow, lead_id)
            profile = uow.lead_social.get(lead_id) or SocialProfile(lead_id, {}, now)
            profile.merge(patch, now)
            uow.lead_social.save(profile)
            self.scope.record(uow, SocialUpdated(aggregate_id=lead_id, keys=tuple(sorted(patch))))
            uow.commit()
        return profile

    # --- bookings -------------------------------------------------------------------------

    def schedule_booking(self, principal: Principal, lead_id: uuid.UUID,
                         scheduled_at: datetime, *, notes: str | None = None,
                         tenant_id: uuid.UUID | None = None) -> Booking:
        now = self.scope.clock.now()
        scheduled_at = future_time(scheduled_at, now)
        notes = booking_text(notes, field="notes")
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            live_lead(uow, lead_id)
            booking = Booking(id=self.scope.ids.new_id(), lead_id=lead_id,
                              scheduled_at=scheduled_at, created_at=now, updated_at=now,
                              notes=notes, created_by=principal.user_id)
            uow.lead_bookings.add(booking)
            self.scope.record(uow, BookingScheduled(aggregate_id=lead_id, booking_id=booking.id,
                                                    scheduled_at=scheduled_at))
            uow.commit()
        return booking

    def list_bookings(self, principal: Principal, lead_id: uuid.UUID, page: PageRequest, *,
                      status: BookingStatus | None = None,
                      tenant_id: uuid.UUID | None = None) -> Page[Booking]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            return uow.lead_bookings.list(lead_id, page, status=status)

    def complete_booking(self, principal: Principal, lead_id: uuid.UUID,
                         booking_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
                         ) -> Booking:
        return self._change_booking(principal, lead_id, booking_id, BookingCompleted,
                                    tenant_id, lambda b, now: b.complete(now))

    def cancel_booking(self, principal: Principal, lead_id: uuid.UUID, booking_id: uuid.UUID,
                       *, tenant_id: uuid.UUID | None = None) -> Booking:
        return self._change_booking(principal, lead_id, booking_id, BookingCancelled,
                                    tenant_id, lambda b, now: b.cancel(now))

    def record_booking_failure(self, principal: Principal, lead_id: uuid.UUID,
                               booking_id: uuid.UUID, *, error: str | None = None,
                               tenant_id: uuid.UUID | None = None) -> Booking:
        """The call did not happen: retried after a backoff, or failed after the last try."""
        error = booking_text(error, field="error")
        return self._change_booking(principal, lead_id, booking_id, BookingAttemptFailed,
                                    tenant_id, lambda b, now: b.record_failure(now, error))

    def reschedule_booking(self, principal: Principal, lead_id: uuid.UUID,
                           booking_id: uuid.UUID, scheduled_at: datetime, *,
                           tenant_id: uuid.UUID | None = None) -> Booking:
        return self._change_booking(principal, lead_id, booking_id, BookingRescheduled,
                                    tenant_id, lambda b, now: b.reschedule(scheduled_at, now))

    def _change_booking(self, principal: Principal, lead_id: uuid.UUID, booking_id: uuid.UUID,
                        what: type[BookingChanged], tenant_id: uuid.UUID | None,
                        change: Callable[[Booking, datetime], None]) -> Booking:
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            live_lead(uow, lead_id)
            booking = uow.lead_bookings.get(lead_id, booking_id)
            if booking is None:
                raise NotFound("booking not found")
            change(booking, now)
            uow.lead_bookings.update(booking)
            self.scope.record(uow, what(aggregate_id=lead_id, booking_id=booking_id,
                                        status=booking.status, retry_count=booking.retry_count))
            uow.commit()
        return booking
