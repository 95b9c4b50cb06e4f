"""Conditional requests over real HTTP round trips: ETags on reads, 304 on If-None-Match,
If-Match on writes (412 on a stale version, the resource unchanged), and two writers with
the same If-Match at once: exactly one wins, in one process and between two."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_domain.leads.services.leads import LeadService
from lad_entrypoints.http.app import create_app
from lad_entrypoints.http.preconditions import MalformedCondition, entity_tag, entity_tags
from tests.integration.tenancy.api import Account, problem, sign_up


def _lead(client: TestClient, who: Account) -> str:
    created = client.post("/v1/leads", json={"email": "ada@example.com"}, headers=who.auth)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _if_match(who: Account, tag: str) -> dict[str, str]:
    return {**who.auth, "If-Match": tag}


def test_a_read_carries_the_etag_of_its_bytes_and_if_none_match_is_a_304(
        client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    read = client.get(f"/v1/leads/{lead}", headers=owner.auth)
    assert read.headers["ETag"] == entity_tag(read.content)
    again = client.get(f"/v1/leads/{lead}",
                       headers={**owner.auth, "If-None-Match": f'"x", W/{read.headers["ETag"]}'})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["ETag"] == read.headers["ETag"]
    other = client.get(f"/v1/leads/{lead}", headers={**owner.auth, "If-None-Match": '"x"'})
    assert other.status_code == 200 and other.json()["id"] == lead


def test_a_stale_if_match_is_a_412_and_the_lead_is_unchanged(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    first = client.get(f"/v1/leads/{lead}", headers=owner.auth).headers["ETag"]

    changed = client.patch(f"/v1/leads/{lead}", json={"company": "Analytical Engines"},
                           headers=_if_match(owner, first))
    assert changed.status_code == 200, changed.text
    now = client.get(f"/v1/leads/{lead}", headers=owner.auth)
    assert changed.headers["ETag"] == now.headers["ETag"] != first

    stale = client.patch(f"/v1/leads/{lead}", json={"company": "Babbage & Co"},
                         headers=_if_match(owner, first))
    body = problem(stale, 412)
    assert stale.headers["ETag"] == now.headers["ETag"]
    assert body["code"] == "precondition_failed"
    assert body["errors"][0]["field"] == "If-Match"
    assert client.get(f"/v1/leads/{lead}", headers=owner.auth).json()["company"] == \
        "Analytical Engines"

    refused = client.delete(f"/v1/leads/{lead}", headers=_if_match(owner, first))
    assert refused.status_code == 412
    assert client.get(f"/v1/leads/{lead}", headers=owner.auth).status_code == 200
    gone = client.delete(f"/v1/leads/{lead}",
                         headers=_if_match(owner, f'"nope", {now.headers["ETag"]}'))
    assert gone.status_code == 204
    assert client.get(f"/v1/leads/{lead}", headers=owner.auth).status_code == 404


def test_star_weak_tags_missing_resources_and_unconditional_writes(
        client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    tag = client.get(f"/v1/leads/{lead}", headers=owner.auth).headers["ETag"]
    # A weak tag never matches If-Match (strong comparison, RFC 9110 §13.1.1).
    weak = client.patch(f"/v1/leads/{lead}", json={"title": "Countess"},
                        headers=_if_match(owner, f"W/{tag}"))
    assert weak.status_code == 412
    star = client.patch(f"/v1/leads/{lead}", json={"title": "Countess"},
                        headers=_if_match(owner, "*"))
    assert star.status_code == 200 and star.json()["title"] == "Countess"
    # Without If-Match a write is unconditional, as before.
    plain = client.patch(f"/v1/leads/{lead}", json={"title": "Lady"}, headers=owner.auth)
    assert plain.status_code == 200 and "ETag" not in plain.headers
    # A lead that does not exist: the precondition is ignored (§13.2.1), the route's 404.
    missing = client.patch("/v1/leads/00000000-0000-7000-8000-000000000000",
                           json={"title": "x"}, headers=_if_match(owner, tag))
    assert missing.status_code == 404
    # Another tenant's lead is not found either: no ETag leaks through the 412 path.
    stranger = sign_up(client, "Other")
    hidden = client.patch(f"/v1/leads/{lead}", json={"title": "x"},
                          headers=_if_match(stranger, "*"))
    assert hidden.status_code == 404 and "ETag" not in hidden.headers


def test_malformed_conditions_are_422s_naming_the_header(client: TestClient) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    for header, method in (("If-Match", "PATCH"), ("If-None-Match", "GET")):
        answer = client.request(method, f"/v1/leads/{lead}", json={"title": "x"}
                                if method == "PATCH" else None,
                                headers={**owner.auth, header: "abc"})
        assert problem(answer, 422)["errors"][0]["field"] == header


def test_if_match_on_a_resource_without_a_representation_is_a_412(
        client: TestClient) -> None:
    owner = sign_up(client)
    invited = client.post("/v1/invitations", json={"email": "bob@acme.test", "role": "member"},
                          headers=owner.auth)
    assert invited.status_code == 201
    path = f"/v1/invitations/{invited.json()['id']}"
    refused = client.delete(path, headers=_if_match(owner, "*"))
    assert problem(refused, 412)["errors"][0]["field"] == "If-Match"
    assert client.delete(path, headers=owner.auth).status_code == 204


@pytest.mark.parametrize(("value", "tags"), [
    ("*", None), ('"a"', ['"a"']), ('"a", W/"b",  "c"', ['"a"', 'W/"b"', '"c"'])])
def test_entity_tag_lists_are_read(value: str, tags: list[str] | None) -> None:
    assert entity_tags(value) == tags


@pytest.mark.parametrize("value", ["", "a", '"a" "b"', '"a",', '"a b"', 'W/a', '"a'])
def test_entity_tag_lists_that_are_not(value: str) -> None:
    with pytest.raises(MalformedCondition):
        entity_tags(value)


def _slow_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each lead update takes a while: without the lock, two writers that both passed the
    check would both write."""
    update = LeadService.update_lead

    def slowly(self: LeadService, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return update(self, *args, **kwargs)

    monkeypatch.setattr(LeadService, "update_lead", slowly)


def _race(send: list[Callable[[], httpx.Response]]) -> list[int]:
    start = threading.Barrier(len(send))
    statuses: list[int] = []

    def run(request: Callable[[], httpx.Response]) -> None:
        start.wait()
        statuses.append(request().status_code)

    threads = [threading.Thread(target=run, args=(request,)) for request in send]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


def test_two_writers_with_the_same_if_match_one_wins(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = sign_up(client)
    lead = _lead(client, owner)
    tag = client.get(f"/v1/leads/{lead}", headers=owner.auth).headers["ETag"]
    _slow_updates(monkeypatch)
    statuses = _race([
        lambda: client.patch(f"/v1/leads/{lead}", json={"company": "First"},
                             headers=_if_match(owner, tag)),
        lambda: client.patch(f"/v1/leads/{lead}", json={"company": "Second"},
                             headers=_if_match(owner, tag))])
    assert statuses == [200, 412]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_two_servers_on_one_database_one_wins(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two apps over one database, each with its own in-process locks (two processes of
    ``lad serve --workers 2``): the database's lock keeps them apart."""
    second = create_app(app.state.container)
    with TestClient(app) as one, TestClient(second) as two:
        owner = sign_up(one)
        lead = _lead(one, owner)
        tag = one.get(f"/v1/leads/{lead}", headers=owner.auth).headers["ETag"]
        # Both warm (the first request an app serves builds its middleware and route index).
        assert two.get(f"/v1/leads/{lead}", headers=owner.auth).headers["ETag"] == tag
        _slow_updates(monkeypatch)
        statuses = _race([
            lambda: one.patch(f"/v1/leads/{lead}", json={"company": "First"},
                              headers=_if_match(owner, tag)),
            lambda: two.patch(f"/v1/leads/{lead}", json={"company": "Second"},
                              headers=_if_match(owner, tag))])
        assert statuses == [200, 412]
        company = two.get(f"/v1/leads/{lead}", headers=owner.auth).json()["company"]
        assert company in ("First", "Second")
