"""Calling hours at dial time: the strictest of the tenant's window (the batch's) and the
legal 08:00-21:00, in every zone the lead may be in (the phone number's area may span
several zones; the lead's own zone, when known, counts too)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from lad_domain.campaigns.window import SendWindow, time_zone, zone
from lad_domain.leads.model import Lead
from lad_domain.shared.errors import ValidationFailed
from lad_domain.voice.model import LEGAL_END, LEGAL_START

_MINUTE = timedelta(minutes=1)


def strictest(window: SendWindow) -> SendWindow:
    """The window inside the legal hours."""
    return SendWindow(days=window.days, start=max(window.start, LEGAL_START),
                      end=min(window.end, LEGAL_END))


def lead_zones(lead: Lead | None, phone_zones: Iterable[str]) -> tuple[str, ...]:
    """Every zone the lead may be in: the phone number's, and the lead's own (custom field
    ``timezone``) when known."""
    zones = set(phone_zones)
    if lead is not None:
        own = lead.custom_fields.get("timezone")
        if isinstance(own, str):
            with contextlib.suppress(ValidationFailed):
                zones.add(time_zone(own))
    return tuple(sorted(zones))


@attrs.frozen
class Hours:
    allowed: bool
    #: When not allowed: the first instant inside the window in every zone.
    opens_at: datetime | None
    local_times: tuple[str, ...]

    def describe(self, zones: tuple[str, ...]) -> str:
        return ", ".join(f"{t} in {z}" for t, z in zip(self.local_times, zones, strict=True))


def check(window: SendWindow, zones: tuple[str, ...], now: datetime) -> Hours:
    """Whether ``now`` is inside the (strictest) window in every zone; if not, when it next
    is (searched forward over two weeks: a window with no common opening never is)."""
    legal = strictest(window)
    local_times = tuple(now.astimezone(zone(z)).strftime("%a %H:%M") for z in zones)
    if all(legal.contains(now, z) for z in zones):
        return Hours(allowed=True, opens_at=None, local_times=local_times)
    at = now
    for _ in range(64):
        moved = max(legal.next_opening(at, z) for z in zones)
        if all(legal.contains(moved, z) for z in zones):
            return Hours(allowed=False, opens_at=moved, local_times=local_times)
        if (moved - now).days > 14:
            break
        at = moved if moved > at else at.replace(microsecond=0) + _MINUTE
    return Hours(allowed=False, opens_at=None, local_times=local_times)

