"""Bulk import of leads from CSV: streamed in batches, each row checked, valid rows staged
(by a writer thread, while the next batch is checked) and written in one transaction by
set-based statements; rejected rows are reported, never half-written."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from time import perf_counter
from typing import TYPE_CHECKING, BinaryIO, Protocol

import attrs

from lad_domain.leads.csv_format import map_header
from lad_domain.leads.events import LeadsImported
from lad_domain.leads.model import OnDuplicate, parse_on_duplicate
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.ports import ImportMerge, ImportRow, PhoneNumberParser
from lad_domain.leads.row_check import RowCheck
from lad_domain.leads.services.leads import LeadsScope, member_emails, pipeline_of
from lad_domain.leads.staging_writer import StagingWriter
from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import tenant_of

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer  # the type typeshed gives RawIOBase.readinto

DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024
BATCH_ROWS = 5000
#: The report lists this many rejections; ``rejected_rows`` always counts them all.
MAX_REPORTED_REJECTIONS = 1000
STAGES = ("read", "validate", "dedupe", "write")

Progress = Callable[[int, int], None]


class CsvReader(Protocol):
    """What ``csv.reader`` returns (its class is not importable for annotations)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...
    def __next__(self) -> list[str]: ...


@attrs.frozen
class RowRejection:
    row: int  # the header is row 1, as in a spreadsheet
    field: str
    message: str


@attrs.define
class ImportReport:
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates_in_file: int = 0
    rejected_rows: int = 0
    rejected: list[RowRejection] = attrs.field(factory=list)
    ignored_columns: list[str] = attrs.field(factory=list)
    #: Seconds spent in each stage: read (decode, parse, map), validate, dedupe, write. The
    #: write runs on its own thread beside read and validate: the stages overlap.
    timings: dict[str, float] = attrs.field(factory=lambda: dict.fromkeys(STAGES, 0.0))

    def reject(self, row: int, errors: list[FieldError]) -> None:
        self.rejected_rows += 1
        room = MAX_REPORTED_REJECTIONS - len(self.rejected)
        self.rejected.extend(RowRejection(row, e.field, e.message) for e in errors[:room])


class _LimitedReader(io.RawIOBase):
    """Counts the bytes read and refuses to read past the limit."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        with memoryview(buffer) as view, view.cast("B") as octets:
            data = self._source.read(len(octets))
            size = len(data)
            self.count += size
            if self.count > self._limit:
                raise ValidationFailed.single(
                    "file", f"is larger than the import limit of {self._limit:,} bytes")
            octets[:size] = data
        return size


@attrs.define
class _Given:
    """What the validating side handed to the staging area: rows, and seconds spent reading
    and checking them (the staging area's own time is the rest)."""

    rows: int = 0
    checking: float = 0.0


@attrs.define
class LeadImportService:
    scope: LeadsScope
    phones: PhoneNumberParser
    max_bytes: int = DEFAULT_MAX_IMPORT_BYTES
    batch_rows: int = BATCH_ROWS

    def import_leads(self, principal: Principal, source: BinaryIO, *,
                     on_duplicate: OnDuplicate | str = OnDuplicate.SKIP, dry_run: bool = False,
                     region: str | None = None, encoding: str = "utf-8",
                     progress: Progress | None = None,
                     tenant_id: uuid.UUID | None = None) -> ImportReport:
        """Import a CSV file. With ``dry_run`` every check runs (duplicates included) and
        the report says what would happen, but nothing is written."""
        mode = parse_on_duplicate(on_duplicate)
        region = _region(region)
        reader, counter = self._open(source, encoding)
        report = ImportReport(dry_run=dry_run)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.IMPORT)
            started = perf_counter()
            header, row_no = _header(reader, encoding)
            columns = map_header(header)
            report.ignored_columns = list(columns.ignored)
            check = RowCheck(columns, pipeline_of(uow), member_emails(uow), self.phones, region,
                             self.scope.ids)
            staging = uow.lead_import()
            merge = None if dry_run else ImportMerge(on_duplicate=mode, at=now,
                                                     created_by=principal.user_id)
            report.timings["read"] += perf_counter() - started
            given = _Given()
            batches = self._valid_batches(reader, row_no, encoding, check, report, given,
                                          lambda: progress(counter.count, report.rows)
                                          if progress is not None else None)
            if staging.on_own_thread:
                writer = StagingWriter(lambda valid: staging.stage(valid, merge=merge))
                try:
                    for batch in batches:
                        writer.put(batch)
                except BaseException:
                    writer.abandon()
                    raise
                writer.finish()
                report.timings["write"] += writer.busy
            else:
                started = perf_counter()
                staging.stage(batches, merge=merge)
                report.timings["write"] += perf_counter() - started - given.checking
            staged = given.rows
            started = perf_counter()
            dedup = staging.deduplicate()
            # Read the role again in the transaction that writes: on SQLite the rows were
            # staged outside it, and a member removed meanwhile must not import.
            self.scope.require_again(uow, principal, LeadPermission.IMPORT)
            report.timings["dedupe"] += perf_counter() - started
            report.duplicates_in_file = dedup.in_file
            if dry_run:
                report.updated = dedup.existing if mode is OnDuplicate.UPDATE else 0
                report.created = staged - dedup.in_file - dedup.existing
                report.skipped = staged - report.created - report.updated
                return report
            started = perf_counter()
            merged = staging.merge()
            report.created, report.updated = merged.created, merged.updated
            report.skipped = staged - merged.created - merged.updated
            self.scope.record(uow, LeadsImported(
                aggregate_id=tenant_of(uow), created=report.created, updated=report.updated,
                skipped=report.skipped, rejected=report.rejected_rows))
            uow.commit()
            report.timings["write"] += perf_counter() - started
        return report

    def _valid_batches(self, reader: CsvReader, row_no: int, encoding: str, check: RowCheck,
                       report: ImportReport, given: _Given, progress: Callable[[], None]
                       ) -> Iterator[list[ImportRow]]:
        """Read and check the rows batch by batch and yield the valid ones of each batch;
        ``given`` counts the rows yielded and the time spent making them."""
        timings = report.timings
        while True:
            t0 = perf_counter()
            chunk = _next_chunk(reader, self.batch_rows, encoding)
            t1 = perf_counter()
            if not chunk:
                given.checking += t1 - t0
                timings["read"] += t1 - t0
                return
            valid: list[ImportRow] = []
            for cells in chunk:
                row_no += 1
                result = check.row(row_no, cells)
                if result is None:
                    continue  # a blank row
                report.rows += 1
                if isinstance(result, tuple):
                    valid.append(result)
                else:
                    report.reject(row_no, result)
            t2 = perf_counter()
            timings["read"] += t1 - t0
            timings["validate"] += t2 - t1
            given.checking += t2 - t0
            progress()
            if valid:
                given.rows += len(valid)
                yield valid

    def _open(self, source: BinaryIO, encoding: str
              ) -> tuple[CsvReader, _LimitedReader]:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ValidationFailed.single("encoding", f"{encoding!r} is not an encoding") from None
        counter = _LimitedReader(source, self.max_bytes)
        try:
            # utf-8-sig also reads files that start with a byte-order mark (Excel writes one).
            text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16),
                                    encoding="utf-8-sig" if codec == "utf-8" else codec,
                                    errors="strict", newline="")
        except LookupError:  # base64, rot13, ...: codecs, but not of bytes to text
            raise ValidationFailed.single("encoding", f"{encoding!r} is not a text encoding"
                                          ) from None
        # strict: an unterminated quote is an error, not the rest of the file in one cell.
        return csv.reader(text, strict=True), counter


def _header(reader: CsvReader, encoding: str) -> tuple[list[str], int]:
    """The first non-blank row, and its row number."""
    row_no = 0
    while True:
        chunk = _next_chunk(reader, 1, encoding)
        if not chunk:
            raise ValidationFailed.single("file", "is empty: it has no header and no rows")
        row_no += 1
        if any(cell.strip() for cell in chunk[0]):
            return chunk[0], row_no


def _next_chunk(reader: CsvReader, size: int, encoding: str) -> list[list[str]]:
    try:
        chunk = list(islice(reader, size))
        _ensure_text(chunk, reader.line_num)
        return chunk
    except UnicodeDecodeError:
        raise ValidationFailed.single(
            "file", f"is not valid {encoding} text (a bad byte after line {reader.line_num}); "
            "save it as UTF-8 or give its encoding") from None
    except csv.Error as error:
        raise ValidationFailed.single(
            "file", f"is not valid CSV at line {reader.line_num}: {error}") from None


def _ensure_text(chunk: list[list[str]], line: int) -> None:
    """Some codecs (utf-7, unicode_escape) decode to lone surrogates, which no text column
    can store: the file is refused, as for a byte its encoding cannot decode. (NUL is a
    rejected row: the row check names it.)"""
    text = "\x1f".join("\x1f".join(row) for row in chunk)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed.single(
            "file", f"decodes to text that is not valid Unicode (at or before line {line})"
        ) from None


def _region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if len(region) != 2 or not region.isalpha():
        raise ValidationFailed.single("region", "must be a two-letter country code, e.g. GB")
    return region.upper()

