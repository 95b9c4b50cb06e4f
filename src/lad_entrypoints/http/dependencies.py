"""Shared route dependencies as Annotated aliases: services, the principal, pagination."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from lad_domain.shared.errors import AuthenticationFailed
from lad_domain.shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.tenancy.services import TeamService, TenancyService
from lad_entrypoints.container import Container
from lad_entrypoints.http.edge import identify
from lad_entrypoints.http.limits import charge_request
from lad_entrypoints.settings import Settings

S = TypeVar("S")

_bearer = HTTPBearer(auto_error=False, description="A JWT from /v1/auth/token or an API key")


def container(request: Request) -> Container:
    return cast(Container, request.app.state.container)


def provided(service: Callable[[Container], S]) -> Callable[[Request], Awaitable[S]]:
    """A route dependency handing out what ``service`` takes from the app's container.
    Async, like every dependency here that does no I/O: FastAPI runs a sync dependency in a
    worker thread, a hop per dependency per request."""

    async def dependency(request: Request) -> S:
        return service(container(request))

    return dependency


tenancy_service = provided(lambda c: c.tenancy())
Tenancy = Annotated[TenancyService, Depends(tenancy_service)]
Team = Annotated[TeamService, Depends(provided(lambda c: c.team()))]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("a bearer token is required")
    token = credentials.credentials
    lad = container(request)
    settings: Settings = lad.settings()
    operator = settings.operator_token
    if operator and hmac.compare_digest(token.encode(), operator.get_secret_value().encode()):
        return identify(request.scope, Principal.operator())
    tenancy: TenancyService = lad.tenancy()
    if tenancy.reads_database(token):
        principal = await run_in_threadpool(tenancy.authenticate, token)
    else:
        principal = tenancy.authenticate(token)
    identify(request.scope, principal)
    await charge_request(request, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> PageRequest:
    return PageRequest.parse(limit=limit, cursor=cursor)


Paging = Annotated[PageRequest, Depends(page_request)]
