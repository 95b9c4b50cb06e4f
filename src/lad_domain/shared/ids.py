"""Time-ordered identifiers (UUIDv7, RFC 9562) behind a small port."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Protocol


class IdGenerator(Protocol):
    def new_id(self) -> uuid.UUID: ...


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
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
            else:
                self._counter += 1
                if self._counter > 0xFFF:
                    # Counter exhausted in this millisecond: borrow the next one.
                    self._last_ms += 1
                    self._counter = 0
                ms = self._last_ms
        rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | self._counter << 64 | 0b10 << 62 | rand
        return uuid.UUID(int=value)


def parse_id(value: str, *, field: str = "id") -> uuid.UUID:
    """Parse a UUID given by a caller; a malformed one is a validation error naming the field."""
    from lad_domain.shared.errors import ValidationFailed

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "is not a valid UUID") from None
