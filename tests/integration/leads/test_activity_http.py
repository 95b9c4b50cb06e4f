"""HTTP: notes, attachments, social data, bookings and the pipeline."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.tenancy.api import Account, fields, join, problem, sign_up


def _lead(client: TestClient, owner: Account) -> str:
    lead: dict[str, Any] = client.post("/v1/leads", json={"first_name": "Ada"},
                                       headers=owner.auth).json()
    return str(lead["id"])


def test_notes_by_author_or_admin(client: TestClient) -> None:
    owner = sign_up(client)
    author, other = join(client, owner, "member"), join(client, owner, "member")
    lead = _lead(client, owner)
    note = client.post(f"/v1/leads/{lead}/notes", json={"content": "hi"}, headers=author.auth)
    assert note.status_code == 201, note.text
    path = f"/v1/leads/{lead}/notes/{note.json()['id']}"
    problem(client.patch(path, json={"content": "mine now"}, headers=other.auth), 403)
    assert client.patch(path, json={"content": "edited"}, headers=author.auth).json()[
        "content"] == "edited"
    assert client.delete(path, headers=owner.auth).status_code == 204
    assert client.get(f"/v1/leads/{lead}/notes", headers=owner.auth).json()["items"] == []


def test_attachments_upload_download_delete(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    added = client.post(f"/v1/leads/{lead}/attachments", headers=owner.auth,
                        files={"file": ("../../Q3 plan.pdf", b"%PDF-1.7", "application/pdf")})
    assert added.status_code == 201, added.text
    assert added.json()["file_name"] == "Q3 plan.pdf"
    path = f"/v1/leads/{lead}/attachments/{added.json()['id']}"
    download = client.get(path, headers=owner.auth)
    assert (download.content, download.headers["content-type"]) == (b"%PDF-1.7",
                                                                    "application/pdf")
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''Q3%20plan.pdf"
    assert client.delete(path, headers=owner.auth).status_code == 204
    problem(client.get(path, headers=owner.auth), 404)


def test_attachments_refuse_bad_types_and_empty_files(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    exe = client.post(f"/v1/leads/{lead}/attachments", headers=owner.auth,
                      files={"file": ("x.exe", b"MZ", "application/x-msdownload")})
    assert fields(exe) == ["content_type"]
    empty = client.post(f"/v1/leads/{lead}/attachments", headers=owner.auth,
                        files={"file": ("x.txt", b"", "text/plain")})
    assert fields(empty) == ["file"]


def test_social_is_merged_by_patch(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    client.patch(f"/v1/leads/{lead}/social", json={"linkedin": {"url": "u"}, "x": "@a"},
                 headers=owner.auth)
    merged = client.patch(f"/v1/leads/{lead}/social", json={"x": None}, headers=owner.auth)
    assert merged.json()["data"] == {"linkedin": {"url": "u"}}
    problem(client.patch(f"/v1/leads/{lead}/social", json=[1], headers=owner.auth), 422)


def test_bookings_are_scheduled_failed_and_completed(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    past = client.post(f"/v1/leads/{lead}/bookings", json={"scheduled_at": "2020-01-01T09:00Z"},
                       headers=owner.auth)
    assert fields(past) == ["scheduled_at"]
    booking = client.post(f"/v1/leads/{lead}/bookings", json={
        "scheduled_at": "2030-01-01T09:00Z"}, headers=owner.auth).json()
    path = f"/v1/leads/{lead}/bookings/{booking['id']}"
    failed = client.post(f"{path}/fail", json={"error": "busy"}, headers=owner.auth).json()
    assert (failed["retry_count"], failed["status"]) == (1, "scheduled")
    assert client.post(f"{path}/complete", headers=owner.auth).json()["status"] == "completed"
    problem(client.post(f"{path}/cancel", headers=owner.auth), 409)


def test_the_pipeline_over_http(client: TestClient) -> None:
    owner = sign_up(client)
    member = join(client, owner, "member")
    stages = client.get("/v1/pipeline/stages", headers=member.auth).json()
    assert stages[0]["key"] == "new"
    problem(client.post("/v1/pipeline/stages", json={"key": "x", "label": "X"},
                        headers=member.auth), 403)
    assert client.post("/v1/pipeline/stages", json={"key": "x", "label": "X"},
                       headers=owner.auth).status_code == 201
    lead = client.post("/v1/leads", json={"first_name": "A", "stage": "x"},
                       headers=owner.auth).json()
    problem(client.delete("/v1/pipeline/stages/x", headers=owner.auth), 409)
    moved = client.delete("/v1/pipeline/stages/x", params={"move_to": "new"},
                          headers=owner.auth)
    assert moved.json() == {"moved": 1}
    assert client.get(f"/v1/leads/{lead['id']}", headers=owner.auth).json()["stage"] == "new"
    keys = [s["key"] for s in reversed(stages)]
    assert [s["key"] for s in client.put("/v1/pipeline/stages/order", json={"keys": keys},
                                         headers=owner.auth).json()] == keys
    assert fields(client.put("/v1/pipeline/stages/order", json={"keys": ["new"]},
                             headers=owner.auth)) == ["keys"]
    assert client.get("/v1/pipeline/statuses", headers=owner.auth).json()[0]["key"] == "open"
