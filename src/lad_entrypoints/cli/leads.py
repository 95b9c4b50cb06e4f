"""``lad leads``: import, export and list a tenant's leads (as the operator)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from lad_domain.leads.csv_format import column_map_of
from lad_domain.leads.model import Lead, LeadFilter, OnDuplicate
from lad_domain.leads.services.importing import ImportReport
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one, errors

app = typer.Typer(help="Leads: bulk import, export and listing.", no_args_is_help=True)

StageOption = Annotated[str | None, typer.Option("--stage", help="Only this stage key.")]
StatusOption = Annotated[str | None, typer.Option("--status", help="Only this status key.")]
TextOption = Annotated[str | None, typer.Option("--q", help="Text in name, email or company.")]
SHOWN_REJECTIONS = 50
#: sysexits' EX_DATAERR: the input had rows that could not be used (--fail-on-rejects).
EXIT_REJECTS = 65


@app.command("import")
def import_leads(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A CSV file with a header row.")],
    tenant: TenantOption,
    on_duplicate: Annotated[OnDuplicate, typer.Option(
        "--on-duplicate", help="A row whose email belongs to a live lead: skip it, or update "
        "the lead with the row's non-blank cells.")] = OnDuplicate.SKIP,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write "
                                          "nothing.")] = False,
    region: Annotated[str | None, typer.Option(help="Country of phone numbers written "
                                               "without +country code, e.g. GB.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="The file's text encoding, e.g. utf-8 or cp1252 (default: detected: a "
        "byte-order mark, else UTF-8 when the whole file decodes, else cp1252).")] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--column-map", help="Place a column by its header name: COLUMN=field (a lead field "
        "or custom.NAME; COLUMN= ignores it), repeated, or one JSON object.")] = None,
    fail_on_rejects: Annotated[bool, typer.Option(
        "--fail-on-rejects", help=f"Exit with code {EXIT_REJECTS} when any row was rejected "
        "(the valid rows are imported all the same; with --dry-run, nothing is).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import leads from a CSV file: valid rows in one transaction, rejected rows listed."""
    placed = column_map_of(column_map) if column_map else None
    lad = container(ctx)
    target = tenant_id(ctx, tenant)
    size = file.stat().st_size
    with Progress(TextColumn("importing"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=errors, transient=True,
                  disable=as_json or not errors.is_terminal) as bar, file.open("rb") as source:
        task = bar.add_task("import", total=size)
        report = lad.lead_import().import_leads(
            OPERATOR, source, on_duplicate=on_duplicate, dry_run=dry_run, region=region,
            encoding=encoding, tenant_id=target, column_map=placed,
            progress=lambda read, _rows: bar.update(task, completed=read))
    _summary(report, as_json)
    if fail_on_rejects and report.rejected_rows:
        raise typer.Exit(EXIT_REJECTS)


def _summary(report: ImportReport, as_json: bool) -> None:
    summary: dict[str, object] = {
        "dry_run": report.dry_run, "rows": report.rows, "created": report.created,
        "updated": report.updated, "skipped": report.skipped,
        "duplicates_in_file": report.duplicates_in_file, "rejected_rows": report.rejected_rows,
        "ignored_columns": ", ".join(report.ignored_columns), "encoding": report.encoding,
        "delimiter": report.delimiter}
    rejected = [{"row": r.row, "field": r.field, "message": r.message} for r in report.rejected]
    columns = [{"column": c.column, "field": c.field} for c in report.columns]
    if as_json:
        emit_one(summary | {"columns": columns, "rejected": rejected,
                            "seconds": {k: round(v, 3) for k, v in report.timings.items()}},
                 as_json=True)
        return
    emit_one(summary | {"delimiter": "tab" if report.delimiter == "\t" else report.delimiter},
             as_json=False)
    emit(columns, as_json=False, title="columns")
    if rejected:
        emit(rejected[:SHOWN_REJECTIONS], as_json=False, title="rejected rows")
        if report.rejected_rows > SHOWN_REJECTIONS:
            errors.print(f"... and more: {report.rejected_rows} rows were rejected "
                         "(--json lists the first 1000 problems)")


@app.command("export")
def export_leads(
    ctx: typer.Context,
    tenant: TenantOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False,
                                                help="Write here (default: stdout).")] = None,
    stage: StageOption = None,
    status: StatusOption = None,
    q: TextOption = None,
) -> None:
    """Export the tenant's live leads as CSV (cells safe to open in a spreadsheet)."""
    chunks = container(ctx).lead_export().export_leads(
        OPERATOR, LeadFilter(stage=stage, status=status, text=q), tenant_id=tenant_id(ctx, tenant))
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with output.open("w", encoding="utf-8", newline="") as file:
        for chunk in chunks:
            file.write(chunk)


def _row(lead: Lead) -> dict[str, object]:
    return {"id": lead.id, "name": " ".join(p for p in (lead.first_name, lead.last_name) if p),
            "email": lead.email, "phone": lead.phone, "company": lead.company,
            "stage": lead.stage, "status": lead.status, "created_at": lead.created_at}


@app.command("list")
def list_leads(ctx: typer.Context, tenant: TenantOption, stage: StageOption = None,
               status: StatusOption = None, q: TextOption = None, as_json: JsonOption = False,
               limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """List the tenant's live leads, newest first."""
    found = container(ctx).leads().list_leads(
        OPERATOR, LeadFilter(stage=stage, status=status, text=q), page(limit, cursor),
        tenant_id=tenant_id(ctx, tenant))
    emit([_row(lead) for lead in found.items], as_json=as_json, next_cursor=found.next_cursor)
