"""HTTP, on every backend: cursors are signed and bound to their list and tenant. A forged
cursor, another list's, or another tenant's is a 422 naming ``cursor``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.integration.tenancy.api import Account, problem, sign_up


def _leads_cursor(client: TestClient, owner: Account) -> str:
    for name in ("Ada", "Bo"):
        client.post("/v1/leads", json={"first_name": name}, headers=owner.auth)
    cursor: str = client.get("/v1/leads", params={"limit": 1},
                             headers=owner.auth).json()["next_cursor"]
    return cursor


def _refused(response: httpx.Response) -> str:
    errors = problem(response, 422)["errors"]
    assert [e["field"] for e in errors] == ["cursor"]
    return str(errors[0]["message"])


def _altered(cursor: str) -> str:
    body, _, signature = cursor.partition(".")
    return f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"


def test_the_cursor_of_a_page_continues_it(client: TestClient) -> None:
    owner = sign_up(client)
    rest = client.get("/v1/leads", params={"cursor": _leads_cursor(client, owner)},
                      headers=owner.auth).json()
    assert [x["first_name"] for x in rest["items"]] == ["Ada"] and rest["next_cursor"] is None


@pytest.mark.parametrize("forge", [
    _altered,
    lambda cursor: cursor.partition(".")[0],
    lambda cursor: base64.urlsafe_b64encode(json.dumps(
        ["2026-01-01T00:00:00+00:00", "0190e2a4-0000-7000-8000-000000000000"]).encode()
    ).decode(),
])
def test_a_forged_cursor_is_invalid(client: TestClient, forge: Callable[[str], str]) -> None:
    owner = sign_up(client)
    cursor = forge(_leads_cursor(client, owner))
    assert _refused(client.get("/v1/leads", params={"cursor": cursor},
                               headers=owner.auth)) == "is invalid"


def test_a_cursor_of_the_leads_list_is_refused_by_the_members_list(client: TestClient) -> None:
    owner = sign_up(client)
    cursor = _leads_cursor(client, owner)
    assert _refused(client.get("/v1/members", params={"cursor": cursor}, headers=owner.auth)
                    ) == "is not a cursor of this list"


def test_a_cursor_of_one_tenant_is_refused_to_another(client: TestClient) -> None:
    cursor = _leads_cursor(client, sign_up(client, "Acme"))
    other = sign_up(client, "Globex")
    assert _refused(client.get("/v1/leads", params={"cursor": cursor}, headers=other.auth)
                    ) == "is not a cursor of this list"


def test_a_cursor_of_a_filtered_list_is_refused_by_the_unfiltered_one(
        client: TestClient) -> None:
    owner = sign_up(client)
    for name in ("Ada", "Bo"):
        client.post("/v1/leads", json={"first_name": name, "company": "Acme"},
                    headers=owner.auth)
    cursor = client.get("/v1/leads", params={"limit": 1, "q": "Acme"},
                        headers=owner.auth).json()["next_cursor"]
    assert client.get("/v1/leads", params={"q": "Acme", "cursor": cursor},
                      headers=owner.auth).status_code == 200
    assert _refused(client.get("/v1/leads", params={"cursor": cursor}, headers=owner.auth)
                    ) == "is not a cursor of this list"


def test_a_cursor_of_one_lead_s_notes_is_refused_by_another_lead_s(client: TestClient) -> None:
    owner = sign_up(client)
    first, second = (client.post("/v1/leads", json={"first_name": n}, headers=owner.auth
                                 ).json()["id"] for n in ("Ada", "Bo"))
    for text in ("one", "two"):
        client.post(f"/v1/leads/{first}/notes", json={"content": text}, headers=owner.auth)
    cursor = client.get(f"/v1/leads/{first}/notes", params={"limit": 1},
                        headers=owner.auth).json()["next_cursor"]
    assert _refused(client.get(f"/v1/leads/{second}/notes", params={"cursor": cursor},
                               headers=owner.auth)) == "is not a cursor of this list"
