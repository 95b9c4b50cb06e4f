"""Send windows: the days and hours a campaign may reach a lead, in the lead's own time
zone. Computed with ``zoneinfo``, so a window follows daylight-saving changes: 09:00 in
New York is 14:00 UTC in winter and 13:00 UTC in summer, and a local hour that does not
exist (the spring gap) or happens twice (the autumn fold) is handled by wall-clock rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from lad_domain.shared.errors import ValidationFailed

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def time_zone(value: object, *, field: str = "timezone") -> str:
    """An IANA time-zone name ("Europe/Paris", "UTC")."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64 or ".." in value:
        raise ValidationFailed.single(field, "must be an IANA time zone such as Europe/Paris")
    name = value.strip()
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.single(field, f"{name!r} is not a known IANA time zone"
                                      ) from None
    return name


@attrs.frozen
class SendWindow:
    """``days``: weekday numbers (Monday 0); sends between ``start`` and ``end`` local time
    (``end`` excluded; ``start`` < ``end``)."""

    days: frozenset[int] = frozenset(range(5))
    start: time = time(9)
    end: time = time(17)

    def contains(self, at: datetime, tz: str) -> bool:
        local = at.astimezone(zone(tz))
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, at: datetime, tz: str) -> datetime:
        """``at`` when it is inside the window, else the window's next opening (UTC)."""
        if self.contains(at, tz):
            return at
        local_zone = zone(tz)
        local = at.astimezone(local_zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opening = _wall_clock(day, self.start, local_zone)
            closing = _wall_clock(day, self.end, local_zone)
            if opening > at:
                return opening
            if opening <= at < closing:
                # Past the first opening but not inside on the wall clock: in the autumn
                # fold the clock went back before the start, which comes round again.
                again = _wall_clock(day, self.start.replace(fold=1), local_zone)
                if again > at:
                    return again
        raise ValueError("a send window with no days never opens")

    def document(self) -> dict[str, object]:
        return {"days": [DAY_NAMES[d] for d in sorted(self.days)],
                "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    @classmethod
    def parse(cls, value: object, *, field: str = "send_window") -> SendWindow:
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ValidationFailed.single(field, "must be an object with days, start and end")
        unknown = set(value) - {"days", "start", "end"}
        if unknown:
            raise ValidationFailed.single(f"{field}.{sorted(unknown)[0]}", "is not a window field")
        days_in = value.get("days", list(DAY_NAMES[:5]))
        if not isinstance(days_in, list) or not days_in or not all(
                isinstance(d, str) and d.lower()[:3] in DAY_NAMES for d in days_in):
            raise ValidationFailed.single(f"{field}.days",
                                          f"must be a non-empty list of {', '.join(DAY_NAMES)}")
        days = frozenset(DAY_NAMES.index(d.lower()[:3]) for d in days_in)
        start = _clock(value.get("start", "09:00"), field=f"{field}.start")
        end = _clock(value.get("end", "17:00"), field=f"{field}.end")
        if end <= start:
            raise ValidationFailed.single(f"{field}.end", "must be after start")
        return cls(days=days, start=start, end=end)


def _wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant a local wall-clock time happens on ``day``. A time in the spring gap
    (it does not exist) is read with the offset before the change, so it lands as far past
    the gap as it was into it (02:30 on a night that jumps from 02:00 to 03:00 is 03:30);
    a time in the autumn fold (it happens twice) is its first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _clock(value: object, *, field: str) -> time:
    if not isinstance(value, str):
        raise ValidationFailed.single(field, "must be a time HH:MM")
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(field, f"{value!r} is not a time HH:MM") from None
    if parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise ValidationFailed.single(field, "must be a local time HH:MM, without a zone")
    return parsed
