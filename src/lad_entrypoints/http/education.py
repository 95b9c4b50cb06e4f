"""Education routes: students (a lead's school profile), counsellors and caseloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from lad_domain.education.model import MAX_DISPLAY_NAME, Counsellor, Student, StudentFilter
from lad_domain.education.services import EducationService
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import PageOut, Strict

router = APIRouter(prefix="/v1/education", tags=["education"])


Education = Annotated[EducationService, Depends(provided(lambda c: c.education()))]


#: A counsellor's code (lad_domain.education.model), any case.
COUNTRY: JsonDict = {"pattern": "^[A-Za-z]{2}$"}
CODE: JsonDict = {"pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"}


class ProfileIn(Strict):
    """Absent fields are kept; null clears one."""

    student_parent_name: str | None = None
    grade: str | None = None
    intended_programme: str | None = None
    country: str | None = Field(default=None, description="ISO 3166 alpha-2, e.g. GB",
                                json_schema_extra=COUNTRY)


class StudentIn(ProfileIn):
    lead_id: uuid.UUID
    counsellor_id: uuid.UUID | None = None


class AssignIn(Strict):
    counsellor_id: uuid.UUID | None = Field(description="null: on no caseload")


class StudentOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    student_parent_name: str | None
    grade: str | None
    intended_programme: str | None
    country: str | None
    counsellor_id: uuid.UUID | None
    counsellor_assigned_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Student) -> StudentOut:
        return cls(id=s.id, lead_id=s.lead_id, student_parent_name=s.student_parent_name,
                   grade=s.grade, intended_programme=s.intended_programme, country=s.country,
                   counsellor_id=s.counsellor_id, counsellor_assigned_at=s.counsellor_assigned_at,
                   created_at=s.created_at, updated_at=s.updated_at)


class CounsellorIn(Strict):
    user_id: uuid.UUID = Field(description="A member of the tenant")
    counselor_code: str = Field(max_length=64, json_schema_extra=CODE)
    display_name: str | None = Field(default=None, max_length=MAX_DISPLAY_NAME)


class CounsellorPatch(Strict):
    counselor_code: str | None = Field(default=None, max_length=64, json_schema_extra=CODE)
    display_name: str | None = Field(default=None, max_length=MAX_DISPLAY_NAME)


class ReassignIn(Strict):
    to_counsellor_id: uuid.UUID


class CounsellorOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    counselor_code: str
    display_name: str | None
    created_at: datetime

    @classmethod
    def of(cls, c: Counsellor) -> CounsellorOut:
        return cls(id=c.id, user_id=c.user_id, counselor_code=c.counselor_code,
                   display_name=c.display_name, created_at=c.created_at)


class MovedOut(BaseModel):
    moved: int


@router.get("/students", responses=problems(404))
def list_students(principal: CurrentPrincipal, education: Education, page: Paging,
                  counsellor_id: uuid.UUID | None = None,
                  grade: Annotated[str | None, Query(max_length=32)] = None,
                  country: Annotated[str | None, Query(max_length=2)] = None
                  ) -> PageOut[StudentOut]:
    filter = StudentFilter(counsellor_id=counsellor_id, grade=grade, country=country)
    found = education.list_students(principal, filter, page)
    return PageOut(items=[StudentOut.of(s) for s in found.items], next_cursor=found.next_cursor)


@router.post("/students", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/education/students/{id}"), responses=problems(404))
def enrol_student(body: StudentIn, principal: CurrentPrincipal, education: Education
                  ) -> StudentOut:
    """Give a lead a student profile (one per lead)."""
    profile = body.model_dump(exclude_unset=True, exclude={"lead_id", "counsellor_id"})
    return StudentOut.of(education.enrol_student(principal, body.lead_id, profile,
                                                 counsellor_id=body.counsellor_id))


@router.get("/students/{student_id}")
def get_student(student_id: uuid.UUID, principal: CurrentPrincipal, education: Education
                ) -> StudentOut:
    return StudentOut.of(education.get_student(principal, student_id))


@router.patch("/students/{student_id}")
def update_student(student_id: uuid.UUID, body: ProfileIn, principal: CurrentPrincipal,
                   education: Education) -> StudentOut:
    return StudentOut.of(education.update_student(principal, student_id,
                                                  body.model_dump(exclude_unset=True)))


@router.delete("/students/{student_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_student(student_id: uuid.UUID, principal: CurrentPrincipal, education: Education
                   ) -> Response:
    """Remove the student profile; the lead stays."""
    education.remove_student(principal, student_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/students/{student_id}/counsellor")
def assign_counsellor(student_id: uuid.UUID, body: AssignIn, principal: CurrentPrincipal,
                      education: Education) -> StudentOut:
    """Assign, re-assign or (null) unassign the student's counsellor."""
    return StudentOut.of(education.assign_counsellor(principal, student_id, body.counsellor_id))


@router.get("/counsellors")
def list_counsellors(principal: CurrentPrincipal, education: Education, page: Paging
                     ) -> PageOut[CounsellorOut]:
    found = education.list_counsellors(principal, page)
    return PageOut(items=[CounsellorOut.of(c) for c in found.items],
                   next_cursor=found.next_cursor)


@router.post("/counsellors", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/education/counsellors/{id}"), responses=problems(404))
def add_counsellor(body: CounsellorIn, principal: CurrentPrincipal, education: Education
                   ) -> CounsellorOut:
    return CounsellorOut.of(education.add_counsellor(principal, body.user_id,
                                                     body.counselor_code,
                                                     name=body.display_name))


@router.get("/counsellors/{counsellor_id}")
def get_counsellor(counsellor_id: uuid.UUID, principal: CurrentPrincipal,
                   education: Education) -> CounsellorOut:
    return CounsellorOut.of(education.get_counsellor(principal, counsellor_id))


@router.patch("/counsellors/{counsellor_id}")
def update_counsellor(counsellor_id: uuid.UUID, body: CounsellorPatch,
                      principal: CurrentPrincipal, education: Education) -> CounsellorOut:
    return CounsellorOut.of(education.update_counsellor(
        principal, counsellor_id, code=body.counselor_code, name=body.display_name))


@router.delete("/counsellors/{counsellor_id}")
def remove_counsellor(counsellor_id: uuid.UUID, principal: CurrentPrincipal,
                      education: Education,
                      reassign_to: Annotated[uuid.UUID | None, Query(
                          description="Where the caseload goes")] = None) -> MovedOut:
    """Refused while students are on the caseload, unless reassign_to names a counsellor."""
    return MovedOut(moved=education.remove_counsellor(principal, counsellor_id,
                                                      reassign_to=reassign_to))


@router.get("/counsellors/{counsellor_id}/students")
def caseload(counsellor_id: uuid.UUID, principal: CurrentPrincipal, education: Education,
             page: Paging) -> PageOut[StudentOut]:
    found = education.caseload(principal, counsellor_id, page)
    return PageOut(items=[StudentOut.of(s) for s in found.items], next_cursor=found.next_cursor)


@router.post("/counsellors/{counsellor_id}/reassign")
def reassign_caseload(counsellor_id: uuid.UUID, body: ReassignIn, principal: CurrentPrincipal,
                      education: Education) -> MovedOut:
    """Move the whole caseload to another counsellor."""
    return MovedOut(moved=education.reassign_caseload(principal, counsellor_id,
                                                      body.to_counsellor_id))
