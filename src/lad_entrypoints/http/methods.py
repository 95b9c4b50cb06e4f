"""Which methods a path has: a 405 lists every one of them in ``Allow``, and a literal path
segment is never read as a parameter of another route (``PATCH /v1/leads/import`` is a 405,
not a lead id that is not a UUID)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from weakref import WeakKeyDictionary

from fastapi import Request
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from lad_entrypoints.http import errors


class MethodTable:
    """ASGI middleware, in front of the router: a method the path's routes do not have is a
    405 here, before the router can match a less specific route for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = allowed_methods(route_index(scope).candidates(scope["path"]),
                                      scope["path"])
            if allowed and scope["method"] not in allowed:
                request = Request(scope)
                response = errors.problem(
                    request, 405, f"{scope['method']} is not allowed here; this path allows "
                    f"{', '.join(allowed)}", "http_405", headers={"Allow": ", ".join(allowed)})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def route_table(scope: Scope) -> list[RouteContext]:
    """The routes of the app serving ``scope``, with their full paths (FastAPI keeps included
    routers nested: their routes get their prefixes here). Walked once per app: the app is
    complete when it serves, and this runs on every request."""
    app = scope.get("app")
    if app is None:
        return []
    found = _ROUTE_TABLES.get(app)
    if found is None:
        routes: Sequence[BaseRoute] = getattr(app, "routes", [])
        found = _ROUTE_TABLES[app] = list(iter_route_contexts(routes))
    return found


_ROUTE_TABLES: WeakKeyDictionary[object, list[RouteContext]] = WeakKeyDictionary()


class RouteIndex:
    """The routes that may match a path, found without trying every route: templates by
    their number of segments and their third one (``/v1/leads/...``: ``leads``), a
    parameter there filed under None. A template with a multi-segment parameter
    (``{name:path}``) is tried for every path."""

    _SEGMENT = 2

    def __init__(self, routes: Iterable[RouteContext]) -> None:
        self._buckets: dict[tuple[int, str | None], list[RouteContext]] = {}
        self._everywhere: list[RouteContext] = []
        for route in routes:
            template = getattr(route, "path", "")
            if ":path}" in template:
                self._everywhere.append(route)
                continue
            segments = template.split("/")
            key = segments[self._SEGMENT] if len(segments) > self._SEGMENT else ""
            self._buckets.setdefault((len(segments), None if key.startswith("{") else key),
                                     []).append(route)

    def candidates(self, path: str) -> list[RouteContext]:
        segments = path.split("/")
        count = len(segments)
        key = segments[self._SEGMENT] if count > self._SEGMENT else ""
        return [*self._buckets.get((count, key), ()), *self._buckets.get((count, None), ()),
                *self._everywhere]


def route_index(scope: Scope) -> RouteIndex:
    """The route index of the app serving ``scope``, built once per app."""
    app = scope.get("app")
    found = _ROUTE_INDEXES.get(app) if app is not None else None
    if found is None:
        found = RouteIndex(route_table(scope))
        if app is not None:
            _ROUTE_INDEXES[app] = found
    return found


_ROUTE_INDEXES: WeakKeyDictionary[object, RouteIndex] = WeakKeyDictionary()


def allowed_methods(routes: Iterable[RouteContext], path: str) -> list[str]:
    """The methods of the most specific routes matching ``path`` (a literal segment is more
    specific than a parameter there), sorted; empty when no route matches."""
    best: tuple[int, ...] | None = None
    methods: set[str] = set()
    for route in routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is None or not route_methods or not regex.match(path):
            continue
        rank = specificity(getattr(route, "path", ""))
        if best is None or rank < best:
            best, methods = rank, set(route_methods)
        elif rank == best:
            methods |= route_methods
    return sorted(methods)


def specificity(template: str) -> tuple[int, ...]:
    """Smaller is more specific: 0 for each literal segment, 1 for each parameter."""
    return tuple(int(segment.startswith("{")) for segment in template.split("/"))
