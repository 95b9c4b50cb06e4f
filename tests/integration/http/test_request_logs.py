"""Each HTTP request writes one log line when it is answered (its id, method, route template,
status, latency, tenant and principal), and every line written while it is served carries
its id, tenant and principal; an unexpected exception is logged once with its traceback,
a 5xx domain failure as a warning, a 4xx not at all."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.http.app import create_app
from lad_entrypoints.http.dependencies import CurrentPrincipal
from lad_entrypoints.logs import LadHandler, resolved_format
from tests.conftest import fast_settings
from tests.integration.log_lines import configured, json_lines, kept, parsed, requests
from tests.integration.tenancy.api import Account, api_key, bearer, problem, sign_up

OPERATOR_TOKEN = "operator-" + "o" * 40
inside = logging.getLogger("tests.inside")


def with_probes(app: FastAPI) -> FastAPI:
    """Routes that log from inside a request (a sync one runs on a worker thread, an async
    one on the event loop) and one that fails as no route should."""

    def sync_probe(principal: CurrentPrincipal) -> dict[str, str]:
        inside.info("written on a worker thread")
        return {}

    async def async_probe(principal: CurrentPrincipal) -> dict[str, str]:
        inside.warning("written on the event loop")
        return {}

    def broken(principal: CurrentPrincipal) -> dict[str, str]:
        raise RuntimeError("the probe broke")

    app.add_api_route("/probe/sync", sync_probe)
    app.add_api_route("/probe/async", async_probe)
    app.add_api_route("/probe/broken", broken)
    return app


@pytest.fixture
def lad() -> Iterator[Container]:
    container = build_container(fast_settings("memory://", operator_token=OPERATOR_TOKEN))
    yield container
    close(container)


@pytest.fixture
def logs(lad: Container) -> Iterator[io.StringIO]:
    with json_lines(lad.settings()) as buffer:
        yield buffer


@pytest.fixture
def client(lad: Container, logs: io.StringIO) -> Iterator[TestClient]:
    with TestClient(with_probes(create_app(lad))) as client:
        yield client


@pytest.fixture
def owner(client: TestClient) -> Account:
    return sign_up(client)


def only_request(logs: io.StringIO, request_id: str) -> dict[str, Any]:
    [line] = [line for line in requests(parsed(logs.getvalue()))
              if line["request_id"] == request_id]
    return line


def test_the_request_line_names_route_status_latency_tenant_and_principal(
        client: TestClient, owner: Account, logs: io.StringIO) -> None:
    answer = client.get(f"/v1/leads/{uuid.uuid4()}",
                        headers={**owner.auth, "X-Request-ID": "trace-7.a"})
    problem(answer, 404)
    line = only_request(logs, "trace-7.a")
    assert line["event"] == "request" and line["level"] == "info"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/leads/{lead_id}", 404)
    assert isinstance(line["latency_ms"], float) and 0 <= line["latency_ms"] < 10_000
    assert (line["tenant_id"], line["principal_kind"], line["principal_id"]) == (
        owner.tenant_id, "user", owner.user_id)
    assert "unrouted" not in line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"])


def test_a_generated_request_id_is_the_one_answered(client: TestClient, owner: Account,
                                                    logs: io.StringIO) -> None:
    answer = client.get("/v1/leads", headers=owner.auth)
    rid = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    line = only_request(logs, rid)
    assert (line["route"], line["status"], line["tenant_id"]) == ("/v1/leads", 200,
                                                                  owner.tenant_id)


def test_api_keys_and_the_operator_are_named(client: TestClient, owner: Account,
                                             logs: io.StringIO) -> None:
    key = api_key(client, owner, "member")
    by_key = client.get("/v1/leads", headers=bearer(key["secret"]))
    line = only_request(logs, by_key.headers["x-request-id"])
    assert (line["principal_kind"], line["principal_id"], line["tenant_id"]) == (
        "api_key", key["id"], owner.tenant_id)
    by_operator = client.post(f"/v1/operator/tenants/{owner.tenant_id}/top-ups",
                              json={"amount": "5.00"},
                              headers={**bearer(OPERATOR_TOKEN), "Idempotency-Key": "k-1"})
    assert by_operator.status_code == 201, by_operator.text
    line = only_request(logs, by_operator.headers["x-request-id"])
    assert line["principal_kind"] == "operator"
    assert line["route"] == "/v1/operator/tenants/{tenant_id}/top-ups"
    assert "tenant_id" not in line and "principal_id" not in line


def test_unauthenticated_and_unrouted_requests_are_logged_as_such(
        client: TestClient, logs: io.StringIO) -> None:
    refused = client.get("/v1/leads")
    line = only_request(logs, refused.headers["x-request-id"])
    assert (line["route"], line["status"]) == ("/v1/leads", 401)
    assert not {"tenant_id", "principal_kind", "principal_id"} & line.keys()
    lost = client.get("/no/such/path")
    line = only_request(logs, lost.headers["x-request-id"])
    assert (line["route"], line["status"], line["unrouted"]) == ("/no/such/path", 404, True)
    at_the_edge = client.delete("/healthz")
    assert only_request(logs, at_the_edge.headers["x-request-id"])["status"] == 405


def test_lines_written_inside_a_request_carry_its_context(client: TestClient, owner: Account,
                                                         logs: io.StringIO) -> None:
    for path in ("/probe/sync", "/probe/async"):
        answer = client.get(path, headers=owner.auth)
        assert answer.status_code == 200, answer.text
        rid = answer.headers["x-request-id"]
        [line] = [line for line in parsed(logs.getvalue()) if line["logger"] == "tests.inside"
                  and line["request_id"] == rid]
        assert (line["tenant_id"], line["principal_kind"], line["principal_id"]) == (
            owner.tenant_id, "user", owner.user_id)
    # Nothing is carried over to the next request, nor to lines written outside one.
    client.get("/healthz", headers={"X-Request-ID": "after"})
    inside.info("outside any request")
    last = parsed(logs.getvalue())
    assert not {"tenant_id", "principal_id"} & only_request(logs, "after").keys()
    assert last[-1]["event"] == "outside any request"
    assert not {"request_id", "tenant_id"} & last[-1].keys()


def test_an_unexpected_error_is_logged_once_with_its_traceback(
        client: TestClient, owner: Account, logs: io.StringIO) -> None:
    # The default test client raises what the server would see: nothing escapes the edge.
    answer = client.get("/probe/broken", headers=owner.auth)
    body = problem(answer, 500)
    assert body["code"] == "internal_error" and "probe" not in body["detail"]
    rid = answer.headers["x-request-id"]
    lines = [line for line in parsed(logs.getvalue()) if line.get("request_id") == rid]
    [error] = [line for line in lines if line["level"] == "error"]
    assert error["logger"] == "lad.http" and error["route"] == "/probe/broken"
    assert error["exception"].startswith("Traceback (most recent call last)")
    assert error["exception"].rstrip().endswith("RuntimeError: the probe broke")
    assert (error["tenant_id"], error["principal_id"]) == (owner.tenant_id, owner.user_id)
    assert sum("Traceback" in str(line) for line in parsed(logs.getvalue())) == 1
    assert only_request(logs, rid)["status"] == 500


def test_client_errors_are_not_logged_as_failures(client: TestClient, owner: Account,
                                                  logs: io.StringIO) -> None:
    client.get("/v1/leads")  # 401
    client.get(f"/v1/leads/{uuid.uuid4()}", headers=owner.auth)  # 404
    client.get("/v1/leads/not-a-uuid", headers=owner.auth)  # 422
    client.post("/v1/auth/token", json={"email": owner.email, "password": "wrong one"})  # 401
    statuses = sorted(line["status"] for line in requests(parsed(logs.getvalue())))
    assert statuses == [201, 401, 401, 404, 422]
    assert [line for line in parsed(logs.getvalue())
            if line["level"] in ("warning", "error", "critical")] == []


def test_an_unavailable_database_is_a_warning_with_the_request_id(tmp_path: Path) -> None:
    lad = build_container(fast_settings(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"))
    try:
        with json_lines(lad.settings()) as logs, TestClient(create_app(lad)) as client:
            answer = client.post("/v1/auth/signup", json={
                "tenant_name": "Acme", "email": "owner@acme.test",
                "password": "correct horse battery"})
    finally:
        close(lad)
    problem(answer, 503)
    rid = answer.headers["x-request-id"]
    lines = [line for line in parsed(logs.getvalue()) if line.get("request_id") == rid]
    [warning] = [line for line in lines if line["level"] == "warning"]
    assert warning["logger"] == "lad.http" and warning["status"] == 503
    assert warning["error"] == "DatabaseUnavailable" and "no such table" in warning["reason"]
    assert warning["route"] == "/v1/auth/signup"
    assert [line["level"] for line in lines] == ["warning", "info"]  # then the request line


def test_no_access_log_silences_the_request_line_only(lad: Container) -> None:
    buffer = io.StringIO()
    settings = lad.settings().model_copy(update={"log_format": "json"})
    with configured(settings, buffer, access_log=False), \
            TestClient(with_probes(create_app(lad))) as client:
        owner = sign_up(client)
        client.get("/probe/async", headers=owner.auth)
    lines = parsed(buffer.getvalue())
    assert requests(lines) == []
    assert [line["event"] for line in lines if line["logger"] == "tests.inside"] == [
        "written on the event loop"]


def test_the_console_format_is_readable_text(lad: Container) -> None:
    buffer = io.StringIO()
    settings = lad.settings().model_copy(update={"log_format": "console"})
    with configured(settings, buffer), TestClient(with_probes(create_app(lad))) as client:
        owner = sign_up(client)
        answer = client.get("/probe/broken", headers=owner.auth)
    text = buffer.getvalue()
    rid = answer.headers["x-request-id"]
    [line] = [line for line in text.splitlines() if " request " in line and rid in line]
    assert not line.startswith("{") and "\x1b[" not in line  # not JSON, no colours off a TTY
    assert "[info     ]" in line and "route=/probe/broken" in line and "status=500" in line
    assert f"request_id={rid}" in line and f"tenant_id={owner.tenant_id}" in line
    assert "[error    ] unexpected error on GET /probe/broken" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: the probe broke" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_console_on_a_terminal_else_json(lad: Container) -> None:
    settings = lad.settings()
    assert settings.log_format == "auto"
    assert resolved_format(settings, _Terminal()) == "console"
    assert resolved_format(settings, io.StringIO()) == "json"
    forced = settings.model_copy(update={"log_format": "json"})
    assert resolved_format(forced, _Terminal()) == "json"


def test_embedding_lad_leaves_the_hosts_logging_alone() -> None:
    """Building the container and the app, and serving a request, configure nothing: only
    ``lad serve`` and ``lad worker`` do."""
    root = logging.getLogger()
    with kept():
        root.handlers[:] = [h for h in root.handlers if not isinstance(h, LadHandler)]
        structlog.reset_defaults()
        before = (list(root.handlers), root.level, logging.getLogger("uvicorn").handlers)
        lad = build_container(fast_settings("memory://"))
        try:
            with TestClient(create_app(lad)) as client:
                assert client.get("/healthz").status_code == 200
        finally:
            close(lad)
        after = (list(root.handlers), root.level, logging.getLogger("uvicorn").handlers)
        assert after == before
        assert not structlog.is_configured()
