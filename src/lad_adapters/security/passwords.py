"""argon2id password hashing (RFC 9106 parameters via argon2-cffi), a bounded number at once.

Each hash or check holds ``memory_cost`` KiB (64 MiB by default) for its duration, so a
flood of logins would otherwise take as much memory as it has requests in flight. At most
``concurrency`` run at once; a call that cannot start within ``wait_seconds`` raises
``Unavailable`` (503 with Retry-After on HTTP) instead of queueing without end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lad_domain.shared.errors import Unavailable

#: Seconds a refused caller is told to wait: a hash takes a fraction of one.
RETRY_AFTER_SECONDS = 1


class Argon2PasswordHasher:
    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536,
                 parallelism: int = 4, concurrency: int = 4, wait_seconds: float = 1.0
                 ) -> None:
        if concurrency < 1:
            raise ValueError("at least one password hash must be allowed at once")
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_cost,
                               parallelism=parallelism, type=Type.ID)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._wait = wait_seconds

    def hash(self, password: str) -> str:
        with self.slot():
            return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self.slot():
            try:
                return self._argon2.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than this hasher's (a changed
        LAD_ARGON2_TIME_COST or LAD_ARGON2_MEMORY_KIB): it is replaced at the next login.
        Reads the hash's own parameters; no hashing."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the hasher's slots for a ``with`` block, as every hash and check
        does; Unavailable when none frees up within ``wait_seconds``."""
        if not self._slots.acquire(timeout=self._wait):
            raise Unavailable("the server is busy checking passwords; try again in a moment",
                              retry_after=RETRY_AFTER_SECONDS)
        try:
            yield
        finally:
            self._slots.release()
