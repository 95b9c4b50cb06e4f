"""Voice setup over HTTP: voices, agents, numbers, grants and defaults; 201 with the
resource, problem details naming the field, another tenant's objects not found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.tenancy.api import Account, api_key, bearer, join, problem, sign_up

#: The backends whose unit of work stores voice (the SQL one once its repositories exist).
V = "/v1/voice"
ROW = {"provider": "openai", "provider_voice_id": "alloy", "name": "Alloy",
       "gender": "neutral", "language": "en-US"}


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    """The container of each backend (asking for ``backend`` is what parametrises it)."""
    return lad


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    lad.voice_setup().load_catalog(Principal.operator(), {"voices": [ROW]})
    with TestClient(create_app(lad)) as client:
        yield client


@pytest.fixture
def owner(client: TestClient) -> Account:
    return sign_up(client)


def created(client: TestClient, path: str, account: Account, body: dict[str, Any]
            ) -> dict[str, Any]:
    response = client.post(f"{V}{path}", headers=account.auth, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def fields(response: Any, status: int = 422) -> set[str]:
    return {e["field"] for e in problem(response, status)["errors"] or []}


def test_voices_are_the_catalog_and_the_tenants_own(client: TestClient, owner: Account
                                                    ) -> None:
    mine = created(client, "/voices", owner, {**ROW, "provider": "cartesia", "name": "Mine"})
    listed = client.get(f"{V}/voices", headers=owner.auth).json()["items"]
    assert {(v["name"], v["catalog"]) for v in listed} == {("Alloy", True), ("Mine", False)}
    [alloy] = [v for v in listed if v["catalog"]]
    problem(client.patch(f"{V}/voices/{alloy['id']}", headers=owner.auth,
                         json={"name": "x"}), 403)
    problem(client.get(f"{V}/voices/{mine['id']}", headers=sign_up(client).auth), 404)


def test_a_bad_voice_names_its_fields(client: TestClient, owner: Account) -> None:
    response = client.post(f"{V}/voices", headers=owner.auth, json={
        **ROW, "language": "english", "preview_url": "http://example.test/a.mp3"})
    assert fields(response) == {"language", "preview_url"}


def test_an_agent_is_created_changed_and_removed(client: TestClient, owner: Account) -> None:
    voice_id = client.get(f"{V}/voices", headers=owner.auth).json()["items"][0]["id"]
    agent = created(client, "/agents", owner, {"name": "Ava", "voice_id": voice_id,
                                               "config": {"max_duration_seconds": 120}})
    assert isinstance(agent["id"], int) and agent["language"] == "en"
    assert agent["config"]["max_duration_seconds"] == 120
    path = f"{V}/agents/{agent['id']}"
    changed = client.patch(path, headers=owner.auth, json={"system_prompt": "Be brief."})
    assert (changed.json()["name"], changed.json()["system_prompt"]) == ("Ava", "Be brief.")
    assert client.delete(path, headers=owner.auth).status_code == 204
    problem(client.get(path, headers=owner.auth), 404)


def test_an_agent_with_an_unknown_voice_is_refused(client: TestClient, owner: Account) -> None:
    response = client.post(f"{V}/agents", headers=owner.auth, json={
        "name": "Ava", "voice_id": "00000000-0000-4000-8000-000000000000"})
    assert fields(response) == {"voice_id"}


def test_a_number_is_stored_in_e164_and_hidden_from_other_tenants(
        client: TestClient, owner: Account) -> None:
    number = created(client, "/numbers", owner, {"phone": "+1 (415) 555-2671",
                                                 "provider": "twilio", "label": "Sales"})
    assert (number["phone"], number["capabilities"]) == ("+14155552671", ["voice"])
    assert fields(client.post(f"{V}/numbers", headers=owner.auth, json={
        "phone": "12", "provider": "twilio"})) == {"phone"}
    problem(client.get(f"{V}/numbers/{number['id']}", headers=sign_up(client).auth), 404)


def test_a_viewer_reads_but_does_not_manage(client: TestClient, owner: Account) -> None:
    viewer = join(client, owner, "viewer")
    assert client.get(f"{V}/agents", headers=viewer.auth).json() == {"items": [],
                                                                     "next_cursor": None}
    problem(client.post(f"{V}/agents", headers=viewer.auth, json={"name": "Ava"}), 403)


def test_a_grant_is_listed_and_revoked(client: TestClient, owner: Account) -> None:
    member = join(client, owner, "member")
    number = created(client, "/numbers", owner, {"phone": "+14155552671",
                                                 "provider": "twilio"})
    grant = created(client, "/permissions", owner, {"user_id": member.user_id,
                                                    "number_id": number["id"]})
    assert client.delete(f"{V}/permissions/{grant['id']}", headers=owner.auth
                         ).status_code == 204
    listed = client.get(f"{V}/permissions?user_id={member.user_id}", headers=owner.auth)
    assert [(p["id"], p["is_active"]) for p in listed.json()["items"]] == [(grant["id"], False)]


def test_a_grant_without_a_number_or_voice_is_refused(client: TestClient, owner: Account
                                                      ) -> None:
    response = client.post(f"{V}/permissions", headers=owner.auth,
                           json={"user_id": owner.user_id})
    assert fields(response) == {"number_id"}


def test_a_member_sets_their_own_defaults(client: TestClient, owner: Account) -> None:
    member = join(client, owner, "member")
    agent = created(client, "/agents", owner, {"name": "Ava"})
    saved = client.put(f"{V}/profiles/me", headers=member.auth,
                       json={"default_agent_id": agent["id"]})
    assert saved.status_code == 200, saved.text
    read = client.get(f"{V}/profiles/{member.user_id}", headers=owner.auth).json()
    assert read["default_agent_id"] == agent["id"]
    problem(client.put(f"{V}/profiles/{owner.user_id}", headers=member.auth, json={}), 403)


def test_an_api_key_has_no_profile_of_its_own(client: TestClient, owner: Account) -> None:
    key = bearer(api_key(client, owner)["secret"])
    assert fields(client.get(f"{V}/profiles/me", headers=key)) == {"user_id"}


def test_agents_are_listed_a_page_at_a_time(client: TestClient, owner: Account) -> None:
    for name in ("Ava", "Bo", "Cy"):
        created(client, "/agents", owner, {"name": name})
    first = client.get(f"{V}/agents?limit=2", headers=owner.auth).json()
    rest = client.get(f"{V}/agents?limit=2&cursor={first['next_cursor']}",
                      headers=owner.auth).json()
    names = [a["name"] for a in first["items"] + rest["items"]]
    assert names == ["Cy", "Bo", "Ava"] and rest["next_cursor"] is None
