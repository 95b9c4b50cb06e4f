"""Enrichment routes: people and company search over Apollo (cached pages are free and say
so), the plan that splits a search past Apollo's 50,000-record ceiling, enriching a lead
(its blanks filled), and making leads of the people a search found. Members search and
spend credits; a priced call is refused with 402 before Apollo is asked when the wallet
cannot pay it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from lad_domain.enrichment.model import (
    COMPANY_FILTERS,
    MAX_PAGE,
    MAX_PER_PAGE,
    PEOPLE_FILTERS,
    Organization,
    Person,
    SearchPlan,
    SearchResult,
)
from lad_domain.enrichment.services.search import (
    DEFAULT_PER_PAGE,
    EnrichedLead,
    EnrichmentService,
    PeopleImport,
)
from lad_domain.leads.model import OnDuplicate
from lad_entrypoints.http.dependencies import CurrentPrincipal, provided
from lad_entrypoints.http.leads import ImportReportOut, LeadOut
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import DecimalText, Strict

router = APIRouter(prefix="/v1/enrichment", tags=["enrichment"])

Enrichment = Annotated[EnrichmentService, Depends(provided(lambda c: c.enrichment()))]
T = TypeVar("T")

PAGE = Field(default=1, description=f"1-{MAX_PAGE}; page x per_page stays within Apollo's "
             "50,000 records")
PER_PAGE = Field(default=DEFAULT_PER_PAGE, description=f"1-{MAX_PER_PAGE}")
REFRESH = Field(default=False, description="Ask Apollo even when the page is cached")


class PeopleSearchIn(Strict):
    filters: dict[str, Any] = Field(description="Apollo's people filters: "
                                    + ", ".join(PEOPLE_FILTERS) + "; lists of strings, "
                                    "q_keywords a string, ranges \"min,max\"")
    page: int = PAGE
    per_page: int = PER_PAGE
    refresh: bool = REFRESH


class PlanIn(Strict):
    filters: dict[str, Any] = Field(description="As for people search")


class CompanySearchIn(Strict):
    filters: dict[str, Any] = Field(description="Apollo's organization filters: "
                                    + ", ".join(COMPANY_FILTERS))
    page: int = PAGE
    per_page: int = PER_PAGE
    refresh: bool = REFRESH


class PeopleImportIn(Strict):
    person_ids: list[str] = Field(description="Apollo ids of people a recent search found "
                                  "(at most 50,000)")
    enrich: bool = Field(default=False, description="Match the people without an email "
                         "first: a credit per person Apollo finds")
    on_duplicate: OnDuplicate = Field(default=OnDuplicate.SKIP, description="A person "
                                      "whose email a live lead has: skip or update it")
    dry_run: bool = Field(default=False, description="Report what would happen; write "
                          "nothing, spend nothing")


class PersonOut(BaseModel):
    apollo_id: str
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    linkedin_url: str | None = None
    email: str | None = Field(default=None, description="Only after a match (search gives "
                              "none)")
    phone: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    location: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    organization_domain: str | None = None

    @classmethod
    def of(cls, p: Person) -> PersonOut:
        return cls(**p.to_json(), location=p.location)


class OrganizationOut(BaseModel):
    apollo_id: str
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    linkedin_url: str | None = None
    website_url: str | None = None

    @classmethod
    def of(cls, o: Organization) -> OrganizationOut:
        return cls(**o.to_json())


class SearchPageOut(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int = Field(description="How many Apollo says match")
    pages: int = Field(description="Pages reachable (Apollo returns at most 50,000 records)")
    capped: bool = Field(description="More match than one search returns: plan it split "
                         "(POST /v1/enrichment/people/plan)")
    cached: bool = Field(description="Served from the cache: free")
    cost: DecimalText = Field(description="What this page was billed (0 when cached, and "
                              "for people search)")
    fetched_at: datetime = Field(description="When Apollo returned it")


def people_page(r: SearchResult[Person]) -> SearchPageOut[PersonOut]:
    return SearchPageOut[PersonOut](
        items=[PersonOut.of(p) for p in r.items], page=r.page, per_page=r.per_page,
        total=r.total, pages=r.pages, capped=r.capped, cached=r.cached, cost=r.cost,
        fetched_at=r.fetched_at)


def company_page(r: SearchResult[Organization]) -> SearchPageOut[OrganizationOut]:
    return SearchPageOut[OrganizationOut](
        items=[OrganizationOut.of(o) for o in r.items], page=r.page, per_page=r.per_page,
        total=r.total, pages=r.pages, capped=r.capped, cached=r.cached, cost=r.cost,
        fetched_at=r.fetched_at)


class PlannedSearchOut(BaseModel):
    filters: dict[str, Any]
    total: int


class PlanOut(BaseModel):
    searches: list[PlannedSearchOut] = Field(description="Each stays within 50,000 "
                                             "records; together they cover the search")
    total: int = Field(description="How many the whole search matches")
    uncovered: int = Field(description="Records in parts that could not be split small "
                           "enough")

    @classmethod
    def of(cls, p: SearchPlan) -> PlanOut:
        return cls(searches=[PlannedSearchOut(filters=s.filters.to_params(), total=s.total)
                             for s in p.searches], total=p.total, uncovered=p.uncovered)


class EnrichedLeadOut(BaseModel):
    lead: LeadOut
    filled: list[str] = Field(description="The fields filled (blanks only: nothing typed "
                              "is overwritten)")
    found: bool = Field(description="Apollo (or the cache) knew the person")
    cached: bool = Field(description="Filled from the cache: free")
    cost: DecimalText

    @classmethod
    def of(cls, e: EnrichedLead) -> EnrichedLeadOut:
        return cls(lead=LeadOut.of(e.lead), filled=list(e.filled), found=e.found,
                   cached=e.cached, cost=e.cost)


class PeopleImportOut(BaseModel):
    selected: int = Field(description="Distinct people asked for")
    already_leads: int = Field(description="People imported before (by Apollo id): left "
                               "as they are")
    matched: int = Field(description="People matched for an email (enrich)")
    cost: DecimalText
    report: ImportReportOut = Field(description="The leads import's report")

    @classmethod
    def of(cls, p: PeopleImport) -> PeopleImportOut:
        return cls(selected=p.selected, already_leads=p.already_leads, matched=p.matched,
                   cost=p.cost, report=ImportReportOut.of(p.report))


@router.post("/people/search")
def search_people(body: PeopleSearchIn, principal: CurrentPrincipal, enrichment: Enrichment
                  ) -> SearchPageOut[PersonOut]:
    """A page of people (no emails or phones: people search is free); the same filters
    and page are served from the cache until it expires."""
    return people_page(enrichment.search_people(principal, body.filters, page=body.page,
                                                per_page=body.per_page,
                                                refresh=body.refresh))


@router.post("/people/plan")
def plan_people(body: PlanIn, principal: CurrentPrincipal, enrichment: Enrichment
                ) -> PlanOut:
    """Split a search past Apollo's 50,000-record ceiling into narrower ones (by company
    size, then seniority), each within it. Asks Apollo for counts only: free."""
    return PlanOut.of(enrichment.plan(principal, body.filters))


@router.post("/companies/search", responses=problems(402))
def search_companies(body: CompanySearchIn, principal: CurrentPrincipal,
                     enrichment: Enrichment) -> SearchPageOut[OrganizationOut]:
    """A page of organisations: a credit per page fetched (held before Apollo is asked:
    402 when the wallet cannot pay), nothing for a cached page."""
    return company_page(enrichment.search_companies(principal, body.filters, page=body.page,
                                                    per_page=body.per_page,
                                                    refresh=body.refresh))


@router.post("/leads/{lead_id}/enrich", responses=problems(402))
def enrich_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, enrichment: Enrichment
                ) -> EnrichedLeadOut:
    """Fill the lead's blanks from Apollo: a credit when Apollo finds the person, nothing
    when the cache already knows their email or phone."""
    return EnrichedLeadOut.of(enrichment.enrich_lead(principal, lead_id))


def import_people(body: PeopleImportIn, principal: CurrentPrincipal, enrichment: Enrichment
                  ) -> PeopleImportOut:
    """Make leads of people a search found, through the leads import (same checks, dedupe
    by email, same report); people imported before (by Apollo id) are not imported
    twice."""
    return PeopleImportOut.of(enrichment.import_people(
        principal, body.person_ids, enrich=body.enrich, on_duplicate=body.on_duplicate,
        dry_run=body.dry_run))


router.post("/people/import", responses=problems(402))(import_people)
