"""The OpenAPI document declares each operation's problem responses as they are answered:
as ``application/problem+json``, derived from what the route reads (a bearer token, path
ids, writes) plus what its router or the route itself declares (``problems(...)``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from lad_entrypoints.http.dependencies import current_principal
from lad_entrypoints.http.schemas import Problem

#: What each problem status means, as the document says it.
MEANINGS = {
    401: "No valid bearer token",
    402: "Insufficient funds, or the feature's quota is used up",
    403: "Not allowed to the bearer",
    404: "Not found (also any id of another tenant)",
    409: "Conflicts with the current state (a unique key, a state change, an idempotency key)",
    410: "Expired or already used",
    413: "Content too large",
    422: "Invalid input: each field named with its reason (text must be valid Unicode "
         "without NUL; JSON bodies UTF-8, at most 64 levels deep)",
    429: "Too many requests for the API key or tenant (or login attempts for the email or "
         "address): wait Retry-After seconds",
    503: "The database is unavailable or not migrated",
}
#: Every operation reads its input at the edge and reaches the database.
EVERY_OPERATION = frozenset({422, 503})
AUTHENTICATED = frozenset({401, 403, 429})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for statuses a route answers beyond the ones derived for it."""
    return {status: {"description": MEANINGS[status]} for status in statuses}


class Api(FastAPI):
    """FastAPI whose document declares the problem responses of every operation."""

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}")
        for route in iter_route_contexts(self.routes):
            if isinstance(route.original_route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    operation = document["paths"][route.path_format][method.lower()]
                    _declare(operation, problem_statuses(route, method))
        # FastAPI's own 422 schemas, which no operation answers any more.
        paths = json.dumps(document["paths"])
        for name in ("HTTPValidationError", "ValidationError"):
            if f"/{name}\"" not in paths:
                schemas.pop(name, None)
        return document


def problem_statuses(route: RouteContext, method: str) -> set[int]:
    statuses = set(EVERY_OPERATION)
    statuses |= {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}
    if _depends_on(route.dependant, current_principal):
        statuses |= AUTHENTICATED
    if route.dependant.path_params:
        statuses.add(404)
    if method in WRITES:
        statuses.add(409)
    return statuses


def _declare(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation["responses"]
    for status in list(responses):
        if status.isdigit() and int(status) >= 400 and int(status) not in statuses:
            del responses[status]
    for code in statuses:
        responses[str(code)] = {
            "description": MEANINGS[code],
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
        }
    operation["responses"] = dict(sorted(responses.items()))


def _depends_on(dependant: Dependant, call: object) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)
