"""Importing leads from CSV: mapping, per-row checks, deduplication, dry runs and files that
are refused whole."""

from __future__ import annotations

import codecs
import io
from typing import Any

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.leads.services.importing import ImportReport, LeadImportService
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from tests.unit.leads.workspace import Workspace


def _import(ws: Workspace, content: str | bytes, **options: object) -> ImportReport:
    raw = content.encode() if isinstance(content, str) else content
    return ws.lad.lead_import().import_leads(ws.owner, io.BytesIO(raw), **options)  # type: ignore[arg-type]


def _emails(ws: Workspace) -> list[str | None]:
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=200))
    return sorted(lead.email or "" for lead in found.items)


def test_import_creates_leads_from_aliased_columns(ws: Workspace) -> None:
    report = _import(ws, "First Name,Surname,E-mail,Phone Number,Company,Job Title\n"
                         "Ada,Lovelace,ADA@example.com,+44 20 7946 0958,Acme,CTO\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (report.created, report.rows) == (1, 1)
    assert (lead.first_name, lead.last_name, lead.email, lead.phone, lead.title,
            lead.source) == ("Ada", "Lovelace", "ada@example.com", "+442079460958", "CTO",
                             "import")


def test_rejected_rows_name_row_field_and_reason(ws: Workspace) -> None:
    report = _import(ws, "email,phone\nok@example.com,\nbad-email,\ngood@example.com,12\n")
    assert report.created == 1 and report.rejected_rows == 2
    assert [(r.row, r.field) for r in report.rejected] == [(3, "email"), (4, "phone")]


def test_duplicates_in_the_file_keep_the_first_row(ws: Workspace) -> None:
    report = _import(ws, "email,first_name\na@x.io,First\nA@x.io,Second\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (report.created, report.skipped, report.duplicates_in_file) == (1, 1, 1)
    assert lead.first_name == "First"


def test_rows_matching_live_leads_are_skipped_by_default(ws: Workspace) -> None:
    ws.lead(email="a@x.io", company="Old")
    report = _import(ws, "email,company\na@x.io,New\nb@x.io,New\n")
    assert (report.created, report.updated, report.skipped) == (1, 0, 1)


def test_on_duplicate_update_overwrites_with_non_blank_cells(ws: Workspace) -> None:
    lead = ws.lead(email="a@x.io", company="Old", title="CTO")
    report = _import(ws, "email,company,title\na@x.io,New,\n", on_duplicate="update")
    updated = ws.lad.leads().get_lead(ws.owner, lead.id)
    assert (report.created, report.updated) == (0, 1)
    assert (updated.company, updated.title) == ("New", "CTO")


def test_a_dry_run_reports_but_writes_nothing(ws: Workspace) -> None:
    ws.lead(email="a@x.io")
    report = _import(ws, "email\na@x.io\nb@x.io\nb@x.io\nbad\n", dry_run=True)
    assert (report.created, report.skipped, report.rejected_rows) == (1, 2, 1)
    assert _emails(ws) == ["a@x.io"]


def test_unknown_columns_are_reported_and_custom_columns_kept(ws: Workspace) -> None:
    report = _import(ws, "email,Favourite colour,custom.LinkedIn URL\na@x.io,red,li/ada\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert report.ignored_columns == ["Favourite colour"]
    assert lead.custom_fields == {"linkedin_url": "li/ada"}


def test_stage_by_label_and_owner_by_email(ws: Workspace) -> None:
    member = ws.member(email="sam@acme.test")
    _import(ws, "email,stage,owner\na@x.io,Meeting booked,SAM@acme.test\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (lead.stage, lead.owner_id) == ("meeting", member.user_id)


def test_unknown_stage_and_owner_are_rejected(ws: Workspace) -> None:
    report = _import(ws, "email,stage,owner\na@x.io,limbo,nobody@x.io\n")
    assert {r.field for r in report.rejected} == {"stage", "owner"}


def test_a_full_name_column_is_split(ws: Workspace) -> None:
    _import(ws, "Name,email\nAda King Lovelace,a@x.io\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (lead.first_name, lead.last_name) == ("Ada", "King Lovelace")


def test_a_byte_order_mark_and_blank_lines_are_fine(ws: Workspace) -> None:
    report = _import(ws, b"\xef\xbb\xbfemail\r\n\r\na@x.io\r\n,\r\n")
    assert (report.created, report.rejected_rows) == (1, 0)


def test_another_encoding_can_be_named(ws: Workspace) -> None:
    _import(ws, "email,first_name\na@x.io,Zoë\n".encode("latin-1"), encoding="latin-1")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert lead.first_name == "Zoë"


def test_a_formula_escaped_by_export_is_read_back(ws: Workspace) -> None:
    _import(ws, "email,company\na@x.io,'=SUM(A1)\n")
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert lead.company == "=SUM(A1)"


def test_progress_is_reported_per_batch(ws: Workspace) -> None:
    seen: list[tuple[int, int]] = []
    _import(ws, "email\na@x.io\nb@x.io\n", progress=lambda b, r: seen.append((b, r)))
    assert seen[-1][1] == 2 and seen[-1][0] > 0


def test_an_import_records_one_event(ws: Workspace) -> None:
    _import(ws, "email\na@x.io\n")
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        events = uow.events.list(event_type="leads.imported")
    assert events[0].payload["created"] == 1


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file: is empty"),
    (b"\n\n", "file: is empty"),
    (b"ada@example.com,Ada\n", "no header row"),
    (b"colour,size\nred,XL\n", "none of its columns is known"),
    (b"email,E-mail\na@x.io,b@x.io\n", "both mean email"),
    (b"email,name\na@x.io,Zo\x81\n", "is not valid cp1252 text .a bad byte at line 2."),
    (b"\xff\xfee\x00m\x00", "none of its columns is known"),
    (b'First Name,E-mail\n"Ada,a@x.io\n', "is not valid CSV"),
])
def test_a_bad_file_is_refused_whole(ws: Workspace, content: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        _import(ws, content)
    assert _emails(ws) == []


def test_an_encoding_error_late_in_the_file_names_its_line_and_writes_nothing(
        ws: Workspace) -> None:
    """The text is decoded in blocks ahead of the rows: the line is found all the same (a
    cp1252 file read as UTF-8 used to be reported at "line 0")."""
    rows = "".join(f"p{i}@x.io\n" for i in range(50)).encode()
    service = LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), batch_rows=10)
    with pytest.raises(ValidationFailed, match=r"not valid utf-8 text \(a bad byte at line 52\)"):
        service.import_leads(ws.owner, io.BytesIO(b"email\n" + rows + b"bad\xff@x.io\n"),
                             encoding="utf-8")
    # Detected, not given: the file is cp1252, whose five undecodable bytes are named too.
    with pytest.raises(ValidationFailed, match=r"not valid cp1252 text \(a bad byte at line 52\)"):
        service.import_leads(ws.owner, io.BytesIO(b"email\n" + rows + b"bad\x81\xe9@x.io\n"))
    assert _emails(ws) == []


@pytest.mark.parametrize(("raw", "encoding"), [
    ("First Name;E-mail;Company\nJürgen;j@x.io;Müller & Söhne\n".encode("cp1252"), "cp1252"),
    ("First Name;E-mail;Company\nJürgen;j@x.io;Müller & Söhne\n".encode(), "utf-8"),
    ("First Name;E-mail;Company\nJürgen;j@x.io;Müller & Söhne\n".encode("utf-8-sig"), "utf-8"),
    ("First Name;E-mail;Company\nJürgen;j@x.io;Müller & Söhne\n".encode("utf-16"), "utf-16-le"),
    (codecs.BOM_UTF16_BE + "First Name;E-mail;Company\nJürgen;j@x.io;Müller & Söhne\n".encode(
        "utf-16-be"), "utf-16-be"),
])
def test_the_encoding_is_detected_and_reported(ws: Workspace, raw: bytes, encoding: str
                                               ) -> None:
    """A byte-order mark decides (and is no part of the first column's name); else UTF-8
    when the file decodes as UTF-8; else cp1252, what Excel writes in Western Europe."""
    report = _import(ws, raw)
    assert (report.encoding, report.delimiter, report.created) == (encoding, ";", 1)
    assert [c.column for c in report.columns] == ["First Name", "E-mail", "Company"]
    lead = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0]
    assert (lead.first_name, lead.company) == ("Jürgen", "Müller & Söhne")


def test_utf8_is_chosen_only_when_the_whole_file_decodes(ws: Workspace) -> None:
    """A cp1252 byte past the first MiB still makes the file cp1252."""
    ignored = ",".join(f"note{i}" for i in range(10))
    long_row = b"a@x.io,Ada," + b",".join([b"y" * 120_000] * 10)
    report = _import(ws, b"email,first_name," + ignored.encode() + b"\n" + long_row
                     + b"\nz@x.io,Zo\xeb" + b"," * 10 + b"\n")
    assert (report.encoding, report.created, report.rejected) == ("cp1252", 2, [])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        lead = uow.leads.find_live_by_email("z@x.io")
    assert lead is not None and lead.first_name == "Zoë"


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_a_stream_that_cannot_seek_is_judged_on_its_beginning(ws: Workspace, encoding: str
                                                              ) -> None:
    class Pipe(io.RawIOBase):
        """Gives a few bytes a read: in UTF-8 the first read ends inside the "ë"."""

        def __init__(self, raw: bytes) -> None:
            self._raw = io.BytesIO(raw)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any, /) -> int:
            data = self._raw.read(min(len(buffer), len("email;first_name\nz@x.io;Zo") + 1))
            buffer[:len(data)] = data
            return len(data)

    raw = "email;first_name\nz@x.io;Zoë\n".encode(encoding)
    report = ws.lad.lead_import().import_leads(ws.owner, Pipe(raw))  # type: ignore[arg-type]
    assert (report.encoding, report.created) == (encoding, 1)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        lead = uow.leads.find_live_by_email("z@x.io")
    assert lead is not None and lead.first_name == "Zoë"


def test_a_given_encoding_wins_over_detection(ws: Workspace) -> None:
    report = _import(ws, "email,first_name\na@x.io,Zoë\n".encode("latin-1"),
                     encoding="latin-1")
    assert report.encoding == "iso8859-1"
    with pytest.raises(ValidationFailed, match=r"not valid utf-8 text \(a bad byte at line 2\)"):
        _import(ws, "email,first_name\nb@x.io,Zoë\n".encode("cp1252"), encoding="utf-8")


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_a_semicolon_or_tab_separated_file_is_read_as_such(ws: Workspace,
                                                           delimiter: str) -> None:
    """Excel writes semicolons where the comma is the decimal mark (most of Europe)."""
    text = delimiter.join(["First Name", "E-mail", "Company"]) + "\n" + delimiter.join(
        ["Zoë", "zoe@x.io", '"Müller; Söhne, GmbH"']) + "\n"
    report = _import(ws, text.encode("cp1252"), encoding="cp1252")
    assert (report.created, report.rejected) == (1, [])
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        lead = uow.leads.find_live_by_email("zoe@x.io")
    assert lead is not None
    assert (lead.first_name, lead.company) == ("Zoë", "Müller; Söhne, GmbH")


def test_a_file_over_the_size_limit_is_refused(ws: Workspace) -> None:
    service = LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), max_bytes=64)
    with pytest.raises(ValidationFailed, match="larger than the import limit"):
        service.import_leads(ws.owner, io.BytesIO(b"email\n" + b"a@x.io\n" * 20))
    assert _emails(ws) == []


def test_a_row_with_extra_cells_is_rejected(ws: Workspace) -> None:
    report = _import(ws, "email,company\na@x.io,Acme, Inc\n")
    assert [(r.row, r.field) for r in report.rejected] == [(2, "row")]


def test_a_nul_character_rejects_the_row(ws: Workspace) -> None:
    report = _import(ws, "email,company\na@x.io,Ac\x00me\n")
    assert report.rejected[0].field == "row"


def test_bad_options_name_their_field(ws: Workspace) -> None:
    for options, field in (({"on_duplicate": "merge"}, "on_duplicate"),
                           ({"region": "Britain"}, "region"),
                           ({"encoding": "klingon"}, "encoding"),
                           ({"encoding": "base64"}, "encoding"),
                           ({"encoding": "rot13"}, "encoding")):
        with pytest.raises(ValidationFailed, match=field):
            _import(ws, "email\na@x.io\n", **options)


@pytest.mark.parametrize(("encoding", "cell"), [("utf-7", b"ab+2AA-c"),
                                                ("unicode_escape", b"ab\\ud800c")])
def test_a_codec_that_decodes_to_lone_surrogates_refuses_the_file(
        ws: Workspace, encoding: str, cell: bytes) -> None:
    with pytest.raises(ValidationFailed, match="file: decodes to text that is not valid"):
        _import(ws, b"email,company\na@x.io," + cell + b"\n", encoding=encoding)
    assert _emails(ws) == []


def test_a_dry_run_reports_the_mapping(ws: Workspace) -> None:
    report = _import(ws, "First Name,E-mail,Mobile,Phone,City,Country,Shoe size\n"
                         "Ada,a@x.io,,,Leeds,,\n", dry_run=True)
    assert [(c.column, c.field) for c in report.columns] == [
        ("First Name", "first_name"), ("E-mail", "email"), ("Mobile", "phone"),
        ("Phone", "phone"), ("City", "city"), ("Country", "country")]
    assert (report.ignored_columns, report.created) == (["Shoe size"], 1)


def test_blank_places_are_skipped_in_the_location(ws: Workspace) -> None:
    _import(ws, "email,City,State,Country\na@x.io,Leeds,,United Kingdom\nb@x.io,,,\n")
    found = ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items
    assert {lead.email: lead.custom_fields for lead in found} == {
        "a@x.io": {"location": "Leeds, United Kingdom"}, "b@x.io": {}}


def test_a_location_too_long_rejects_the_row(ws: Workspace) -> None:
    report = _import(ws, f"email,location\na@x.io,{'x' * 300}\n")
    assert [(r.row, r.field) for r in report.rejected] == [(2, "location")]
