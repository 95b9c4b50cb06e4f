"""Driving the HTTP API in tests: accounts made by sign-up or invitation, and problems."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import httpx
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


@attrs.frozen
class Account:
    token: str
    tenant_id: str
    user_id: str
    email: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def email(prefix: str = "user") -> str:
    return f"{prefix}{next(_serial)}@acme.test"


def sign_up(client: TestClient, tenant_name: str = "Acme") -> Account:
    address = email("owner")
    response = client.post("/v1/auth/signup", json={"tenant_name": tenant_name,
                                                    "email": address, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return _account(response.json(), address)


def join(client: TestClient, admin: Account, role: str = "member") -> Account:
    """A new user invited by ``admin`` in ``role``, who accepted."""
    address = email(role)
    invited = client.post("/v1/invitations", json={"email": address, "role": role},
                          headers=admin.auth)
    assert invited.status_code == 201, invited.text
    accepted = client.post("/v1/invitations/accept",
                           json={"token": invited.json()["token"], "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    return _account(accepted.json(), address)


def api_key(client: TestClient, admin: Account, role: str = "admin") -> dict[str, Any]:
    response = client.post("/v1/api-keys", json={"name": "server", "role": role},
                           headers=admin.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "code"} <= body.keys()
    return body


def fields(response: httpx.Response) -> list[str]:
    """The fields a 422 problem names."""
    return [e["field"] for e in problem(response, 422)["errors"]]


def _account(body: dict[str, Any], address: str) -> Account:
    return Account(body["access_token"], body["tenant_id"], body["user_id"], address)
