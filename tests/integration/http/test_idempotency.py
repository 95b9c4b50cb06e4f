"""Idempotency-Key on lead create, lead import and invitation create, on every backend: a
retry after a timeout gets the first answer and creates nothing more; the key with another
request is a 409; a retry while the first is served is a 409 with Retry-After; a 5xx is not
kept; keys are per tenant and expire."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_domain.leads.services.leads import LeadService
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.integration.tenancy.api import Account, api_key, bearer, problem, sign_up


def _keyed(who: Account, key: str) -> dict[str, str]:
    return {**who.auth, "Idempotency-Key": key}


def _leads(client: TestClient, who: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/leads", headers=who.auth).json()["items"]
    return items


def test_a_retried_lead_create_answers_the_first_lead(client: TestClient) -> None:
    owner = sign_up(client)
    first = client.post("/v1/leads", json={"email": "ada@example.com"},
                        headers=_keyed(owner, "lead-1"))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = client.post("/v1/leads", json={"email": "ada@example.com"},
                        headers=_keyed(owner, "lead-1"))
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Location"] == first.headers["Location"] == \
        f"/v1/leads/{first.json()['id']}"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert [lead["id"] for lead in _leads(client, owner)] == [first.json()["id"]]

    other = client.post("/v1/leads", json={"email": "bob@example.com"},
                        headers=_keyed(owner, "lead-1"))
    body = problem(other, 409)
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert len(_leads(client, owner)) == 1
    # Without a key, or with another, a create is a create.
    assert client.post("/v1/leads", json={"email": "bob@example.com"},
                       headers=_keyed(owner, "lead-2")).status_code == 201
    assert len(_leads(client, owner)) == 2


def test_a_refusal_is_kept_too_and_keys_are_per_tenant(client: TestClient) -> None:
    owner, stranger = sign_up(client), sign_up(client, "Other")
    bad = client.post("/v1/leads", json={"email": "not-an-email"}, headers=_keyed(owner, "k"))
    assert bad.status_code == 422
    again = client.post("/v1/leads", json={"email": "not-an-email"},
                        headers=_keyed(owner, "k"))
    assert (again.status_code, again.content) == (422, bad.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    theirs = client.post("/v1/leads", json={"email": "not-an-email"},
                         headers=_keyed(stranger, "k"))
    assert theirs.status_code == 422 and "Idempotent-Replayed" not in theirs.headers


def _multipart(boundary: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"leads.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() + \
        content + f"\r\n--{boundary}\r\nContent-Disposition: form-data; " \
        f"name=\"on_duplicate\"\r\n\r\nskip\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_a_retried_import_imports_once(client: TestClient) -> None:
    owner = sign_up(client)
    csv = b"email,first_name\nada@example.com,Ada\nbob@example.com,Bob\n"
    answers = []
    # Each try of a client draws a new multipart boundary: still the same request.
    for boundary in ("first-try-0f3c", "second-try-9a71b2"):
        body, headers = _multipart(boundary, csv)
        answers.append(client.post("/v1/leads/import", content=body,
                                   headers={**_keyed(owner, "import-1"), **headers}))
    first, again = answers
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_leads(client, owner)) == 2
    body, headers = _multipart("third", csv + b"cy@example.com,Cy\n")
    other = client.post("/v1/leads/import", content=body,
                        headers={**_keyed(owner, "import-1"), **headers})
    assert problem(other, 409)["errors"][0]["field"] == "Idempotency-Key"
    assert len(_leads(client, owner)) == 2


def test_a_retried_invitation_is_issued_once(client: TestClient) -> None:
    owner = sign_up(client)
    sent = {"email": "bob@acme.test", "role": "member"}
    first = client.post("/v1/invitations", json=sent, headers=_keyed(owner, "invite-bob"))
    again = client.post("/v1/invitations", json=sent, headers=_keyed(owner, "invite-bob"))
    assert first.status_code == 201 and again.content == first.content
    assert again.json()["token"] == first.json()["token"]
    assert again.headers["Location"] == f"/v1/invitations/{first.json()['id']}"
    listed = client.get("/v1/invitations", headers=owner.auth).json()["items"]
    assert [i["id"] for i in listed] == [first.json()["id"]]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_key_that_is_not_printable_ascii_is_a_422(client: TestClient, key: str) -> None:
    owner = sign_up(client)
    answer = client.post("/v1/leads", json={"email": "ada@example.com"},
                         headers={**owner.auth, "Idempotency-Key": key.encode()})
    assert problem(answer, 422)["errors"][0]["field"] == "Idempotency-Key"
    assert _leads(client, owner) == []


def test_a_retry_while_the_first_is_served_is_a_409(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = sign_up(client)
    create = LeadService.create_lead

    def slowly(self: LeadService, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return create(self, *args, **kwargs)

    monkeypatch.setattr(LeadService, "create_lead", slowly)
    answers: dict[str, httpx.Response] = {}

    def send(name: str, delay: float) -> None:
        time.sleep(delay)
        answers[name] = client.post("/v1/leads", json={"email": "ada@example.com"},
                                    headers=_keyed(owner, "slow"))

    threads = [threading.Thread(target=send, args=("first", 0)),
               threading.Thread(target=send, args=("retry", 0.2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers["first"].status_code == 201
    assert problem(answers["retry"], 409)["code"] == "idempotency_key_in_use"
    assert answers["retry"].headers["Retry-After"] == "1"
    assert len(_leads(client, owner)) == 1


def test_a_server_error_is_not_kept(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    create = LeadService.create_lead
    failures = [RuntimeError("the database went away")]

    def failing_once(self: LeadService, *args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return create(self, *args, **kwargs)

    monkeypatch.setattr(LeadService, "create_lead", failing_once)
    with TestClient(app, raise_server_exceptions=False) as client:
        owner = sign_up(client)
        failed = client.post("/v1/leads", json={"email": "ada@example.com"},
                             headers=_keyed(owner, "k"))
        assert failed.status_code == 500
        retried = client.post("/v1/leads", json={"email": "ada@example.com"},
                              headers=_keyed(owner, "k"))
        assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
        assert len(_leads(client, owner)) == 1


def test_a_key_expires(app: FastAPI, container: Container) -> None:
    clock = FixedClock()
    container.clock.override(providers.Object(clock))
    with TestClient(app) as client:
        # An API key: it outlives the day (an access token would not).
        server = {**bearer(api_key(client, sign_up(client))["secret"]), "Idempotency-Key": "k"}
        first = client.post("/v1/leads", json={"email": "ada@example.com"}, headers=server)
        clock.advance(timedelta(hours=23))
        assert client.post("/v1/leads", json={"email": "bob@example.com"},
                           headers=server).status_code == 409
        clock.advance(timedelta(hours=1))
        later = client.post("/v1/leads", json={"email": "bob@example.com"}, headers=server)
        assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_the_stored_answer_is_sealed_and_the_tenants_own(
        client: TestClient, container: Container, request: pytest.FixtureRequest) -> None:
    owner = sign_up(client)
    first = client.post("/v1/invitations", json={"email": "bob@acme.test", "role": "member"},
                        headers=_keyed(owner, "invite"))
    token = first.json()["token"]
    url = container.settings().migration_database_url or container.settings().database_url
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT tenant_id, route, key, status, response_body "
                "FROM http_idempotency_keys")).all()
    finally:
        engine.dispose()
    [row] = rows
    assert (str(row.tenant_id).replace("-", ""), row.route, row.key, row.status) == (
        owner.tenant_id.replace("-", ""), "POST /v1/invitations", "invite", 201)
    assert token not in row.response_body and "bob@acme.test" not in row.response_body
