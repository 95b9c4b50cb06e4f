"""Round trips to PostgreSQL, counted exactly: libpq traces every message of a connection,
and each round trip ends with the server's ReadyForQuery (a message of several statements
is one; BEGIN and COMMIT are one each). For the benchmarks and the tests that pin what a
request or a posting costs."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

import psycopg
import sqlalchemy as sa


class RoundTripTrace:
    """A trace file shared by every connection attached to it."""

    def __init__(self) -> None:
        self.file = tempfile.NamedTemporaryFile("w+", suffix=".trace")  # noqa: SIM115

    def attach(self, connection: psycopg.Connection[Any], _record: object = None) -> None:
        """Trace ``connection`` from now on (usable as an engine's ``connect`` listener)."""
        connection.pgconn.trace(self.file.fileno())
        connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def round_trips(self) -> int:
        """Round trips so far, over every attached connection."""
        self.file.flush()
        with open(self.file.name, encoding="utf-8", errors="replace") as text:
            return sum(1 for line in text if "\tReadyForQuery" in line)

    @contextlib.contextmanager
    def watching(self, engine: sa.Engine) -> Iterator[RoundTripTrace]:
        """Trace every connection ``engine`` opens inside the block, from its first
        statement: its pool is emptied before and after."""
        engine.dispose()
        sa.event.listen(engine, "connect", self.attach)
        try:
            yield self
        finally:
            sa.event.remove(engine, "connect", self.attach)
            engine.dispose()
