"""The edge's checks of every HTTP request, in one pure ASGI pass in front of the router:
a method the path's routes do not have is a 405 (before any body is read), then text that
is not valid Unicode, or holds NUL, in the path, the query, the headers or a JSON body is a
422 naming the field."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from lad_entrypoints.http.methods import wrong_method
from lad_entrypoints.http.text_guard import text_refusal


class RequestEdge:
    """ASGI middleware: the method table, then the text guard."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = wrong_method(scope)
            if refused is None:
                refused, receive = await text_refusal(scope, receive)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
