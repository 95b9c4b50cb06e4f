"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from lad_entrypoints.container import Container
from lad_entrypoints.http.dependencies import container

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(lad: Annotated[Container, Depends(container)]) -> JSONResponse:
    """200 when the database answers, 503 when it does not."""
    engine = lad.engine()
    if engine is None:
        return JSONResponse({"status": "ok", "database": "memory"})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": engine.dialect.name})
