"""HTTP: the tenant, its members, roles, capabilities, leaving and transferring ownership."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.tenancy.api import PASSWORD, Account, fields, join, problem, sign_up


def _roles(client: TestClient, who: Account) -> dict[str, str]:
    response = client.get("/v1/members", headers=who.auth)
    assert response.status_code == 200
    return {m["user_id"]: m["role"] for m in response.json()["items"]}


def test_an_admin_reads_and_renames_the_tenant(client: TestClient) -> None:
    owner = sign_up(client, "Acme")
    admin = join(client, owner, "admin")
    renamed = client.patch("/v1/tenant", json={"name": "Acme Holdings",
                                               "metadata": {"region": "eu"}}, headers=admin.auth)
    assert renamed.status_code == 200
    found = client.get("/v1/tenant", headers=owner.auth).json()
    assert (found["name"], found["slug"], found["metadata"]) == (
        "Acme Holdings", "acme", {"region": "eu"})


NESTED: object = 1
for _ in range(20):
    NESTED = [NESTED]


@pytest.mark.parametrize(("metadata", "field"), [({"k": "\u0000"}, "metadata.k"),
                                                 ({"k": NESTED}, "metadata"),
                                                 ({"k": "x" * 20_000}, "metadata")])
def test_metadata_no_backend_can_keep_is_422(client: TestClient, metadata: object,
                                             field: str) -> None:
    owner = sign_up(client)
    assert fields(client.patch("/v1/tenant", json={"metadata": metadata},
                               headers=owner.auth)) == [field]


def test_nan_in_metadata_is_422(client: TestClient) -> None:
    owner = sign_up(client)
    response = client.patch("/v1/tenant", content=b'{"metadata": {"k": NaN}}',
                            headers=owner.auth | {"content-type": "application/json"})
    assert fields(response) == ["metadata"]


def test_a_deleted_tenant_refuses_its_tokens_and_log_in(client: TestClient) -> None:
    owner = sign_up(client)
    assert client.delete("/v1/tenant", headers=owner.auth).status_code == 204
    problem(client.get("/v1/tenant", headers=owner.auth), 401)
    problem(client.post("/v1/auth/token", json={"email": owner.email, "password": PASSWORD}),
            401)


def test_members_page_with_a_cursor(client: TestClient) -> None:
    owner = sign_up(client)
    joined = [join(client, owner, "viewer") for _ in range(2)]
    first = client.get("/v1/members", params={"limit": 2}, headers=owner.auth).json()
    rest = client.get("/v1/members", params={"limit": 2, "cursor": first["next_cursor"]},
                      headers=owner.auth).json()
    seen = [m["user_id"] for m in first["items"] + rest["items"]]
    assert seen == [joined[1].user_id, joined[0].user_id, owner.user_id]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(("params", "field"), [({"cursor": "nope"}, "cursor"),
                                               ({"limit": 0}, "limit"),
                                               ({"limit": 201}, "limit")])
def test_bad_paging_is_422_naming_the_field(client: TestClient, params: dict[str, object],
                                           field: str) -> None:
    owner = sign_up(client)
    assert fields(client.get("/v1/members", params=params, headers=owner.auth)) == [field]


def test_an_admin_changes_a_role(client: TestClient) -> None:
    owner = sign_up(client)
    admin, member = join(client, owner, "admin"), join(client, owner, "member")
    response = client.patch(f"/v1/members/{member.user_id}", json={"role": "viewer"},
                            headers=admin.auth)
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    assert _roles(client, owner)[member.user_id] == "viewer"


def test_demoting_the_last_owner_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    problem(client.patch(f"/v1/members/{owner.user_id}", json={"role": "admin"},
                         headers=owner.auth), 409)
    assert _roles(client, owner)[owner.user_id] == "owner"


def test_removing_the_last_owner_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    problem(client.delete(f"/v1/members/{owner.user_id}", headers=owner.auth), 409)
    problem(client.post("/v1/tenant/leave", headers=owner.auth), 409)
    assert _roles(client, owner) == {owner.user_id: "owner"}


def test_an_unknown_role_is_422(client: TestClient) -> None:
    owner = sign_up(client)
    member = join(client, owner)
    assert fields(client.patch(f"/v1/members/{member.user_id}", json={"role": "king"},
                               headers=owner.auth)) == ["role"]


def test_a_member_is_removed_and_another_leaves(client: TestClient) -> None:
    owner = sign_up(client)
    removed, leaving = join(client, owner), join(client, owner)
    assert client.delete(f"/v1/members/{removed.user_id}", headers=owner.auth).status_code == 204
    assert client.post("/v1/tenant/leave", headers=leaving.auth).status_code == 204
    assert _roles(client, owner) == {owner.user_id: "owner"}
    problem(client.get("/v1/members", headers=removed.auth), 403)


def test_ownership_is_transferred(client: TestClient) -> None:
    owner = sign_up(client)
    admin = join(client, owner, "admin")
    response = client.post("/v1/tenant/transfer-ownership", json={"user_id": admin.user_id},
                           headers=owner.auth)
    assert response.status_code == 200 and response.json()["role"] == "owner"
    assert _roles(client, admin) == {owner.user_id: "admin", admin.user_id: "owner"}


def test_a_capability_lets_a_viewer_manage_members(client: TestClient) -> None:
    owner = sign_up(client)
    viewer, other = join(client, owner, "viewer"), join(client, owner, "viewer")
    route = f"/v1/members/{viewer.user_id}/capabilities/core/members.manage"
    assert client.put(route, headers=owner.auth).status_code == 204
    assert client.delete(f"/v1/members/{other.user_id}", headers=viewer.auth).status_code == 204
    assert client.delete(route, headers=owner.auth).status_code == 204
    problem(client.delete(route, headers=owner.auth), 404)


ADMIN_ACTIONS = [
    ("patch", "/v1/tenant", {"name": "Mine"}),
    ("delete", "/v1/tenant", None),
    ("patch", "/v1/members/{member}", {"role": "viewer"}),
    ("delete", "/v1/members/{member}", None),
    ("put", "/v1/members/{member}/capabilities/core/members.manage", None),
    ("post", "/v1/invitations", {"email": "x@acme.test", "role": "viewer"}),
    ("get", "/v1/invitations", None),
    ("put", "/v1/features/voice", {"enabled": False}),
    ("post", "/v1/api-keys", {"name": "k", "role": "viewer"}),
    ("get", "/v1/api-keys", None),
    ("post", "/v1/tenant/transfer-ownership", {"user_id": "{member}"}),
]


def test_a_viewer_trying_any_admin_action_is_403(client: TestClient) -> None:
    owner = sign_up(client)
    viewer, member = join(client, owner, "viewer"), join(client, owner, "member")
    before = client.get("/v1/tenant", headers=owner.auth).json()
    for method, path, body in ADMIN_ACTIONS:
        if body is not None:
            body = {k: v.format(member=member.user_id) if isinstance(v, str) else v
                    for k, v in body.items()}
        response = client.request(method, path.format(member=member.user_id), json=body,
                                  headers=viewer.auth)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
    assert _roles(client, owner)[member.user_id] == "member"
    assert client.get("/v1/tenant", headers=owner.auth).json() == before
