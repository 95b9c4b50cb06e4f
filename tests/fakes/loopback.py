"""What every fake HTTP service of the tests shares: a threaded server on 127.0.0.1 (an
ephemeral port), started and stopped (also as a context manager), its URL; and the two
records every fake keeps: the requests it received, and the answers scripted in place of
its normal ones."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


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


class LoopbackFake:
    """A fake's life: ``handler()`` is the request handler class serving it."""

    name = "service"
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        server.daemon_threads = True
        # Keep-alive connections and hanging answers must not hold stop() up.
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,),
                                        name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the fake {self.name} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
