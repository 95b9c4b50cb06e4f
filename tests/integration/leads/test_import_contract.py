"""Import and export on every backend: the set-based writer, deduplication, dry runs, and
files refused whole leave nothing behind."""

from __future__ import annotations

import csv
import io

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.leads.services.importing import ImportReport, LeadImportService
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def _import(ws: Workspace, text: str, **options: object) -> ImportReport:
    service = LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), batch_rows=3)
    return service.import_leads(ws.owner, io.BytesIO(text.encode()), **options)  # type: ignore[arg-type]


def _leads(ws: Workspace) -> dict[str, tuple[str | None, ...]]:
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=200)).items
    return {lead.email or "": (lead.first_name, lead.phone, lead.company) for lead in found}


FILE = ("E-mail,First Name,Phone,Company\n"
        "a@x.io,Ada,+44 20 7946 0958,Acme\n"
        "b@x.io,Bo,,\n"
        "A@X.IO,Again,,\n"
        "bad-email,Cy,,\n"
        "c@x.io,Cy,+1 555,\n"
        "d@x.io,Di,,Initech\n"
        "e@x.io,Ed,,\n")


def test_valid_rows_are_written_in_batches(ws: Workspace) -> None:
    report = _import(ws, FILE)
    assert (report.rows, report.created, report.skipped, report.rejected_rows) == (7, 4, 1, 2)
    assert _leads(ws)["a@x.io"] == ("Ada", "+442079460958", "Acme")
    assert [(r.row, r.field) for r in report.rejected] == [(5, "email"), (6, "phone")]


def test_existing_leads_are_skipped_or_updated(ws: Workspace) -> None:
    ws.lead(email="a@x.io", first_name="Old", company="Old Co")
    skipped = _import(ws, FILE, dry_run=True)
    assert (skipped.created, skipped.updated, skipped.skipped) == (3, 0, 2)
    updated = _import(ws, FILE, on_duplicate="update")
    assert (updated.created, updated.updated, updated.skipped) == (3, 1, 1)
    assert _leads(ws)["a@x.io"] == ("Ada", "+442079460958", "Acme")


def test_a_dry_run_writes_nothing(ws: Workspace) -> None:
    assert _import(ws, FILE, dry_run=True).created == 4
    assert _leads(ws) == {}


def test_a_file_error_after_staged_batches_writes_nothing(ws: Workspace) -> None:
    with pytest.raises(ValidationFailed, match="is not valid CSV at line 9"):
        _import(ws, FILE + '"' + "x" * 200_000 + '",Z\n')
    service = LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), batch_rows=3)
    with pytest.raises(ValidationFailed, match="utf-8"):
        service.import_leads(ws.owner, io.BytesIO(FILE.encode() + b"f@x.io,\xff\n"),
                             encoding="utf-8")
    assert _leads(ws) == {}


def test_custom_fields_are_merged_on_update(ws: Workspace) -> None:
    ws.lead(email="a@x.io", custom_fields={"tier": "gold", "seats": "5"})
    _import(ws, "email,custom.seats\na@x.io,9\n", on_duplicate="update")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert lead.custom_fields == {"tier": "gold", "seats": "9"}


def test_an_export_lists_every_lead_once(ws: Workspace) -> None:
    _import(ws, FILE)
    text = "".join(ws.lad.lead_export().export_leads(ws.owner, LeadFilter()))
    emails = sorted(row["email"] for row in csv.DictReader(io.StringIO(text)))
    assert emails == ["a@x.io", "b@x.io", "d@x.io", "e@x.io"]


REPEATS = ("email\n"
           "a@x.io\nb@x.io\nc@x.io\n"  # a lead before the import, then two new ones
           "A@X.IO\nB@x.io\nd@x.io\n"  # repeats of both kinds, a batch later
           "a@x.io\nb@x.io\ne@x.io\n")


@pytest.mark.parametrize(("options", "counts"), [
    ({}, (4, 0, 5, 4)),
    ({"dry_run": True}, (4, 0, 5, 4)),
    ({"on_duplicate": "update"}, (4, 1, 4, 4)),
])
def test_a_repeated_email_counts_once_whether_new_or_there_before(
        ws: Workspace, options: dict[str, object], counts: tuple[int, ...]) -> None:
    ws.lead(email="a@x.io", first_name="Old")
    report = _import(ws, REPEATS, **options)
    assert (report.created, report.updated, report.skipped,
            report.duplicates_in_file) == counts
    if not options:
        assert sorted(_leads(ws)) == ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"]
