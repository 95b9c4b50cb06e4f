"""In-memory repositories of the leads context, with the same keys and errors as SQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from lad_adapters.memory.store import InMemoryRepository, InMemoryTransaction
from lad_domain.leads.activity_model import Attachment, Booking, BookingStatus, Note, SocialProfile
from lad_domain.leads.model import Lead, LeadFilter, OnDuplicate, Stage, StageChange, Status
from lad_domain.leads.ports import Deduplication, Entry, ImportMerge, ImportRow, MergeResult
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import Page, PageRequest


class _Keyed(InMemoryRepository):
    """Rows keyed by (tenant_id, natural key)."""


class _PipelineEntries(_Keyed, Generic[Entry]):
    """The tenant's stages or statuses; one a lead still names cannot be removed."""

    lead_field: ClassVar[str]

    def list(self) -> Sequence[Entry]:
        return sorted([s for k, s in self.rows.items() if k[0] == self.tenant_id],
                      key=lambda s: (s.display_order, s.key))

    def add(self, entry: Entry) -> None:
        self._insert((self.tenant_id, entry.key), entry, f"pk_{self.table_name}")

    def update(self, entry: Entry) -> None:
        self._put((self.tenant_id, entry.key), entry)

    def remove(self, key: str) -> None:
        leads = self._tx.table(InMemoryLeadRepository.table_name)
        if any(k[0] == self.tenant_id and getattr(lead, self.lead_field) == key
               for k, lead in leads.items()):
            raise Conflict("a referenced record does not exist")
        self.rows.pop((self.tenant_id, key), None)


class InMemoryStageRepository(_PipelineEntries[Stage]):
    table_name = "lead_stages"
    lead_field = "stage"


class InMemoryStatusRepository(_PipelineEntries[Status]):
    table_name = "lead_statuses"
    lead_field = "status"


class InMemoryLeadRepository(_Keyed):
    table_name = "leads"

    def add(self, lead: Lead) -> None:
        self._check(lead)
        self._insert((self.tenant_id, lead.id), lead, "pk_leads")

    def get(self, lead_id: uuid.UUID) -> Lead | None:
        found: Lead | None = self._get((self.tenant_id, lead_id))
        return found

    def update(self, lead: Lead) -> None:
        self._check(lead)
        self._put((self.tenant_id, lead.id), lead)

    def find_live_by_email(self, email: str) -> Lead | None:
        found = self._select(lambda x: x.tenant_id == self.tenant_id and x.deleted_at is None
                             and x.email is not None and x.email.lower() == email.lower())
        return found[0] if found else None

    def find_by_custom_field(self, key: str, values: Collection[str]
                             ) -> dict[str, uuid.UUID]:
        wanted = set(values)
        found: dict[str, uuid.UUID] = {}
        # Read in place (no copies): an import asks for thousands of values at once.
        for lead in sorted(self._live(), key=lambda x: (x.created_at, x.id)):
            value = lead.custom_fields.get(key)
            if isinstance(value, str) and value in wanted:
                found.setdefault(value, lead.id)
        return found

    def list(self, filter: LeadFilter, page: PageRequest) -> Page[Lead]:
        found = self._select(lambda x: x.tenant_id == self.tenant_id and x.deleted_at is None
                             and filter.matches(x))
        return self._paginate(found, page, lambda x: (x.created_at, x.id), within=filter)

    def count_live(self, *, stage: str | None = None, status: str | None = None) -> int:
        return sum(1 for x in self._live() if stage in (None, x.stage)
                   and status in (None, x.status))

    def ids_in_stage(self, stage: str) -> Sequence[uuid.UUID]:
        return [x.id for x in self._live() if x.stage == stage]

    def move_stage(self, from_stage: str, to_stage: str, at: datetime) -> int:
        return self._move("stage", from_stage, to_stage, at)

    def move_status(self, from_status: str, to_status: str, at: datetime) -> int:
        return self._move("status", from_status, to_status, at)

    def _move(self, field: str, old: str, new: str, at: datetime) -> int:
        moved = 0
        for key, lead in list(self.rows.items()):
            if key[0] == self.tenant_id and getattr(lead, field) == old:
                self.rows[key] = attrs.evolve(lead, **{field: new, "updated_at": at})
                moved += 1
        return moved

    def _live(self) -> Sequence[Lead]:
        return [x for k, x in self.rows.items() if k[0] == self.tenant_id and x.deleted_at is None]

    def _check(self, lead: Lead) -> None:
        self._references(InMemoryStageRepository.table_name, (self.tenant_id, lead.stage))
        self._references(InMemoryStatusRepository.table_name, (self.tenant_id, lead.status))
        if lead.email is not None and lead.email != lead.email.lower():
            raise Conflict("this change conflicts with existing data")  # the CHECK in SQL
        if lead.email is not None and lead.deleted_at is None:
            email = lead.email.lower()
            self._unique(self._live(), lambda x: x.id != lead.id and x.email is not None
                         and x.email.lower() == email, "uq_leads_email_live")


class InMemoryStageHistoryRepository(_Keyed):
    table_name = "lead_stage_history"

    def add_many(self, changes: Sequence[StageChange]) -> None:
        for change in changes:
            self._references(InMemoryLeadRepository.table_name, (self.tenant_id, change.lead_id))
            self._insert((self.tenant_id, change.id), change, "pk_lead_stage_history")

    def list_for(self, lead_id: uuid.UUID) -> Sequence[StageChange]:
        found = [c for k, c in self.rows.items() if k[0] == self.tenant_id
                 and c.lead_id == lead_id]
        return sorted(found, key=lambda c: (c.changed_at, c.id))


Child = TypeVar("Child", Note, Attachment, Booking)


class _LeadChild(_Keyed, Generic[Child]):
    """Rows that belong to a lead, keyed by (tenant_id, id)."""

    child: type[Child]

    def add(self, item: Child) -> None:
        self._references(InMemoryLeadRepository.table_name, (self.tenant_id, item.lead_id))
        self._insert((self.tenant_id, item.id), item, f"pk_{self.table_name}")

    def get(self, lead_id: uuid.UUID, item_id: uuid.UUID) -> Child | None:
        item = self._get((self.tenant_id, item_id))
        return item if isinstance(item, self.child) and item.lead_id == lead_id else None

    def _of_lead(self, lead_id: uuid.UUID, page: PageRequest,
                 keep: Callable[[Child], bool] = lambda item: True, *,
                 within: object = None) -> Page[Child]:
        """The lead's items that ``keep`` keeps; ``within`` names that filter's terms."""
        found = [c for k, c in self.rows.items() if k[0] == self.tenant_id
                 and c.lead_id == lead_id and keep(c)]
        return self._paginate(found, page, lambda c: (c.created_at, c.id),
                              within=(lead_id, within))


class InMemoryNoteRepository(_LeadChild[Note]):
    table_name = "lead_notes"
    child = Note

    def update(self, note: Note) -> None:
        self._put((self.tenant_id, note.id), note)

    def remove(self, lead_id: uuid.UUID, note_id: uuid.UUID, at: datetime) -> None:
        self.rows.pop((self.tenant_id, note_id), None)

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Note]:
        return self._of_lead(lead_id, page)


class InMemoryAttachmentRepository(_LeadChild[Attachment]):
    table_name = "lead_attachments"
    child = Attachment

    def remove(self, lead_id: uuid.UUID, attachment_id: uuid.UUID, at: datetime) -> None:
        self.rows.pop((self.tenant_id, attachment_id), None)

    def list(self, lead_id: uuid.UUID, page: PageRequest) -> Page[Attachment]:
        return self._of_lead(lead_id, page)


class InMemorySocialRepository(_Keyed):
    table_name = "lead_social"

    def get(self, lead_id: uuid.UUID) -> SocialProfile | None:
        found: SocialProfile | None = self._get((self.tenant_id, lead_id))
        return found

    def save(self, profile: SocialProfile) -> None:
        self._references(InMemoryLeadRepository.table_name, (self.tenant_id, profile.lead_id))
        self._put((self.tenant_id, profile.lead_id), profile)


class InMemoryBookingRepository(_LeadChild[Booking]):
    table_name = "lead_bookings"
    child = Booking

    def update(self, booking: Booking) -> None:
        self._put((self.tenant_id, booking.id), booking)

    def list(self, lead_id: uuid.UUID, page: PageRequest, *,
             status: BookingStatus | None = None) -> Page[Booking]:
        return self._of_lead(lead_id, page, lambda b: status in (None, b.status),
                             within=status)


class InMemoryLeadImportStaging:
    """The staging area of one import: a list, deduplicated and merged like the SQL one."""

    on_own_thread = False

    def __init__(self, tx: InMemoryTransaction, tenant_id: uuid.UUID | None) -> None:
        self._leads = InMemoryLeadRepository(tx, tenant_id)
        self._rows: list[ImportRow] = []
        self._existing: dict[int, uuid.UUID] = {}
        self._merge: ImportMerge | None = None

    def stage(self, batches: Iterable[Sequence[ImportRow]], *, merge: ImportMerge | None
              ) -> None:
        self._merge = merge
        for rows in batches:
            self._rows.extend(rows)

    def deduplicate(self) -> Deduplication:
        seen: set[str] = set()
        kept: list[ImportRow] = []
        for row in sorted(self._rows):
            email = row[4]
            if email is not None:
                if email in seen:
                    continue
                seen.add(email)
                match = self._leads.find_live_by_email(email)
                if match is not None:
                    self._existing[row[0]] = match.id
            kept.append(row)
        in_file = len(self._rows) - len(kept)
        self._rows = kept
        return Deduplication(in_file=in_file, existing=len(self._existing))

    def merge(self) -> MergeResult:
        if self._merge is None:
            raise RuntimeError("a dry run writes nothing")
        on_duplicate, at, created_by = (self._merge.on_duplicate, self._merge.at,
                                        self._merge.created_by)
        created = updated = 0
        for row in self._rows:
            (row_no, lead_id, first, last, email, phone, company, title, stage, status,
             owner, source, custom) = row
            fields: dict[str, Any] = {"first_name": first, "last_name": last, "phone": phone,
                      "company": company, "title": title,
                      "owner_id": uuid.UUID(hex=owner) if owner is not None else None}
            existing_id = self._existing.get(row_no)
            if existing_id is None:
                self._leads.add(Lead(
                    id=uuid.UUID(hex=lead_id), tenant_id=self._leads.tenant_id, stage=stage,
                    status=status,
                    created_at=at, updated_at=at, email=email, source=source,
                    custom_fields=json.loads(custom) if custom else {}, created_by=created_by,
                    **fields))
                created += 1
            elif on_duplicate is OnDuplicate.UPDATE:
                lead = self._leads.get(existing_id)
                assert lead is not None
                for name, value in fields.items():
                    if value is not None:
                        setattr(lead, name, value)
                if custom:
                    lead.custom_fields = {**lead.custom_fields, **json.loads(custom)}
                lead.updated_at = at
                self._leads.update(lead)
                updated += 1
        return MergeResult(created=created, updated=updated)
