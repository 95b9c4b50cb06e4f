"""Exporting leads to CSV: every lead, cells safe in a spreadsheet, and read back by import."""

from __future__ import annotations

import csv
import io

import pytest

from lad_domain.leads.csv_format import EXPORT_COLUMNS
from lad_domain.leads.model import LeadFilter
from lad_domain.shared.errors import PermissionDenied
from lad_domain.shared.principal import Role
from tests.unit.leads.workspace import Workspace


def _export(ws: Workspace, filter: LeadFilter | None = None) -> list[dict[str, str]]:
    text = "".join(ws.lad.lead_export().export_leads(ws.owner, filter or LeadFilter()))
    return list(csv.DictReader(io.StringIO(text)))


def test_export_writes_a_header_and_every_lead(ws: Workspace) -> None:
    for i in range(250):
        ws.lead(email=f"p{i}@x.io")
    text = "".join(ws.lad.lead_export().export_leads(ws.owner, LeadFilter()))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) == 251


def test_export_applies_the_filter(ws: Workspace) -> None:
    ws.lead(email="a@x.io", stage="won")
    ws.lead(email="b@x.io")
    assert [r["email"] for r in _export(ws, LeadFilter(stage="won"))] == ["a@x.io"]


def test_formula_cells_are_escaped(ws: Workspace) -> None:
    ws.lead(first_name="=cmd|' /C calc'!A0", company="@SUM(1)", title="-2+3",
            phone="+44 20 7946 0958")
    row = _export(ws)[0]
    assert row["first_name"] == "'=cmd|' /C calc'!A0"
    assert (row["company"], row["title"]) == ("'@SUM(1)", "'-2+3")
    assert row["phone"] == "+442079460958"


def test_an_export_imports_back_unchanged(ws: Workspace) -> None:
    member = ws.member(email="sam@acme.test")
    ws.lead(email="a@x.io", first_name="=HYPERLINK()", owner_id=member.user_id,
            custom_fields={"tier": 1})
    text = "".join(ws.lad.lead_export().export_leads(ws.owner, LeadFilter()))
    other = Workspace.sign_up(ws.lad, "Copy")
    other.member(email="sam2@acme.test")
    report = other.lad.lead_import().import_leads(
        other.owner, io.BytesIO(text.replace("sam@acme.test", "sam2@acme.test").encode()))
    assert report.created == 1 and report.ignored_columns == ["id", "created_at", "updated_at"]
    row = _export(other)[0]
    assert (row["first_name"], row["custom_fields"]) == ("'=HYPERLINK()", '{"tier": 1}')


def test_a_viewer_cannot_export(ws: Workspace) -> None:
    with pytest.raises(PermissionDenied):
        ws.lad.lead_export().export_leads(ws.member(Role.VIEWER), LeadFilter())
