"""In-memory repositories of the education context, with the same keys and errors as SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import attrs

from lad_adapters.memory.leads import InMemoryLeadRepository
from lad_adapters.memory.store import InMemoryRepository
from lad_domain.education.model import Counsellor, Student, StudentFilter
from lad_domain.shared.pagination import Page, PageRequest


class InMemoryCounsellorRepository(InMemoryRepository):
    table_name = "education_counsellors"

    def add(self, counsellor: Counsellor) -> None:
        self._check(counsellor)
        self._insert((self.tenant_id, counsellor.id), counsellor, "pk_education_counsellors")

    def get(self, counsellor_id: uuid.UUID) -> Counsellor | None:
        found: Counsellor | None = self._get((self.tenant_id, counsellor_id))
        return found if found is not None and found.deleted_at is None else None

    def get_by_user(self, user_id: uuid.UUID) -> Counsellor | None:
        found = [c for c in self._live() if c.user_id == user_id]
        return attrs.evolve(found[0]) if found else None

    def get_by_code(self, code: str) -> Counsellor | None:
        found = [c for c in self._live() if c.counselor_code == code]
        return attrs.evolve(found[0]) if found else None

    def update(self, counsellor: Counsellor) -> None:
        self._check(counsellor)
        self._put((self.tenant_id, counsellor.id), counsellor)

    def list(self, page: PageRequest) -> Page[Counsellor]:
        return self._paginate([attrs.evolve(c) for c in self._live()], page,
                        lambda c: (c.created_at, c.id))

    def _live(self) -> Sequence[Counsellor]:
        return [c for k, c in self.rows.items() if k[0] == self.tenant_id
                and c.deleted_at is None]

    def _check(self, counsellor: Counsellor) -> None:
        if counsellor.deleted_at is not None:
            return
        others = [c for c in self._live() if c.id != counsellor.id]
        self._unique(others, lambda c: c.counselor_code == counsellor.counselor_code,
                     "uq_education_counsellors_code_live")
        self._unique(others, lambda c: c.user_id == counsellor.user_id,
                     "uq_education_counsellors_user_live")


class InMemoryStudentRepository(InMemoryRepository):
    table_name = "education_students"

    def add(self, student: Student) -> None:
        self._check(student)
        self._insert((self.tenant_id, student.id), student, "pk_education_students")

    def get(self, student_id: uuid.UUID) -> Student | None:
        found: Student | None = self._get((self.tenant_id, student_id))
        visible = found is not None and found.deleted_at is None and self._lead_is_live(found)
        return found if visible else None

    def get_by_lead(self, lead_id: uuid.UUID) -> Student | None:
        found = [s for s in self._live() if s.lead_id == lead_id]
        return attrs.evolve(found[0]) if found else None

    def update(self, student: Student) -> None:
        self._check(student)
        self._put((self.tenant_id, student.id), student)

    def list(self, filter: StudentFilter, page: PageRequest) -> Page[Student]:
        return self._paginate([attrs.evolve(s) for s in self._live()
                         if filter.matches(s) and self._lead_is_live(s)], page,
                        lambda s: (s.created_at, s.id), within=filter)

    def count_for(self, counsellor_id: uuid.UUID) -> int:
        return sum(1 for s in self._live()
                   if s.counsellor_id == counsellor_id and self._lead_is_live(s))

    def _lead_is_live(self, student: Student) -> bool:
        """As in SQL: a student shows only while their lead is live."""
        lead = self._tx.table(InMemoryLeadRepository.table_name).get(
            (self.tenant_id, student.lead_id))
        return lead is not None and lead.deleted_at is None

    def reassign(self, from_id: uuid.UUID, to_id: uuid.UUID | None, at: datetime) -> int:
        moved = 0
        for key, student in list(self.rows.items()):
            if key[0] == self.tenant_id and student.deleted_at is None \
                    and student.counsellor_id == from_id:
                self.rows[key] = attrs.evolve(student, counsellor_id=to_id,
                                              counsellor_assigned_at=at, updated_at=at)
                moved += 1
        return moved

    def _live(self) -> Sequence[Student]:
        return [s for k, s in self.rows.items() if k[0] == self.tenant_id
                and s.deleted_at is None]

    def _check(self, student: Student) -> None:
        self._references(InMemoryLeadRepository.table_name, (self.tenant_id, student.lead_id))
        if student.counsellor_id is not None:
            self._references(InMemoryCounsellorRepository.table_name,
                             (self.tenant_id, student.counsellor_id))
        if student.deleted_at is None:
            self._unique([s for s in self._live() if s.id != student.id],
                         lambda s: s.lead_id == student.lead_id,
                         "uq_education_students_lead_live")
