"""Prometheus metrics: what ``GET /metrics`` exposes, and the places that record them.

Every family lives in prometheus-client's default registry, so one process has one set:
``lad serve --workers N`` runs N processes, and each answers ``/metrics`` with its own
counts, unless ``PROMETHEUS_MULTIPROC_DIR`` names an empty directory writable by all of
them (set before they start, emptied between runs): then each process writes its values
there and a scrape sums them over the processes (prometheus-client's multiprocess mode;
only counters and histograms are recorded, so no gauge needs a multiprocess mode). The
database pool gauges are read at scrape time from the answering process's engine.

* ``lad_http_request_duration_seconds`` (histogram; method, route, status): every HTTP
  request, by its route template (``/v1/leads/{lead_id}``); a request no route matched
  (a 404, a refusal at the edge) is under ``route="unrouted"``, and an unknown method
  under ``method="other"``, so that no caller can add label values.
* ``lad_db_pool_checked_out``, ``lad_db_pool_size``, ``lad_db_pool_overflow`` (gauges):
  the SQLAlchemy connection pool, read when scraped (none for ``memory://``).
* ``lad_ledger_postings_total`` (counter; kind): ledger rows committed
  (``lad_adapters.metrics``).
* ``lad_lead_import_rows_total`` (counter; outcome: accepted, rejected): rows of lead
  imports over HTTP (dry runs write nothing and are not counted).
* ``lad_worker_steps_total`` (counter; work: campaign_step, call; outcome): what the
  worker's rounds did: campaign steps run (sent, deferred, waiting, ...) and call-batch
  entries dialed (placed, ...), each ``error`` when it raised.
* ``lad_voice_webhook_lag_seconds`` (histogram; provider): how long after the event the
  provider's webhook about it was read (now minus the event's time; 0 when its clock is
  ahead of ours).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

# Counted in the adapters, exposed here with the rest.
from lad_adapters.metrics import LEDGER_POSTINGS as LEDGER_POSTINGS
from lad_domain.leads.services.importing import ImportReport
from lad_domain.voice.model import CallEvent
from lad_domain.voice.ports import CallRequest, PlacedCall, VoiceProvider, VoiceProviders

if TYPE_CHECKING:
    # Only for the annotations: the worker and the container import this module, and
    # embedding LAD (without the server extra) has no Starlette.
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The route label of a request no route matched.
UNROUTED = "unrouted"
#: The methods that keep their own label value; any other is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_DURATION = Histogram(
    "lad_http_request_duration_seconds", "HTTP requests: seconds from the request's "
    "arrival to the end of its answer, by method, route template and status",
    ["method", "route", "status"])
IMPORT_ROWS = Counter("lad_lead_import_rows", "Rows of lead imports (CSV) over HTTP: "
                      "accepted (created, updated or skipped as duplicates) or rejected",
                      ["outcome"])
WORKER_STEPS = Counter("lad_worker_steps", "What the worker ran: campaign steps and "
                       "call-batch dials, by outcome", ["work", "outcome"])
WEBHOOK_LAG = Histogram(
    "lad_voice_webhook_lag_seconds", "Seconds between a call event at the voice provider "
    "and the reading of its webhook here", ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600))


# --- HTTP ----------------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (set in the scope by routing),
    else UNROUTED."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNROUTED


class RequestTiming:
    """A pure ASGI middleware observing ``lad_http_request_duration_seconds`` for every
    HTTP request, when its answer has been sent (or it failed: a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUEST_DURATION.labels(method=method, route=route_template(scope),
                                    status=str(status)).observe(time.perf_counter() - started)


# --- what the services report --------------------------------------------------------------


def count_import(report: ImportReport) -> None:
    """The rows of a lead import that was written (a dry run writes nothing)."""
    if report.dry_run:
        return
    IMPORT_ROWS.labels(outcome="accepted").inc(report.rows - report.rejected_rows)
    IMPORT_ROWS.labels(outcome="rejected").inc(report.rejected_rows)


def count_worker_step(work: str, outcome: str) -> None:
    """One campaign step (``campaign_step``) or one dial (``call``) the worker ran."""
    WORKER_STEPS.labels(work=work, outcome=outcome).inc()


class _LagObservedProvider:
    """A voice provider whose webhook readings observe their lag; the rest is its own."""

    def __init__(self, provider: VoiceProvider) -> None:
        self._provider = provider

    @property
    def name(self) -> str:
        return self._provider.name

    def start_call(self, request: CallRequest) -> PlacedCall:
        return self._provider.start_call(request)

    def end_call(self, provider_call_id: str) -> None:
        self._provider.end_call(provider_call_id)

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        return self._provider.fetch_call(provider_call_id)

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        events = self._provider.read_webhook(body, headers, now)
        for event in events:
            if event.occurred_at is not None:
                lag = (now - event.occurred_at).total_seconds()
                WEBHOOK_LAG.labels(provider=event.provider).observe(max(lag, 0.0))
        return events


class WebhookLagObserved:
    """The configured voice providers, each observing ``lad_voice_webhook_lag_seconds``
    when it reads a webhook (the events it verified and normalised; a refused signature
    observes nothing)."""

    def __init__(self, providers: VoiceProviders) -> None:
        self._providers = providers

    def get(self, name: str) -> VoiceProvider:
        return _LagObservedProvider(self._providers.get(name))

    def names(self) -> Sequence[str]:
        return self._providers.names()


# --- the scrape ----------------------------------------------------------------------------


class PoolCollector(Collector):
    """The engine's connection pool, read at scrape time: connections lent out, the
    pool's size, and connections open beyond it (SQLAlchemy's overflow, negative while the
    pool has not opened all of its size)."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self._engine.pool if self._engine is not None else None
        if not isinstance(pool, QueuePool):
            return
        yield GaugeMetricFamily("lad_db_pool_checked_out", "Database connections lent out "
                                "of the pool now", value=pool.checkedout())
        yield GaugeMetricFamily("lad_db_pool_size", "The database connection pool's size",
                                value=pool.size())
        yield GaugeMetricFamily("lad_db_pool_overflow", "Database connections open beyond "
                                "the pool's size (negative: not all of it opened yet)",
                                value=pool.overflow())


class _Families(Collector):
    """Another registry's families, collected into the scrape's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        return self._source.collect()


def exposition(engine: Engine | None) -> bytes:
    """The text exposition of one scrape: the process's families (or, in multiprocess
    mode, every process's, summed) and the pool gauges of this process's engine."""
    scrape = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]  # registers itself
    else:
        scrape.register(_Families(REGISTRY))
    scrape.register(PoolCollector(engine))
    return generate_latest(scrape)
