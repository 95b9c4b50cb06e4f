"""The FastAPI application factory: nothing is built at import."""

from __future__ import annotations

from fastapi import FastAPI

from lad_entrypoints.container import Container
from lad_entrypoints.http import (
    billing,
    education,
    errors,
    health,
    lead_activity,
    leads,
    pipeline,
    tenancy,
)


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="LAD API",
        version="1",
        description="Multi-tenant B2B sales outreach: tenants, leads, campaigns, billing. "
        "Errors are RFC 9457 problem details; lists use cursor pagination (limit, cursor).",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(health.router)
    app.include_router(tenancy.router)
    app.include_router(leads.router)
    app.include_router(lead_activity.router)
    app.include_router(pipeline.router)
    app.include_router(education.router)
    app.include_router(billing.router)
    return app
