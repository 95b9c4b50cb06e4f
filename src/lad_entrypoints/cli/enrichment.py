"""``lad enrichment``: search Apollo for people and companies, plan a search past the
50,000-record ceiling, enrich a lead, and make leads of the people found (as the operator,
for a tenant)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from lad_domain.enrichment.model import Organization, Person, SearchResult
from lad_domain.enrichment.services.search import DEFAULT_PER_PAGE, PeopleImport
from lad_domain.leads.model import OnDuplicate
from lad_domain.shared.errors import ValidationFailed
from lad_entrypoints.cli.campaigns import read_json
from lad_entrypoints.cli.common import (
    OPERATOR,
    JsonOption,
    TenantOption,
    container,
    read_text_file,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one

app = typer.Typer(help="Enrichment (Apollo): people, plan, companies, enrich, import.",
                  no_args_is_help=True)

FiltersOption = Annotated[str, typer.Option(
    "--filters", help="Apollo's filters as JSON, or @FILE, e.g. "
    "'{\"person_titles\": [\"cto\"], \"person_locations\": [\"germany\"]}'.")]
PageOption = Annotated[int, typer.Option("--page", help="The page, from 1.")]
PerPageOption = Annotated[int, typer.Option("--per-page", help="Records per page, 1-100.")]
RefreshOption = Annotated[bool, typer.Option("--refresh", help="Ask Apollo even when the "
                                             "page is cached.")]


def filters(value: str) -> dict[str, Any]:
    found = read_json(value, "--filters")
    if not isinstance(found, dict):
        raise ValidationFailed.single("--filters", "must be a JSON object")
    return found


def person_row(p: Person) -> dict[str, object]:
    return {"apollo_id": p.apollo_id, "name": " ".join(x for x in (p.first_name, p.last_name)
                                                       if x),
            "title": p.title, "company": p.organization_name, "location": p.location,
            "email": p.email}


def _organization_row(o: Organization) -> dict[str, object]:
    return {"apollo_id": o.apollo_id, "name": o.name, "domain": o.domain,
            "industry": o.industry, "employees": o.employees,
            "location": ", ".join(x for x in (o.city, o.state, o.country) if x) or None}


def page_summary(r: SearchResult[Any]) -> dict[str, object]:
    return {"page": r.page, "per_page": r.per_page, "total": r.total, "pages": r.pages,
            "capped": r.capped, "cached": r.cached, "cost": r.cost,
            "fetched_at": r.fetched_at}


def emit_page(r: SearchResult[Any], rows: list[dict[str, object]],
              documents: list[dict[str, Any]], *, as_json: bool,
              extra: dict[str, object] | None = None) -> None:
    head = {**(extra or {}), **page_summary(r)}
    if as_json:
        emit_one({**head, "items": documents}, as_json=True)
        return
    emit(rows, as_json=False)
    emit_one(head, as_json=False)


def person_document(p: Person) -> dict[str, Any]:
    return {**p.to_json(), "location": p.location}


@app.command("people")
def search_people(ctx: typer.Context, tenant: TenantOption, filters_: FiltersOption,
                  page: PageOption = 1, per_page: PerPageOption = DEFAULT_PER_PAGE,
                  refresh: RefreshOption = False, as_json: JsonOption = False) -> None:
    """A page of people (free: no emails or phones); cached pages say so."""
    found = container(ctx).enrichment().search_people(
        OPERATOR, filters(filters_), page=page, per_page=per_page, refresh=refresh,
        tenant_id=tenant_id(ctx, tenant))
    emit_page(found, [person_row(p) for p in found.items],
              [person_document(p) for p in found.items], as_json=as_json)


@app.command("plan")
def plan(ctx: typer.Context, tenant: TenantOption, filters_: FiltersOption,
         as_json: JsonOption = False) -> None:
    """Split a people search past Apollo's 50,000-record ceiling into narrower ones (by
    company size, then seniority). Asks for counts only: free."""
    found = container(ctx).enrichment().plan(OPERATOR, filters(filters_),
                                             tenant_id=tenant_id(ctx, tenant))
    searches = [{"filters": s.filters.to_params(), "total": s.total} for s in found.searches]
    if as_json:
        emit_one({"total": found.total, "uncovered": found.uncovered, "searches": searches},
                 as_json=True)
        return
    emit([{"total": s["total"], "filters": s["filters"]} for s in searches], as_json=False)
    emit_one({"total": found.total, "searches": len(searches),
              "uncovered": found.uncovered}, as_json=False)


@app.command("companies")
def search_companies(ctx: typer.Context, tenant: TenantOption, filters_: FiltersOption,
                     page: PageOption = 1, per_page: PerPageOption = DEFAULT_PER_PAGE,
                     refresh: RefreshOption = False, as_json: JsonOption = False) -> None:
    """A page of companies: a credit per page fetched, nothing for a cached page."""
    found = container(ctx).enrichment().search_companies(
        OPERATOR, filters(filters_), page=page, per_page=per_page, refresh=refresh,
        tenant_id=tenant_id(ctx, tenant))
    emit_page(found, [_organization_row(o) for o in found.items],
              [o.to_json() for o in found.items], as_json=as_json)


@app.command("enrich")
def enrich(ctx: typer.Context,
           lead: Annotated[uuid.UUID, typer.Argument(help="The lead's id.")],
           tenant: TenantOption, as_json: JsonOption = False) -> None:
    """Fill a lead's blanks from Apollo (what was typed stays): a credit when Apollo
    finds the person."""
    found = container(ctx).enrichment().enrich_lead(OPERATOR, lead,
                                                    tenant_id=tenant_id(ctx, tenant))
    emit_one({"lead_id": found.lead.id, "email": found.lead.email,
              "phone": found.lead.phone, "filled": ", ".join(found.filled) if not as_json
              else list(found.filled), "found": found.found, "cached": found.cached,
              "cost": found.cost}, as_json=as_json)


PersonIds = Annotated[list[str] | None, typer.Argument(help="Apollo ids of people a recent "
                                                        "search found.")]
IdsFile = Annotated[Path | None, typer.Option("--file", dir_okay=False, help="A file of "
                                              "Apollo ids, one a line ('#' comments).")]
EnrichOption = Annotated[bool, typer.Option("--enrich", help="Match the people without an "
                                            "email first: a credit per person found.")]
OnDuplicateOption = Annotated[OnDuplicate, typer.Option(
    "--on-duplicate", help="A person whose email a live lead has: skip or update it.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Report; write nothing, spend "
                                            "nothing.")]


def person_ids(given: list[str] | None, file: Path | None) -> list[str]:
    ids = list(given or ())
    if file is not None:
        for line in read_text_file(file, "--file").splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                ids.append(text)
    if not ids:
        raise ValidationFailed.single("person_ids", "give Apollo ids (arguments or --file)")
    return ids


def emit_import(found: PeopleImport, as_json: bool) -> None:
    r = found.report
    row: dict[str, object] = {
        "selected": found.selected, "already_leads": found.already_leads,
        "matched": found.matched, "cost": found.cost, "dry_run": r.dry_run,
        "created": r.created, "updated": r.updated, "skipped": r.skipped,
        "rejected_rows": r.rejected_rows}
    rejected = [{"row": x.row, "field": x.field, "message": x.message} for x in r.rejected]
    if as_json:
        emit_one(row | {"rejected": rejected}, as_json=True)
        return
    emit_one(row, as_json=False)
    if rejected:
        emit(rejected[:50], as_json=False, title="rejected")


def run_import(ctx: typer.Context, tenant: str, ids: list[str] | None, file: Path | None,
               enrich: bool, on_duplicate: OnDuplicate, dry_run: bool, as_json: bool
               ) -> None:
    found = container(ctx).enrichment().import_people(
        OPERATOR, person_ids(ids, file), enrich=enrich, on_duplicate=on_duplicate,
        dry_run=dry_run, tenant_id=tenant_id(ctx, tenant))
    emit_import(found, as_json)


@app.command("import")
def import_people(ctx: typer.Context, tenant: TenantOption, ids: PersonIds = None,
                  file: IdsFile = None, enrich: EnrichOption = False,
                  on_duplicate: OnDuplicateOption = OnDuplicate.SKIP,
                  dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Make leads of people a search found, through the leads import (dedupe by email);
    people imported before (by Apollo id) are left as they are."""
    run_import(ctx, tenant, ids, file, enrich, on_duplicate, dry_run, as_json)
