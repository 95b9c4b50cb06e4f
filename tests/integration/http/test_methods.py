"""A 405 lists every method of the path, and a literal path segment is never read as
another route's parameter: checked for every path of the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_entrypoints.http.methods import route_table, specificity
from tests.integration.http.openapi_cases import ANY_ID, openapi_document
from tests.integration.tenancy.api import Account, problem

UNDECLARED = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@pytest.mark.parametrize("backend", ["memory"])
def test_every_undeclared_method_is_405_with_every_declared_one(
        client: TestClient, member: Account) -> None:
    wrong = {}
    for path, methods in openapi_document()["paths"].items():
        declared = sorted(m.upper() for m in methods)
        url = re.sub(r"\{\w+\}", ANY_ID, path)
        for method in set(UNDECLARED) - set(declared):
            response = client.request(method, url, headers=member.auth)
            if response.status_code != 405 or response.headers["allow"] != ", ".join(declared):
                wrong[f"{method} {path}"] = (response.status_code, response.headers.get("allow"))
    assert wrong == {}


@pytest.mark.parametrize("backend", ["memory"])
def test_options_lists_both_methods_of_api_keys(client: TestClient, member: Account) -> None:
    response = client.options("/v1/api-keys", headers=member.auth)
    problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("backend", ["memory"])
def test_patch_of_the_import_is_405_not_a_lead_id(client: TestClient, member: Account) -> None:
    response = client.patch("/v1/leads/import", json={}, headers=member.auth)
    problem(response, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("backend", ["memory"])
def test_literal_routes_come_before_the_parameter_routes_they_overlap(app: FastAPI) -> None:
    """The router takes the first route that matches: for one method, a literal path
    (``/v1/leads/export``) must be registered before a parameter one (``/v1/leads/{id}``)."""
    routes = route_table({"app": app})
    shadowed = [(earlier.path, later.path)
                for i, later in enumerate(routes) for earlier in routes[:i]
                if earlier.methods and later.methods and earlier.methods & later.methods
                and earlier.path_regex.match(later.path.replace("{", "").replace("}", ""))
                and specificity(later.path) < specificity(earlier.path)]
    assert shadowed == []
