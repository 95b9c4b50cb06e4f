"""HTTP: a member of tenant A addressing tenant B's ids on every route that takes one gets
404, never B's data, and B is unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lad_entrypoints.container import Container
from tests.integration.tenancy.api import Account, api_key, bearer, join, sign_up

ROUTES = [
    ("patch", "/v1/members/{member}", {"role": "viewer"}),
    ("patch", "/v1/members/{owner}", {"role": "admin"}),
    ("delete", "/v1/members/{member}", None),
    ("put", "/v1/members/{member}/capabilities/core/invitations.manage", None),
    ("delete", "/v1/members/{member}/capabilities/core/members.manage", None),
    ("delete", "/v1/invitations/{invitation}", None),
    ("delete", "/v1/api-keys/{key}", None),
    ("post", "/v1/tenant/transfer-ownership", {"user_id": "{member}"}),
]


def _tenant_b(client: TestClient) -> tuple[Account, Account, dict[str, str]]:
    owner = sign_up(client, "Beta Corp")
    member = join(client, owner, "member")
    invitation = client.post("/v1/invitations", json={"email": "pending@beta.test",
                                                      "role": "viewer"}, headers=owner.auth)
    granted = client.put(f"/v1/members/{member.user_id}/capabilities/core/members.manage",
                         headers=owner.auth)
    assert granted.status_code == 204
    ids = {"owner": owner.user_id, "member": member.user_id,
           "invitation": invitation.json()["id"], "key": api_key(client, owner)["id"]}
    return owner, member, ids


def _state(client: TestClient, container: Container, owner: Account, member: Account
           ) -> list[Any]:
    reads = [client.get(path, headers=owner.auth).json()
             for path in ("/v1/tenant", "/v1/members", "/v1/invitations", "/v1/api-keys")]
    with container.unit_of_work()(uuid.UUID(owner.tenant_id)) as uow:
        held = uow.capabilities.list_for_user(uuid.UUID(member.user_id))
    return [*reads, sorted(c.capability_key for c in held)]


@pytest.mark.parametrize("actor", ["owner", "api_key"])
def test_tenant_a_gets_404_for_every_id_of_tenant_b(client: TestClient, container: Container,
                                                    actor: str) -> None:
    owner_a = sign_up(client, "Acme")
    headers = owner_a.auth if actor == "owner" else bearer(api_key(client, owner_a)["secret"])
    owner_b, member_b, ids = _tenant_b(client)
    before = _state(client, container, owner_b, member_b)
    secrets_of_b = [owner_b.email, member_b.email, owner_b.tenant_id, "Beta Corp",
                    "pending@beta.test"]
    for method, path, body in ROUTES:
        if body is not None:
            body = {k: v.format(**ids) for k, v in body.items()}
        response = client.request(method, path.format(**ids), json=body, headers=headers)
        # An admin key may not transfer ownership, grant capabilities or manage keys at
        # all: refused before any lookup.
        refused = ("transfer", "capabilities", "api-keys")
        expected = 403 if actor == "api_key" and any(r in path for r in refused) else 404
        assert response.status_code == expected, f"{method} {path}: {response.text}"
        assert not [s for s in secrets_of_b if s in response.text], response.text
    assert _state(client, container, owner_b, member_b) == before
