"""Credentials that outlive a configuration change: a password hashed at an old argon2 cost
is re-hashed at the next login (memory, SQLite, PostgreSQL), and access tokens signed with
a JWT key being rotated out stay valid while the key is among the previous ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.security.passwords import Argon2PasswordHasher
from lad_adapters.security.tokens import ISSUER, JwtTokenIssuer, key_id
from lad_domain.shared.clock import SystemClock
from lad_domain.shared.errors import AuthenticationFailed
from lad_domain.tenancy.services import TenancyService
from lad_entrypoints.container import Container, build_container, close, upgrade_database
from lad_entrypoints.http.app import create_app
from tests.conftest import fast_settings
from tests.integration.tenancy.api import PASSWORD, bearer, problem, sign_up

OLD_SECRET = "old-jwt-secret-" + "o" * 32
NEW_SECRET = "new-jwt-secret-" + "n" * 32


def _stored_hash(lad: Container, email: str) -> str:
    with lad.unit_of_work()(None) as uow:
        user = uow.users.get_by_email(email)
    assert user is not None and user.password_hash is not None
    return user.password_hash


def test_a_password_hashed_at_an_old_cost_is_rehashed_at_login(backend: str,
                                                               container: Container) -> None:
    tenancy: TenancyService = container.tenancy()
    tenancy.sign_up(tenant_name="Acme", email="ada@acme.test", password=PASSWORD)
    assert "t=1," in _stored_hash(container, "ada@acme.test")

    # The operator raised LAD_ARGON2_TIME_COST: the next process hashes at t=2.
    container.password_hasher.override(providers.Object(
        Argon2PasswordHasher(time_cost=2, memory_cost=1024)))
    container.tenancy.reset()
    tenancy = container.tenancy()
    tenancy.log_in(email="ada@acme.test", password=PASSWORD)
    renewed = _stored_hash(container, "ada@acme.test")
    assert "t=2," in renewed

    # The new hash is the password's: the login still works, and nothing changes again.
    tenancy.log_in(email="ada@acme.test", password=PASSWORD)
    assert _stored_hash(container, "ada@acme.test") == renewed
    with pytest.raises(AuthenticationFailed):
        tenancy.log_in(email="ada@acme.test", password="not the password")
    assert _stored_hash(container, "ada@acme.test") == renewed


def test_a_wrong_password_never_rehashes(container: Container) -> None:
    container.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test", password=PASSWORD)
    old = _stored_hash(container, "ada@acme.test")
    container.password_hasher.override(providers.Object(
        Argon2PasswordHasher(time_cost=2, memory_cost=1024)))
    container.tenancy.reset()
    with pytest.raises(AuthenticationFailed):
        container.tenancy().log_in(email="ada@acme.test", password="not the password")
    assert _stored_hash(container, "ada@acme.test") == old


# Key rotation, over HTTP, with servers sharing one SQLite database.


@pytest.fixture
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('rotation') / 'lad.sqlite3'}"
    upgrade_database(build_container(fast_settings(url)))
    return url


@pytest.fixture
def servers(database: str) -> Iterator[dict[str, TestClient]]:
    """Servers configured before, during and after the rotation of the JWT key."""
    configs = {
        "before": {"jwt_secret": OLD_SECRET},
        "during": {"jwt_secret": NEW_SECRET, "jwt_previous_secrets": f" {OLD_SECRET} ,"},
        "after": {"jwt_secret": NEW_SECRET},
    }
    lads = {name: build_container(fast_settings(database), **config)
            for name, config in configs.items()}
    clients = {name: TestClient(create_app(lad)) for name, lad in lads.items()}
    yield clients
    for client in clients.values():
        client.close()
    for lad in lads.values():
        close(lad)


def test_tokens_of_the_previous_key_are_accepted_until_it_is_removed(
        servers: dict[str, TestClient]) -> None:
    owner = sign_up(servers["before"])
    assert jwt.get_unverified_header(owner.token)["kid"] == key_id(OLD_SECRET)

    assert servers["during"].get("/v1/me", headers=owner.auth).status_code == 200
    # A login during the rotation gets a token of the new key, valid after it.
    fresh = servers["during"].post("/v1/auth/token", json={
        "email": owner.email, "password": PASSWORD}).json()["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(NEW_SECRET)
    assert servers["after"].get("/v1/me", headers=bearer(fresh)).status_code == 200

    refused = problem(servers["after"].get("/v1/me", headers=owner.auth), 401)
    assert refused["detail"] == "the access token is invalid"


def _claims() -> dict[str, object]:
    now = datetime.now(UTC)
    return {"sub": "someone", "iss": ISSUER, "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp())}


def test_a_token_without_a_key_id_is_tried_against_every_accepted_key() -> None:
    rotating = JwtTokenIssuer(NEW_SECRET, SystemClock(), previous_secrets=[OLD_SECRET])
    unnamed = jwt.encode(_claims(), OLD_SECRET, algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(unnamed)
    assert rotating.read(unnamed)["sub"] == "someone"
    with pytest.raises(AuthenticationFailed, match="invalid"):
        JwtTokenIssuer(NEW_SECRET, SystemClock()).read(unnamed)


@pytest.mark.parametrize("kid", ["unknown-key", key_id(OLD_SECRET)])
def test_a_key_id_no_accepted_key_has_is_refused(kid: str) -> None:
    issuer = JwtTokenIssuer(NEW_SECRET, SystemClock())
    # Signed with the accepted key but naming another: refused like any bad token.
    named = jwt.encode(_claims(), NEW_SECRET, algorithm="HS256", headers={"kid": kid})
    with pytest.raises(AuthenticationFailed, match="the access token is invalid"):
        issuer.read(named)


def test_a_short_previous_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="previous JWT secret 1 must be at least 32 bytes"):
        JwtTokenIssuer(NEW_SECRET, SystemClock(), previous_secrets=["short"])
