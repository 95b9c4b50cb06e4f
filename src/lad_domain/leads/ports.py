"""Leads ports: the repositories a tenant-scoped unit of work hands out, the import staging
area, file storage and phone-number parsing."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from lad_domain.leads.activity_model import Attachment, Booking, BookingStatus, Note, SocialProfile
from lad_domain.leads.model import (
    Lead,
    LeadFilter,
    OnDuplicate,
    PipelineEntry,
    Stage,
    StageChange,
    Status,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.tenancy.ports import TenancyUnitOfWork

Entry = TypeVar("Entry", bound=PipelineEntry)


class PipelineEntryRepository(Protocol[Entry]):
    """The tenant's stages, or its statuses, keyed by ``key``."""

    def list(self) -> Sequence[Entry]:
        """In display order."""
        ...

    def add(self, entry: Entry) -> None: ...
    def update(self, entry: Entry) -> None: ...
    def remove(self, key: str) -> None: ...


StageRepository = PipelineEntryRepository[Stage]
StatusRepository = PipelineEntryRepository[Status]


class LeadRepository(Protocol):
    def add(self, lead: Lead) -> None: ...

    def get(self, lead_id: uuid.UUID) -> Lead | None:
        """Live or soft-deleted: the use case decides what a deleted lead means."""
        ...

    def update(self, lead: Lead) -> None: ...
    def find_live_by_email(self, email: str) -> Lead | None: ...

    def find_by_custom_field(self, key: str, values: Collection[str]
                             ) -> dict[str, uuid.UUID]:
        """Live leads whose custom field ``key`` holds one of ``values`` (a string), by
        that value (the oldest lead when several hold it): an Apollo person imported
        before is found by their id."""
        ...

    def list(self, filter: LeadFilter, page: PageRequest) -> Page[Lead]:
        """Live leads, newest first by (created_at, id)."""
        ...

    def count_live(self, *, stage: str | None = None, status: str | None = None) -> int: ...

    def ids_in_stage(self, stage: str) -> Sequence[uuid.UUID]:
        """Live leads in ``stage``."""
        ...

    def move_stage(self, from_stage: str, to_stage: str, at: datetime) -> int:
        """Every lead in ``from_stage`` (deleted ones too) to ``to_stage``; returns how many."""
        ...

    def move_status(self, from_status: str, to_status: str, at: datetime) -> int: ...


class StageHistoryRepository(Protocol):
    def add_many(self, changes: Sequence[StageChange]) -> None: ...

    def list_for(self, lead_id: uuid.UUID) -> Sequence[StageChange]:
        """Oldest first."""
        ...


class NoteRepository(Protocol):
    def add(self, note: Note) -> None: ...
    def get(self, lead_id: uuid.UUID, note_id: uuid.UUID) -> Note | None: ...
    def update(self, note: Note) -> None: ...
    def remove(self, lead_id: uuid.UUID, note_id: uuid.UUID, at: datetime) -> None:
        """Soft delete."""
        ...

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Note]: ...


class AttachmentRepository(Protocol):
    def add(self, attachment: Attachment) -> None: ...
    def get(self, lead_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None: ...
    def remove(self, lead_id: uuid.UUID, attachment_id: uuid.UUID, at: datetime) -> None:
        """Soft delete (the bytes are deleted by the use case)."""
        ...

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Attachment]: ...


class SocialRepository(Protocol):
    def get(self, lead_id: uuid.UUID) -> SocialProfile | None: ...
    def save(self, profile: SocialProfile) -> None: ...


class BookingRepository(Protocol):
    def add(self, booking: Booking) -> None: ...
    def get(self, lead_id: uuid.UUID, booking_id: uuid.UUID) -> Booking | None: ...
    def update(self, booking: Booking) -> None: ...

    def list(self, lead_id: uuid.UUID, page: PageRequest, *,
             status: BookingStatus | None = None) -> Page[Booking]: ...


#: One validated import row, a plain tuple so that a million of them cost no object churn:
#: (row_no, id, first_name, last_name, email, phone, company, title, stage, status, owner_id,
#: source, custom_fields_json). Text is None when blank; custom_fields_json is a JSON string;
#: the two ids are their 32 hex digits, ready for the database driver as they are.
ImportRow = tuple[int, str, str | None, str | None, str | None, str | None, str | None,
                  str | None, str, str, str | None, str | None, str | None]
IMPORT_COLUMNS = ("row_no", "id", "first_name", "last_name", "email", "phone", "company",
                  "title", "stage", "status", "owner_user_id", "source", "custom_fields")


@attrs.frozen
class Deduplication:
    """What deduplication found among the staged rows."""

    in_file: int  # rows whose email appeared on an earlier row of the file
    existing: int  # first occurrences whose email belongs to a live lead


@attrs.frozen
class MergeResult:
    created: int
    updated: int


@attrs.frozen
class ImportMerge:
    """How an import writes its leads: what becomes of a row whose email belongs to a live
    lead, and the stamps of the leads it creates or updates."""

    on_duplicate: OnDuplicate
    at: datetime
    created_by: uuid.UUID | None


class LeadImportStaging(Protocol):
    """A per-transaction staging area: validated rows go in fast (COPY, batched inserts),
    duplicates are found and the leads written by set-based statements.

    ``stage`` is called once, with the batches as the caller validates them (on a thread
    of its own if ``on_own_thread``); nothing else touches the unit of work until it
    returns. A backend with
    a single write lock (SQLite) stages outside it and takes it again in ``deduplicate``: the
    unit of work must not have written anything before ``stage``, and what it read before
    may have changed after ``deduplicate`` (the caller reads the principal's role again)."""

    #: Whether ``stage`` runs on a thread of its own beside the validation (worth it when
    #: the database works in another process and the driver lets go of the GIL for long
    #: stretches, as PostgreSQL's COPY does); otherwise it takes each batch in the caller's
    #: thread as the batch is validated.
    on_own_thread: bool

    def stage(self, batches: Iterable[Sequence[ImportRow]], *, merge: ImportMerge | None
              ) -> None:
        """Take every batch. ``merge`` says how the leads will be written (None: a dry run,
        nothing is); a backend may deduplicate and write each batch as it comes."""
        ...

    def deduplicate(self) -> Deduplication:
        """Drop rows whose email appeared earlier in the file; mark rows whose email
        belongs to a live lead (one that was live before the import)."""
        ...

    def merge(self) -> MergeResult:
        """Insert the new leads; with UPDATE, overwrite the matched leads' fields with the
        row's non-blank values. Only after ``deduplicate`` and never for a dry run."""
        ...


@runtime_checkable
class LeadsUnitOfWork(TenancyUnitOfWork, Protocol):
    lead_stages: StageRepository
    lead_statuses: StatusRepository
    leads: LeadRepository
    lead_history: StageHistoryRepository
    lead_notes: NoteRepository
    lead_attachments: AttachmentRepository
    lead_social: SocialRepository
    lead_bookings: BookingRepository

    def lead_import(self) -> LeadImportStaging:
        """The staging area of an import in this transaction."""
        ...


def leads_unit_of_work(uow: TenancyUnitOfWork) -> LeadsUnitOfWork:
    """The same unit of work, as the leads context sees it: for the hooks tenancy runs in
    its own transaction (seeding a new tenant), which it types by its own protocol."""
    if not isinstance(uow, LeadsUnitOfWork):
        raise TypeError(f"{type(uow).__name__} has no leads repositories")
    return uow


class PhoneNumberParser(Protocol):
    def to_e164(self, raw: str, *, region: str | None = None) -> str:
        """The number in E.164 (``+447700900123``). ``region`` (ISO 3166 alpha-2) reads
        numbers written without a country code. Raises InvalidPhoneNumber with the reason."""
        ...


class FileStorage(Protocol):
    """Bytes by key. Keys are made by the domain from ids only (``tenant/lead/attachment``);
    adapters still refuse any key that is not of that shape."""

    def put(self, key: str, content: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...

