"""Education use cases: enrol students, manage counsellors, assign and re-assign caseloads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import attrs

from lad_domain.education.events import (
    CaseloadMoved,
    CounsellorAdded,
    CounsellorAssigned,
    CounsellorRemoved,
    StudentEnrolled,
    StudentRemoved,
)
from lad_domain.education.model import (
    Counsellor,
    Student,
    StudentFilter,
    clean_student_fields,
    counselor_code,
    display_name,
)
from lad_domain.education.policy import EducationPermission
from lad_domain.education.ports import EducationUnitOfWork, education_unit_of_work
from lad_domain.leads.services.leads import live_lead
from lad_domain.shared.access import ensure_member
from lad_domain.shared.errors import Conflict, NotFound, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope
from lad_domain.tenancy.ports import TenancyUnitOfWork


@attrs.define
class EducationService:
    scope: TenantScope[EducationUnitOfWork]

    def _open(self, principal: Principal, tenant_id: uuid.UUID | None) -> EducationUnitOfWork:
        return self.scope.open(principal, tenant_id)

    # --- students -------------------------------------------------------------------------

    def enrol_student(self, principal: Principal, lead_id: uuid.UUID,
                      fields: Mapping[str, object], *, counsellor_id: uuid.UUID | None = None,
                      tenant_id: uuid.UUID | None = None) -> Student:
        """Give a lead a student profile (one per lead)."""
        clean = clean_student_fields(fields)
        now = self.scope.clock.now()
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.WRITE)
            live_lead(uow, lead_id)
            if uow.education_students.get_by_lead(lead_id) is not None:
                raise Conflict("this lead is already a student")
            if counsellor_id is not None:
                _counsellor(uow, counsellor_id, field="counsellor_id")
            student = Student(id=self.scope.ids.new_id(), lead_id=lead_id, created_at=now,
                              updated_at=now, created_by=principal.user_id, **clean)
            student.assign(counsellor_id, now)
            uow.education_students.add(student)
            self.scope.record(uow, StudentEnrolled(aggregate_id=student.id, lead_id=lead_id))
            uow.commit()
        return student

    def get_student(self, principal: Principal, student_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None) -> Student:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.READ)
            return _student(uow, student_id)

    def update_student(self, principal: Principal, student_id: uuid.UUID,
                       changes: Mapping[str, object], *,
                       tenant_id: uuid.UUID | None = None) -> Student:
        clean = clean_student_fields(changes)
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.WRITE)
            student = _student(uow, student_id)
            for name, value in clean.items():
                setattr(student, name, value)
            student.updated_at = self.scope.clock.now()
            uow.education_students.update(student)
            uow.commit()
        return student

    def remove_student(self, principal: Principal, student_id: uuid.UUID, *,
                       tenant_id: uuid.UUID | None = None) -> None:
        """Soft-delete the student profile; the lead stays."""
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.WRITE)
            student = _student(uow, student_id)
            student.deleted_at = student.updated_at = self.scope.clock.now()
            uow.education_students.update(student)
            self.scope.record(uow, StudentRemoved(aggregate_id=student.id))
            uow.commit()

    def list_students(self, principal: Principal, filter: StudentFilter, page: PageRequest, *,
                      tenant_id: uuid.UUID | None = None) -> Page[Student]:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.READ)
            return uow.education_students.list(filter, page)

    def assign_counsellor(self, principal: Principal, student_id: uuid.UUID,
                          counsellor_id: uuid.UUID | None, *,
                          tenant_id: uuid.UUID | None = None) -> Student:
        """Assign, re-assign (another counsellor) or unassign (None) a student."""
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.WRITE)
            student = _student(uow, student_id)
            if counsellor_id is not None:
                _counsellor(uow, counsellor_id, field="counsellor_id")
            before = student.counsellor_id
            if student.assign(counsellor_id, self.scope.clock.now()):
                uow.education_students.update(student)
                self.scope.record(uow, CounsellorAssigned(aggregate_id=student.id,
                                                          from_counsellor=before,
                                                          to_counsellor=counsellor_id))
                uow.commit()
        return student

    # --- counsellors ----------------------------------------------------------------------

    def add_counsellor(self, principal: Principal, user_id: uuid.UUID, code: str, *,
                       name: str | None = None, tenant_id: uuid.UUID | None = None
                       ) -> Counsellor:
        code, name = counselor_code(code), display_name(name)
        now = self.scope.clock.now()
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.MANAGE)
            ensure_member(uow, user_id, "user_id")
            if uow.education_counsellors.get_by_user(user_id) is not None:
                raise Conflict("this member is already a counsellor")
            _ensure_code_free(uow, code, None)
            counsellor = Counsellor(id=self.scope.ids.new_id(), user_id=user_id,
                                    counselor_code=code, display_name=name, created_at=now,
                                    updated_at=now)
            uow.education_counsellors.add(counsellor)
            self.scope.record(uow, CounsellorAdded(aggregate_id=counsellor.id, user_id=user_id,
                                                   counselor_code=code))
            uow.commit()
        return counsellor

    def get_counsellor(self, principal: Principal, counsellor_id: uuid.UUID, *,
                       tenant_id: uuid.UUID | None = None) -> Counsellor:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.READ)
            return _counsellor(uow, counsellor_id)

    def list_counsellors(self, principal: Principal, page: PageRequest, *,
                         tenant_id: uuid.UUID | None = None) -> Page[Counsellor]:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.READ)
            return uow.education_counsellors.list(page)

    def update_counsellor(self, principal: Principal, counsellor_id: uuid.UUID, *,
                          code: str | None = None, name: str | None = None,
                          tenant_id: uuid.UUID | None = None) -> Counsellor:
        new_code = counselor_code(code) if code is not None else None
        new_name = display_name(name) if name is not None else None
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.MANAGE)
            counsellor = _counsellor(uow, counsellor_id)
            if new_code is not None:
                _ensure_code_free(uow, new_code, counsellor.id)
                counsellor.counselor_code = new_code
            if name is not None:
                counsellor.display_name = new_name
            counsellor.updated_at = self.scope.clock.now()
            uow.education_counsellors.update(counsellor)
            uow.commit()
        return counsellor

    def remove_counsellor(self, principal: Principal, counsellor_id: uuid.UUID, *,
                          reassign_to: uuid.UUID | None = None,
                          tenant_id: uuid.UUID | None = None) -> int:
        """Remove a counsellor; a caseload must move to ``reassign_to`` in the same step.
        Returns how many students moved."""
        now = self.scope.clock.now()
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.MANAGE)
            counsellor = _counsellor(uow, counsellor_id)
            moved = self._move_caseload(uow, counsellor, reassign_to)
            counsellor.deleted_at = counsellor.updated_at = now
            uow.education_counsellors.update(counsellor)
            self.scope.record(uow, CounsellorRemoved(aggregate_id=counsellor.id, moved=moved))
            uow.commit()
        return moved

    def reassign_caseload(self, principal: Principal, counsellor_id: uuid.UUID,
                          to_counsellor_id: uuid.UUID, *,
                          tenant_id: uuid.UUID | None = None) -> int:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.WRITE)
            counsellor = _counsellor(uow, counsellor_id)
            moved = self._move_caseload(uow, counsellor, to_counsellor_id)
            uow.commit()
        return moved

    def caseload(self, principal: Principal, counsellor_id: uuid.UUID, page: PageRequest, *,
                 tenant_id: uuid.UUID | None = None) -> Page[Student]:
        with self._open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, EducationPermission.READ)
            _counsellor(uow, counsellor_id)
            return uow.education_students.list(StudentFilter(counsellor_id=counsellor_id), page)

    def _move_caseload(self, uow: EducationUnitOfWork, counsellor: Counsellor,
                       to_id: uuid.UUID | None) -> int:
        waiting = uow.education_students.count_for(counsellor.id)
        if to_id is None:
            if waiting:
                raise Conflict(f"{waiting} student(s) are on this caseload; give reassign_to, "
                               "another counsellor, to move them in the same step")
            return 0
        if to_id == counsellor.id:
            raise ValidationFailed.single("reassign_to", "must be another counsellor")
        _counsellor(uow, to_id, field="reassign_to")
        moved = uow.education_students.reassign(counsellor.id, to_id, self.scope.clock.now())
        self.scope.record(uow, CaseloadMoved(aggregate_id=counsellor.id, to=to_id, moved=moved))
        return moved


def _student(uow: EducationUnitOfWork, student_id: uuid.UUID) -> Student:
    student = uow.education_students.get(student_id)
    if student is None:
        raise NotFound("student not found")
    return student


def _counsellor(uow: EducationUnitOfWork, counsellor_id: uuid.UUID, *,
                field: str | None = None) -> Counsellor:
    """A live counsellor of this tenant; another tenant's id is as unknown as a made-up one."""
    counsellor = uow.education_counsellors.get(counsellor_id)
    if counsellor is None:
        raise NotFound(f"{field}: no such counsellor" if field else "counsellor not found")
    return counsellor


def _ensure_code_free(uow: EducationUnitOfWork, code: str, counsellor_id: uuid.UUID | None
                      ) -> None:
    other = uow.education_counsellors.get_by_code(code)
    if other is not None and other.id != counsellor_id:
        raise Conflict(f"the counselor_code {code} is taken")


def release_counsellor(uow: TenancyUnitOfWork, user_id: uuid.UUID, at: datetime) -> None:
    """A member who leaves stops counselling (see TenancyService.member_departures); one
    who still counsels students must have them reassigned first."""
    education_uow = education_unit_of_work(uow)
    counsellor = education_uow.education_counsellors.get_by_user(user_id)
    if counsellor is None:
        return
    caseload = education_uow.education_students.count_for(counsellor.id)
    if caseload:
        raise Conflict(f"this member counsels {caseload} student(s); reassign them first "
                       f"(counsellor {counsellor.counselor_code})")
    counsellor.deleted_at = counsellor.updated_at = at
    education_uow.education_counsellors.update(counsellor)
