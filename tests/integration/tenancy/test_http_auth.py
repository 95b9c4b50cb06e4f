"""HTTP: sign-up, tokens, bearer authentication, /v1/me, identities, health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.tenancy.api import (
    PASSWORD,
    api_key,
    bearer,
    email,
    fields,
    join,
    problem,
    sign_up,
)


def test_signup_returns_a_token_for_the_new_owner(client: TestClient) -> None:
    owner = sign_up(client)
    me = client.get("/v1/me", headers=owner.auth)
    assert me.status_code == 200
    assert me.json()["email"] == owner.email and me.json()["role"] == "owner"
    assert me.json()["tenant"]["id"] == owner.tenant_id


def test_signup_with_a_registered_email_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    response = client.post("/v1/auth/signup", json={
        "tenant_name": "Again", "email": owner.email.upper(), "password": PASSWORD})
    assert problem(response, 409)["code"] == "conflict"


@pytest.mark.parametrize(("body", "field"), [
    ({"tenant_name": "Acme", "email": "not-an-email", "password": PASSWORD}, "email"),
    ({"tenant_name": "Acme", "email": "a@acme.test"}, "password"),
    ({"tenant_name": "Acme", "email": "a@acme.test", "password": "short"}, "password"),
    ({"tenant_name": "  ", "email": "a@acme.test", "password": PASSWORD}, "tenant_name"),
    ({"tenant_name": "A\u0000", "email": "a@acme.test", "password": PASSWORD}, "tenant_name"),
    ({"tenant_name": "Acme", "email": "a@acme.test", "password": PASSWORD, "x": 1}, "x"),
])
def test_bad_signup_input_is_422_naming_the_field(client: TestClient, body: dict[str, object],
                                                  field: str) -> None:
    assert fields(client.post("/v1/auth/signup", json=body)) == [field]
    assert client.post("/v1/auth/token", json={"email": "a@acme.test",
                                               "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("raw", [b'{"tenant_name": "Acme",', b"not json", b"\xff\xfe"])
def test_malformed_json_is_422(client: TestClient, raw: bytes) -> None:
    response = client.post("/v1/auth/signup", content=raw,
                           headers={"content-type": "application/json"})
    assert fields(response) == ["body"]


def test_token_logs_in(client: TestClient) -> None:
    owner = sign_up(client)
    response = client.post("/v1/auth/token", json={"email": owner.email, "password": PASSWORD,
                                                   "tenant_id": owner.tenant_id})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert client.get("/v1/me", headers=bearer(response.json()["access_token"])).status_code == 200


def test_a_wrong_password_and_an_unknown_email_are_the_same_401(client: TestClient) -> None:
    owner = sign_up(client)
    wrong = client.post("/v1/auth/token", json={"email": owner.email, "password": "nope" * 3})
    unknown = client.post("/v1/auth/token", json={"email": email(), "password": PASSWORD})
    assert problem(wrong, 401)["detail"] == problem(unknown, 401)["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Basic YTpi"}, bearer("garbage"), bearer("lad_x"),
    bearer("lad_" + "0" * 32 + "_" + "0" * 32 + "_secret"), bearer("eyJhbGciOiJub25lIn0.e30."),
])
def test_a_missing_or_garbage_bearer_is_401(client: TestClient, headers: dict[str, str]
                                            ) -> None:
    problem(client.get("/v1/members", headers=headers), 401)


def test_an_api_key_bearer_acts_as_its_role_in_its_tenant(client: TestClient) -> None:
    owner = sign_up(client)
    key = api_key(client, owner, role="viewer")
    members = client.get("/v1/members", headers=bearer(key["secret"]))
    assert [m["user_id"] for m in members.json()["items"]] == [owner.user_id]
    problem(client.patch("/v1/tenant", json={"name": "X"}, headers=bearer(key["secret"])), 403)


def test_a_revoked_api_key_is_401(client: TestClient) -> None:
    owner = sign_up(client)
    key = api_key(client, owner)
    assert client.delete(f"/v1/api-keys/{key['id']}", headers=owner.auth).status_code == 204
    problem(client.get("/v1/members", headers=bearer(key["secret"])), 401)


@pytest.mark.parametrize("route", ["/v1/me", "/v1/leads"])
def test_bearers_of_a_deleted_tenant_are_401(client: TestClient, route: str) -> None:
    owner = sign_up(client)
    member, key = join(client, owner), api_key(client, owner)
    assert client.delete("/v1/tenant", headers=owner.auth).status_code == 204
    for headers in (owner.auth, member.auth, bearer(key["secret"])):
        problem(client.get(route, headers=headers), 401)


def test_linking_an_identity_twice_to_different_users_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    body = {"provider": "google", "provider_user_id": "g-1"}
    linked = client.post("/v1/me/identities", json=body, headers=owner.auth)
    assert linked.status_code == 201 and linked.json()["provider_user_id"] == "g-1"
    problem(client.post("/v1/me/identities", json=body, headers=join(client, owner).auth), 409)


def test_healthz_answers(client: TestClient, backend: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == {"memory": "memory", "sqlite": "sqlite",
                                           "postgres": "postgresql"}[backend]


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    problem(client.get("/v1/nowhere"), 404)
    problem(client.put("/v1/members"), 405)
