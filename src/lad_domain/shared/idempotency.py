"""Idempotency keys: a retry with the same key replays the first result; the same key with
another payload is a conflict. One rule for every context that takes keys."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import attrs

from lad_domain.shared.errors import Conflict


class Fingerprinted(Protocol):
    @property
    def fingerprint(self) -> str: ...


F = TypeVar("F", bound=Fingerprinted)


def fingerprint(payload: Mapping[str, object]) -> str:
    """A digest of a request's payload: a retry with the same idempotency key must carry
    the same one, or it is a conflict."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def replay_or_conflict(first: F | None, digest: str, key: str, *, what: str = "request"
                       ) -> F | None:
    """The first result stored under ``key`` (None: the key is new), provided it was made
    from the same payload; ``what`` names the kind of request in the conflict's message."""
    if first is not None and first.fingerprint != digest:
        raise Conflict(f"the idempotency key {key!r} was used for a different {what}")
    return first


@attrs.frozen
class KeyedRequest:
    """A request sent with an idempotency key: whose, on which route, under which key, and
    the digest of what it asked."""

    tenant_id: uuid.UUID
    route: str
    key: str
    fingerprint: str


@attrs.frozen
class StoredAnswer:
    """What the first request was answered: status, the headers a retry needs, the body
    (as the store keeps it: the caller seals it first)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


@attrs.frozen
class FirstRequest:
    """The record of the first request under a key: its digest, and its answer (None while
    it is still being served)."""

    fingerprint: str
    answer: StoredAnswer | None


class IdempotencyRecords(Protocol):
    """The keys requests were sent with, per tenant and route, for a while."""

    def claim(self, request: KeyedRequest, now: datetime, ttl: timedelta
              ) -> FirstRequest | None:
        """Take the key for this request (None): it is new, or its record is older than
        ``ttl`` and is replaced; else the first request's record, unchanged."""

    def complete(self, request: KeyedRequest, answer: StoredAnswer, now: datetime) -> None:
        """Keep the answer of the request that claimed the key."""

    def release(self, request: KeyedRequest) -> None:
        """Forget the claim (the request failed on the server's side: a retry may run)."""
