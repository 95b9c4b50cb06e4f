"""What every fake HTTP service of the tests shares: the loopback server's life
(``LoopbackServer``), the two records every fake keeps (the requests it received, and the
answers scripted in place of its normal ones), and the handler reading a request and
writing the fake's JSON answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import urlsplit

from lad_adapters.loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (headers with lower-case names)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Scripted:
    """An answer to give instead of the normal one. ``status`` None: the normal answer,
    after ``delay`` seconds (a slow server: the request still takes effect)."""

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None
    method: str | None = None
    path: str | None = None
    times: int = 1
    error_type: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or path == self.path or path.startswith(self.path)))


class Answer(Exception):
    """What a fake answers: a status, a JSON body (None: no body) and headers. Raised, it
    ends serving the request."""

    def __init__(self, status: int, body: dict[str, Any] | None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class LoopbackFake(LoopbackServer):
    """A fake's life, its log and its script: ``serve(request)`` answers each request (on
    the server's threads), ``handler()`` reads it and writes the answer."""

    name = "service"
    thread_name = "lad-fake"
    poll_seconds = 0.02

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._requests: list[RecordedRequest] = []
        self._script: list[Scripted] = []
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(JsonHandler):
            owner = fake

        return Handler

    def serve(self, request: RecordedRequest) -> Answer:
        raise NotImplementedError

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The requests of this method whose path is ``path`` or starts with it."""
        return [r for r in self.requests
                if r.method == method and (r.path == path or r.path.startswith(path))]

    def reset(self) -> None:
        """Forget the requests and the script (the state stays)."""
        with self._lock:
            self._requests.clear()
            self._script.clear()

    def _record(self, request: RecordedRequest) -> Scripted | None:
        """Logs the request; the first scripted answer for it, counted (None: none)."""
        with self._lock:
            self._requests.append(request)
            for scripted in self._script:
                if scripted.matches(request.method, request.path):
                    scripted.times -= 1
                    if scripted.times <= 0:
                        self._script.remove(scripted)
                    return scripted
        return None


class JsonHandler(BaseHTTPRequestHandler):
    """Reads each GET and POST (a JSON body), lets its fake answer, writes the answer."""

    owner: LoopbackFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's log is ``requests``."""

    def received(self, body: bytes) -> RecordedRequest:
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        return RecordedRequest(self.command, urlsplit(self.path).path,
                               {k.lower(): v for k, v in self.headers.items()}, body,
                               document)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        answer = self.owner.serve(self.received(self.rfile.read(length) if length else b""))
        payload = json.dumps(answer.body).encode() if answer.body is not None else b""
        try:
            self.send_response(answer.status)
            if answer.body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): as on a real server

    do_GET = _handle
    do_POST = _handle


FakeT = TypeVar("FakeT", bound=LoopbackFake)


def running(fake: FakeT) -> Iterator[FakeT]:
    """A started fake, stopped afterwards (the body of a pytest fixture)."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
