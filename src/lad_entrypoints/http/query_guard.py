"""App-wide dependency: a query parameter the route does not read is refused (422 naming
it), not silently ignored, so that a misspelt filter (``?stauts=paused``) does not answer
with every row as if no filter had been asked for."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lad_domain.shared.errors import ValidationFailed

_KNOWN: dict[int, frozenset[str]] = {}
#: Links followed from emails (a mail client or scanner may add its own parameters) and
#: providers' webhooks (whose URLs the provider may decorate) take any query.
OPEN_PREFIXES = ("/v1/public/", "/v1/webhooks/")


def _names(dependant: Dependant) -> Iterator[str]:
    """The query parameters the route and its dependencies read (a parameter model's
    fields by their aliases)."""
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            yield from (f.alias or name for name, f in model.model_fields.items())
        else:
            yield param.alias
    for sub in dependant.dependencies:
        yield from _names(sub)


async def known_query(request: Request) -> None:
    route = request.scope.get("route")
    if (not isinstance(route, APIRoute) or not request.query_params
            or route.path.startswith(OPEN_PREFIXES)):
        return
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_names(route.dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ValidationFailed.single(unknown[0], "is not a query parameter of this "
                                      f"operation (it takes: {listed})")
