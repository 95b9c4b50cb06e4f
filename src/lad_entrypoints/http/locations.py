"""``Location`` on every ``201 Created``: each creating route declares where what it
created lives (``openapi_extra=created_at("/v1/leads/{id}")``), and one pure ASGI pass
fills the template from the route's path parameters and the answer's top-level fields.
The declaration is also the 201 answer's documented ``Location`` header in the OpenAPI
document. A route that sets ``Location`` itself keeps its own."""

from __future__ import annotations

import json
import logging
import string
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lad.http")

#: The OpenAPI extension (on the operation) holding a route's Location template.
LOCATION = "x-lad-location"


def created_at(template: str) -> dict[str, Any]:
    """A creating route's ``openapi_extra``: where the created resource lives, with
    ``{name}`` fields taken from the path's parameters, else from the answer's body."""
    return {LOCATION: template, "responses": {"201": {"headers": {"Location": {
        "description": f"The created resource: {template}",
        "schema": {"type": "string", "format": "uri-reference"}}}}}}


def location_template(route: object) -> str | None:
    """The Location template a route declares, if any."""
    extra = getattr(route, "openapi_extra", None) or {}
    found = extra.get(LOCATION)
    return found if isinstance(found, str) else None


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def location(template: str, path_params: dict[str, Any], body: bytes) -> str | None:
    """The template filled in; None when a field is in neither place (a declaration that
    does not fit its route: logged, and the answer goes without it)."""
    values = {k: str(v) for k, v in path_params.items()}
    missing = [name for name in _fields(template) if name not in values]
    if missing:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return None
        for name in missing:
            if document.get(name) is None:
                return None
            values[name] = str(document[name])
    return template.format_map(values)


class CreatedLocations:
    """ASGI middleware: a 201 of a route declaring ``created_at`` gets its Location."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        template: str | None = None
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal held, template
            if message["type"] == "http.response.start":
                if message["status"] == 201 and not any(
                        k == b"location" for k, _ in message.get("headers", ())):
                    template = location_template(scope.get("route"))
                if template is not None:
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                assert template is not None
                found = location(template, scope.get("path_params", {}), body)
                headers = list(held.get("headers", ()))
                if found is None:
                    log.error("no Location for %s %s: %s does not fit its answer",
                              scope["method"], scope["path"], template)
                else:
                    headers.append((b"location", found.encode()))
                await send({**held, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, sending)
