"""Bulk import of leads from CSV, or from rows another context hands over: streamed in
batches, each row checked, valid rows staged (by a writer thread, while the next batch is
checked) and written in one transaction by set-based statements; rejected rows are
reported, never half-written."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from time import perf_counter
from typing import BinaryIO, Protocol

import attrs

from lad_domain.leads.csv_format import map_header
from lad_domain.leads.csv_reading import CsvRows, storable
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

DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024
BATCH_ROWS = 5000
#: The report lists this many rejections; ``rejected_rows`` always counts them all.
MAX_REPORTED_REJECTIONS = 1000
STAGES = ("read", "validate", "dedupe", "write")

#: Called after each batch with (bytes read, or records taken; rows so far).
Progress = Callable[[int, int], None]
ColumnMapping = Mapping[str, str | None]


@attrs.frozen
class RowRejection:
    row: int  # the header is row 1, as in a spreadsheet
    field: str
    message: str


@attrs.frozen
class MappedColumn:
    column: str  # as the header names it
    field: str  # a lead field, or custom.<name>


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
    #: Which column filled which field, in the file's order.
    columns: list[MappedColumn] = attrs.field(factory=list)
    ignored_columns: list[str] = attrs.field(factory=list)
    #: The file's text encoding: as given, or as detected (utf-8, utf-16-le, utf-16-be or
    #: cp1252); None for records handed over already split into cells.
    encoding: str | None = None
    #: What separates the file's cells (its header line's): ",", ";" or a tab.
    delimiter: str | None = None
    #: Seconds spent in each stage: read (decode, parse, map), validate, dedupe, write. The
    #: write runs on its own thread beside read and validate: the stages overlap.
    timings: dict[str, float] = attrs.field(factory=lambda: dict.fromkeys(STAGES, 0.0))

    def reject(self, row: int, errors: list[FieldError]) -> None:
        self.rejected_rows += 1
        room = MAX_REPORTED_REJECTIONS - len(self.rejected)
        self.rejected.extend(RowRejection(row, e.field, e.message) for e in errors[:room])


class _Rows(Protocol):
    """What an import reads: a header, then chunks of rows split into cells."""

    @property
    def consumed(self) -> int: ...  # for progress: bytes read, or records taken
    def header(self) -> tuple[list[str], int]: ...  # and its row number
    def chunk(self, size: int) -> list[list[str]]: ...  # empty at the end


class _Records:
    """Rows another context hands over already split into cells."""

    def __init__(self, header: Sequence[str], records: Iterable[Sequence[str]]) -> None:
        self._header = list(header)
        self._records = iter(records)
        self.consumed = 0

    def header(self) -> tuple[list[str], int]:
        return self._header, 1

    def chunk(self, size: int) -> list[list[str]]:
        chunk = [r if type(r) is list else list(r) for r in islice(self._records, size)]
        if not storable(chunk):
            raise ValidationFailed.single(
                "records", f"hold text that is not valid Unicode (at or before record "
                f"{self.consumed + len(chunk)})")
        self.consumed += len(chunk)
        return chunk


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
                     region: str | None = None, encoding: str | None = None,
                     progress: Progress | None = None, tenant_id: uuid.UUID | None = None,
                     column_map: ColumnMapping | None = None) -> ImportReport:
        """Import a CSV file. With ``dry_run`` every check runs (duplicates included) and
        the report says what would happen, but nothing is written. ``column_map`` places
        columns by their header name: a field, ``custom.<name>``, or None to ignore one.
        Without an ``encoding`` the file's is detected: a byte-order mark, else UTF-8 when it
        decodes, else cp1252; the report says which."""
        mode, region = parse_on_duplicate(on_duplicate), _region(region)
        rows = CsvRows(source, encoding, self.max_bytes)
        report = self._import(principal, rows, mode=mode, dry_run=dry_run, region=region,
                              progress=progress, tenant_id=tenant_id, column_map=column_map)
        report.encoding, report.delimiter = rows.encoding, rows.delimiter
        return report

    def import_records(self, principal: Principal, header: Sequence[str],
                       records: Iterable[Sequence[str]], *,
                       on_duplicate: OnDuplicate | str = OnDuplicate.SKIP,
                       dry_run: bool = False, region: str | None = None,
                       progress: Progress | None = None, tenant_id: uuid.UUID | None = None,
                       column_map: ColumnMapping | None = None) -> ImportReport:
        """Import rows already split into cells, as ``import_leads`` imports a file's: the
        header names the columns as a file's would (``email``, ``linkedin_url``,
        ``custom.<name>``, ...), the records are numbered from 2 as if it were row 1."""
        mode, region = parse_on_duplicate(on_duplicate), _region(region)
        return self._import(principal, _Records(header, records), mode=mode, dry_run=dry_run,
                            region=region, progress=progress, tenant_id=tenant_id,
                            column_map=column_map)

    def _import(self, principal: Principal, rows: _Rows, *, mode: OnDuplicate, dry_run: bool,
                region: str | None, progress: Progress | None, tenant_id: uuid.UUID | None,
                column_map: ColumnMapping | None) -> ImportReport:
        report = ImportReport(dry_run=dry_run)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.IMPORT)
            started = perf_counter()
            header, row_no = rows.header()
            columns = map_header(header, column_map)
            report.columns = [MappedColumn(column, field) for column, field in columns.mapped]
            report.ignored_columns = list(columns.ignored)
            check = RowCheck(columns, pipeline_of(uow), member_emails(uow), self.phones, region,
                             self.scope.ids)
            staging = uow.lead_import()
            merge = None if dry_run else ImportMerge(on_duplicate=mode, at=now,
                                                     created_by=principal.user_id)
            report.timings["read"] += perf_counter() - started
            given = _Given()
            batches = self._valid_batches(rows, row_no, check, report, given,
                                          lambda: progress(rows.consumed, report.rows)
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

    def _valid_batches(self, rows: _Rows, row_no: int, check: RowCheck, report: ImportReport,
                       given: _Given, progress: Callable[[], None]
                       ) -> Iterator[list[ImportRow]]:
        """Read and check the rows batch by batch and yield the valid ones of each batch;
        ``given`` counts the rows yielded and the time spent making them."""
        timings = report.timings
        while True:
            t0 = perf_counter()
            chunk = rows.chunk(self.batch_rows)
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


def _region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if len(region) != 2 or not region.isalpha():
        raise ValidationFailed.single("region", "must be a two-letter country code, e.g. GB")
    return region.upper()

