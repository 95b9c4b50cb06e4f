"""Rows another context hands over (Apollo people found by enrichment) import as a file's
rows do, on every backend: the same checks, deduplication by email and report."""

from __future__ import annotations

import csv
import io

import attrs
import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.leads.services.importing import ImportReport, LeadImportService
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace

HEADER = ["first_name", "last_name", "email", "phone", "company", "title", "linkedin_url",
          "location", "source", "custom.apollo_person_id", "custom.apollo_organization_id"]
RECORDS = [
    ("Ada", "Lovelace", "a@x.io", "+44 20 7946 0958", "Engines", "CTO",
     "http://www.linkedin.com/in/ada", "London, United Kingdom", "apollo", "p-1", "o-1"),
    ("Old", "Lead", "old@x.io", "", "", "", "", "", "apollo", "p-2", "o-1"),
    ("Bo", "", "B@X.IO", "", "", "", "", "", "apollo", "p-3", ""),
    ("Bo", "Again", "b@x.io", "", "", "", "", "", "apollo", "p-4", ""),
    ("Cy", "", "bad-email", "", "", "", "", "", "apollo", "p-5", ""),
]


def _service(ws: Workspace) -> LeadImportService:
    return LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), batch_rows=2)


def _emails(ws: Workspace) -> list[str]:
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=200)).items
    return sorted(lead.email or "" for lead in found)


def test_records_dedupe_against_leads_and_each_other(ws: Workspace) -> None:
    ws.lead(email="old@x.io")
    report = _service(ws).import_records(ws.owner, HEADER, RECORDS)
    assert (report.rows, report.created, report.skipped, report.duplicates_in_file,
            report.rejected_rows) == (5, 2, 2, 1, 1)
    assert [(r.row, r.field) for r in report.rejected] == [(6, "email")]
    assert _emails(ws) == ["a@x.io", "b@x.io", "old@x.io"]


def test_records_fill_the_lead_and_its_custom_fields(ws: Workspace) -> None:
    _service(ws).import_records(ws.owner, HEADER, RECORDS[:1])
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (lead.phone, lead.company, lead.source) == ("+442079460958", "Engines", "apollo")
    assert lead.custom_fields == {
        "apollo_person_id": "p-1", "apollo_organization_id": "o-1",
        "linkedin_url": "https://www.linkedin.com/in/ada", "location": "London, United Kingdom"}


def test_records_report_as_the_same_file_does(ws: Workspace) -> None:
    ws.lead(email="old@x.io")
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *RECORDS])
    from_file = _service(ws).import_leads(ws.owner, io.BytesIO(text.getvalue().encode()),
                                          dry_run=True, on_duplicate="update")
    from_records = _service(ws).import_records(ws.owner, HEADER, iter(RECORDS), dry_run=True,
                                               on_duplicate="update")
    assert _without_timings(from_records) == _without_timings(from_file)
    assert from_records.updated == 1 and len(from_records.columns) == len(HEADER)
    assert (from_file.encoding, from_records.encoding) == ("utf-8", None)


def _without_timings(report: ImportReport) -> ImportReport:
    """The report but its timings and what only a file has (its encoding and delimiter)."""
    return attrs.evolve(report, timings={}, encoding=None, delimiter=None)


def test_records_update_a_live_lead(ws: Workspace) -> None:
    lead = ws.lead(email="old@x.io", company="Before")
    _service(ws).import_records(ws.owner, ["email", "company"], [["OLD@x.io", "After"]],
                                on_duplicate="update")
    assert ws.lad.leads().get_lead(ws.owner, lead.id).company == "After"


def test_records_with_invalid_text_write_nothing(ws: Workspace) -> None:
    records = [("a@x.io",), ("b@x.io",), ("c\ud800@x.io",)]
    with pytest.raises(ValidationFailed, match="records: hold text that is not valid Unicode"):
        _service(ws).import_records(ws.owner, ["email"], records)
    assert _emails(ws) == []
