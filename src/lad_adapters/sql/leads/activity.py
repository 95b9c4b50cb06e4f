"""SQL repositories of what hangs off a lead: notes, attachments, social data, bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.repository import SqlRepository
from lad_adapters.sql.tables.leads import lead_attachments, lead_bookings, lead_notes, lead_social
from lad_domain.leads.activity_model import Attachment, Booking, BookingStatus, Note, SocialProfile
from lad_domain.shared.pagination import Page, PageRequest


class _Child(SqlRepository):
    """Rows of a lead: (tenant_id, id) keyed, with lead_id."""

    table: sa.Table

    def _where(self, lead_id: uuid.UUID, item_id: uuid.UUID | None = None
               ) -> list[sa.ColumnElement[bool]]:
        t = self.table
        where = [t.c.tenant_id == self.tenant_id, t.c.lead_id == lead_id]
        if "deleted_at" in t.c:
            where.append(t.c.deleted_at.is_(None))
        return where if item_id is None else [*where, t.c.id == item_id]

    def _soft_delete(self, lead_id: uuid.UUID, item_id: uuid.UUID, at: datetime) -> None:
        self._db.execute(self.table.update().where(*self._where(lead_id, item_id))
                         .values(deleted_at=at))


def _row_to_note(row: sa.Row[Any]) -> Note:
    return Note(id=row.id, lead_id=row.lead_id, author_id=row.created_by_user_id,
                content=row.content, created_at=row.created_at, updated_at=row.updated_at)


class SqlNoteRepository(_Child):
    table = lead_notes

    def add(self, note: Note) -> None:
        self._db.execute(lead_notes.insert().values(
            tenant_id=self.tenant_id, id=note.id, lead_id=note.lead_id, content=note.content,
            created_by_user_id=note.author_id, created_at=note.created_at,
            updated_at=note.updated_at))

    def get(self, lead_id: uuid.UUID, note_id: uuid.UUID) -> Note | None:
        row = self._one(sa.select(lead_notes).where(*self._where(lead_id, note_id)))
        return _row_to_note(row) if row else None

    def update(self, note: Note) -> None:
        self._db.execute(lead_notes.update().where(*self._where(note.lead_id, note.id))
                         .values(content=note.content, updated_at=note.updated_at))

    def remove(self, lead_id: uuid.UUID, note_id: uuid.UUID, at: datetime) -> None:
        self._soft_delete(lead_id, note_id, at)

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Note]:
        return paginate(self._db, sa.select(lead_notes).where(*self._where(lead_id)),
                        created_at=lead_notes.c.created_at, id_column=lead_notes.c.id,
                        page=page, to_item=_row_to_note)


def _row_to_attachment(row: sa.Row[Any]) -> Attachment:
    return Attachment(id=row.id, lead_id=row.lead_id, file_name=row.file_name,
                      content_type=row.content_type, size_bytes=row.size_bytes,
                      storage_key=row.storage_key, checksum_sha256=row.checksum_sha256 or "",
                      created_at=row.created_at, uploaded_by=row.uploaded_by)


class SqlAttachmentRepository(_Child):
    table = lead_attachments

    def add(self, attachment: Attachment) -> None:
        self._db.execute(lead_attachments.insert().values(
            tenant_id=self.tenant_id, id=attachment.id, lead_id=attachment.lead_id,
            file_name=attachment.file_name, content_type=attachment.content_type,
            size_bytes=attachment.size_bytes, storage_key=attachment.storage_key,
            checksum_sha256=attachment.checksum_sha256, uploaded_by=attachment.uploaded_by,
            created_at=attachment.created_at))

    def get(self, lead_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        row = self._one(sa.select(lead_attachments).where(*self._where(lead_id, attachment_id)))
        return _row_to_attachment(row) if row else None

    def remove(self, lead_id: uuid.UUID, attachment_id: uuid.UUID, at: datetime) -> None:
        self._soft_delete(lead_id, attachment_id, at)

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Attachment]:
        return paginate(self._db, sa.select(lead_attachments).where(*self._where(lead_id)),
                        created_at=lead_attachments.c.created_at,
                        id_column=lead_attachments.c.id, page=page,
                        to_item=_row_to_attachment)


class SqlSocialRepository(SqlRepository):
    def get(self, lead_id: uuid.UUID) -> SocialProfile | None:
        row = self._one(sa.select(lead_social).where(lead_social.c.tenant_id == self.tenant_id,
                                                     lead_social.c.lead_id == lead_id))
        if row is None:
            return None
        return SocialProfile(lead_id=row.lead_id, data=dict(row.data or {}),
                             updated_at=row.updated_at)

    def save(self, profile: SocialProfile) -> None:
        where = (lead_social.c.tenant_id == self.tenant_id,
                 lead_social.c.lead_id == profile.lead_id)
        self._update_or_insert(lead_social, where,
                               {"data": profile.data, "updated_at": profile.updated_at},
                               tenant_id=self.tenant_id, lead_id=profile.lead_id,
                               created_at=profile.updated_at)


def _row_to_booking(row: sa.Row[Any]) -> Booking:
    return Booking(id=row.id, lead_id=row.lead_id, scheduled_at=row.scheduled_at,
                   created_at=row.created_at, updated_at=row.updated_at,
                   status=BookingStatus(row.status), retry_count=row.retry_count,
                   next_attempt_at=row.next_attempt_at, last_error=row.last_error,
                   notes=row.notes, created_by=row.created_by)


class SqlBookingRepository(_Child):
    table = lead_bookings

    def add(self, booking: Booking) -> None:
        self._db.execute(lead_bookings.insert().values(
            tenant_id=self.tenant_id, id=booking.id, lead_id=booking.lead_id,
            created_by=booking.created_by, created_at=booking.created_at,
            **self._values(booking)))

    def get(self, lead_id: uuid.UUID, booking_id: uuid.UUID) -> Booking | None:
        row = self._one(sa.select(lead_bookings).where(*self._where(lead_id, booking_id)))
        return _row_to_booking(row) if row else None

    def update(self, booking: Booking) -> None:
        self._db.execute(lead_bookings.update()
                         .where(*self._where(booking.lead_id, booking.id))
                         .values(self._values(booking)))

    def list(self, lead_id: uuid.UUID, page: PageRequest, *,
             status: BookingStatus | None = None) -> Page[Booking]:
        where = self._where(lead_id)
        if status is not None:
            where.append(lead_bookings.c.status == str(status))
        return paginate(self._db, sa.select(lead_bookings).where(*where),
                        created_at=lead_bookings.c.created_at, id_column=lead_bookings.c.id,
                        page=page, to_item=_row_to_booking)

    @staticmethod
    def _values(booking: Booking) -> dict[str, Any]:
        return {"scheduled_at": booking.scheduled_at, "status": str(booking.status),
                "retry_count": booking.retry_count, "next_attempt_at": booking.next_attempt_at,
                "last_error": booking.last_error, "notes": booking.notes,
                "updated_at": booking.updated_at}
