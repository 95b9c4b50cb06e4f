"""The CLI: ``lad education students|counsellors|assign`` as the operator, on every backend;
--json for scripts, one-line errors with the documented exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.leads.test_leads_cli import lad
from tests.unit.leads.workspace import Workspace


def _json(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = lad(ws.lad, capsys, "education", *args, "--tenant", str(ws.tenant_id),
                         "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_student_is_enrolled_shown_and_listed(ws: Workspace,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    student = _json(ws, capsys, "students", "enrol", str(ws.lead().id), "--grade", "11",
                    "--country", "gb")
    assert (student["grade"], student["country"]) == ("11", "GB")
    assert _json(ws, capsys, "students", "show", student["id"]) == student
    listed = _json(ws, capsys, "students", "list", "--country", "gb")
    assert [s["id"] for s in listed["items"]] == [student["id"]]


def test_a_counsellor_takes_a_student_and_hands_the_caseload_on(
        ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = (_json(ws, capsys, "counsellors", "add", str(ws.member().user_id),
                           "--code", code) for code in ("a-1", "b-2"))
    student = _json(ws, capsys, "students", "enrol", str(ws.lead().id))
    assert _json(ws, capsys, "assign", student["id"], first["id"])["counsellor_id"] == first["id"]
    moved = _json(ws, capsys, "counsellors", "remove", first["id"], "--reassign-to", second["id"])
    assert moved["students_moved"] == 1
    listed = _json(ws, capsys, "counsellors", "list")["items"]
    assert [c["counselor_code"] for c in listed] == ["B-2"]


def test_domain_errors_are_one_line_with_their_exit_code(
        ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    counsellor = _json(ws, capsys, "counsellors", "add", str(ws.member().user_id), "--code", "C")
    student = _json(ws, capsys, "students", "enrol", str(ws.lead().id),
                    "--counsellor", counsellor["id"])
    code, _, err = lad(ws.lad, capsys, "education", "counsellors", "remove", counsellor["id"],
                       "--tenant", str(ws.tenant_id))
    assert (code, err.count("\n")) == (4, 1) and "reassign_to" in err
    lad(ws.lad, capsys, "education", "students", "remove", student["id"], "--tenant",
        str(ws.tenant_id))
    code, _, err = lad(ws.lad, capsys, "education", "students", "show", student["id"],
                       "--tenant", str(ws.tenant_id))
    assert (code, err.strip()) == (3, "error: student not found")
