"""Times are ISO 8601 text: a number is never read as a Unix time, in any query or body
date-time of the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.http.openapi_cases import (
    ANY_ID,
    nest,
    operations,
    resolve,
    variants,
)
from tests.integration.tenancy.api import Account, fields


def is_time(schema: dict[str, object]) -> bool:
    return any(v.get("format") == "date-time" for v in variants(schema))


def time_fields(schema: dict[str, object], path: tuple[str, ...] = ()
                ) -> Iterator[tuple[str, ...]]:
    if is_time(schema):
        yield path
    for v in variants(schema):
        for name, prop in v.get("properties", {}).items():
            yield from time_fields(prop, (*path, name))


def requests_with_a_number() -> Iterator[tuple[str, str, dict[str, object], str]]:
    """(method, url, request keywords, the field a 422 must name)."""
    for path, method, operation in operations():
        url = path
        for p in operation.get("parameters", []):
            url = url.replace("{" + p["name"] + "}", ANY_ID)
        for p in operation.get("parameters", []):
            if p["in"] == "query" and is_time(p["schema"]):
                yield method, f"{url}?{p['name']}=0.5", {}, p["name"]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        for steps in time_fields(resolve(body["schema"])) if body else ():
            yield method, url, {"content": json.dumps(nest(steps, 1_700_000_000)),
                                "headers": {"content-type": "application/json"}}, ".".join(steps)


@pytest.mark.parametrize("backend", ["memory"])
def test_no_time_is_read_from_a_number(client: TestClient, member: Account) -> None:
    cases = list(requests_with_a_number())
    wrong = {}
    for method, url, kwargs, field in cases:
        headers = member.auth | kwargs.pop("headers", {})
        response = client.request(method, url, headers=headers, **kwargs)
        if response.status_code != 422 or field not in fields(response):
            wrong[f"{method} {url} {field}"] = response.status_code
    assert len(cases) >= 6
    assert wrong == {}


@pytest.mark.parametrize("backend", ["memory"])
def test_created_to_takes_iso_8601(client: TestClient, member: Account) -> None:
    response = client.get("/v1/leads", params={"created_to": "2030-01-31T09:00Z"},
                          headers=member.auth)
    assert response.status_code == 200
