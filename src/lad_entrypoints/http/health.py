"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from lad_adapters.sql import migrate
from lad_adapters.sql.database import DatabaseUnavailable
from lad_entrypoints.container import Container
from lad_entrypoints.http.dependencies import container
from lad_entrypoints.http.schemas import Problem
from lad_entrypoints.serving import check_database_role

router = APIRouter()


@router.get("/healthz", tags=["health"], responses={
    503: {"model": Problem, "description": "The database is unreachable or not migrated, or "
          "its role bypasses row-level security (without LAD_ALLOW_RLS_BYPASS)"}})
def healthz(lad: Annotated[Container, Depends(container)]) -> dict[str, str]:
    """200 when the database answers, its schema is at the code's head and, on PostgreSQL,
    row-level security binds its role (or LAD_ALLOW_RLS_BYPASS allows it: then says so);
    503 otherwise."""
    engine = lad.engine()
    if engine is None:
        return {"status": "ok", "database": "memory"}
    current, head = migrate.revision_of(engine), migrate.head()
    if current != head:
        raise DatabaseUnavailable(f"the database schema is at {current or 'base'} but the "
                                  f"code needs {head}; run `lad db upgrade`")
    found = {"status": "ok", "database": engine.dialect.name, "revision": current or ""}
    if check_database_role(lad) is not None:
        found["row_level_security"] = "bypassed"
    return found
