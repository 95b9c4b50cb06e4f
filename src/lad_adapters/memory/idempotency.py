"""In-memory records of HTTP idempotency keys (memory://, and tests)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

from lad_domain.shared.idempotency import FirstRequest, KeyedRequest, StoredAnswer

_Key = tuple[uuid.UUID, str, str]


class InMemoryIdempotencyRecords:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[_Key, tuple[FirstRequest, datetime]] = {}

    @staticmethod
    def _key(request: KeyedRequest) -> _Key:
        return request.tenant_id, request.route, request.key

    def claim(self, request: KeyedRequest, now: datetime, ttl: timedelta
              ) -> FirstRequest | None:
        with self._lock:
            found = self._records.get(self._key(request))
            if found is not None and found[1] > now - ttl:
                return found[0]
            self._records[self._key(request)] = (FirstRequest(request.fingerprint, None), now)
            return None

    def complete(self, request: KeyedRequest, answer: StoredAnswer, now: datetime) -> None:
        with self._lock:
            found = self._records.get(self._key(request))
            if found is not None and found[0].fingerprint == request.fingerprint:
                self._records[self._key(request)] = (
                    FirstRequest(request.fingerprint, answer), found[1])

    def release(self, request: KeyedRequest) -> None:
        with self._lock:
            found = self._records.get(self._key(request))
            if found is not None and found[0].answer is None:
                del self._records[self._key(request)]
