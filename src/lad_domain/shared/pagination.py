"""Cursor pagination: opaque cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from lad_domain.shared.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@attrs.frozen
class Cursor:
    """A position in a newest-first listing: the last row seen."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            created_at, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
            at = datetime.fromisoformat(created_at)
            if at.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(created_at=at, id=uuid.UUID(id_))
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise ValidationFailed.single("cursor", "is not a cursor this API issued") from None


@attrs.frozen
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationFailed.single("limit", f"must be between 1 and {MAX_LIMIT}")

    @classmethod
    def parse(cls, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> PageRequest:
        return cls(limit=limit, after=Cursor.decode(cursor) if cursor else None)


@attrs.frozen
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None
