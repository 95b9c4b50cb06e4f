"""The FastAPI application factory: nothing is built at import."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from lad_entrypoints import tracing
from lad_entrypoints.container import Container, build_container
from lad_entrypoints.http import (
    billing,
    campaigns,
    education,
    enrichment,
    errors,
    health,
    icp,
    lead_activity,
    leads,
    limits,
    metrics,
    outreach,
    pipeline,
    public,
    tenancy,
    voice,
    voice_calls,
    webhooks,
)
from lad_entrypoints.http.edge import RequestEdge
from lad_entrypoints.http.idempotency import IdempotentPosts
from lad_entrypoints.http.locations import CreatedLocations
from lad_entrypoints.http.openapi import Api
from lad_entrypoints.http.preconditions import Preconditions
from lad_entrypoints.http.query_guard import known_query
from lad_entrypoints.http.text_guard import form_text
from lad_entrypoints.metrics import RequestTiming


def create_app(container: Container) -> FastAPI:
    app = Api(
        title="LAD API",
        version="1",
        description="Multi-tenant B2B sales outreach: tenants, leads, campaigns, billing. "
        "Errors are RFC 9457 problem details; lists use cursor pagination (limit, cursor).",
        # Every route, present and future, refuses form text that is not valid Unicode,
        # and query parameters it does not read.
        dependencies=[Depends(form_text), Depends(known_query)],
    )
    app.state.container = container
    errors.install(app)
    limits.install(app, container.settings())
    # Inside the edge: ETags, If-None-Match and If-Match (412) on requests it let through.
    app.add_middleware(CreatedLocations)  # every 201 says where its resource is
    app.add_middleware(Preconditions)
    app.add_middleware(IdempotentPosts)  # a retried keyed create gets the first answer
    # One pass: the method table answers 405 before any body is read, then the text guard.
    app.add_middleware(RequestEdge)
    app.add_middleware(RequestTiming)  # outside the edge: its refusals are timed too
    origins = container.settings().cors_origins
    if origins:
        # Outside the edge, so that a browser's preflight OPTIONS is answered here.
        app.add_middleware(
            CORSMiddleware, allow_origins=[o.strip() for o in origins.split(",") if o.strip()],
            allow_methods=["*"], allow_headers=["*"], max_age=600,
            expose_headers=["X-Request-ID", "Location", "Retry-After", "ETag",
                            "RateLimit", "RateLimit-Policy"])
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(tenancy.router)
    app.include_router(leads.router)
    app.include_router(lead_activity.router)
    app.include_router(pipeline.router)
    app.include_router(education.router)
    app.include_router(billing.router)
    app.include_router(campaigns.router)
    app.include_router(outreach.router)
    app.include_router(voice.router)
    app.include_router(voice_calls.router)
    app.include_router(icp.router)
    app.include_router(enrichment.router)
    app.include_router(public.router)
    app.include_router(webhooks.router)
    tracing.install(app, container.engine())
    return app


def app_from_environment() -> FastAPI:
    """The app of one of ``lad serve --workers N``'s processes (uvicorn imports it by name in
    each): a container from the ``LAD_*`` environment, as ``lad serve`` builds one. The
    parent process has already refused a database role that bypasses row-level security."""
    return create_app(build_container())
