"""Rate limits over real requests: per API key and per tenant (429, Retry-After and the
RateLimit headers), login attempts per email and per client address before any hashing,
the bound on password hashes at once (503), and the counts shared through a real Redis."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_adapters.security.passwords import Argon2PasswordHasher
from lad_domain.shared.errors import ValidationFailed
from lad_entrypoints.cli.main import EXIT_CODES, create_cli, run
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.http.app import create_app
from lad_entrypoints.http.limits import RateLimits
from tests.conftest import fast_settings
from tests.integration.tenancy.api import PASSWORD, Account, api_key, bearer, problem, sign_up

REDIS_URL = "redis://127.0.0.1:6379/15"
OPERATOR_TOKEN = "operator-" + "o" * 32


def _lad(**settings: Any) -> Container:
    return build_container(fast_settings("memory://", **settings))


@pytest.fixture
def limited() -> Iterator[Container]:
    lad = _lad(rate_limit_per_key="3/minute", rate_limit_per_tenant="5/minute",
               operator_token=OPERATOR_TOKEN)
    yield lad
    close(lad)


def _ratelimit(response: httpx.Response) -> dict[str, tuple[int, int]]:
    """The RateLimit field: policy name -> (remaining, seconds to reset)."""
    found = re.findall(r'"([a-z0-9-]+)";r=(\d+);t=(\d+)', response.headers["RateLimit"])
    return {name: (int(r), int(t)) for name, r, t in found}


def _refused(response: httpx.Response) -> dict[str, Any]:
    body = problem(response, 429)
    assert body["code"] == "rate_limited" and body["title"] == "Too many requests"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    return body


def test_a_key_over_its_rate_is_429_with_retry_after_and_the_ratelimit_fields(
        limited: Container) -> None:
    with TestClient(create_app(limited)) as client:
        owner = sign_up(client)
        seen = [client.get("/v1/me", headers=owner.auth) for _ in range(3)]
        assert [r.status_code for r in seen] == [200, 200, 200]
        assert seen[0].headers["RateLimit-Policy"] == '"key";q=3;w=60, "tenant";q=5;w=60'
        assert [_ratelimit(r)["key"][0] for r in seen] == [2, 1, 0]
        assert [_ratelimit(r)["tenant"][0] for r in seen] == [4, 3, 2]

        over = client.get("/v1/me", headers=owner.auth)
        body = _refused(over)
        assert "3 per minute" in body["detail"] and "key" in body["detail"]
        assert _ratelimit(over)["key"] == (0, int(over.headers["Retry-After"]))
        # Anything the key asks is refused, not only the route it used up.
        _refused(client.get("/v1/tenant", headers=owner.auth))


def test_a_tenant_over_its_rate_is_429_whatever_key_asks(limited: Container) -> None:
    with TestClient(create_app(limited)) as client:
        owner = sign_up(client)
        key = bearer(api_key(client, owner)["secret"])
        other = sign_up(client, "Globex")
        # The owner's login token and the API key: 3 + 2 = the tenant's 5 (the key's
        # creation above was the owner's first).
        assert [client.get("/v1/me", headers=owner.auth).status_code
                for _ in range(2)] == [200, 200]
        assert [client.get("/v1/me", headers=key).status_code for _ in range(2)] == [200, 200]
        body = _refused(client.get("/v1/me", headers=key))
        assert "tenant" in body["detail"]
        # Another tenant is counted apart.
        assert client.get("/v1/me", headers=other.auth).status_code == 200


def test_the_operator_is_not_limited(limited: Container) -> None:
    with TestClient(create_app(limited)) as client:
        # Past the key's and the tenant's rates, the operator still reaches the use case
        # (which finds no such tenant).
        answers = [client.post(f"/v1/operator/tenants/{uuid.uuid4()}/top-ups",
                               json={"amount": "5"}, headers={
                                   **bearer(OPERATOR_TOKEN), "Idempotency-Key": f"k{n}"})
                   for n in range(8)]
        assert [a.status_code for a in answers] == [404] * 8
        assert "RateLimit" not in answers[-1].headers


def test_login_attempts_per_email_are_refused_before_any_hashing() -> None:
    lad = _lad(login_limit_per_email="3/minute", argon2_concurrency=1,
               argon2_wait_seconds=0.05)
    with TestClient(create_app(lad)) as client:
        owner = sign_up(client)
        wrong = {"email": owner.email, "password": "not the password"}
        assert [client.post("/v1/auth/token", json=wrong).status_code
                for _ in range(3)] == [401, 401, 401]
        hasher: Argon2PasswordHasher = lad.password_hasher()
        # Every hashing slot held: an attempt that reached the hasher would be a 503.
        with hasher.slot():
            right = client.post("/v1/auth/token", json={"email": owner.email.upper(),
                                                        "password": PASSWORD})
        body = _refused(right)
        assert "login attempts" in body["detail"] and "email" in body["detail"]
        assert _ratelimit(right)["email"][0] == 0
        # Another email from the same client is not this email's business.
        assert client.post("/v1/auth/token", json={
            "email": sign_up(client).email, "password": PASSWORD}).status_code == 200
    close(lad)


def test_a_correct_login_is_let_in_again_once_the_window_moves_on() -> None:
    lad = _lad(login_limit_per_email="2/second")
    with TestClient(create_app(lad)) as client:
        owner = sign_up(client)
        wrong = {"email": owner.email, "password": "not the password"}
        for _ in range(2):
            client.post("/v1/auth/token", json=wrong)
        refused = client.post("/v1/auth/token", json={"email": owner.email,
                                                      "password": PASSWORD})
        _refused(refused)
        deadline = time.monotonic() + 5
        while True:
            time.sleep(int(refused.headers["Retry-After"]))
            answer = client.post("/v1/auth/token", json={"email": owner.email,
                                                         "password": PASSWORD})
            if answer.status_code != 429 or time.monotonic() > deadline:
                break
            refused = answer
        assert answer.status_code == 200, answer.text
    close(lad)


def test_login_attempts_per_client_address_count_every_email() -> None:
    lad = _lad(login_limit_per_address="3/minute")
    with TestClient(create_app(lad)) as client:
        answers = [client.post("/v1/auth/token", json={
            "email": f"nobody{n}@acme.test", "password": "guess"}).status_code
            for n in range(3)]
        assert answers == [401, 401, 401]
        body = _refused(client.post("/v1/auth/token", json={
            "email": "someone-else@acme.test", "password": "guess"}))
        assert "address" in body["detail"]
    close(lad)


def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() -> None:
    def attempts(client: TestClient, forwarded: list[str]) -> list[int]:
        return [client.post("/v1/auth/token", headers={"X-Forwarded-For": address},
                            json={"email": f"nobody{n}@acme.test", "password": "guess"}
                            ).status_code for n, address in enumerate(forwarded)]

    clients = ["203.0.113.5", "203.0.113.5", "203.0.113.6", "203.0.113.7"]
    trusting = _lad(login_limit_per_address="2/minute", trusted_proxies="10.0.0.0/8")
    with TestClient(create_app(trusting), client=("10.0.0.7", 4000)) as client:
        assert attempts(client, clients) == [401, 401, 401, 401]
        # What a client writes itself is further left: the hop the proxy added counts.
        assert attempts(client, ["198.51.100.1, 203.0.113.5"]) == [429]
        assert attempts(client, ["203.0.113.5, 10.0.0.9"]) == [429]
    untrusting = _lad(login_limit_per_address="2/minute")
    with TestClient(create_app(untrusting), client=("10.0.0.7", 4000)) as client:
        assert attempts(client, clients) == [401, 401, 429, 429]
    close(trusting)
    close(untrusting)


def test_a_login_beyond_the_hashing_bound_is_503_with_retry_after() -> None:
    lad = _lad(argon2_concurrency=1, argon2_wait_seconds=0.05)
    with TestClient(create_app(lad)) as client:
        owner = sign_up(client)
        login = {"email": owner.email, "password": PASSWORD}
        hasher: Argon2PasswordHasher = lad.password_hasher()
        with hasher.slot():
            busy = client.post("/v1/auth/token", json=login)
        body = problem(busy, 503)
        assert body["code"] == "unavailable" and "busy checking passwords" in body["detail"]
        assert busy.headers["Retry-After"] == "1"
        assert client.post("/v1/auth/token", json=login).status_code == 200
    close(lad)


def test_a_bad_limit_setting_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAD_DATABASE_URL", "memory://")
    monkeypatch.setenv("LAD_RATE_LIMIT_PER_KEY", "lots per minute")
    code = run(create_cli(build_container), ["db", "current"])
    assert code == EXIT_CODES[ValidationFailed]
    err = capsys.readouterr().err
    assert "invalid setting LAD_RATE_LIMIT_PER_KEY" in err and "600/minute" in err


def test_limits_set_off_count_nothing() -> None:
    lad = _lad(rate_limit_per_key="off", rate_limit_per_tenant="off")
    with TestClient(create_app(lad)) as client:
        owner = sign_up(client)
        answers = [client.get("/v1/me", headers=owner.auth) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert "RateLimit" not in answers[0].headers
    close(lad)


# Shared through Redis: every API server and worker process counts in one place.


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in Redis's database 15, its keys deleted after."""
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {error}")
    prefix = f"lad-test-{uuid.uuid4().hex}"
    yield prefix
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)
    connection.close()


def _server(lad: Container, prefix: str) -> FastAPI:
    """One API server of the fleet, its limits under the test's prefix."""
    app = create_app(lad)
    app.state.rate_limits = RateLimits.from_settings(lad.settings(), key_prefix=prefix)
    return app


def test_two_servers_sharing_redis_share_the_count(redis_prefix: str) -> None:
    lad = _lad(redis_url=REDIS_URL, rate_limit_per_key="4/minute")
    with TestClient(_server(lad, redis_prefix)) as one, \
            TestClient(_server(lad, redis_prefix)) as two:
        owner: Account = sign_up(one)
        answers = [(one if n % 2 else two).get("/v1/me", headers=owner.auth)
                   for n in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        assert [_ratelimit(a)["key"][0] for a in answers] == [3, 2, 1, 0]
        _refused(one.get("/v1/me", headers=owner.auth))
        _refused(two.get("/v1/me", headers=owner.auth))
        # The counts are in Redis, under the prefix.
        stored = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}:*")
        assert any(b"/key/" in key for key in stored)
    close(lad)


def test_login_attempts_are_shared_through_redis(redis_prefix: str) -> None:
    lad = _lad(redis_url=REDIS_URL, login_limit_per_email="2/minute")
    with TestClient(_server(lad, redis_prefix)) as one, \
            TestClient(_server(lad, redis_prefix)) as two:
        wrong = {"email": "ada@acme.test", "password": "guess"}
        assert one.post("/v1/auth/token", json=wrong).status_code == 401
        assert two.post("/v1/auth/token", json=wrong).status_code == 401
        _refused(one.post("/v1/auth/token", json=wrong))
    close(lad)


def test_in_memory_each_server_counts_alone() -> None:
    lad = _lad(rate_limit_per_key="2/minute")
    with TestClient(create_app(lad)) as one, TestClient(create_app(lad)) as two:
        owner = sign_up(one)
        assert [one.get("/v1/me", headers=owner.auth).status_code
                for _ in range(2)] == [200, 200]
        assert two.get("/v1/me", headers=owner.auth).status_code == 200
    close(lad)


def test_an_unreachable_redis_lets_requests_through() -> None:
    lad = _lad(redis_url="redis://127.0.0.1:1/0", rate_limit_per_key="1/minute")
    with TestClient(create_app(lad)) as client:
        owner = sign_up(client)
        answers = [client.get("/v1/me", headers=owner.auth) for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3
        assert "RateLimit" not in answers[0].headers
    close(lad)
