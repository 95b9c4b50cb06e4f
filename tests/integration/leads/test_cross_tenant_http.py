"""HTTP: a member of tenant A addressing tenant B's leads, notes, attachments, bookings,
stages, statuses, students and counsellors gets 404 on every route, and B is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.tenancy.api import Account, join, problem, sign_up

ROUTES: list[tuple[str, str, Any]] = [
    ("get", "/v1/leads/{lead}", None),
    ("patch", "/v1/leads/{lead}", {"title": "stolen"}),
    ("delete", "/v1/leads/{lead}", None),
    ("post", "/v1/leads/{deleted}/restore", None),
    ("get", "/v1/leads/{lead}/history", None),
    ("get", "/v1/leads/{lead}/notes", None),
    ("post", "/v1/leads/{lead}/notes", {"content": "x"}),
    ("patch", "/v1/leads/{lead}/notes/{note}", {"content": "x"}),
    ("delete", "/v1/leads/{lead}/notes/{note}", None),
    ("get", "/v1/leads/{lead}/attachments", None),
    ("get", "/v1/leads/{lead}/attachments/{attachment}", None),
    ("delete", "/v1/leads/{lead}/attachments/{attachment}", None),
    ("get", "/v1/leads/{lead}/social", None),
    ("patch", "/v1/leads/{lead}/social", {"x": 1}),
    ("get", "/v1/leads/{lead}/bookings", None),
    ("post", "/v1/leads/{lead}/bookings", {"scheduled_at": "2030-01-01T09:00Z"}),
    ("patch", "/v1/leads/{lead}/bookings/{booking}", {"scheduled_at": "2030-02-01T09:00Z"}),
    ("post", "/v1/leads/{lead}/bookings/{booking}/complete", None),
    ("post", "/v1/leads/{lead}/bookings/{booking}/cancel", None),
    ("post", "/v1/leads/{lead}/bookings/{booking}/fail", {}),
    ("patch", "/v1/pipeline/stages/b_only", {"label": "x"}),
    ("delete", "/v1/pipeline/stages/b_only", None),
    ("patch", "/v1/pipeline/statuses/b_only", {"label": "x"}),
    ("delete", "/v1/pipeline/statuses/b_only", None),
    ("get", "/v1/education/students/{student}", None),
    ("patch", "/v1/education/students/{student}", {"grade": "1"}),
    ("delete", "/v1/education/students/{student}", None),
    ("put", "/v1/education/students/{student}/counsellor", {"counsellor_id": None}),
    ("post", "/v1/education/students", {"lead_id": "{lead}"}),
    ("get", "/v1/education/counsellors/{counsellor}", None),
    ("patch", "/v1/education/counsellors/{counsellor}", {"display_name": "x"}),
    ("delete", "/v1/education/counsellors/{counsellor}", None),
    ("get", "/v1/education/counsellors/{counsellor}/students", None),
    ("post", "/v1/education/counsellors/{counsellor}/reassign",
     {"to_counsellor_id": "{counsellor}"}),
]
OWN_ROUTES: list[tuple[str, str, Any]] = [
    ("put", "/v1/education/students/{a_student}/counsellor", {"counsellor_id": "{counsellor}"}),
    ("post", "/v1/education/counsellors/{a_counsellor}/reassign",
     {"to_counsellor_id": "{counsellor}"}),
]


def _post(client: TestClient, owner: Account, path: str, body: Any = None) -> dict[str, Any]:
    response = client.post(path, json=body, headers=owner.auth)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def _tenant_b(client: TestClient) -> tuple[Account, dict[str, str]]:
    owner = sign_up(client, "Beta Corp")
    counsellor_user = join(client, owner, "member")
    lead = _post(client, owner, "/v1/leads", {"email": "b@beta.test"})["id"]
    deleted = _post(client, owner, "/v1/leads", {"email": "gone@beta.test"})["id"]
    client.delete(f"/v1/leads/{deleted}", headers=owner.auth)
    attachment = client.post(f"/v1/leads/{lead}/attachments", headers=owner.auth, files={
        "file": ("b.txt", b"secret of B", "text/plain")}).json()["id"]
    _post(client, owner, "/v1/pipeline/stages", {"key": "b_only", "label": "B"})
    _post(client, owner, "/v1/pipeline/statuses", {"key": "b_only", "label": "B"})
    counsellor = _post(client, owner, "/v1/education/counsellors", {
        "user_id": counsellor_user.user_id, "counselor_code": "B1"})["id"]
    return owner, {
        "lead": lead, "deleted": deleted, "attachment": attachment,
        "note": _post(client, owner, f"/v1/leads/{lead}/notes", {"content": "B's"})["id"],
        "booking": _post(client, owner, f"/v1/leads/{lead}/bookings", {
            "scheduled_at": "2030-01-01T09:00Z"})["id"],
        "student": _post(client, owner, "/v1/education/students", {
            "lead_id": lead, "counsellor_id": counsellor})["id"],
        "counsellor": counsellor}


def _tenant_a(client: TestClient) -> tuple[Account, dict[str, str]]:
    owner = sign_up(client, "Alpha")
    lead = _post(client, owner, "/v1/leads", {"email": "a@alpha.test"})["id"]
    member = join(client, owner, "member")
    return owner, {
        "a_student": _post(client, owner, "/v1/education/students", {"lead_id": lead})["id"],
        "a_counsellor": _post(client, owner, "/v1/education/counsellors", {
            "user_id": member.user_id, "counselor_code": "A1"})["id"]}


def _state(client: TestClient, b: Account, ids: dict[str, str]) -> list[Any]:
    lead = ids["lead"]
    paths = [f"/v1/leads/{lead}", f"/v1/leads/{lead}/notes", f"/v1/leads/{lead}/attachments",
             f"/v1/leads/{lead}/social", f"/v1/leads/{lead}/bookings", "/v1/pipeline/stages",
             "/v1/pipeline/statuses", f"/v1/education/students/{ids['student']}",
             f"/v1/education/counsellors/{ids['counsellor']}", "/v1/leads?limit=200"]
    return [client.get(path, headers=b.auth).json() for path in paths]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("routes", [ROUTES, OWN_ROUTES], ids=["b_ids", "a_ids_with_b_refs"])
def test_tenant_a_gets_404_for_every_id_of_tenant_b(
        client: TestClient, routes: list[tuple[str, str, Any]]) -> None:
    b, ids = _tenant_b(client)
    a, own = _tenant_a(client)
    ids = ids | own
    before = _state(client, b, ids)
    for method, path, body in routes:
        response = client.request(method, _fill(path, ids), json=_fill(body, ids),
                                  headers=a.auth)
        assert "secret of B" not in response.text
        problem(response, 404)
    assert _state(client, b, ids) == before
