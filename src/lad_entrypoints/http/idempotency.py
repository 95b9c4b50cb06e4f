"""``Idempotency-Key`` on the creates a client retries after a timeout (a lead, a lead
import, an invitation), in one pure ASGI pass in front of the router.

A route opts in with ``openapi_extra=idempotent(...)`` (which also declares the header in
the OpenAPI document). A keyed request of a signed-in member is recorded per tenant, route
and key with the digest of what it asked (method, path, query, body; a multipart body's
boundary, which a client draws anew for each try, left out), then served:

- the first request claims the key, runs, and its answer is kept (sealed: an invitation's
  answer shows its token once) when it is a 2xx or a 4xx, which a retry would get again;
  a 5xx is not kept, so that a retry runs again;
- a retry with the same key and the same request gets the first answer byte for byte,
  with ``Idempotent-Replayed: true``;
- the same key with another request is a 409 naming ``Idempotency-Key``; so is a retry
  while the first request is still being served (with ``Retry-After``);
- a key is remembered ``LAD_IDEMPOTENCY_TTL_HOURS`` (24); after that it is new again.

A key must be 1 to 255 printable ASCII characters (else a 422 naming the header). A request
without the header, or whose credentials do not name a tenant, is served as usual.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lad_domain.shared.errors import DomainError
from lad_domain.shared.idempotency import (
    FirstRequest,
    IdempotencyRecords,
    KeyedRequest,
    StoredAnswer,
)
from lad_entrypoints.http import errors
from lad_entrypoints.http.methods import route_index, specificity

#: The OpenAPI extension (on the operation) of a route that takes Idempotency-Key.
IDEMPOTENT = "x-lad-idempotent"
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
#: The answer's headers a replay repeats.
_KEPT_HEADERS = (b"content-type", b"location")
_CHUNK = 64 * 1024
#: What a keyed request's body may weigh beyond the import limit (multipart's own bytes).
_FORM_ALLOWANCE = 1024 * 1024


def idempotent(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A route's ``openapi_extra`` (merged with ``extra``): it takes Idempotency-Key."""
    return {**(extra or {}), IDEMPOTENT: True, "parameters": [{
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "1 to 255 printable ASCII characters. A retry with the same key "
        "and request within 24 hours gets the first answer (Idempotent-Replayed: true); "
        "another request with the key is a 409.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255}}]}


def _route(scope: Scope) -> object | None:
    """The POST route the router will pick for this path: the most specific match."""
    best: tuple[tuple[int, ...], object] | None = None
    for route in route_index(scope).candidates(scope["path"]):
        regex = getattr(route, "path_regex", None)
        if regex is None or "POST" not in (getattr(route, "methods", None) or ()):
            continue
        if regex.match(scope["path"]):
            rank = specificity(getattr(route, "path", ""))
            if best is None or rank < best[0]:
                best = rank, route
    return best[1] if best else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class IdempotentPosts:
    """ASGI middleware: the first answer of a keyed request, kept and replayed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        route = _route(scope) if key is not None and scope["method"] == "POST" else None
        extra = getattr(route, "openapi_extra", None) or {}
        if key is None or not extra.get(IDEMPOTENT):
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            message = "must be 1 to 255 printable ASCII characters"
            await errors.problem(Request(scope), 422, f"Idempotency-Key: {message}",
                                 "validation_failed",
                                 [{"field": "Idempotency-Key", "message": message}]
                                 )(scope, receive, send)
            return
        lad = scope["app"].state.container
        tenant = await _tenant_of(lad, scope)
        if tenant is None:
            await self.app(scope, receive, send)  # the route refuses the credentials
            return
        with tempfile.SpooledTemporaryFile(max_size=_CHUNK * 16) as spool:
            limit = int(lad.import_max_bytes()) + _FORM_ALLOWANCE
            size = await _spool(receive, spool, limit)
            if size is None:
                await errors.problem(Request(scope), 413, "the request is larger than "
                                     f"{limit:,} bytes", "http_413")(scope, receive, send)
                return
            request = KeyedRequest(tenant, f"POST {getattr(route, 'path', '')}", key,
                                   _fingerprint(scope, spool))
            await _serve(self.app, lad, request, scope, spool, send)


async def _tenant_of(lad: Any, scope: Scope) -> Any:
    """The tenant the request's bearer credentials act in; None when they name none (the
    operator) or are refused (the route answers 401 itself)."""
    authorization = _header(scope, b"authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    tenancy = lad.tenancy()
    try:
        principal = (await run_in_threadpool(tenancy.authenticate, token.strip())
                     if tenancy.reads_database(token.strip())
                     else tenancy.authenticate(token.strip()))
    except DomainError:
        return None
    return principal.tenant_id


async def _spool(receive: Receive, spool: IO[bytes], limit: int) -> int | None:
    """The request's body into ``spool`` (rewound); None past ``limit`` bytes."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        spool.write(chunk)
        if not message.get("more_body", False):
            break
    spool.seek(0)
    return size


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(_CHUNK):
        yield chunk
    spool.seek(0)


def _fingerprint(scope: Scope, spool: IO[bytes]) -> str:
    """sha256 of the method, path, query and body; a multipart body's boundary is replaced
    by a fixed mark (each try of a client draws a new one)."""
    digest = hashlib.sha256()
    digest.update(f"{scope['method']} {scope['path']}?".encode())
    digest.update(bytes(scope.get("query_string", b"")) + b"\n")
    content_type = _header(scope, b"content-type") or ""
    found = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    boundary = found.group(1).encode("latin-1") if found else b""
    digest.update((content_type.replace(found.group(1), "") if found else content_type
                   ).encode("latin-1") + b"\n")
    if not boundary:
        for chunk in _chunks(spool):
            digest.update(chunk)
        return digest.hexdigest()
    keep = len(boundary) - 1
    carried = b""
    for chunk in _chunks(spool):
        text = (carried + chunk).replace(boundary, b"\x00boundary\x00")
        digest.update(text[:-keep] if keep else text)
        carried = text[-keep:] if keep else b""
    digest.update(carried)
    return digest.hexdigest()


async def _serve(app: ASGIApp, lad: Any, request: KeyedRequest, scope: Scope,
                 spool: IO[bytes], send: Send) -> None:
    records: IdempotencyRecords = lad.idempotency_records()
    clock = lad.clock()
    ttl = timedelta(hours=lad.settings().idempotency_ttl_hours)
    first = await run_in_threadpool(records.claim, request, clock.now(), ttl)
    if first is not None:
        await _answer_again(lad, request, first, scope, send)
        return
    answered: list[Message] = []

    async def replaying() -> Message:
        chunk = spool.read(_CHUNK)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    async def holding(message: Message) -> None:
        answered.append(message)

    try:
        await app(scope, replaying, holding)
    except BaseException:
        await run_in_threadpool(records.release, request)
        raise
    start = next((m for m in answered if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in answered if m["type"] == "http.response.body")
    if start is None or start["status"] >= 500:
        await run_in_threadpool(records.release, request)
    else:
        kept = tuple((k.decode("latin-1"), v.decode("latin-1"))
                     for k, v in start.get("headers", ()) if k in _KEPT_HEADERS)
        sealed = lad.secret_box().seal(base64.b64encode(body).decode(),
                                       context=_context(request))
        await run_in_threadpool(records.complete, request,
                                StoredAnswer(start["status"], kept, sealed), clock.now())
    for message in answered:
        await send(message)


def _context(request: KeyedRequest) -> str:
    return f"idempotency:{request.tenant_id}:{request.route}:{request.key}"


async def _answer_again(lad: Any, request: KeyedRequest, first: FirstRequest, scope: Scope,
                        send: Send) -> None:
    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    if first.fingerprint != request.fingerprint:
        detail = "this Idempotency-Key was used for a different request"
        await errors.problem(Request(scope), 409, detail, "idempotency_key_reused",
                             [{"field": "Idempotency-Key", "message": detail}]
                             )(scope, nothing, send)
        return
    if first.answer is None:
        detail = "the first request with this Idempotency-Key is still being served"
        await errors.problem(Request(scope), 409, detail, "idempotency_key_in_use",
                             [{"field": "Idempotency-Key", "message": detail}],
                             headers={"Retry-After": "1"})(scope, nothing, send)
        return
    body = base64.b64decode(lad.secret_box().open(first.answer.body,
                                                  context=_context(request)))
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in first.answer.headers]
    headers += [(b"content-length", str(len(body)).encode()),
                (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": first.answer.status,
                "headers": headers})
    await send({"type": "http.response.body", "body": body})
