"""The one place where errors become RFC 9457 problem details, and where failures are
logged: an unexpected exception once with its traceback, a 5xx domain failure (the
database or a provider unavailable) as a warning; a 4xx is the caller's, never logged."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from lad_adapters.sql.database import DatabaseUnavailable
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Expired,
    InsufficientFunds,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)

log = logging.getLogger("lad.http")

STATUS: dict[type[DomainError], int] = {
    ValidationFailed: 422,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    Expired: 410,
    InsufficientFunds: 402,
    DatabaseUnavailable: 503,
    Unavailable: 503,
}

TITLES = {400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
          404: "Not found", 405: "Method not allowed", 409: "Conflict", 410: "Gone",
          412: "Precondition failed", 413: "Content too large",
          415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests",
          500: "Internal server error", 503: "Service unavailable"}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        # A problem may quote what the client sent: text that cannot be encoded (a lone
        # surrogate) is replaced, never a second error while answering the first.
        return json.dumps(content, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8", "replace")


def problem(request: Request, status: int, detail: str, code: str,
            errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:lad:problem:{code}", "title": TITLES.get(status, ""),
                            "status": status, "detail": detail, "instance": request.url.path,
                            "code": code}
    if errors:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers)


def validation_problem(request: Request, error: ValidationFailed) -> JSONResponse:
    """422 naming each field: the answer to every kind of invalid input."""
    return problem(request, 422, error.message, error.code,
                   [{"field": e.field, "message": e.message} for e in error.errors])


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, ValidationFailed):
        return validation_problem(request, exc)
    status = status_of(exc)
    if status >= 500:
        _log_unavailable(request, exc, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, Unavailable) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(request, status, exc.message, exc.code, headers=headers)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # Its loc is ("body", character offset): name the body, not a number.
            reason = err.get("ctx", {}).get("error", "decode error")
            errors.append({"field": "body", "message": f"is not valid JSON: {reason}"})
            continue
        loc = [str(p) for p in err.get("loc", ())
               if p not in ("body", "query", "path") and not _is_type_tag(p)]
        field = ".".join(loc) or "body"
        reason = err.get("ctx", {}).get("error") if err.get("type") == "value_error" else None
        # Our own validators' reasons, without pydantic's "Value error, " in front.
        message = str(reason) if isinstance(reason, ValueError) else str(err.get("msg", ""))
        errors.append({"field": field, "message": message or "is invalid"})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(request, 422, detail or "the request is invalid", "validation_failed", errors)


#: The member of a union type pydantic names in an error's location (``amount.str``): not
#: a field the client sent.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "decimal", "list", "dict", "none"})


def _is_type_tag(part: object) -> bool:
    return isinstance(part, str) and (part in _TYPE_TAGS or "[" in part)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body its parser cannot read (a broken multipart body): input
        # the client can fix, answered like all other invalid input.
        cause = str(exc.__cause__ or "")
        return validation_problem(request, ValidationFailed.single(
            "body", f"could not be read: {cause}" if cause else "could not be read"))
    return problem(request, exc.status_code, str(exc.detail), f"http_{exc.status_code}",
                   headers=dict(exc.headers) if exc.headers else None)


def _log_unavailable(request: Request, error: DomainError, status: int) -> None:
    cause = error.__cause__
    line = {**_where(request), "status": status, "code": error.code,
            "error": type(error).__name__}
    reason = getattr(error, "reason", "") or (f"{type(cause).__name__}: {cause}" if cause
                                              else "")
    if reason:
        line["reason"] = reason
    log.warning("answered %s: %s", status, error.message, extra=line)


def unexpected(request: Request, error: Exception) -> JSONResponse:
    """Log an exception nothing else answered, once, with its traceback and the request's
    context; answer the 500 problem (which says nothing of it)."""
    log.error("unexpected error on %s %s", request.method, request.url.path,
              exc_info=error, extra=_where(request))
    return problem(request, 500, "an unexpected error occurred", "internal_error")


def request_context(scope: Scope) -> dict[str, str]:
    """What names a request on a log line: its id, tenant and principal (what the edge
    and ``identify`` keep in ``scope["state"]``)."""
    state = scope.get("state", {})
    return {"request_id": state.get("request_id", ""), **state.get("log_context", {})}


def _where(request: Request) -> dict[str, Any]:
    """The request's context, for a line that may be written outside it."""
    route = getattr(request.scope.get("route"), "path", None)
    return {**request_context(request.scope), "method": request.method,
            "route": route or request.url.path}


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Only what escapes the edge comes here (the edge answers the rest itself).
    return unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
