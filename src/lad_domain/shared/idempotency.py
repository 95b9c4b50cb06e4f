"""Idempotency keys: a retry with the same key replays the first result; the same key with
another payload is a conflict. One rule for every context that takes keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Protocol, TypeVar

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
