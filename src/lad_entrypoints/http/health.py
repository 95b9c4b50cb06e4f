"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from lad_adapters.sql import migrate
from lad_adapters.sql.database import DatabaseUnavailable
from lad_entrypoints.container import Container
from lad_entrypoints.http.dependencies import container

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(lad: Annotated[Container, Depends(container)]) -> dict[str, str]:
    """200 when the database answers and its schema is at the code's head; 503 otherwise."""
    engine = lad.engine()
    if engine is None:
        return {"status": "ok", "database": "memory"}
    current, head = migrate.revision_of(engine), migrate.head()
    if current != head:
        raise DatabaseUnavailable(f"the database schema is at {current or 'base'} but the "
                                  f"code needs {head}; run `lad db upgrade`")
    return {"status": "ok", "database": engine.dialect.name, "revision": current or ""}
