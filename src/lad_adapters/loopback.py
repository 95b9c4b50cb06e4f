"""A threaded HTTP server on loopback: the life every local service (Apollo, calls) and
every fake HTTP service of the tests shares (started and stopped, also as a context
manager, on an ephemeral port unless given one) and its URL."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LoopbackServer:
    """``handler()`` is the request handler class serving it; ``_address`` (host, port)
    where it listens, port 0 for any free one."""

    name = "loopback server"
    thread_name = "lad-loopback"
    # A short poll: stop() waits for the serving loop to notice.
    poll_seconds = 0.05
    _address: tuple[str, int] = ("127.0.0.1", 0)
    _server: ThreadingHTTPServer | None = None
    _serving: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not started")
        return f"http://{self._address[0]}:{self._server.server_address[1]}"

    def start(self) -> Self:
        server = ThreadingHTTPServer(self._address, self.handler())
        server.daemon_threads = True
        # Kept-alive connections and hanging answers must not hold stop() up.
        server.block_on_close = False
        self._server = server
        self._serving = threading.Thread(target=server.serve_forever,
                                         args=(self.poll_seconds,), name=self.thread_name,
                                         daemon=True)
        self._serving.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._serving is not None:
            self._serving.join(timeout=5)
            self._serving = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
