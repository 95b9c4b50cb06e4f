"""HTTP: leads created, read, updated, deleted, restored and listed; errors are problems."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.tenancy.api import fields, join, problem, sign_up


def test_create_get_update_and_list(client: TestClient) -> None:
    owner = sign_up(client)
    created = client.post("/v1/leads", json={"first_name": "Ada", "email": "Ada@X.io",
                                             "phone": "+44 20 7946 0958"}, headers=owner.auth)
    assert created.status_code == 201, created.text
    lead = created.json()
    assert (lead["email"], lead["phone"], lead["stage"]) == ("ada@x.io", "+442079460958", "new")
    patched = client.patch(f"/v1/leads/{lead['id']}", json={"company": "Acme", "phone": None},
                           headers=owner.auth)
    assert (patched.json()["company"], patched.json()["phone"]) == ("Acme", None)
    listed = client.get("/v1/leads", params={"q": "acm"}, headers=owner.auth).json()
    assert [x["id"] for x in listed["items"]] == [lead["id"]]


def test_a_stage_change_shows_in_the_history(client: TestClient) -> None:
    owner = sign_up(client)
    lead = client.post("/v1/leads", json={"first_name": "Ada"}, headers=owner.auth).json()
    client.patch(f"/v1/leads/{lead['id']}", json={"stage": "won"}, headers=owner.auth)
    history = client.get(f"/v1/leads/{lead['id']}/history", headers=owner.auth).json()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [("new", "won")]


def test_delete_then_restore(client: TestClient) -> None:
    owner = sign_up(client)
    lead = client.post("/v1/leads", json={"email": "a@x.io"}, headers=owner.auth).json()
    assert client.delete(f"/v1/leads/{lead['id']}", headers=owner.auth).status_code == 204
    problem(client.get(f"/v1/leads/{lead['id']}", headers=owner.auth), 404)
    restored = client.post(f"/v1/leads/{lead['id']}/restore", headers=owner.auth)
    assert restored.status_code == 200 and restored.json()["email"] == "a@x.io"


def test_bad_fields_are_named(client: TestClient) -> None:
    owner = sign_up(client)
    response = client.post("/v1/leads", json={"email": "nope", "phone": "12",
                                              "stage": "limbo"}, headers=owner.auth)
    assert set(fields(response)) == {"email", "phone"}
    assert fields(client.post("/v1/leads", json={"first_name": "A", "stage": "limbo"},
                              headers=owner.auth)) == ["stage"]


def test_unknown_fields_malformed_json_and_bad_ids_are_422(client: TestClient) -> None:
    owner = sign_up(client)
    assert fields(client.post("/v1/leads", json={"colour": "red"}, headers=owner.auth)) == [
        "colour"]
    problem(client.post("/v1/leads", content=b"{nope", headers=owner.auth
                        | {"content-type": "application/json"}), 422)
    assert fields(client.get("/v1/leads/not-a-uuid", headers=owner.auth)) == ["lead_id"]
    assert fields(client.get("/v1/leads", params={"created_from": "2026-01-01T00:00"},
                             headers=owner.auth)) == ["created_from"]
    assert fields(client.get("/v1/leads", params={"cursor": "garbage"},
                             headers=owner.auth)) == ["cursor"]


def test_a_duplicate_email_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    client.post("/v1/leads", json={"email": "a@x.io"}, headers=owner.auth)
    problem(client.post("/v1/leads", json={"email": "A@x.io"}, headers=owner.auth), 409)


def test_a_viewer_reads_but_gets_403_on_writes(client: TestClient) -> None:
    owner = sign_up(client)
    viewer = join(client, owner, "viewer")
    lead = client.post("/v1/leads", json={"first_name": "Ada"}, headers=owner.auth).json()
    assert client.get(f"/v1/leads/{lead['id']}", headers=viewer.auth).status_code == 200
    problem(client.patch(f"/v1/leads/{lead['id']}", json={"title": "x"}, headers=viewer.auth),
            403)
    problem(client.get("/v1/leads/export", headers=viewer.auth), 403)


def test_no_token_is_401(client: TestClient) -> None:
    problem(client.get("/v1/leads"), 401)


def test_nul_characters_and_deep_json_are_422_not_500(client: TestClient) -> None:
    owner = sign_up(client)
    assert fields(client.get("/v1/leads", params={"q": "a\x00b"}, headers=owner.auth)) == ["q"]
    assert fields(client.get("/v1/leads", params={"stage": "\x00"},
                             headers=owner.auth)) == ["stage"]
    deep: dict[str, object] = {}
    for _ in range(40):
        deep = {"x": deep}
    assert fields(client.post("/v1/leads", json={"first_name": "A", "custom_fields": deep},
                              headers=owner.auth)) == ["custom_fields"]
    assert fields(client.post("/v1/pipeline/stages", json={"key": "k", "label": "a\x00"},
                              headers=owner.auth)) == ["label"]
    assert fields(client.get("/v1/education/students", params={"grade": "\x00"},
                             headers=owner.auth)) == ["grade"]


@pytest.mark.parametrize("query", ["created_from=0001-01-01T00:00:00%2B05:00",
                                   "created_to=9999-12-31T23:59:59-05:00"])
def test_a_time_out_of_range_in_utc_names_its_field(client: TestClient, query: str) -> None:
    owner = sign_up(client)
    for path in ("/v1/leads", "/v1/leads/export"):
        response = client.get(f"{path}?{query}", headers=owner.auth)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == query.split("=")[0]
