"""Education: students (a lead's school profile), counsellors, assignment and caseloads."""

from __future__ import annotations

import uuid

import pytest

from lad_domain.education.model import Counsellor, Student, StudentFilter
from lad_domain.shared.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import Workspace


def _student(ws: Workspace, **fields: object) -> Student:
    return ws.lad.education().enrol_student(ws.owner, ws.lead().id, fields)


def _counsellor(ws: Workspace, code: str = "C-1") -> Counsellor:
    return ws.lad.education().add_counsellor(ws.owner, ws.member().user_id or uuid.uuid4(),
                                             code)


def test_a_lead_is_enrolled_with_a_school_profile(ws: Workspace) -> None:
    student = _student(ws, student_parent_name="Mary Lovelace", grade="11",
                       intended_programme="Mathematics", country="gb")
    found = ws.lad.education().get_student(ws.owner, student.id)
    assert (found.student_parent_name, found.grade, found.country) == ("Mary Lovelace", "11",
                                                                       "GB")


def test_a_lead_is_a_student_once(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.education().enrol_student(ws.owner, lead.id, {})
    with pytest.raises(Conflict):
        ws.lad.education().enrol_student(ws.owner, lead.id, {})


def test_bad_profile_fields_are_named(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed) as failed:
        _student(ws, country="Narnia", grade="x" * 40, shoe_size=9)
    assert {e.field for e in failed.value.errors} == {"country", "grade", "shoe_size"}


def test_a_counselor_code_is_unique_per_tenant(ws: Workspace) -> None:
    _counsellor(ws, "ab-1")
    with pytest.raises(Conflict):
        _counsellor(ws, "AB-1")
    assert _counsellor(Workspace.sign_up(ws.lad, "Other"), "AB-1").counselor_code == "AB-1"


def test_a_counsellor_must_be_a_member(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="user_id"):
        ws.lad.education().add_counsellor(ws.owner, uuid.uuid4(), "C-9")


def test_assigning_and_reassigning_a_counsellor(ws: Workspace) -> None:
    student, first, second = _student(ws), _counsellor(ws, "A"), _counsellor(ws, "B")
    ws.lad.education().assign_counsellor(ws.owner, student.id, first.id)
    moved = ws.lad.education().assign_counsellor(ws.owner, student.id, second.id)
    assert moved.counsellor_id == second.id and moved.counsellor_assigned_at is not None
    caseload = ws.lad.education().caseload(ws.owner, second.id, PageRequest())
    assert [s.id for s in caseload.items] == [student.id]
    assert ws.lad.education().caseload(ws.owner, first.id, PageRequest()).items == []


def test_assigning_an_unknown_counsellor_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFound, match="counsellor_id"):
        ws.lad.education().assign_counsellor(ws.owner, _student(ws).id, uuid.uuid4())


def test_a_counsellor_with_a_caseload_is_removed_only_with_reassign_to(ws: Workspace) -> None:
    student, leaving, staying = _student(ws), _counsellor(ws, "A"), _counsellor(ws, "B")
    ws.lad.education().assign_counsellor(ws.owner, student.id, leaving.id)
    with pytest.raises(Conflict, match="reassign_to"):
        ws.lad.education().remove_counsellor(ws.owner, leaving.id)
    assert ws.lad.education().remove_counsellor(ws.owner, leaving.id,
                                                reassign_to=staying.id) == 1
    assert ws.lad.education().get_student(ws.owner, student.id).counsellor_id == staying.id
    with pytest.raises(NotFound):
        ws.lad.education().get_counsellor(ws.owner, leaving.id)


def test_a_whole_caseload_moves(ws: Workspace) -> None:
    first, second = _counsellor(ws, "A"), _counsellor(ws, "B")
    for _ in range(3):
        ws.lad.education().assign_counsellor(ws.owner, _student(ws).id, first.id)
    assert ws.lad.education().reassign_caseload(ws.owner, first.id, second.id) == 3


def test_students_filter_by_grade_and_country(ws: Workspace) -> None:
    _student(ws, grade="10", country="GB")
    wanted = _student(ws, grade="11", country="US")
    found = ws.lad.education().list_students(ws.owner, StudentFilter(grade="11", country="US"),
                                             PageRequest())
    assert [s.id for s in found.items] == [wanted.id]


def test_a_library_caller_filters_by_a_lower_case_country(ws: Workspace) -> None:
    wanted = _student(ws, country="GB")
    _student(ws, country="US")
    found = ws.lad.education().list_students(ws.owner, StudentFilter(country="gb"),
                                             PageRequest())
    assert [s.id for s in found.items] == [wanted.id]


def test_a_country_filter_that_is_no_country_is_refused() -> None:
    with pytest.raises(ValidationFailed) as failed:
        StudentFilter(country="gbr")
    assert [e.field for e in failed.value.errors] == ["country"]


def test_a_removed_student_keeps_the_lead(ws: Workspace) -> None:
    student = _student(ws)
    ws.lad.education().remove_student(ws.owner, student.id)
    with pytest.raises(NotFound):
        ws.lad.education().get_student(ws.owner, student.id)
    assert ws.lad.leads().get_lead(ws.owner, student.lead_id).id == student.lead_id


def test_a_member_cannot_manage_counsellors(ws: Workspace) -> None:
    with pytest.raises(PermissionDenied):
        ws.lad.education().add_counsellor(ws.member(Role.MEMBER), uuid.uuid4(), "C-1")


def test_without_the_education_feature_nothing_is_allowed(ws: Workspace) -> None:
    ws.lad.team().set_feature(ws.owner, "education", False)
    with pytest.raises(PermissionDenied, match="education feature"):
        _student(ws)


def test_a_member_who_counsels_students_cannot_be_removed(ws: Workspace) -> None:
    member = ws.member()
    assert member.user_id is not None
    counsellor = ws.lad.education().add_counsellor(ws.owner, member.user_id, "C-7")
    ws.lad.education().assign_counsellor(ws.owner, _student(ws).id, counsellor.id)
    with pytest.raises(Conflict, match="reassign"):
        ws.lad.team().remove_member(ws.owner, member.user_id)


def test_a_removed_member_stops_counselling(ws: Workspace) -> None:
    member = ws.member()
    assert member.user_id is not None
    ws.lad.education().add_counsellor(ws.owner, member.user_id, "C-8")
    ws.lad.team().remove_member(ws.owner, member.user_id)
    assert ws.lad.education().list_counsellors(ws.owner, PageRequest()).items == []


def test_a_student_is_hidden_while_their_lead_is_deleted(ws: Workspace) -> None:
    student = _student(ws)
    ws.lad.leads().delete_lead(ws.owner, student.lead_id)
    with pytest.raises(NotFound):
        ws.lad.education().get_student(ws.owner, student.id)
    ws.lad.leads().restore_lead(ws.owner, student.lead_id)
    assert ws.lad.education().get_student(ws.owner, student.id).id == student.id
