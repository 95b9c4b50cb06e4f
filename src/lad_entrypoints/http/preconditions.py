"""Conditional requests (RFC 9110 §13), in one pure ASGI pass in front of the router.

- Every ``GET`` answered ``200`` with JSON carries a strong ``ETag``: the quoted blake2b
  digest (16 bytes, base64url) of the body's bytes. ``If-None-Match`` naming it (or ``*``)
  is answered ``304 Not Modified`` (weak comparison, as §13.1.2 says).
- ``If-Match`` on ``PATCH``, ``PUT`` and ``DELETE``: the app is first asked for the
  target's current representation (an internal ``GET`` of the same path with the same
  credentials); when no listed entity-tag matches its ETag (strong comparison; ``*`` matches
  any current representation) the write is refused with ``412 Precondition Failed`` naming
  ``If-Match``, the current ETag in the answer's ``ETag``. When that ``GET`` is not a
  ``200`` (the resource is missing, or the caller may not read it) the precondition is
  ignored, as §13.2.1 says, and the route gives its own answer (404, 403...). A path with no
  ``GET`` has no representation to compare with: ``If-Match`` there is a 412.
  A conditional write that succeeds with ``200`` carries the new ETag.
- Check and write are one step: conditional writes to the same path are serialised by a
  lock held across both, in the process, and between processes on the same database (a
  transaction-level advisory lock on PostgreSQL, a ``flock`` on a file beside the database
  on SQLite). Requests without ``If-Match`` are unconditional and take no lock.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lad_entrypoints.http import errors
from lad_entrypoints.http.methods import allowed_methods, route_index

#: The first key of every advisory lock taken here (``pg_advisory_xact_lock(int, int)``):
#: "HTTP" in ASCII, apart from the locks anything else takes.
_LOCK_CLASS = 0x48545450
_WRITES = frozenset({"PATCH", "PUT", "DELETE"})
#: Request headers the internal GET leaves out: conditions, and the write's body.
_NOT_FOR_THE_READ = frozenset({b"if-match", b"if-none-match", b"if-unmodified-since",
                               b"if-modified-since", b"content-type", b"content-length",
                               b"transfer-encoding", b"idempotency-key"})


def entity_tag(body: bytes) -> str:
    """The strong entity-tag of a representation: its bytes' digest, quoted."""
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


class MalformedCondition(ValueError):
    """An ``If-Match`` / ``If-None-Match`` value that is neither ``*`` nor a list of
    entity-tags."""


def entity_tags(value: str) -> list[str] | None:
    """The entity-tags of an ``If-Match`` / ``If-None-Match`` value, as written (``W/``
    kept); None for ``*``."""
    text = value.strip()
    if text == "*":
        return None
    tags: list[str] = []
    rest = text
    while rest:
        weak = rest.startswith("W/")
        body = rest[2:] if weak else rest
        end = body.find('"', 1) if body.startswith('"') else -1
        if end < 0 or any(c in body[1:end] for c in ' \\'):
            raise MalformedCondition(value)
        tags.append(("W/" if weak else "") + body[:end + 1])
        rest = body[end + 1:].lstrip(" \t")
        if rest:
            if not rest.startswith(","):
                raise MalformedCondition(value)
            rest = rest[1:].lstrip(" \t")
            if not rest:
                raise MalformedCondition(value)
    if not tags:
        raise MalformedCondition(value)
    return tags


def _header(scope: Scope, name: bytes) -> str | None:
    values = [bytes(v).decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    return ", ".join(values) if values else None


def _lock_key(path: str) -> str:
    # One lock per resource: an upper-case id names the same lead as a lower-case one.
    return path.lower().rstrip("/")


class Preconditions:
    """ASGI middleware: ETags on reads, If-None-Match on reads, If-Match on writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._locks = WriteLocks()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._read(scope, receive, send)
        elif scope["method"] in _WRITES and _header(scope, b"if-match") is not None:
            await self._conditional_write(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> None:
        condition = _header(scope, b"if-none-match")
        try:
            wanted = entity_tags(condition) if condition is not None else []
        except MalformedCondition:
            await _malformed(scope, receive, send, "If-None-Match")
            return
        start, body = await _buffered(self.app, scope, receive, send)
        if start is None:
            return  # not a JSON 200: already sent as it came
        tag = entity_tag(body)
        headers = [*start.get("headers", ()), (b"etag", tag.encode())]
        if condition is not None and (wanted is None or _weak_match(tag, wanted)):
            kept = [(k, v) for k, v in headers if k not in (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _conditional_write(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            wanted = entity_tags(_header(scope, b"if-match") or "")
        except MalformedCondition:
            await _malformed(scope, receive, send, "If-Match")
            return
        if "GET" not in allowed_methods(route_index(scope).candidates(scope["path"]),
                                        scope["path"]):
            await _refused(scope, receive, send, None,
                           "this resource has no representation to compare If-Match with")
            return
        async with self._locks.held(scope):
            status, current = await _current_tag(self.app, scope)
            if status == 200 and not _strong_match(current, wanted):
                await _refused(scope, receive, send, current,
                               "the resource has changed since the version If-Match names")
                return
            if scope["method"] == "DELETE" or status != 200:
                await self.app(scope, receive, send)
                return
            start, body = await _buffered(self.app, scope, receive, send)
            if start is None:
                return
            _, changed = await _current_tag(self.app, scope)
        headers = list(start.get("headers", ()))
        if changed is not None:
            headers.append((b"etag", changed.encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _strong_match(current: str | None, wanted: list[str] | None) -> bool:
    if current is None:
        return False
    return wanted is None or any(tag == current for tag in wanted if not tag.startswith("W/"))


def _weak_match(current: str, wanted: list[str]) -> bool:
    return any(tag.removeprefix("W/") == current for tag in wanted)


async def _buffered(app: ASGIApp, scope: Scope, receive: Receive, send: Send
                    ) -> tuple[Message | None, bytes]:
    """Run ``app``; a ``200`` JSON answer is held back and returned (its start message and
    whole body), any other is sent on as it comes (None)."""
    held: Message | None = None
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            if message["status"] == 200 and b"json" in content_type:
                held = message
                return
        elif held is not None and message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            return
        await send(message)

    await app(scope, receive, sending)
    return held, b"".join(chunks)


async def _current_tag(app: ASGIApp, scope: Scope) -> tuple[int, str | None]:
    """The status of a GET of the request's path by the same caller, and the ETag of its
    representation when that is a 200."""
    read: Scope = {**scope, "method": "GET", "query_string": b"",
                   "state": dict(scope.get("state", {})),
                   "headers": [(k, v) for k, v in scope.get("headers", ())
                               if k not in _NOT_FOR_THE_READ]}
    status = 0
    chunks: list[bytes] = []
    asked = False

    async def receiving() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def capturing(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(read, receiving, capturing)
    return status, entity_tag(b"".join(chunks)) if status == 200 else None


async def _refused(scope: Scope, receive: Receive, send: Send, current: str | None,
                   detail: str) -> None:
    answer = errors.problem(
        Request(scope), 412, detail, "precondition_failed",
        [{"field": "If-Match", "message": detail}],
        headers={"ETag": current} if current is not None else None)
    await answer(scope, receive, send)


async def _malformed(scope: Scope, receive: Receive, send: Send, header: str) -> None:
    message = "must be * or a comma-separated list of quoted entity-tags"
    answer = errors.problem(Request(scope), 422, f"{header}: {message}", "validation_failed",
                            [{"field": header, "message": message}])
    await answer(scope, receive, send)


class WriteLocks:
    """Locks by resource path, held across a conditional write's check and the write: in
    the process (a thread lock, polled, so that any event loop may wait for it), then
    between processes on the same database."""

    _POLL = 0.002
    _POLL_MAX = 0.05

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[str, threading.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def held(self, scope: Scope) -> AsyncIterator[None]:
        key = _lock_key(scope["path"])
        lock = self._checkout(key)
        try:
            wait = self._POLL
            while not lock.acquire(blocking=False):
                await anyio.sleep(wait)
                wait = min(wait * 2, self._POLL_MAX)
            try:
                engine = _engine(scope)
                shared = _database_lock(engine, key) if engine is not None else None
                if shared is None:
                    yield
                    return
                await anyio.to_thread.run_sync(shared.__enter__)
                try:
                    yield
                finally:
                    await anyio.to_thread.run_sync(shared.__exit__, None, None, None)
            finally:
                lock.release()
        finally:
            self._checkin(key)

    def _checkout(self, key: str) -> threading.Lock:
        with self._guard:
            self._users[key] = self._users.get(key, 0) + 1
            return self._held.setdefault(key, threading.Lock())

    def _checkin(self, key: str) -> None:
        with self._guard:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._held[key]


def _engine(scope: Scope) -> Engine | None:
    app = scope.get("app")
    state = getattr(app, "state", None)
    lad = getattr(state, "container", None)
    engine = lad.engine() if lad is not None else None
    return engine if isinstance(engine, Engine) else None


def _database_lock(engine: Engine, key: str) -> contextlib.AbstractContextManager[None] | None:
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big",
                            signed=True)
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, digest)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return _file_lock(Path(database + ".locks"), digest)
    return None


@contextlib.contextmanager
def _advisory_lock(engine: Engine, digest: int) -> Iterator[None]:
    """A transaction-level advisory lock on a connection of its own: released when that
    transaction ends, which a connection going back to the pool always does."""
    with engine.connect() as connection, connection.begin():
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                           {"cls": _LOCK_CLASS, "key": digest})
        yield


@contextlib.contextmanager
def _file_lock(folder: Path, digest: int) -> Iterator[None]:
    """An exclusive ``flock`` on one of 64 files in a folder beside the SQLite database (a
    file per hash bucket): every server (process, or app) of the same database file waits
    for the others; the kernel releases it if the process dies."""
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / f"{digest % 64:02d}", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
