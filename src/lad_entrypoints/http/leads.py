"""Lead routes: create, read, update, delete, restore, list, stage history, CSV import and
export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from lad_domain.leads.csv_format import column_map_from_json
from lad_domain.leads.model import Lead, LeadFilter, OnDuplicate, StageChange
from lad_domain.leads.services.exporting import LeadExportService
from lad_domain.leads.services.importing import ImportReport, LeadImportService
from lad_domain.leads.services.leads import LeadService
from lad_domain.shared.pagination import MAX_LIMIT
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, container, provided
from lad_entrypoints.http.idempotency import idempotent
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import Instant, PageOut, Strict, json_response
from lad_entrypoints.metrics import count_import

router = APIRouter(prefix="/v1", tags=["leads"])


Leads = Annotated[LeadService, Depends(provided(lambda c: c.leads()))]
Imports = Annotated[LeadImportService, Depends(provided(lambda c: c.lead_import()))]
Exports = Annotated[LeadExportService, Depends(provided(lambda c: c.lead_export()))]


class LeadIn(Strict):
    """Every field is optional; on PATCH an absent field is kept and null clears it."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = Field(default=None, description="Any format; stored as E.164")
    phone_region: str | None = Field(default=None, description="ISO country code for a "
                                     "phone written without +country code, e.g. GB")
    company: str | None = None
    title: str | None = None
    stage: str | None = Field(default=None, description="A stage key (default: the first)")
    status: str | None = Field(default=None, description="A status key (default: the first)")
    owner_id: uuid.UUID | None = Field(default=None, description="A member's user id")
    source: str | None = None
    custom_fields: dict[str, Any] | None = None


class LeadOut(BaseModel):
    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    stage: str
    status: str
    owner_id: uuid.UUID | None
    source: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        # The domain's lead is typed and checked already: built without validating it again
        # (fifty of these make a page).
        return cls.model_construct(id=lead.id, first_name=lead.first_name, last_name=lead.last_name,
                   email=lead.email, phone=lead.phone, company=lead.company, title=lead.title,
                   stage=lead.stage, status=lead.status, owner_id=lead.owner_id,
                   source=lead.source, custom_fields=lead.custom_fields,
                   created_at=lead.created_at, updated_at=lead.updated_at)


def _lead_document(lead: Lead) -> dict[str, object]:
    """A lead as ``LeadOut`` writes it, built straight from the domain's lead (typed and
    checked already): no model per lead, no validation of it again."""
    return {"id": lead.id, "first_name": lead.first_name, "last_name": lead.last_name,
            "email": lead.email, "phone": lead.phone, "company": lead.company,
            "title": lead.title, "stage": lead.stage, "status": lead.status,
            "owner_id": lead.owner_id, "source": lead.source,
            "custom_fields": lead.custom_fields, "created_at": lead.created_at,
            "updated_at": lead.updated_at}


class StageChangeOut(BaseModel):
    from_stage: str | None
    to_stage: str
    changed_at: datetime
    changed_by: uuid.UUID | None

    @classmethod
    def of(cls, c: StageChange) -> StageChangeOut:
        return cls(from_stage=c.from_stage, to_stage=c.to_stage, changed_at=c.changed_at,
                   changed_by=c.changed_by)


class RejectionOut(BaseModel):
    row: int = Field(description="Row number in the file; the header is row 1")
    field: str
    message: str


class MappedColumnOut(BaseModel):
    column: str = Field(description="The column as the file's header names it")
    field: str = Field(description="The lead field it fills, or custom.<name>; city, state "
                       "and country make the location")


class ImportReportOut(BaseModel):
    dry_run: bool
    rows: int = Field(description="Data rows read (blank rows are not counted)")
    created: int
    updated: int
    skipped: int = Field(description="Duplicates: of an earlier row, or of a live lead "
                         "when on_duplicate is skip")
    duplicates_in_file: int
    rejected_rows: int
    rejected: list[RejectionOut] = Field(description="The first 1000 problems")
    columns: list[MappedColumnOut] = Field(description="The mapping used, in the file's "
                                           "order")
    ignored_columns: list[str]
    encoding: str = Field(description="The file's text encoding: as given, or detected "
                          "(utf-8, utf-16-le, utf-16-be or cp1252)")
    delimiter: str = Field(description="What separates the cells: ',', ';' or a tab")

    @classmethod
    def of(cls, r: ImportReport) -> ImportReportOut:
        return cls(dry_run=r.dry_run, rows=r.rows, created=r.created, updated=r.updated,
                   skipped=r.skipped, duplicates_in_file=r.duplicates_in_file,
                   rejected_rows=r.rejected_rows, ignored_columns=r.ignored_columns,
                   rejected=[RejectionOut(row=x.row, field=x.field, message=x.message)
                             for x in r.rejected],
                   columns=[MappedColumnOut(column=c.column, field=c.field)
                            for c in r.columns],
                   encoding=r.encoding or "utf-8", delimiter=r.delimiter or ",")


async def lead_filter(
    stage: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=64)] = None,
    owner_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200,
                                   description="Text in name, email or company")] = None,
    created_from: Annotated[Instant | None, Query(description="Inclusive, ISO 8601 with a "
                                                  "zone, e.g. 2026-01-31T09:00Z")] = None,
    created_to: Annotated[Instant | None, Query(description="Exclusive, ISO 8601 with a "
                                                "zone")] = None,
) -> LeadFilter:
    return LeadFilter(stage=stage, status=status, owner_id=owner_id, text=q,
                      created_from=created_from, created_to=created_to)


Filtered = Annotated[LeadFilter, Depends(lead_filter)]


def _within_import_limit(request: Request) -> None:
    """A declared body over the limit is refused as too large (the import also counts)."""
    limit: int = container(request).import_max_bytes()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"the file is larger than the import limit of {limit:,} bytes")


@router.get("/leads", response_model=PageOut[LeadOut])
def list_leads(principal: CurrentPrincipal, leads: Leads, page: Paging, filter: Filtered
               ) -> Response:
    """Live leads, newest first, with optional filters."""
    found = leads.list_leads(principal, filter, page)
    return json_response({"items": [_lead_document(x) for x in found.items],
                          "next_cursor": found.next_cursor})


@router.post("/leads", status_code=status.HTTP_201_CREATED,
             openapi_extra=idempotent(created_at("/v1/leads/{id}")))
def create_lead(body: LeadIn, principal: CurrentPrincipal, leads: Leads) -> LeadOut:
    return LeadOut.of(leads.create_lead(principal, body.model_dump(exclude_unset=True)))


@router.post("/leads/import", dependencies=[Depends(_within_import_limit)],
             responses=problems(413), openapi_extra=idempotent())
def import_leads(
    principal: CurrentPrincipal, imports: Imports,
    file: Annotated[UploadFile, File(description="A CSV file with a header row")],
    on_duplicate: Annotated[OnDuplicate, Form()] = OnDuplicate.SKIP,
    dry_run: Annotated[bool, Form()] = False,
    region: Annotated[str | None, Form(max_length=2, description="Default country of "
                                        "phone numbers without +country code")] = None,
    encoding: Annotated[str | None, Form(max_length=32, description=(
        "The file's text encoding; default: detected (a byte-order mark, else UTF-8 when "
        "the whole file decodes, else cp1252)"))] = None,
    column_map: Annotated[str | None, Form(max_length=64 * 1024, description=(
        'A JSON object placing columns by header name: {"Work Email": "email", '
        '"Tier": "custom.tier", "Notes": null}; other columns are mapped by name'))] = None,
) -> ImportReportOut:
    """Import leads from CSV (multipart ``file``). Valid rows are written in one transaction;
    rejected rows are reported with row number, field and reason."""
    report = imports.import_leads(
        principal, file.file, on_duplicate=on_duplicate, dry_run=dry_run, region=region,
        encoding=encoding, column_map=column_map_from_json(column_map) if column_map else None)
    count_import(report)
    return ImportReportOut.of(report)


@router.get("/leads/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def export_leads(principal: CurrentPrincipal, exports: Exports, filter: Filtered
                 ) -> StreamingResponse:
    """Every live lead matching the filters as CSV; cells are safe to open in a spreadsheet."""
    chunks = exports.export_leads(principal, filter)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="leads.csv"'})


@router.get("/leads/{lead_id}", response_model=LeadOut)
def get_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, leads: Leads) -> Response:
    return json_response(_lead_document(leads.get_lead(principal, lead_id)))


@router.patch("/leads/{lead_id}")
def update_lead(lead_id: uuid.UUID, body: LeadIn, principal: CurrentPrincipal, leads: Leads
                ) -> LeadOut:
    """Change the given fields; a new stage is recorded in the lead's history."""
    changes = body.model_dump(exclude_unset=True)
    return LeadOut.of(leads.update_lead(principal, lead_id, changes))


@router.delete("/leads/{lead_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, leads: Leads) -> Response:
    """Soft delete: the lead can be restored."""
    leads.delete_lead(principal, lead_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/leads/{lead_id}/restore")
def restore_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, leads: Leads) -> LeadOut:
    return LeadOut.of(leads.restore_lead(principal, lead_id))


class LeadEventOut(BaseModel):
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


@router.get("/leads/{lead_id}/events")
def lead_events(lead_id: uuid.UUID, principal: CurrentPrincipal, leads: Leads,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many, newest "
                                            "first")] = 50) -> list[LeadEventOut]:
    """The lead's history as every context records it, newest first: its calls
    (``lead.call``, with status, duration and cost), a do-not-call request, ..."""
    return [LeadEventOut(event_type=e.event_type, occurred_at=e.occurred_at, payload=e.payload)
            for e in leads.events(principal, lead_id, limit=limit)]


@router.get("/leads/{lead_id}/history")
def stage_history(lead_id: uuid.UUID, principal: CurrentPrincipal, leads: Leads
                  ) -> list[StageChangeOut]:
    """The lead's moves between stages, oldest first."""
    return [StageChangeOut.of(c) for c in leads.stage_history(principal, lead_id)]
