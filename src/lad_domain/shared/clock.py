"""Time comes from a Clock port and is always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def aware_utc(at: datetime, *, field: str) -> datetime:
    """A caller's timestamp as UTC: it must name its zone and stay within years 1-9999
    once converted (``0001-01-01T00:00+05:00`` does not)."""
    from lad_domain.shared.errors import ValidationFailed

    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed.single(field, "needs a timezone (e.g. 2026-01-01T09:00Z)")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed.single(field, "is out of range once converted to UTC") from None


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to: for tests and replays."""

    def __init__(self, at: datetime | None = None) -> None:
        self._now = at or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        self._now = at
