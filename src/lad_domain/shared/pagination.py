"""Cursor pagination: newest first over (created_at, id), with signed cursors.

A cursor is opaque to clients: the position it holds is signed (HMAC-SHA256) together with
the list it came from (its kind, e.g. the table listed, and the unit of work's tenant). A
forged or altered cursor is invalid; a genuine one given to another list, or by another
tenant, is refused as well. The adapters seal and open cursors where they make pages, so
every list gets this by paging through them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from lad_domain.shared.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: Longer than any cursor this API issues; refused before any work.
MAX_CURSOR_LENGTH = 512
KEY_BYTES = 32


@attrs.frozen
class Cursor:
    """A position in a newest-first listing: the last row seen."""

    created_at: datetime
    id: uuid.UUID


@attrs.frozen
class PageRequest:
    """``cursor`` is the previous page's ``next_cursor``, opened by the list that pages."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationFailed.single("limit", f"must be between 1 and {MAX_LIMIT}")
        if self.cursor is not None and len(self.cursor) > MAX_CURSOR_LENGTH:
            raise ValidationFailed.single("cursor", "is invalid")

    @classmethod
    def parse(cls, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> PageRequest:
        return cls(limit=limit, cursor=cursor or None)


@attrs.frozen
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


class CursorSeal:
    """Seals positions into cursors of one tenant scope's lists, and opens them again."""

    def __init__(self, key: bytes, tenant_id: uuid.UUID | None = None) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a cursor key needs at least {KEY_BYTES} bytes")
        self._key = key
        self._tenant_id = tenant_id

    @classmethod
    def from_secret(cls, secret: str) -> CursorSeal:
        """A key of its own derived from a server secret (e.g. the JWT secret), so that a
        cursor's signature never doubles as anything else's."""
        return cls(hmac.new(secret.encode(), b"lad/pagination-cursor/v1", hashlib.sha256)
                   .digest())

    @classmethod
    def ephemeral(cls) -> CursorSeal:
        """A random key: cursors valid for as long as this object lives (in-memory stores)."""
        return cls(secrets.token_bytes(KEY_BYTES))

    def scoped(self, tenant_id: uuid.UUID | None) -> CursorSeal:
        """The same key, for the lists of one unit of work's tenant scope."""
        return CursorSeal(self._key, tenant_id)

    def seal(self, kind: str, position: Cursor) -> str:
        body = _encode(json.dumps([self._list_tag(kind), position.created_at.isoformat(),
                                   str(position.id)]).encode())
        return f"{body}.{_encode(self._mac('cursor', body))}"

    def open(self, kind: str, token: str) -> Cursor:
        """The position a cursor of list ``kind`` holds; ValidationFailed naming ``cursor``
        when it is not one this key signed, or was signed for another list."""
        body, _, signature = token.partition(".")
        expected = _encode(self._mac("cursor", body))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ValidationFailed.single("cursor", "is invalid")
        try:
            tag, created_at, id_ = json.loads(_decode(body))
            position = Cursor(created_at=datetime.fromisoformat(created_at), id=uuid.UUID(id_))
        except (ValueError, TypeError, binascii.Error):  # signed, so only an older format
            raise ValidationFailed.single("cursor", "is invalid") from None
        if not hmac.compare_digest(tag, self._list_tag(kind)):
            raise ValidationFailed.single("cursor", "is not a cursor of this list")
        return position

    def after(self, kind: str, page: PageRequest) -> Cursor | None:
        """Where a page of list ``kind`` starts: after the position its cursor holds."""
        return self.open(kind, page.cursor) if page.cursor else None

    def _list_tag(self, kind: str) -> str:
        return _encode(self._mac("list", f"{kind}\0{self._tenant_id or ''}")[:12])

    def _mac(self, purpose: str, text: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\0{text}".encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
