"""In-process stand-ins for the voice ports: a scripted call provider that records what it
was asked and answers as the test says, and a phone plan over a small table of area codes
(the real one, libphonenumber's, is tested on its own)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from lad_domain.shared.errors import NotFound
from lad_domain.voice.model import (
    Analysis,
    CallEvent,
    CallStatus,
    CostLine,
    EventKind,
    PhoneNumber,
)
from lad_domain.voice.ports import (
    CallRequest,
    InvalidPhone,
    PlacedCall,
    ProviderError,
    VoiceProvider,
)

#: Area code -> zone, for the North American numbers the tests use.
AREA_ZONES = {"212": "America/New_York", "312": "America/Chicago", "303": "America/Denver",
              "415": "America/Los_Angeles", "808": "Pacific/Honolulu"}


class TablePhonePlan:
    def parse(self, raw: str, *, region: str | None = None) -> PhoneNumber:
        text = raw.replace(" ", "").replace("-", "")
        if text.startswith("+1") and len(text) == 12 and text[1:].isdigit():
            return PhoneNumber("1", int(text[2:]))
        if text.startswith("+44") and text[1:].isdigit():
            return PhoneNumber("44", int(text[3:]))
        raise InvalidPhone(f"{raw!r} is not a valid phone number")

    def zones(self, phone: PhoneNumber) -> tuple[str, ...]:
        if phone.country_code == "44":
            return ("Europe/London",)
        zone = AREA_ZONES.get(str(phone.base_number)[:3])
        return (zone,) if zone else ()


@attrs.define
class ScriptedProvider:
    """Places calls by recording them; ``fail_with`` makes the next starts raise; the test
    makes the provider's events with ``event``. ``known``: what fetch_call answers."""

    name: str = "local"
    started: list[CallRequest] = attrs.field(factory=list)
    ended: list[str] = attrs.field(factory=list)
    fail_with: list[ProviderError] = attrs.field(factory=list)
    known: dict[str, CallEvent] = attrs.field(factory=dict)
    by_call: dict[str, str] = attrs.field(factory=dict)
    _ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def start_call(self, request: CallRequest) -> PlacedCall:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.started.append(request)
        provider_id = f"{self.name}-{next(self._ids)}"
        self.by_call[str(request.call_id)] = provider_id
        return PlacedCall(provider_call_id=provider_id)

    def end_call(self, provider_call_id: str) -> None:
        self.ended.append(provider_call_id)

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        return self.known.get(provider_call_id)

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        raise NotImplementedError("the scripted provider has no webhooks: apply events")

    def event(self, request: CallRequest, status: CallStatus, *,
              kind: EventKind = EventKind.ENDED, seconds: int | None = None,
              analysis: Analysis | None = None, echo: bool = True) -> CallEvent:
        """The provider's event about a call it placed (``echo``: with our metadata)."""
        return CallEvent(
            provider=self.name, provider_call_id=self.by_call[str(request.call_id)],
            kind=kind, status=status, call_id=request.call_id if echo else None,
            tenant_id=request.tenant_id if echo else None, duration_seconds=seconds,
            costs=(CostLine("telephony", Decimal("0.0123")),) if seconds else (),
            transcript="Hello." if seconds else None, analysis=analysis)


@attrs.define
class OneProvider:
    """VoiceProviders over scripted providers by name."""

    providers: dict[str, VoiceProvider]

    def get(self, name: str) -> VoiceProvider:
        try:
            return self.providers[name]
        except KeyError:
            raise NotFound(f"no voice provider named {name!r} is configured") from None

    def names(self) -> Sequence[str]:
        return sorted(self.providers)
