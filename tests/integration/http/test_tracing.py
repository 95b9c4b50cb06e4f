"""OpenTelemetry: a real request traced into an in-memory exporter, its server span named
by the route template with its SQL statements as child spans, nothing secret recorded;
off (no provider, nothing of OpenTelemetry imported) without the endpoint variable; on,
with the OTLP/HTTP exporter and the service name, with it."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lad_entrypoints import tracing
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.tenancy.api import sign_up


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQL spans need a database: the two SQL backends."""
    return str(request.param)


@pytest.fixture
def spans(backend: str, lad: Container) -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    app = create_app(lad)
    exporter = InMemorySpanExporter()
    traced = tracing.install(app, lad.engine(), exporter=exporter, environ={})
    assert traced is not None and app.state.tracing is traced
    with TestClient(app) as client:
        client.get("/healthz")
        layers, layer = [], app.middleware_stack
        while layer is not None:
            layers.append(type(layer).__name__)
            layer = getattr(layer, "app", None)
        assert "OpenTelemetryMiddleware" in layers, layers
        traced.provider.force_flush()
        exporter.clear()
        yield client, exporter
    traced.shutdown()


def finished(exporter: InMemorySpanExporter, app: FastAPI) -> list[ReadableSpan]:
    app.state.tracing.provider.force_flush()
    return list(exporter.get_finished_spans())


def server_span(found: list[ReadableSpan], name: str) -> ReadableSpan:
    [span] = [s for s in found if s.kind is SpanKind.SERVER and s.name == name]
    return span


def statements_under(found: list[ReadableSpan], server: ReadableSpan) -> list[ReadableSpan]:
    """The SQL statements run while serving ``server``'s request: its child spans."""
    return [s for s in found if s.kind is SpanKind.CLIENT and s.parent is not None
            and s.parent.span_id == server.context.span_id
            and "db.statement" in (s.attributes or {})]


def test_a_request_is_a_server_span_with_sql_children(
        spans: tuple[TestClient, InMemorySpanExporter], backend: str) -> None:
    client, exporter = spans
    owner = sign_up(client)
    exporter.clear()
    lead = client.post("/v1/leads", headers=owner.auth, json={"email": "ada@lead.test"})
    assert lead.status_code == 201, lead.text
    response = client.get(f"/v1/leads/{lead.json()['id']}", headers=owner.auth)
    assert response.status_code == 200

    found = finished(exporter, client.app)  # type: ignore[arg-type]
    read = server_span(found, "GET /v1/leads/{lead_id}")
    assert read.attributes is not None
    assert read.attributes["http.route"] == "/v1/leads/{lead_id}"
    assert read.resource.attributes["service.name"] == "lad"
    written = statements_under(found, server_span(found, "POST /v1/leads"))
    assert any(s.name.startswith("INSERT") for s in written), [s.name for s in found]
    assert {(s.attributes or {}).get("db.system") for s in written} == {
        "sqlite" if backend == "sqlite" else "postgresql"}
    if backend == "sqlite":
        # On PostgreSQL a read's two round trips go to psycopg directly, past SQLAlchemy.
        assert statements_under(found, read), [s.name for s in found]
    # The bearer token is on no span, in no attribute.
    everything = json.dumps([dict(s.attributes or {}) for s in found], default=str)
    assert owner.token not in everything and "authorization" not in everything.lower()


def test_a_signed_links_token_is_not_recorded(
        spans: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = spans
    token = "secret-link-token-" + "z" * 20
    assert client.get(f"/v1/public/open/{token}").status_code == 404  # no such link
    found = finished(exporter, client.app)  # type: ignore[arg-type]
    [server] = [s for s in found if s.kind is SpanKind.SERVER]
    assert server.name == "GET /v1/public/open/{token}"
    everything = json.dumps([dict(s.attributes or {}) for s in found], default=str)
    assert token not in everything


def test_scrapes_are_not_traced(spans: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = spans
    assert client.get("/metrics").status_code == 200
    assert [s for s in finished(exporter, client.app)  # type: ignore[arg-type]
            if s.kind is SpanKind.SERVER] == []


#: Run in a fresh interpreter, as LAD embedded without the server extra: neither
#: OpenTelemetry nor the web framework can be imported. The library posts to the ledger and
#: runs a worker round, and the metrics read back.
EMBEDDED = """
import importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"opentelemetry", "fastapi", "starlette", "uvicorn"}:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NotInstalled())
from lad_domain.shared.principal import Principal
from lad_entrypoints import metrics
from lad_entrypoints.container import build_container, upgrade_database
from lad_entrypoints.worker import Worker

lad = build_container(database_url=sys.argv[1], jwt_secret="x" * 40, state_dir=sys.argv[2],
                      argon2_time_cost=1, argon2_memory_kib=1024)
upgrade_database(lad)
session = lad.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                password="correct horse battery")
lad.billing().top_up(Principal.operator(), session.tenant_id, "5", idempotency_key_="k-1")
Worker.of(lad).run(once=True)
text = metrics.exposition(lad.engine()).decode()
assert 'lad_ledger_postings_total{kind="top_up"} 1.0' in text, text
assert "lad_db_pool_size" in text, text
print(sorted(m for m in sys.modules if m.startswith(("opentelemetry", "fastapi"))))
"""


def test_embedded_without_opentelemetry_posts_and_counts(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", EMBEDDED,
                           f"sqlite:///{tmp_path / 'lad.sqlite3'}", str(tmp_path)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


#: The HTTP app without the variables: FastAPI itself imports OpenTelemetry's API; LAD
#: imports nothing more of it (no SDK, no instrumentation, no exporter).
SERVED = """
import os, sys
for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
    os.environ.pop(name, None)
from fastapi.testclient import TestClient
from lad_entrypoints.container import build_container
from lad_entrypoints.http.app import create_app

app = create_app(build_container(database_url="memory://", jwt_secret="x" * 40))
client = TestClient(app)
assert client.get("/healthz").status_code == 200
assert app.state.tracing is None
print(sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk",
      "opentelemetry.instrumentation", "opentelemetry.exporter"))))
"""


def test_without_the_endpoint_variable_nothing_is_installed_or_imported() -> None:
    done = subprocess.run([sys.executable, "-c", SERVED], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_variable_install_sets_up_nothing(lad: Container) -> None:
    app = create_app(lad)
    assert tracing.install(app, lad.engine(), environ={"OTEL_SERVICE_NAME": "lad"}) is None
    assert app.state.tracing is None
    # Its middleware stack is the app's own: no OpenTelemetry middleware in it.
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    layers, layer = [], app.middleware_stack
    while layer is not None:
        layers.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    assert "RequestTiming" in layers and not [n for n in layers if "OpenTelemetry" in n]


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector on loopback: keeps what is posted to it."""

    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Collector.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("variable", "path"), [
    ("OTEL_EXPORTER_OTLP_ENDPOINT", ""), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces")])
def test_the_endpoint_variable_exports_spans_over_otlp_http(
        lad: Container, monkeypatch: pytest.MonkeyPatch, variable: str, path: str,
        collector: tuple[str, list[tuple[str, str, bytes]]]) -> None:
    """The variable alone turns tracing on: the spans of a request arrive at the collector
    (``/v1/traces`` under the general endpoint), named for the service."""
    url, received = collector
    monkeypatch.setenv(variable, url + path)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "lad-eu-1")
    app = create_app(lad)
    assert isinstance(app.state.tracing, tracing.Tracing)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    app.state.tracing.shutdown()  # exports what is batched
    assert [(p, t) for p, t, _ in received] == [("/v1/traces", "application/x-protobuf")]
    [(_, _, body)] = received
    assert b"GET /healthz" in body and b"lad-eu-1" in body
