"""Every answer names its request (``X-Request-ID``: the caller's, or a new one), errors
and refusals at the edge included; a browser front end on an origin named in
``LAD_CORS_ORIGINS`` may call the API, any other origin is not let in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lad_entrypoints.container import Container, build_container
from lad_entrypoints.http.app import create_app


def test_a_callers_request_id_is_returned(client: TestClient) -> None:
    answer = client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert answer.headers["x-request-id"] == "trace-42.a"


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 129, "semi;colon"])
def test_a_missing_or_implausible_request_id_is_replaced(client: TestClient,
                                                         given: str | None) -> None:
    headers = {} if given is None else {"X-Request-ID": given}
    first = client.get("/healthz", headers=headers).headers["x-request-id"]
    second = client.get("/healthz", headers=headers).headers["x-request-id"]
    assert len(first) == 32 and first != second and first != given


def test_errors_and_edge_refusals_carry_the_request_id(client: TestClient) -> None:
    assert client.get("/v1/leads").headers["x-request-id"]  # 401
    assert client.delete("/healthz").headers["x-request-id"]  # 405 at the edge
    assert client.get("/healthz?x=1").headers["x-request-id"]  # 422


@pytest.fixture
def cors_client() -> Iterator[TestClient]:
    lad: Container = build_container(database_url="memory://",
                                     cors_origins="https://app.example.com, https://b.test")
    with TestClient(create_app(lad)) as client:
        yield client


def test_a_named_origin_may_call_and_preflight(cors_client: TestClient) -> None:
    preflight = cors_client.options("/v1/leads", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    answer = cors_client.get("/healthz", headers={"Origin": "https://b.test"})
    assert answer.headers["access-control-allow-origin"] == "https://b.test"
    assert "X-Request-ID" in answer.headers["access-control-expose-headers"]


def test_another_origin_is_not_let_in(cors_client: TestClient, client: TestClient) -> None:
    preflight = cors_client.options("/v1/leads", headers={
        "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in cors_client.get(
        "/healthz", headers={"Origin": "https://evil.test"}).headers
    # Without LAD_CORS_ORIGINS no origin is let in.
    assert "access-control-allow-origin" not in client.get(
        "/healthz", headers={"Origin": "https://app.example.com"}).headers
