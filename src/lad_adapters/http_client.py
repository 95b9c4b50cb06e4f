"""What every adapter over an HTTP API shares (Apollo, the language model, the call
providers, Unipile): its client closed with it, the message of an error answer, the JSON
object of an answer, and the wait a Retry-After header asks for."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import httpx


class _Client(Protocol):
    @property
    def base_url(self) -> Any: ...
    def close(self) -> None: ...


C = TypeVar("C", bound=_Client)


class ClosesItsClient(Generic[C]):
    """Its client is closed with it, also as a context manager, and its repr names where
    it calls (never its key)."""

    _http: C

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self._http.base_url)!r})"


def error_message(response: httpx.Response) -> str:
    """The provider's message in an error answer: ``message`` (a text or a list of
    texts), ``error_message``, ``error`` or ``detail``; else the body's start."""
    try:
        document = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if not isinstance(document, dict):
        return ""
    value = next((document[k] for k in ("message", "error_message", "detail", "error")
                  if document.get(k)), "")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def answer_object(response: httpx.Response) -> Mapping[str, Any]:
    """The answer's JSON object; empty when it is not JSON or not an object."""
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) in seconds; None when absent or
    unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
