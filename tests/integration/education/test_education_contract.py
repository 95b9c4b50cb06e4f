"""Students and counsellors on every backend: keys, caseloads and re-assignment."""

from __future__ import annotations

import pytest

from lad_domain.education.model import StudentFilter
from lad_domain.shared.errors import Conflict
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def test_students_round_trip_and_filter(ws: Workspace) -> None:
    education = ws.lad.education()
    student = education.enrol_student(ws.owner, ws.lead().id, {
        "student_parent_name": "Mary", "grade": "12", "intended_programme": "Law",
        "country": "us"})
    education.enrol_student(ws.owner, ws.lead().id, {"grade": "9"})
    found = education.list_students(ws.owner, StudentFilter(grade="12", country="US"),
                                    PageRequest()).items
    assert found == [student]


def test_a_lead_is_a_student_once_even_in_sql(ws: Workspace) -> None:
    lead = ws.lead()
    ws.lad.education().enrol_student(ws.owner, lead.id, {})
    with pytest.raises(Conflict):
        ws.lad.education().enrol_student(ws.owner, lead.id, {})


def test_a_counselor_code_is_taken_once(ws: Workspace) -> None:
    ws.lad.education().add_counsellor(ws.owner, ws.member().user_id, "ab")  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="counselor_code"):
        ws.lad.education().add_counsellor(ws.owner, ws.member().user_id, "AB")  # type: ignore[arg-type]


def test_a_caseload_moves_when_its_counsellor_leaves(ws: Workspace) -> None:
    education = ws.lad.education()
    leaving = education.add_counsellor(ws.owner, ws.member().user_id, "A")  # type: ignore[arg-type]
    staying = education.add_counsellor(ws.owner, ws.member().user_id, "B")  # type: ignore[arg-type]
    students = [education.enrol_student(ws.owner, ws.lead().id, {}, counsellor_id=leaving.id)
                for _ in range(2)]
    assert education.remove_counsellor(ws.owner, leaving.id, reassign_to=staying.id) == 2
    caseload = education.caseload(ws.owner, staying.id, PageRequest()).items
    assert sorted(s.id for s in caseload) == sorted(s.id for s in students)
    assert [c.id for c in education.list_counsellors(ws.owner, PageRequest()).items] == [
        staying.id]
