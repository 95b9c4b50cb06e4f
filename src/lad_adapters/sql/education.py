"""SQL repositories of the education context: counsellors and students."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.repository import SqlRepository
from lad_adapters.sql.tables.education import education_counsellors, education_students
from lad_adapters.sql.tables.leads import leads
from lad_domain.education.model import Counsellor, Student, StudentFilter
from lad_domain.shared.pagination import Page, PageRequest

c = education_counsellors
s = education_students


def _row_to_counsellor(row: sa.Row[Any]) -> Counsellor:
    return Counsellor(id=row.id, user_id=row.user_id, counselor_code=row.counselor_code,
                      display_name=row.display_name, created_at=row.created_at,
                      updated_at=row.updated_at, deleted_at=row.deleted_at)


class SqlCounsellorRepository(SqlRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [c.c.tenant_id == self.tenant_id, c.c.deleted_at.is_(None), *where]

    def add(self, counsellor: Counsellor) -> None:
        self._db.execute(c.insert().values(
            tenant_id=self.tenant_id, id=counsellor.id, user_id=counsellor.user_id,
            created_at=counsellor.created_at, **self._values(counsellor)))

    def get(self, counsellor_id: uuid.UUID) -> Counsellor | None:
        return self._find(c.c.id == counsellor_id)

    def get_by_user(self, user_id: uuid.UUID) -> Counsellor | None:
        return self._find(c.c.user_id == user_id)

    def get_by_code(self, code: str) -> Counsellor | None:
        return self._find(c.c.counselor_code == code)

    def update(self, counsellor: Counsellor) -> None:
        self._db.execute(c.update().where(c.c.tenant_id == self.tenant_id,
                                          c.c.id == counsellor.id)
                         .values(self._values(counsellor)))

    def list(self, page: PageRequest) -> Page[Counsellor]:
        return paginate(self._db, sa.select(c).where(*self._live()), created_at=c.c.created_at,
                        id_column=c.c.id, page=page, to_item=_row_to_counsellor)

    def _find(self, where: sa.ColumnElement[bool]) -> Counsellor | None:
        row = self._one(sa.select(c).where(*self._live(where)))
        return _row_to_counsellor(row) if row else None

    @staticmethod
    def _values(counsellor: Counsellor) -> dict[str, Any]:
        return {"counselor_code": counsellor.counselor_code,
                "display_name": counsellor.display_name, "updated_at": counsellor.updated_at,
                "deleted_at": counsellor.deleted_at}


def _row_to_student(row: sa.Row[Any]) -> Student:
    return Student(id=row.id, lead_id=row.lead_id, created_at=row.created_at,
                   updated_at=row.updated_at, student_parent_name=row.student_parent_name,
                   grade=row.grade, intended_programme=row.intended_programme,
                   country=row.country, counsellor_id=row.counsellor_id,
                   counsellor_assigned_at=row.counsellor_assigned_at,
                   created_by=row.created_by, deleted_at=row.deleted_at)


#: A student shows only while their lead is live: deleting the lead hides the profile,
#: restoring it brings the profile back.
_LEAD_IS_LIVE = sa.exists().where(leads.c.tenant_id == s.c.tenant_id, leads.c.id == s.c.lead_id,
                                  leads.c.deleted_at.is_(None))


class SqlStudentRepository(SqlRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [s.c.tenant_id == self.tenant_id, s.c.deleted_at.is_(None), *where]

    def _visible(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [*self._live(*where), _LEAD_IS_LIVE]

    def add(self, student: Student) -> None:
        self._db.execute(s.insert().values(
            tenant_id=self.tenant_id, id=student.id, lead_id=student.lead_id,
            created_by=student.created_by, created_at=student.created_at,
            **self._values(student)))

    def get(self, student_id: uuid.UUID) -> Student | None:
        row = self._one(sa.select(s).where(*self._visible(s.c.id == student_id)))
        return _row_to_student(row) if row else None

    def get_by_lead(self, lead_id: uuid.UUID) -> Student | None:
        row = self._one(sa.select(s).where(*self._live(s.c.lead_id == lead_id)))
        return _row_to_student(row) if row else None

    def update(self, student: Student) -> None:
        self._db.execute(s.update().where(s.c.tenant_id == self.tenant_id, s.c.id == student.id)
                         .values(self._values(student)))

    def list(self, filter: StudentFilter, page: PageRequest) -> Page[Student]:
        where = self._visible()
        if filter.counsellor_id is not None:
            where.append(s.c.counsellor_id == filter.counsellor_id)
        if filter.grade is not None:
            where.append(s.c.grade == filter.grade)
        if filter.country is not None:
            where.append(s.c.country == filter.country)
        return paginate(self._db, sa.select(s).where(*where), created_at=s.c.created_at,
                        id_column=s.c.id, page=page, to_item=_row_to_student)

    def count_for(self, counsellor_id: uuid.UUID) -> int:
        return int(self._db.execute(sa.select(sa.func.count()).select_from(s).where(
            *self._visible(s.c.counsellor_id == counsellor_id))).scalar_one())

    def reassign(self, from_id: uuid.UUID, to_id: uuid.UUID | None, at: datetime) -> int:
        return self._db.execute(s.update().where(*self._live(s.c.counsellor_id == from_id))
                                .values(counsellor_id=to_id, counsellor_assigned_at=at,
                                        updated_at=at)).rowcount

    @staticmethod
    def _values(student: Student) -> dict[str, Any]:
        return {"student_parent_name": student.student_parent_name, "grade": student.grade,
                "intended_programme": student.intended_programme, "country": student.country,
                "counsellor_id": student.counsellor_id,
                "counsellor_assigned_at": student.counsellor_assigned_at,
                "updated_at": student.updated_at, "deleted_at": student.deleted_at}
