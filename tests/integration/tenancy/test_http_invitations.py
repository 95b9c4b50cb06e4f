"""HTTP: invitations, whose token is shown once and works once, until it expires."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from lad_domain.shared.clock import FixedClock
from lad_domain.tenancy.services import INVITATION_TTL
from tests.integration.tenancy.api import PASSWORD, Account, email, join, problem, sign_up


def _invite(client: TestClient, owner: Account, role: str = "member") -> dict[str, str]:
    response = client.post("/v1/invitations", json={"email": email(), "role": role},
                           headers=owner.auth)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def _accept(client: TestClient, token: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/v1/invitations/accept", json={"token": token, "password": password})


def test_the_token_is_shown_once(client: TestClient) -> None:
    owner = sign_up(client)
    invitation = _invite(client, owner)
    assert invitation["token"].startswith("inv_")
    listed = client.get("/v1/invitations", headers=owner.auth)
    assert [i["id"] for i in listed.json()["items"]] == [invitation["id"]]
    assert invitation["token"] not in listed.text


def test_accepting_makes_a_new_member_with_the_invited_role(client: TestClient) -> None:
    owner = sign_up(client)
    invitation = _invite(client, owner, "viewer")
    session = _accept(client, invitation["token"]).json()
    assert (session["tenant_id"], session["role"]) == (owner.tenant_id, "viewer")
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.json()["email"] == invitation["email"]


def test_an_existing_user_accepts_with_their_password(client: TestClient) -> None:
    owner, other = sign_up(client, "Acme"), sign_up(client, "Other")
    token = client.post("/v1/invitations", json={"email": other.email, "role": "admin"},
                        headers=owner.auth).json()["token"]
    problem(_accept(client, token, "not the password"), 401)
    assert _accept(client, token).json()["user_id"] == other.user_id


def test_a_used_token_is_410(client: TestClient) -> None:
    invitation = _invite(client, sign_up(client))
    assert _accept(client, invitation["token"]).status_code == 200
    assert problem(_accept(client, invitation["token"]), 410)["code"] == "expired"


def test_a_revoked_token_is_410(client: TestClient) -> None:
    owner = sign_up(client)
    invitation = _invite(client, owner)
    revoked = client.delete(f"/v1/invitations/{invitation['id']}", headers=owner.auth)
    assert revoked.status_code == 204
    problem(_accept(client, invitation["token"]), 410)
    again = client.delete(f"/v1/invitations/{invitation['id']}", headers=owner.auth)
    assert again.status_code == 204  # revoking is idempotent, like revoking an API key


def test_an_expired_token_is_410(client: TestClient, clock: FixedClock) -> None:
    invitation = _invite(client, sign_up(client))
    clock.advance(INVITATION_TTL)
    problem(_accept(client, invitation["token"]), 410)


def test_an_unknown_token_is_404(client: TestClient) -> None:
    owner = sign_up(client)
    problem(_accept(client, "inv_" + owner.tenant_id.replace("-", "") + "_nope"), 404)
    problem(_accept(client, "garbage"), 404)


def test_inviting_a_member_again_is_409(client: TestClient) -> None:
    owner = sign_up(client)
    member = join(client, owner)
    problem(client.post("/v1/invitations", json={"email": member.email, "role": "member"},
                        headers=owner.auth), 409)
