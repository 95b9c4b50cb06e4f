"""Enrichment over HTTP and the CLI, on memory, SQLite and PostgreSQL, against the
simulated Apollo on loopback (LAD_APOLLO_LOCAL, the default): a lead enriched (its blanks
filled, a credit billed, a usage event), a company search billed once and then served from
the cache for free, the 50,000 split plan; an empty wallet refused with 402 before Apollo
is asked, Apollo not configured a 503 naming LAD_APOLLO_API_KEY; the CLI's exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.apollo import ConfiguredApollo
from lad_adapters.catalog import default_catalog
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.icp.test_icp_http_cli import OPERATOR, Capture, Desk, open_desk
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.integration.tenancy.api import fields, problem

E = "/v1/enrichment"
PEOPLE = {"person_titles": ["engineering manager"], "person_locations": ["united states"]}
COMPANIES = {"organization_locations": ["united states"], "organization_num_employees_ranges":
             ["50,5000"]}


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    return lad


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    with TestClient(create_app(lad), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def desk(client: TestClient, lad: Container) -> Desk:
    return open_desk(client, lad)


def apollo_calls(lad: Container) -> int:
    """Requests the simulated Apollo received (none before it is first asked)."""
    apollo = lad.apollo()
    assert isinstance(apollo, ConfiguredApollo)
    return 0 if apollo.service is None else apollo.service.count()


def imported_lead(desk: Desk) -> dict[str, Any]:
    """A lead made of a person a search found: no email yet (search gives none)."""
    found = desk.ok(f"{E}/people/search", {"filters": PEOPLE, "per_page": 1})
    [person] = found["items"]
    desk.ok(f"{E}/people/import", {"person_ids": [person["apollo_id"]]})
    [lead] = desk.get("/v1/leads").json()["items"]
    assert lead["email"] is None and lead["custom_fields"]["apollo_person_id"]
    return dict(lead)


def test_enriching_a_lead_fills_its_blanks_and_bills_a_credit(desk: Desk) -> None:
    lead = imported_lead(desk)
    desk.client.patch(f"/v1/leads/{lead['id']}", headers=desk.owner.auth,
                      json={"title": "Typed by a user"})
    enriched = desk.ok(f"{E}/leads/{lead['id']}/enrich")
    assert enriched["found"] is True and enriched["cached"] is False
    assert "email" in enriched["filled"] and enriched["lead"]["email"]
    assert enriched["lead"]["title"] == "Typed by a user" and "title" not in enriched["filled"]
    assert Decimal(enriched["cost"]) > 0
    assert len(desk.usage("enrichment")) == 1


def test_a_company_search_is_billed_once_then_served_from_the_cache(desk: Desk) -> None:
    body = {"filters": COMPANIES, "per_page": 10}
    first, second = desk.ok(f"{E}/companies/search", body), desk.ok(f"{E}/companies/search",
                                                                    body)
    assert (first["cached"], second["cached"]) == (False, True)
    assert Decimal(first["cost"]) > 0 and second["cost"] == "0"
    assert second["items"] == first["items"] and second["total"] == first["total"]
    assert len(desk.usage("enrichment")) == 1


def test_an_empty_wallet_is_a_402_before_apollo_is_asked(client: TestClient,
                                                         lad: Container) -> None:
    desk = open_desk(client, lad, funded=False)
    desk.ok(f"{E}/people/search", {"filters": PEOPLE})  # free: no wallet needed
    before = apollo_calls(lad)
    problem(desk.post(f"{E}/companies/search", {"filters": COMPANIES}), 402)
    assert apollo_calls(lad) == before
    assert desk.usage("enrichment") == []


def test_apollo_not_configured_is_a_503_naming_the_key(desk: Desk,
                                                       lad: Container) -> None:
    no_apollo(lad)
    body = problem(desk.post(f"{E}/people/search", {"filters": PEOPLE}), 503)
    assert "LAD_APOLLO_API_KEY" in body["detail"]


def no_apollo(lad: Container) -> None:
    """LAD_APOLLO_LOCAL=0 without LAD_APOLLO_API_KEY."""
    settings = lad.settings().model_copy(update={"apollo_local": False,
                                                 "apollo_api_key": None})
    lad.settings.override(providers.Object(settings))
    lad.apollo.reset()
    lad.enrichment.reset()


def test_a_search_past_the_ceiling_is_planned_in_parts(desk: Desk) -> None:
    plan = desk.ok(f"{E}/people/plan", {"filters": {"person_locations": ["united states"]}})
    assert sum(s["total"] for s in plan["searches"]) + plan["uncovered"] >= plan["total"] > 0
    assert all(s["total"] <= 50_000 for s in plan["searches"]) or plan["uncovered"]


def test_searches_that_find_nobody_answer_an_empty_page_then_from_the_cache(
        desk: Desk) -> None:
    nobody = {"q_organization_domains_list": ["nobody-works-here.example"]}
    first = desk.ok(f"{E}/people/search", {"filters": nobody})
    assert (first["items"], first["total"], first["cached"]) == ([], 0, False)
    assert desk.ok(f"{E}/people/search", {"filters": nobody})["cached"] is True
    companies = desk.ok(f"{E}/companies/search", {"filters": nobody})
    assert (companies["items"], companies["total"]) == ([], 0)


def test_bad_filters_and_pages_are_named(desk: Desk) -> None:
    assert fields(desk.post(f"{E}/people/search", {"filters": {"colour": ["red"]}})) == [
        "filters.colour"]
    assert fields(desk.post(f"{E}/people/search", {"filters": PEOPLE, "page": 501})) == [
        "page"]
    problem(desk.post(f"{E}/leads/00000000-0000-4000-8000-000000000000/enrich"), 404)


# --- the CLI -------------------------------------------------------------------------------

def enrichment(desk: Desk, capsys: Capture, *args: str) -> tuple[int, Any, str]:
    code, out, err = run_lad(desk.lad, capsys, "enrichment", *args, "--tenant",
                             str(desk.tenant_id), "--json")
    return code, json.loads(out) if code == 0 else None, err


def test_the_cli_searches_enriches_and_imports(desk: Desk, capsys: Capture) -> None:
    code, found, err = enrichment(desk, capsys, "people", "--filters", json.dumps(PEOPLE),
                                  "--per-page", "3")
    assert code == 0 and len(found["items"]) == 3, err
    ids = [p["apollo_id"] for p in found["items"]]
    code, report, err = enrichment(desk, capsys, "import", *ids)
    assert code == 0 and report["created"] == 3, err
    [lead] = desk.get("/v1/leads?limit=1").json()["items"]
    code, enriched, err = enrichment(desk, capsys, "enrich", lead["id"])
    assert code == 0 and enriched["found"] is True, err
    code, companies, err = enrichment(desk, capsys, "companies", "--filters",
                                      json.dumps(COMPANIES))
    assert code == 0 and companies["cached"] is False, err


def test_the_cli_exit_codes(client: TestClient, lad: Container,
                            capsys: Capture, tmp_path: Path) -> None:
    desk = open_desk(client, lad, funded=False)
    code, _, err = enrichment(desk, capsys, "companies", "--filters", json.dumps(COMPANIES))
    assert code == 8 and err.startswith("error: ")
    code, _, err = enrichment(desk, capsys, "people", "--filters", "{not json")
    assert code == 2 and "--filters" in err
    code, _, err = enrichment(desk, capsys, "enrich", "00000000-0000-4000-8000-000000000000")
    assert code == 3
    utf16 = tmp_path / "ids.txt"
    utf16.write_text("p1\np2\n", encoding="utf-16")
    code, _, err = enrichment(desk, capsys, "import", "--file", str(utf16))
    assert code == 2 and "--file" in err and "UTF-8" in err and "Traceback" not in err
    code, _, err = enrichment(desk, capsys, "people", "--filters", f"@{utf16}")
    assert code == 2 and "--filters" in err
    code, _, err = enrichment(desk, capsys, "people", "--filters",
                              json.dumps({"organization_num_employees_ranges": ["1,\u00b2"]}))
    assert code == 2 and "organization_num_employees_ranges" in err
    no_apollo(lad)
    code, _, err = enrichment(desk, capsys, "people", "--filters", json.dumps(PEOPLE))
    assert code == 69 and "LAD_APOLLO_API_KEY" in err and "Traceback" not in err
