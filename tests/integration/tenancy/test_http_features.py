"""HTTP: tenant features, flags and API keys."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from tests.integration.tenancy.api import api_key, bearer, fields, join, problem, sign_up


def test_the_owner_switches_a_feature(client: TestClient) -> None:
    owner = sign_up(client)
    assert client.get("/v1/features/voice", headers=owner.auth).json()["enabled"] is True
    switched = client.put("/v1/features/voice", json={"enabled": False}, headers=owner.auth)
    assert switched.json() == {"feature_key": "voice", "enabled": False}
    assert client.get("/v1/features/voice", headers=owner.auth).json()["enabled"] is False


def test_a_malformed_feature_key_is_422(client: TestClient) -> None:
    owner = sign_up(client)
    assert fields(client.get("/v1/features/Not%20A%20Key", headers=owner.auth)) == [
        "feature_key"]
    assert fields(client.put("/v1/features/voice", json={"enabled": "maybe"},
                             headers=owner.auth)) == ["enabled"]


def test_a_flag_is_false_by_default(client: TestClient) -> None:
    owner = sign_up(client)
    response = client.get("/v1/flags/new_inbox", headers=owner.auth)
    assert response.json() == {"flag_key": "new_inbox", "enabled": False, "source": "default"}


def test_a_user_override_beats_the_tenant_override(client: TestClient,
                                                   container: Container) -> None:
    owner = sign_up(client)
    member = join(client, owner)
    team, tenant = container.team(), uuid.UUID(owner.tenant_id)
    team.set_flag(Principal.operator(), "new_inbox", True, tenant_id=tenant)
    team.set_flag(Principal.operator(), "new_inbox", False, tenant_id=tenant,
                  user_id=uuid.UUID(member.user_id))
    assert client.get("/v1/flags/new_inbox", headers=owner.auth).json()["source"] == "tenant"
    assert client.get("/v1/flags/new_inbox", headers=member.auth).json() == {
        "flag_key": "new_inbox", "enabled": False, "source": "user"}


def test_an_api_key_secret_is_shown_once(client: TestClient) -> None:
    owner = sign_up(client)
    key = api_key(client, owner, role="member")
    assert key["secret"].startswith("lad_") and key["role"] == "member"
    listed = client.get("/v1/api-keys", headers=owner.auth)
    assert [k["id"] for k in listed.json()["items"]] == [key["id"]]
    assert key["secret"] not in listed.text and "secret" not in listed.json()["items"][0]


def test_using_an_api_key_sets_last_used_at(client: TestClient) -> None:
    owner = sign_up(client)
    key = api_key(client, owner)
    assert client.get("/v1/members", headers=bearer(key["secret"])).status_code == 200
    listed = client.get("/v1/api-keys", headers=owner.auth).json()["items"]
    assert listed[0]["last_used_at"] is not None


def test_an_admin_cannot_mint_a_key_above_their_role(client: TestClient) -> None:
    owner = sign_up(client)
    admin_key = api_key(client, owner, role="admin")
    problem(client.post("/v1/api-keys", json={"name": "root", "role": "owner"},
                        headers=bearer(admin_key["secret"])), 422)
    member = join(client, owner, "admin")
    problem(client.patch(f"/v1/members/{owner.user_id}", json={"role": "viewer"},
                         headers=member.auth), 403)


def test_revoking_an_unknown_key_is_404(client: TestClient) -> None:
    owner = sign_up(client)
    problem(client.delete("/v1/api-keys/00000000-0000-7000-8000-000000000000",
                          headers=owner.auth), 404)
    assert fields(client.delete("/v1/api-keys/not-a-uuid", headers=owner.auth)) == ["key_id"]
