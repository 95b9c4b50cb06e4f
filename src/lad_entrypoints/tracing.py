"""OpenTelemetry traces of the HTTP API and its SQL, off unless asked for.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set
(the standard variables; the exporter reads them, with ``OTEL_EXPORTER_OTLP_HEADERS`` and
the rest): a tracer provider for ``OTEL_SERVICE_NAME`` (default ``lad``), its spans
batched to the OTLP/HTTP exporter; a server span per request named by its route template,
and a child span per SQL statement. Off, nothing of OpenTelemetry is imported: embedding
LAD on SQLite needs none of its packages (they come with the ``server`` extra).

No request header is recorded on a span (the Authorization header never is), and the path
of a signed public link (``/v1/public/...``: its token is a credential) is recorded as its
route template."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
#: Paths whose segments after the prefix are credentials (signed links).
SIGNED_PATHS = "/v1/public/"
#: Span attributes that carry the request's path.
_PATH_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full")


def wanted(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) for name in ENDPOINT_VARIABLES)


@attrs.define
class Tracing:
    """What ``install`` set up: the provider, and what to undo on ``shutdown`` (which also
    exports the spans still batched)."""

    provider: TracerProvider
    app: FastAPI
    engine: Engine | None

    def shutdown(self) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        FastAPIInstrumentor.uninstrument_app(self.app)
        if self.engine is not None:
            # This engine's listeners only (the instrumentation keeps every engine's).
            for entry in list(EngineTracer._remove_event_listener_params):
                target, identifier, listener = entry
                if target() is self.engine:
                    sqlalchemy.event.remove(self.engine, identifier, listener)
                    EngineTracer._remove_event_listener_params.remove(entry)
        self.provider.shutdown()


def install(app: FastAPI, engine: Engine | None, *, exporter: SpanExporter | None = None,
            environ: Mapping[str, str] | None = None) -> Tracing | None:
    """Trace ``app`` and ``engine`` when the environment asks for it (or an ``exporter`` is
    given, as a test gives an in-memory one); None, and nothing imported, otherwise. Before
    the app serves its first request. Kept on ``app.state.tracing``."""
    environ = os.environ if environ is None else environ
    if exporter is None and not wanted(environ):
        app.state.tracing = None
        return None
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {SERVICE_NAME: environ.get("OTEL_SERVICE_NAME") or "lad"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, server_request_hook=_hide_signed_paths,
        excluded_urls=environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "/metrics$"),
        http_capture_headers_server_request=[], http_capture_headers_server_response=[])
    if engine is not None:
        _trace_sql(engine, provider)
    tracing = app.state.tracing = Tracing(provider, app, engine)
    return tracing


def _trace_sql(engine: Engine, provider: TracerProvider) -> None:
    """A span per statement on ``engine``, by OpenTelemetry's SQLAlchemy instrumentation
    (its EngineTracer, which ``SQLAlchemyInstrumentor().instrument(engine=...)`` builds).
    The instrumentor itself is not called: it refuses SQLAlchemy 2.1 by its declared range,
    and it patches ``create_engine`` process-wide, importing SQLAlchemy's asyncio extension,
    which needs greenlet; the engine's events it listens to are the same in 2.1."""
    from opentelemetry.instrumentation.sqlalchemy import __name__ as instrumentation
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter
    from opentelemetry.semconv.metrics import MetricInstruments

    connections = get_meter(instrumentation).create_up_down_counter(
        MetricInstruments.DB_CLIENT_CONNECTIONS_USAGE, unit="connections",
        description="Connections in the state the state attribute names")
    EngineTracer(provider.get_tracer(instrumentation), engine,  # type: ignore[no-untyped-call]  # untyped package
                 connections)


def _hide_signed_paths(span: Span, scope: dict[str, Any]) -> None:
    """A signed link's path (``/v1/public/unsubscribe/<token>``) is recorded without its
    token: ``/v1/public/unsubscribe/{token}``."""
    path = str(scope.get("path", ""))
    if not path.startswith(SIGNED_PATHS) or not span.is_recording():
        return
    kind = path.removeprefix(SIGNED_PATHS).split("/", 1)[0]
    hidden = f"{SIGNED_PATHS}{kind}/{{token}}"
    recorded = getattr(span, "attributes", None) or {}
    for name in _PATH_ATTRIBUTES:
        value = recorded.get(name)
        if isinstance(value, str):
            span.set_attribute(name, value.replace(path, hidden).split("?", 1)[0])
    if isinstance(recorded.get("url.query"), str):
        span.set_attribute("url.query", "")
