"""No password, token, API key or secret is ever written to the logs: a whole ``lad serve``
run at DEBUG (sign-up, log-ins right and wrong, an invitation accepted, an API key made and
used, the operator token, requests that fail), every byte it wrote read back; and the
masking that stands behind it, given secrets on purpose."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from time import monotonic

import httpx
import pytest
from fastapi.testclient import TestClient

from lad_entrypoints.container import build_container, close
from lad_entrypoints.http.app import create_app
from lad_entrypoints.http.dependencies import CurrentPrincipal
from tests.conftest import fast_settings
from tests.integration.log_lines import configured, json_lines, parsed, requests

PASSWORD = "owner-pw-Zq81!correct"
WRONG_PASSWORD = "guess-pw-Xy42!wrong"
MEMBER_PASSWORD = "member-pw-Kd55!joined"
JWT_SECRET = "jwt-secret-" + "j" * 40
OPERATOR_TOKEN = "operator-token-" + "t" * 40


def _until(done: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = monotonic() + seconds
    while monotonic() < deadline:
        if done():
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _full_run(client: httpx.Client) -> list[str]:
    """Everything a client does with secrets; answers the secrets it handled."""
    signup = client.post("/v1/auth/signup", json={
        "tenant_name": "Acme", "email": "owner@acme.test", "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    signed_up = signup.json()["access_token"]
    login = client.post("/v1/auth/token", json={"email": "owner@acme.test",
                                                "password": PASSWORD})
    assert login.status_code == 200, login.text
    jwt = login.json()["access_token"]
    owner = {"Authorization": f"Bearer {jwt}"}
    wrong = client.post("/v1/auth/token", json={"email": "owner@acme.test",
                                                "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    invited = client.post("/v1/invitations", json={"email": "bo@acme.test", "role": "member"},
                          headers=owner)
    assert invited.status_code == 201, invited.text
    invitation = invited.json()["token"]
    accepted = client.post("/v1/invitations/accept",
                           json={"token": invitation, "password": MEMBER_PASSWORD})
    assert accepted.status_code == 200, accepted.text
    member_jwt = accepted.json()["access_token"]
    made = client.post("/v1/api-keys", json={"name": "server", "role": "member"},
                       headers=owner)
    assert made.status_code == 201, made.text
    key = made.json()["secret"]
    assert client.get("/v1/leads", headers={"Authorization": f"Bearer {key}"}
                      ).status_code == 200
    tenant_id = signup.json()["tenant_id"]
    topped = client.post(f"/v1/operator/tenants/{tenant_id}/top-ups", json={"amount": "5"},
                         headers={"Authorization": f"Bearer {OPERATOR_TOKEN}",
                                  "Idempotency-Key": "top-up-1"})
    assert topped.status_code == 201, topped.text
    # Failures: a forged key, a tampered token, a token where none fits, invalid input.
    forged = key[:-4] + "abcd"
    tampered = jwt[:-3] + "xyz"
    for headers, status in (({"Authorization": f"Bearer {forged}"}, 401),
                            ({"Authorization": f"Bearer {tampered}"}, 401),
                            ({"Authorization": f"Bearer {member_jwt}"}, 404),
                            ({"Authorization": f"Bearer {OPERATOR_TOKEN}"}, 422)):
        answer = client.get(f"/v1/leads/{uuid.uuid4()}", headers=headers)
        assert answer.status_code == status, answer.text
    assert client.post(f"/v1/operator/tenants/{tenant_id}/top-ups", json={"amount": "5"},
                       headers={**owner, "Idempotency-Key": "top-up-2"}).status_code == 403
    assert client.post("/v1/auth/signup", json={"tenant_name": "", "email": "not an email",
                                                "password": PASSWORD}).status_code == 422
    assert client.get("/v1/leads?token=" + jwt, headers=owner).status_code == 422
    return [PASSWORD, WRONG_PASSWORD, MEMBER_PASSWORD, JWT_SECRET, OPERATOR_TOKEN, signed_up,
            jwt, member_jwt, tampered, invitation, key, key.rsplit("_", 1)[1], forged]


@pytest.mark.xdist_group("lad-serve-logs")
def test_a_whole_served_run_at_debug_writes_no_secret(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAD_")} | {
        "LAD_DATABASE_URL": "memory://", "LAD_STATE_DIR": str(tmp_path),
        "LAD_PORT": str(port), "LAD_JWT_SECRET": JWT_SECRET,
        "LAD_OPERATOR_TOKEN": OPERATOR_TOKEN, "LAD_LOG_LEVEL": "debug",
        "LAD_LOG_FORMAT": "json", "LAD_ARGON2_TIME_COST": "1",
        "LAD_ARGON2_MEMORY_KIB": "1024"}
    lad = str(Path(sys.executable).with_name("lad"))
    output = tmp_path / "output.txt"
    with output.open("wb") as sink:
        server = subprocess.Popen([lad, "serve"], env=env, stdout=sink, stderr=sink)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                _until(lambda: _answers(client), "the server to answer", seconds=180)
                secrets = _full_run(client)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    text = output.read_text(encoding="utf-8")
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], f"written to the logs: {leaked}"
    # What was read is the run's whole output: every line LAD's JSON, uvicorn's included,
    # one request line for each request, and no access line of uvicorn's own.
    lines = parsed(text)
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "lad.access", "lad.worker"} <= loggers
    assert "uvicorn.access" not in loggers
    assert any("Application startup complete" in line["event"] for line in lines)
    statuses = [line["status"] for line in requests(lines)]
    assert statuses.count(401) == 3 and statuses.count(422) == 3 and len(statuses) >= 16


def test_secrets_handed_to_a_log_line_are_masked() -> None:
    """Defense in depth: what a careless line would write (a key named like a secret, a
    bearer token or a password in a message, a URL's password, a token in a traceback)."""
    jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEifQ."
           "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg")
    key = f"lad_{uuid.uuid4().hex}_{uuid.uuid4().hex}_s3cr3tKeyMaterial"
    careless = logging.getLogger("tests.careless")
    lad = build_container(fast_settings("memory://", log_level="DEBUG"))

    def leaking(principal: CurrentPrincipal) -> dict[str, str]:
        careless.debug("calling with Authorization: Bearer %s", jwt)
        raise RuntimeError(f"could not use {key} with password={PASSWORD}")

    app = create_app(lad)
    app.add_api_route("/leaking", leaking)
    try:
        with json_lines(lad.settings()) as logs, TestClient(app) as client:
            owner = client.post("/v1/auth/signup", json={
                "tenant_name": "Acme", "email": "owner@acme.test", "password": PASSWORD})
            token = owner.json()["access_token"]
            assert client.get("/leaking", headers={"Authorization": f"Bearer {token}"}
                              ).status_code == 500
            careless.warning("connecting to %s", "postgresql://lad:db-pw-123@db/lad",
                             extra={"password": PASSWORD, "api_key": key, "token": jwt,
                                    "headers": {"Cookie": "session=abc", "Accept": "x"},
                                    "api_key_id": "kept-1", "input_tokens": 12})
    finally:
        close(lad)
    text = logs.getvalue()
    for secret in (jwt, key, PASSWORD, token, "db-pw-123", "session=abc", "s3cr3t"):
        assert secret not in text
    lines = parsed(text)
    [debug] = [line for line in lines if line["level"] == "debug"
               and line["logger"] == "tests.careless"]
    assert debug["event"] == "calling with Authorization: Bearer [redacted]"
    [error] = [line for line in lines if line["level"] == "error"]
    assert "RuntimeError: could not use lad_[redacted] with password=[redacted]" in \
        error["exception"]
    [warning] = [line for line in lines if line["level"] == "warning"]
    assert warning["event"] == "connecting to postgresql://lad:[redacted]@db/lad"
    assert (warning["password"], warning["api_key"], warning["token"]) == ("[redacted]",) * 3
    assert warning["headers"] == {"Cookie": "[redacted]", "Accept": "x"}
    assert (warning["api_key_id"], warning["input_tokens"]) == ("kept-1", 12)


def test_the_console_format_masks_too() -> None:
    buffer = io.StringIO()
    settings = fast_settings("memory://", log_format="console")
    with configured(settings, buffer):
        try:
            raise ValueError(f"password: {PASSWORD}")
        except ValueError:
            logging.getLogger("tests.careless").exception("failed", extra={
                "authorization": f"Bearer {OPERATOR_TOKEN}"})
    text = buffer.getvalue()
    assert PASSWORD not in text and OPERATOR_TOKEN not in text
    assert "ValueError: password: [redacted]" in text and "authorization=[redacted]" in text
    assert not text.startswith("{") and "[error    ] failed" in text  # text, not JSON
