"""Text that is not valid Unicode, or holds NUL, is refused at the edge with a 422 naming
the field: in every string field of every operation of the OpenAPI document, on every
backend (PostgreSQL answered 500 for a lone surrogate before)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from lad_entrypoints.http.text_guard import HAS_NUL, NOT_UNICODE, NOT_UTF8, name_problem
from tests.integration.http.openapi_cases import FieldCase, field_cases
from tests.integration.tenancy.api import Account, fields, problem

SURROGATE, NUL = "a\ud800b", "a\x00b"
#: A URL carries bytes: the UTF-8-like encoding of a surrogate is not UTF-8.
SURROGATE_IN_URL, NUL_IN_URL = "a%ED%A0%80b", "a%00b"


#: The edge's own reasons: a 422 for one of these was not left to a route or the domain.
EDGE = {NOT_UNICODE, NOT_UTF8, HAS_NUL, name_problem("\x00"), name_problem(SURROGATE)}


def send(client: TestClient, case: FieldCase, account: Account
         ) -> list[tuple[str, str]] | int:
    """The fields a 422 names, with their reasons, or the status when it is not a 422."""
    headers = dict(account.auth)
    url = f"{case.path}?{case.query}" if case.query else case.path
    if case.body is not None:
        headers["content-type"] = "application/json"
    files = {"file": ("leads.csv", b"email\na@b.test\n")} if case.form is not None else None
    response = client.request(case.method, url, content=case.body, data=case.form,
                              files=files, headers=headers)
    if response.status_code != 422:
        return response.status_code
    return [(e["field"], e["message"]) for e in problem(response, 422)["errors"]]


@pytest.mark.parametrize(("text", "url_text"), [(SURROGATE, SURROGATE_IN_URL), (NUL, NUL_IN_URL)],
                         ids=["surrogate", "nul"])
def test_every_string_field_refuses_text_that_is_not_unicode(
        client: TestClient, member: Account, text: str, url_text: str) -> None:
    cases = list(field_cases(text, url_text))
    wrong = {str(case): answer for case in cases
             if not isinstance(answer := send(client, case, member), list)
             or [field for field, _ in answer] != [case.field]
             or any(reason not in EDGE for _, reason in answer)}
    assert len(cases) > 150
    assert wrong == {}


def test_nothing_of_a_refused_lead_is_written(client: TestClient, member: Account) -> None:
    body = json.dumps({"first_name": SURROGATE, "company": "Acme"}).encode()
    refused = client.post("/v1/leads", content=body,
                          headers=member.auth | {"content-type": "application/json"})
    assert fields(refused) == ["first_name"]
    assert client.get("/v1/leads", headers=member.auth).json()["items"] == []


def test_a_key_with_a_surrogate_names_its_object(client: TestClient, member: Account) -> None:
    body = json.dumps({"custom_fields": {"ok": {SURROGATE: 1}}}).encode()
    response = client.post("/v1/leads", content=body,
                           headers=member.auth | {"content-type": "application/json"})
    assert fields(response) == ["custom_fields.ok"]


def test_a_password_with_nul_is_422(client: TestClient) -> None:
    response = client.post("/v1/auth/signup", json={
        "tenant_name": "Acme", "email": "ada@acme.test", "password": "correct horse\x00"})
    assert fields(response) == ["password"]


def test_nul_in_a_multipart_field_is_refused_at_the_edge(client: TestClient,
                                                        member: Account) -> None:
    response = client.post("/v1/leads/import", data={"encoding": "utf-8\x00"},
                           files={"file": ("leads.csv", b"email\na@b.test\n")},
                           headers=member.auth)
    assert problem(response, 422)["errors"] == [{"field": "encoding", "message": HAS_NUL}]
