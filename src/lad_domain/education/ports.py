"""Education ports: the student and counsellor repositories of the tenant-scoped unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol, runtime_checkable

from lad_domain.education.model import Counsellor, Student, StudentFilter
from lad_domain.leads.ports import LeadsUnitOfWork
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.tenancy.ports import TenancyUnitOfWork


class CounsellorRepository(Protocol):
    def add(self, counsellor: Counsellor) -> None: ...

    def get(self, counsellor_id: uuid.UUID) -> Counsellor | None:
        """Live counsellors only."""
        ...

    def get_by_user(self, user_id: uuid.UUID) -> Counsellor | None: ...
    def get_by_code(self, code: str) -> Counsellor | None: ...
    def update(self, counsellor: Counsellor) -> None: ...
    def list(self, page: PageRequest) -> Page[Counsellor]: ...


class StudentRepository(Protocol):
    def add(self, student: Student) -> None: ...

    def get(self, student_id: uuid.UUID) -> Student | None:
        """Live students only."""
        ...

    def get_by_lead(self, lead_id: uuid.UUID) -> Student | None: ...
    def update(self, student: Student) -> None: ...
    def list(self, filter: StudentFilter, page: PageRequest) -> Page[Student]: ...
    def count_for(self, counsellor_id: uuid.UUID) -> int: ...

    def reassign(self, from_id: uuid.UUID, to_id: uuid.UUID | None, at: datetime) -> int:
        """Move a whole caseload; returns how many students moved."""
        ...


@runtime_checkable
class EducationUnitOfWork(LeadsUnitOfWork, Protocol):
    education_students: StudentRepository
    education_counsellors: CounsellorRepository



def education_unit_of_work(uow: TenancyUnitOfWork) -> EducationUnitOfWork:
    """The same unit of work, as the education context sees it: for the hooks tenancy runs
    in its own transaction (a member leaving), which it types by its own protocol."""
    if not isinstance(uow, EducationUnitOfWork):
        raise TypeError(f"{type(uow).__name__} has no education repositories")
    return uow
