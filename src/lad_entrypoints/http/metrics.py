"""``GET /metrics``: the Prometheus text exposition, for the operator's scraper. Outside
the OpenAPI document and tenant authentication; with ``LAD_METRICS_TOKEN`` set it answers
only ``Authorization: Bearer <token>`` (401 otherwise), unset it answers anyone, so the
port must then be firewalled from everyone but the scraper."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lad_domain.shared.errors import AuthenticationFailed
from lad_entrypoints import metrics
from lad_entrypoints.http.dependencies import container
from lad_entrypoints.settings import Settings

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    lad = container(request)
    settings: Settings = lad.settings()
    token = settings.metrics_token
    if token is not None and not _bearer_is(request.headers.get("authorization", ""),
                                            token.get_secret_value()):
        raise AuthenticationFailed("/metrics answers only Authorization: Bearer with the "
                                   "token LAD_METRICS_TOKEN sets")
    body = await run_in_threadpool(metrics.exposition, lad.engine())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _bearer_is(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())
