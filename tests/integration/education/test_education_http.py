"""HTTP: students and counsellors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.tenancy.api import fields, join, problem, sign_up


def test_education_over_http(client: TestClient) -> None:
    owner = sign_up(client)
    counsellor_user = join(client, owner, "member")
    lead = client.post("/v1/leads", json={"first_name": "Ada"}, headers=owner.auth).json()["id"]
    counsellor = client.post("/v1/education/counsellors", json={
        "user_id": counsellor_user.user_id, "counselor_code": "c-7"}, headers=owner.auth)
    assert counsellor.status_code == 201 and counsellor.json()["counselor_code"] == "C-7"
    student = client.post("/v1/education/students", json={
        "lead_id": lead, "grade": "11", "country": "gb"}, headers=owner.auth)
    assert student.status_code == 201, student.text
    assigned = client.put(f"/v1/education/students/{student.json()['id']}/counsellor",
                          json={"counsellor_id": counsellor.json()["id"]}, headers=owner.auth)
    assert assigned.json()["counsellor_id"] == counsellor.json()["id"]
    caseload = client.get(f"/v1/education/counsellors/{counsellor.json()['id']}/students",
                          headers=owner.auth).json()
    assert [s["id"] for s in caseload["items"]] == [student.json()["id"]]
    by_country = client.get("/v1/education/students", params={"country": "gb"},
                            headers=owner.auth).json()
    assert [s["id"] for s in by_country["items"]] == [student.json()["id"]]
    problem(client.delete(f"/v1/education/counsellors/{counsellor.json()['id']}",
                          headers=owner.auth), 409)
    assert fields(client.post("/v1/education/students", json={
        "lead_id": lead, "country": "Narnia"}, headers=owner.auth)) == ["country"]
