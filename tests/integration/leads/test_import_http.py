"""HTTP import and export: the report, and every kind of bad file answered clearly, with
nothing written and never a 500."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_entrypoints.container import Container
from tests.integration.tenancy.api import Account, join, problem, sign_up


def _upload(client: TestClient, owner: Account, content: bytes, **form: str
            ) -> httpx.Response:
    return client.post("/v1/leads/import", files={"file": ("leads.csv", content, "text/csv")},
                       data=form, headers=owner.auth)


def _count(client: TestClient, owner: Account) -> int:
    return len(client.get("/v1/leads", headers=owner.auth).json()["items"])


def test_import_answers_a_report(client: TestClient) -> None:
    owner = sign_up(client)
    response = _upload(client, owner, b"First Name,E-mail,Phone\nAda,ada@x.io,+44 20 7946 0958\n"
                                      b"Bo,bad-email,\nCy,cy@x.io,+1 555\nDi,ADA@x.io,\n")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert (report["created"], report["skipped"], report["rejected_rows"]) == (1, 1, 2)
    assert report["rejected"] == [
        {"row": 3, "field": "email", "message":
            "'bad-email' is not a valid email address: it needs a name, '@' and a domain"},
        {"row": 4, "field": "phone", "message": "'+1 555' is too short"}]


def test_a_dry_run_and_update_mode_are_form_fields(client: TestClient) -> None:
    owner = sign_up(client)
    client.post("/v1/leads", json={"email": "a@x.io", "company": "Old"}, headers=owner.auth)
    dry = _upload(client, owner, b"email,company\na@x.io,New\n", on_duplicate="update",
                  dry_run="true").json()
    assert (dry["dry_run"], dry["updated"]) == (True, 1)
    assert client.get("/v1/leads", headers=owner.auth).json()["items"][0]["company"] == "Old"
    _upload(client, owner, b"email,company\na@x.io,New\n", on_duplicate="update")
    assert client.get("/v1/leads", headers=owner.auth).json()["items"][0]["company"] == "New"


@pytest.mark.parametrize(("content", "detail"), [
    (b"", "is empty"),
    (b"ada@x.io,Ada\n", "has no header row"),
    (b"colour,size\nred,XL\n", "none of its columns is known"),
    (b"email,first_name\na@x.io,Zo\x81\n", "is not valid cp1252 text (a bad byte at line 2)"),
    ("email\n".encode("utf-16") + b"\x00\xdc", "is not valid utf-16-le text"),
])
def test_a_bad_file_is_a_422_naming_the_file(client: TestClient, content: bytes,
                                             detail: str) -> None:
    owner = sign_up(client)
    body = problem(_upload(client, owner, content), 422)
    assert body["errors"][0]["field"] == "file" and detail in body["detail"]
    assert _count(client, owner) == 0


def test_bad_form_fields_are_422(client: TestClient) -> None:
    owner = sign_up(client)
    for form, field in (({"on_duplicate": "merge"}, "on_duplicate"), ({"region": "GBR"},
                        "region"), ({"encoding": "klingon"}, "encoding")):
        assert problem(_upload(client, owner, b"email\na@x.io\n", **form), 422)[
            "errors"][0]["field"] == field
    problem(client.post("/v1/leads/import", headers=owner.auth), 422)


def test_a_file_over_the_limit_is_refused(client: TestClient, lad: Container) -> None:
    owner = sign_up(client)
    lad.import_max_bytes.override(providers.Object(100))
    lad.lead_import.reset()
    assert problem(_upload(client, owner, b"email\n" + b"a@x.io\n" * 30), 422)[
        "errors"][0]["field"] == "file"
    problem(_upload(client, owner, b"email\n" + b"a@x.io\n" * 20_000), 413)
    assert _count(client, owner) == 0


def test_export_escapes_formulas(client: TestClient) -> None:
    owner = sign_up(client)
    client.post("/v1/leads", json={"first_name": "=cmd|' /C calc'!A0", "email": "a@x.io",
                                   "phone": "+44 20 7946 0958"}, headers=owner.auth)
    response = client.get("/v1/leads/export", headers=owner.auth)
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert (row["first_name"], row["phone"]) == ("'=cmd|' /C calc'!A0", "+442079460958")


def test_export_filters_and_a_member_may_export(client: TestClient) -> None:
    owner = sign_up(client)
    member = join(client, owner, "member")
    for email, stage in (("a@x.io", "won"), ("b@x.io", "new")):
        client.post("/v1/leads", json={"email": email, "stage": stage}, headers=owner.auth)
    text = client.get("/v1/leads/export", params={"stage": "won"}, headers=member.auth).text
    assert [r["email"] for r in csv.DictReader(io.StringIO(text))] == ["a@x.io"]


MAPPED = b"E-mail,Private Email,Tier,Notes\nwork@x.io,me@x.io,gold,hello\n"


def test_a_dry_run_shows_the_mapping_a_column_map_chose(client: TestClient) -> None:
    owner = sign_up(client)
    column_map = ('{"Private Email": "email", "e-mail": null, "Tier": "custom.tier", '
                  '"Notes": ""}')
    report = _upload(client, owner, MAPPED, dry_run="true", column_map=column_map).json()
    assert report["columns"] == [{"column": "Private Email", "field": "email"},
                                 {"column": "Tier", "field": "custom.tier"}]
    assert (report["ignored_columns"], report["created"]) == (["E-mail", "Notes"], 1)
    assert _count(client, owner) == 0


def test_the_mapping_by_name_is_reported_without_a_column_map(client: TestClient) -> None:
    owner = sign_up(client)
    report = _upload(client, owner, MAPPED).json()
    assert report["columns"] == [{"column": "E-mail", "field": "email"}]
    assert report["ignored_columns"] == ["Private Email", "Tier", "Notes"]


@pytest.mark.parametrize(("column_map", "detail"), [
    ('{"Nope": "email"}', "'Nope' is not a column of the file"),
    ('{"Tier": "tier"}', "'Tier': 'tier' is not a lead field"),
    ('{"Tier": 3}', "must be a JSON object"),
    ('["Tier"]', "must be a JSON object"),
    ("Tier=email", "must be a JSON object"),
])
def test_a_bad_column_map_is_a_422_naming_it(client: TestClient, column_map: str,
                                             detail: str) -> None:
    owner = sign_up(client)
    body = problem(_upload(client, owner, MAPPED, column_map=column_map), 422)
    assert body["errors"][0]["field"] == "column_map" and detail in body["errors"][0]["message"]
    assert _count(client, owner) == 0
