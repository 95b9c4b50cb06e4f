"""The edge's checks of every HTTP request, in one pure ASGI pass in front of the router:
a method the path's routes do not have is a 405 (before any body is read), then text that
is not valid Unicode, or holds NUL, in the path, the query, the headers or a JSON body is a
422 naming the field. Every answer carries the request's id (``X-Request-ID``: the
caller's when it is a plausible id, else a new one), also kept in ``scope["state"]``."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lad_entrypoints.http.methods import wrong_method
from lad_entrypoints.http.text_guard import text_refusal

REQUEST_ID = "x-request-id"
#: An id a caller may choose: what tracing systems and proxies send (a UUID, hex, base64).
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a plausible id, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _PLAUSIBLE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestEdge:
    """ASGI middleware: the request's id, the method table, then the text guard."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rid = request_id(scope)
            scope.setdefault("state", {})["request_id"] = rid
            send = _with_request_id(send, rid)
            refused = wrong_method(scope)
            if refused is None:
                refused, receive = await text_refusal(scope, receive)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _with_request_id(send: Send, rid: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
            message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
        await send(message)

    return sending
