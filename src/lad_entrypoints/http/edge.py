"""The edge's checks of every HTTP request, in one pure ASGI pass in front of the router:
a method the path's routes do not have is a 405 (before any body is read), then text that
is not valid Unicode, or holds NUL, in the path, the query, the headers or a JSON body is a
422 naming the field. Every answer carries the request's id (``X-Request-ID``: the
caller's when it is a plausible id, else a new one), also kept in ``scope["state"]``.

Every request writes one log line when it is answered (``lad.access``: method, route
template, status, latency, and who asked); the request's id, and once authenticated its
tenant and principal (:func:`identify`), are bound to every line written while it is
served. An exception nothing answered is logged once, with its traceback, and answered
with the 500 problem."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lad_domain.shared.principal import Principal
from lad_entrypoints.http import errors
from lad_entrypoints.http.methods import wrong_method
from lad_entrypoints.http.text_guard import text_refusal
from lad_entrypoints.logs import ACCESS_LOGGER

REQUEST_ID = "x-request-id"
#: An id a caller may choose: what tracing systems and proxies send (a UUID, hex, base64).
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")

access = logging.getLogger(ACCESS_LOGGER)


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a plausible id, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _PLAUSIBLE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def identify(scope: Scope, principal: Principal) -> Principal:
    """Name the authenticated principal (and its tenant) on every log line the request
    writes from here on, and on its request line."""
    who = {"tenant_id": principal.tenant_id, "principal_kind": principal.kind.value,
           "principal_id": principal.user_id or principal.api_key_id}
    context = {key: str(value) for key, value in who.items() if value is not None}
    scope.setdefault("state", {})["log_context"] = context
    structlog.contextvars.bind_contextvars(**context)
    return principal


class RequestEdge:
    """ASGI middleware: the request's id and log context, the method table, then the text
    guard; the request's log line when it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        # Nothing bound by an earlier request on this task or thread is carried over.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        answer = _Answer(send, rid)
        try:
            refused = wrong_method(scope)
            if refused is None:
                refused, receive = await text_refusal(scope, receive)
            if refused is not None:
                await refused(scope, receive, answer.send)
            else:
                await self.app(scope, receive, answer.send)
        except Exception as error:
            # Logged here, inside the request's context, and answered here (with its id):
            # the server sees no exception, so it writes no second traceback.
            response = errors.unexpected(Request(scope), error)
            if answer.status is None:
                await response(scope, receive, answer.send)
        finally:
            _log_answer(scope, answer.status, started)
            structlog.contextvars.clear_contextvars()


def _log_answer(scope: Scope, status: int | None, started: float) -> None:
    route = getattr(scope.get("route"), "path", None)
    line: dict[str, Any] = {"method": scope["method"], "route": route or scope["path"],
                            "status": status,
                            "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if route is None:
        line["unrouted"] = True
    line.update(errors.request_context(scope))
    access.info("request", extra=line)


class _Answer:
    """The ``send`` of a request: its id on the answer, and the status it was given."""

    def __init__(self, send: Send, rid: str) -> None:
        self._send = send
        self._rid = rid.encode()
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
            message = {**message, "headers": [*headers, (b"x-request-id", self._rid)]}
        await self._send(message)
