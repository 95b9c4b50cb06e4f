"""Time-ordered identifiers (UUIDv7, RFC 9562) behind a small port."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Protocol


class IdGenerator(Protocol):
    def new_id(self) -> uuid.UUID: ...

    def new_hex_ids(self, count: int) -> list[str]:
        """``count`` new ids as their 32 hex digits (what SQLite stores for a UUID column and
        PostgreSQL's COPY reads), in creation order: a bulk insert builds no UUID objects."""
        ...


class Uuid7Generator:
    """UUIDv7: 48 bits of Unix milliseconds, then a counter and random bits.

    Ids made in the same millisecond by one generator still sort in creation order, because
    the 12-bit field after the timestamp is a counter seeded at random each millisecond.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def new_id(self) -> uuid.UUID:
        with self._lock:
            ms, counter = self._next(1)
        rand = int.from_bytes(os.urandom(8), "big") & _RANDOM
        return uuid.UUID(int=(ms & _MS) << 80 | _VERSION | counter << 64 | _VARIANT | rand)

    def new_hex_ids(self, count: int) -> list[str]:
        if count <= 0:
            return []
        with self._lock:
            ms, counter = self._next(count)
        random = os.urandom(8 * count)
        ids = []
        prefix = f"{ms & _MS:012x}"
        for offset in range(0, 8 * count, 8):
            if counter > 0xFFF:  # this millisecond's counter is used up: the next one's
                ms, counter = ms + 1, 0
                prefix = f"{ms & _MS:012x}"
            rand = int.from_bytes(random[offset:offset + 8], "big") & _RANDOM | _VARIANT
            ids.append(f"{prefix}{0x7000 | counter:04x}{rand:016x}")
            counter += 1
        return ids

    def _next(self, count: int) -> tuple[int, int]:
        """Under the lock: reserve ``count`` consecutive (millisecond, counter) slots and
        return the first; the caller derives the others (a counter past 0xFFF moves on to
        the next millisecond at 0)."""
        ms = time.time_ns() // 1_000_000
        if ms > self._last_ms:
            counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            ms, counter = self._last_ms, self._counter + 1
            if counter > 0xFFF:
                # Counter exhausted in this millisecond: borrow the next one.
                ms, counter = ms + 1, 0
        # The last slot taken: ``count - 1`` steps on from (ms, counter).
        last_ms, last_counter = ms, counter
        steps = count - 1
        room = 0xFFF - last_counter
        if steps > room:
            steps -= room + 1
            last_ms += 1 + steps // 0x1000
            last_counter = steps % 0x1000
        else:
            last_counter += steps
        self._last_ms, self._counter = last_ms, last_counter
        return ms, counter


_MS = (1 << 48) - 1
_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM = (1 << 62) - 1


def parse_id(value: str, *, field: str = "id") -> uuid.UUID:
    """Parse a UUID given by a caller; a malformed one is a validation error naming the field."""
    from lad_domain.shared.errors import ValidationFailed

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "is not a valid UUID") from None
