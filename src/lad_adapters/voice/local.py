"""The local call provider: a real HTTP service on loopback that simulates calls and posts
signed webhooks about them (``LocalCallService``), and the ``VoiceProvider`` that talks to
it (``LocalVoiceProvider``). Used by the tests, the benchmark and the embedded default.

The service's API (JSON; ``Authorization: Bearer <api key>`` when it has one):

- ``POST /calls`` ``{"to", "from", "agent", "max_duration_seconds", "first_message",
  "metadata": {"call_id", "tenant_id", ...}, "scenario"?, "chaos"?}`` answers 201
  ``{"id", "status": "queued"}`` (422 ``{"error"}`` for a bad request);
- ``GET /calls/{id}``: the call now (``call_document`` below), 404 when unknown;
- ``POST /calls/{id}/end``: ends a live call (a ringing one is cancelled, an answered one
  completed, ``ended_reason`` ``ended_by_api``); a call already over is left as it is;
- ``GET /recordings/{id}.wav``: a second of silence.

Scenarios: the request's ``scenario``, else the destination's last digit: 0 no_answer,
1 busy, 2 voicemail, 3 long, 4 failed, 5 do_not_call, 6-9 answered. A call rings from
second 1; it is answered after ``3 + d4 % 5`` seconds of ringing (d4 the fourth digit from
the end); an answered call talks ``20 + d3d2`` seconds (the two digits before the last,
so 20-119), a voicemail ``10 + d2`` seconds, a long call until ``max_duration_seconds``
(``ended_reason`` ``max_duration_reached``, as is any call the limit cuts); a call nobody
answers stops ringing at 30 s, a busy line after 2 s, a failed call ends at second 1
without ringing. The analysis is ready 5 seconds after a connected call ends (completed or
voicemail; no other call gets one). Times are simulated: ``speed`` simulated seconds pass
per real second, and reported times are ``created_at`` plus simulated seconds.

Costs, for connected calls only: the duration in minutes times ``RATES`` (per minute,
billed by the second: the amounts are exact at four decimals).

Webhooks: ``POST`` to ``webhook_url`` of ``{"id": "evt_<call>_<type>", "type": "ringing" |
"in_progress" | "ended" | "analyzed", "occurred_at", "call": call_document}`` signed with
``X-Lad-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``. A delivery
that fails (no connection, not 2xx) is retried ``retries`` times with doubling backoff;
each call's deliveries go in order, one at a time. ``Chaos`` (on the service, or per call
as ``"chaos"`` in the request) duplicates deliveries, shuffles a call's events (all sent
at its last one), delays or drops the final ones (``ended`` and ``analyzed``).
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import io
import itertools
import json
import logging
import random
import re
import threading
import time
import uuid
import wave
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Self
from urllib.parse import quote

import attrs
import httpx

from lad_adapters.http_client import ClosesItsClient, answer_object
from lad_adapters.loopback import LoopbackServer
from lad_adapters.unipile import retry_after
from lad_domain.shared.clock import Clock, SystemClock
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import Analysis, CallEvent, CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, PlacedCall, ProviderError, ProviderErrorKind

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Lad-Signature"
#: How far a webhook's signed time may be from ours.
TOLERANCE: Final = timedelta(minutes=5)
#: USD per minute, billed by the second.
RATES: Final = {"telephony": Decimal("0.0120"), "voice": Decimal("0.0600")}
ANALYSIS_DELAY = 5
RING_TIMEOUT = 30
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CENT = Decimal("0.0001")


class Scenario(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    LONG = "long"
    FAILED = "failed"
    DO_NOT_CALL = "do_not_call"


_BY_LAST_DIGIT = {"0": Scenario.NO_ANSWER, "1": Scenario.BUSY, "2": Scenario.VOICEMAIL,
                  "3": Scenario.LONG, "4": Scenario.FAILED, "5": Scenario.DO_NOT_CALL}
_CATEGORIES = {"7": "callback", "8": "not_interested"}


def scenario_for(to: str) -> Scenario:
    return _BY_LAST_DIGIT.get(to[-1:], Scenario.ANSWERED)


def ring_seconds(to: str) -> int:
    return 3 + int(to[-4:-3] or "0") % 5


def talk_seconds(to: str, scenario: Scenario) -> int:
    if scenario is Scenario.VOICEMAIL:
        return 10 + int(to[-2:-1] or "0")
    return 20 + int(to[-3:-1] or "0")


@attrs.frozen
class Chaos:
    """``duplicates``: times each delivery is sent; ``shuffle``: a call's events are held
    and sent in a random order (``seed``) at its last one; ``delay_final``: simulated
    seconds ``ended`` and ``analyzed`` wait before they are sent; ``drop_final``: they are
    never sent (only ``GET /calls/{id}`` tells the end)."""

    duplicates: int = attrs.field(default=1, validator=[attrs.validators.instance_of(int),
                                                        attrs.validators.ge(1)])
    shuffle: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    delay_final: float = attrs.field(default=0.0, validator=[
        attrs.validators.instance_of((int, float)), attrs.validators.ge(0)])
    drop_final: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    seed: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))


def sign(secret: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers of a webhook delivery of ``body`` signed at ``at``."""
    stamp = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return {SIGNATURE_HEADER: f"t={stamp},v1={digest.hexdigest()}",
            "Content-Type": "application/json"}


@attrs.frozen
class Delivery:
    """One attempt to deliver a webhook (``status`` None: no answer)."""

    event_id: str
    call_id: str
    attempt: int
    status: int | None


@attrs.define(eq=False)
class _Call:
    id: str
    to: str
    from_: str | None
    agent: str | None
    first_message: str | None
    metadata: dict[str, str]
    max_duration: int
    scenario: Scenario
    chaos: Chaos
    created_at: datetime
    real_start: float
    status: CallStatus = CallStatus.QUEUED
    answered_at: int | None = None
    ended_at: int | None = None
    ended_reason: str | None = None
    transcript: str | None = None
    analysis: dict[str, Any] | None = None
    held: list[bytes] = attrs.field(factory=list)
    outbox: deque[bytes] = attrs.field(factory=deque)
    sending: bool = False
    #: Deliveries waiting for their delay (``Chaos.delay_final``).
    delayed: int = 0

    @property
    def settled(self) -> bool:
        """Over, analysed when connected, and every webhook sent."""
        return (self.status.is_final and (self.analysis is not None
                                          or not self.status.connected)
                and not self.outbox and not self.sending and not self.delayed)

    def moment(self, offset: float | None) -> str | None:
        return None if offset is None else (self.created_at
                                            + timedelta(seconds=offset)).isoformat()

    @property
    def duration(self) -> int:
        if self.answered_at is None or self.ended_at is None:
            return 0
        return self.ended_at - self.answered_at


def call_document(call: _Call, base_url: str) -> dict[str, Any]:
    connected = call.status.connected
    costs = ({name: str((call.duration * rate / 60).quantize(_CENT))
              for name, rate in RATES.items()} if connected else {})
    return {"id": call.id, "status": call.status.value, "scenario": call.scenario.value,
            "to": call.to, "from": call.from_, "agent": call.agent,
            "created_at": call.created_at.isoformat(),
            "started_at": call.moment(call.answered_at),
            "ended_at": call.moment(call.ended_at), "duration_seconds": call.duration,
            "max_duration_seconds": call.max_duration, "costs": costs,
            "rates": {name: str(rate) for name, rate in RATES.items()},
            "transcript": call.transcript,
            "recording_url": f"{base_url}/recordings/{call.id}.wav" if connected else None,
            "ended_reason": call.ended_reason, "analysis": call.analysis,
            "metadata": call.metadata}


class _Timers:
    """One thread running actions at their times (``time.monotonic``)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="lad-local-calls", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def at(self, due: float, action: Callable[[], None]) -> None:
        with self._ready:
            heapq.heappush(self._heap, (due, next(self._order), action))
            self._ready.notify()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._stopped and (not self._heap
                                             or self._heap[0][0] > time.monotonic()):
                    self._ready.wait(self._heap[0][0] - time.monotonic() if self._heap
                                     else None)
                if self._stopped:
                    return
                action = heapq.heappop(self._heap)[2]
            try:
                action()
            except Exception:
                log.exception("local calls: a scheduled step failed")


class LocalCallService(LoopbackServer):
    """The simulated provider: ``start()`` it (or use it as a context manager), give its
    ``url`` to ``LocalVoiceProvider``, ``stop()`` it. ``deliveries`` lists every webhook
    attempt made."""

    name = "local call service"
    thread_name = "lad-local-calls-http"

    def __init__(self, webhook_url: str | None, secret: str, *, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 1.0, clock: Clock | None = None,
                 api_key: str | None = None, chaos: Chaos | None = None, retries: int = 3,
                 retry_backoff: float = 0.2, delivery_timeout: float = 5.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.webhook_url = webhook_url
        self.chaos = chaos or Chaos()
        self.deliveries: list[Delivery] = []
        self._secret = secret
        self._api_key = api_key
        self._speed = speed
        self._clock = clock or SystemClock()
        self._retries = max(0, retries)
        self._backoff = retry_backoff
        self._address = (host, port)
        self._calls: dict[str, _Call] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._timers = _Timers()
        self._senders = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lad-webhooks")
        self._http = httpx.Client(timeout=delivery_timeout)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def start(self) -> Self:
        super().start()
        self._timers.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._timers.stop()
        super().stop()
        self._senders.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    # -- the API ---------------------------------------------------------------------------

    def place(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A new call from a ``POST /calls`` document: its id and status (ValueError says
        what is wrong)."""
        to = document.get("to")
        if not isinstance(to, str) or not _E164.fullmatch(to):
            raise ValueError("'to' must be a phone number in E.164 (+<country><number>)")
        limit = document.get("max_duration_seconds", 600)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 14400:
            raise ValueError("'max_duration_seconds' must be an integer from 1 to 14400")
        named = document.get("scenario")
        if named is not None and named not in Scenario.__members__.values():
            raise ValueError(f"unknown scenario {named!r}: one of "
                             f"{', '.join(s.value for s in Scenario)}")
        metadata = document.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError("'metadata' must be an object")
        call = _Call(id=f"call_{uuid.uuid4().hex}", to=to, from_=_text(document.get("from")),
                     agent=_text(document.get("agent")),
                     first_message=_text(document.get("first_message")),
                     metadata={str(k): str(v) for k, v in metadata.items()},
                     max_duration=limit,
                     scenario=Scenario(named) if named else scenario_for(to),
                     chaos=_chaos(self.chaos, document.get("chaos")),
                     created_at=self._clock.now(), real_start=time.monotonic())
        with self._lock:
            self._calls[call.id] = call
        self._script(call)
        return {"id": call.id, "status": call.status.value}

    def document(self, call_id: str) -> dict[str, Any] | None:
        with self._lock:
            call = self._calls.get(call_id)
            return None if call is None else call_document(call, self.url)

    def end(self, call_id: str) -> dict[str, Any] | None:
        with self._lock:
            call = self._calls.get(call_id)
            if call is None:
                return None
            elapsed = int((time.monotonic() - call.real_start) * self._speed)
            if call.status is CallStatus.IN_PROGRESS:
                answered = call.answered_at or 0
                # Timers may lag behind: never past the limit the call was due to end at.
                self._finish(call, CallStatus.COMPLETED, "ended_by_api",
                             min(max(elapsed, answered), answered + call.max_duration))
            elif not call.status.is_final:
                self._finish(call, CallStatus.CANCELLED, "ended_by_api", elapsed)
            return call_document(call, self.url)

    def wait_final(self, call_id: str, timeout: float = 10.0) -> bool:
        """Wait until the call is over (whatever its webhooks); whether it is."""
        with self._changed:
            return self._changed.wait_for(
                lambda: (call := self._calls.get(call_id)) is not None
                and call.status.is_final, timeout)

    def wait_status(self, call_id: str, status: CallStatus, timeout: float = 10.0) -> bool:
        """Wait until the call has come to ``status`` or gone past it; whether it has."""
        with self._changed:
            return self._changed.wait_for(
                lambda: (call := self._calls.get(call_id)) is not None
                and call.status.rank >= status.rank, timeout)

    def wait_settled(self, timeout: float = 10.0) -> bool:
        """Wait until every call is over, analysed when connected, and its webhooks sent
        (or given up); whether they are."""
        with self._changed:
            return self._changed.wait_for(
                lambda: all(call.settled for call in self._calls.values()), timeout)

    def authorized(self, header: str | None) -> bool:
        if self._api_key is None:
            return True
        return hmac.compare_digest((header or "").encode(), f"Bearer {self._api_key}".encode())

    # -- the simulation --------------------------------------------------------------------

    def _after(self, call: _Call, offset: float, action: Callable[[], None]) -> None:
        self._timers.at(call.real_start + offset / self._speed, action)

    def _script(self, call: _Call) -> None:
        scenario = call.scenario
        if scenario is Scenario.FAILED:
            self._after(call, 1, lambda: self._finish(call, CallStatus.FAILED,
                                                      "failed_to_connect", 1))
            return
        self._after(call, 1, lambda: self._ring(call))
        if scenario is Scenario.NO_ANSWER:
            end = 1 + RING_TIMEOUT
            self._after(call, end, lambda: self._finish(call, CallStatus.NO_ANSWER,
                                                        "no_answer", end))
            return
        if scenario is Scenario.BUSY:
            self._after(call, 3, lambda: self._finish(call, CallStatus.BUSY, "busy", 3))
            return
        answer = 1 + ring_seconds(call.to)
        self._after(call, answer, lambda: self._answer(call, answer))
        talk = (call.max_duration if scenario is Scenario.LONG
                else min(talk_seconds(call.to, scenario), call.max_duration))
        status = CallStatus.VOICEMAIL if scenario is Scenario.VOICEMAIL else CallStatus.COMPLETED
        reason = ("max_duration_reached" if talk == call.max_duration else
                  "voicemail" if scenario is Scenario.VOICEMAIL else "customer_ended_call")
        self._after(call, answer + talk,
                    lambda: self._finish(call, status, reason, answer + talk))

    def _ring(self, call: _Call) -> None:
        with self._lock:
            if call.status is CallStatus.QUEUED:
                call.status = CallStatus.RINGING
                self._changed.notify_all()
                self._emit(call, "ringing", 1)

    def _answer(self, call: _Call, offset: int) -> None:
        with self._lock:
            if call.status is CallStatus.RINGING:
                call.status = CallStatus.IN_PROGRESS
                call.answered_at = offset
                self._changed.notify_all()
                self._emit(call, "in_progress", offset)

    def _finish(self, call: _Call, status: CallStatus, reason: str, offset: int) -> None:
        with self._lock:
            if call.status.is_final:
                return
            call.status, call.ended_reason, call.ended_at = status, reason, offset
            self._changed.notify_all()
            if status.connected:
                call.transcript = _transcript(call)
                self._after(call, offset + ANALYSIS_DELAY,
                            lambda: self._analyze(call, offset + ANALYSIS_DELAY))
            self._emit(call, "ended", offset, final=True, last=not status.connected)

    def _analyze(self, call: _Call, offset: int) -> None:
        with self._lock:
            if call.analysis is None:
                call.analysis = _analysis(call)
                self._changed.notify_all()
                self._emit(call, "analyzed", offset, final=True, last=True)

    # -- the webhooks ----------------------------------------------------------------------

    def _emit(self, call: _Call, kind: str, offset: int, *, final: bool = False,
              last: bool = False) -> None:
        if self.webhook_url is None:
            return
        chaos = call.chaos
        if not (final and chaos.drop_final):
            body = json.dumps({"id": f"evt_{call.id}_{kind}", "type": kind,
                               "occurred_at": call.moment(offset),
                               "call": call_document(call, self.url)}).encode()
            copies = [body] * max(1, chaos.duplicates)
            if chaos.shuffle:
                call.held.extend(copies)
            elif final and chaos.delay_final > 0:
                call.delayed += 1
                self._after(call, offset + chaos.delay_final,
                            lambda: self._enqueue(call, copies, delayed=True))
            else:
                self._enqueue(call, copies)
        if last and call.held:
            held, call.held = call.held, []
            random.Random(chaos.seed).shuffle(held)
            self._enqueue(call, held)

    def _enqueue(self, call: _Call, bodies: Sequence[bytes], *, delayed: bool = False
                 ) -> None:
        with self._lock:
            call.delayed -= delayed
            call.outbox.extend(bodies)
            if call.sending or self._stopping.is_set():
                return
            call.sending = True
        try:
            self._senders.submit(self._drain, call)
        except RuntimeError:  # shut down meanwhile: nothing more is sent
            with self._lock:
                call.sending = False

    def _drain(self, call: _Call) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if not call.outbox:
                    call.sending = False
                    self._changed.notify_all()
                    return
                body = call.outbox.popleft()
            self._deliver(call, body)

    def _deliver(self, call: _Call, body: bytes) -> None:
        assert self.webhook_url is not None  # only queued when there is one
        event_id = str(json.loads(body)["id"])
        for attempt in range(1, self._retries + 2):
            status: int | None = None
            try:
                answer = self._http.post(self.webhook_url, content=body,
                                         headers=sign(self._secret, body, self._clock.now()))
                status = answer.status_code
            except httpx.HTTPError as error:
                log.info("local calls: webhook %s not delivered: %s", event_id, error)
            with self._lock:
                self.deliveries.append(Delivery(event_id, call.id, attempt, status))
            if status is not None and 200 <= status < 300:
                return
            if self._stopping.wait(self._backoff * 2 ** (attempt - 1)):
                return


def _handler(service: LocalCallService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("local calls: " + format, *args)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "recordings" and len(parts) == 2:
                self._answer(200, _SILENCE, "audio/wav")
            elif not self._allowed():
                return
            elif parts[0] == "calls" and len(parts) == 2:
                self._reply(service.document(parts[1]))
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            size = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(size)
            if not self._allowed():
                return
            if parts == ["calls"]:
                try:
                    document = json.loads(raw)
                    if not isinstance(document, dict):
                        raise ValueError("the body must be a JSON object")
                    placed = service.place(document)
                except ValueError as error:
                    self._json(422, {"error": str(error)})
                    return
                self._json(201, placed)
            elif len(parts) == 3 and parts[0] == "calls" and parts[2] == "end":
                self._reply(service.end(parts[1]))
            else:
                self._json(404, {"error": "not found"})

        def _allowed(self) -> bool:
            if service.authorized(self.headers.get("Authorization")):
                return True
            self._json(401, {"error": "a valid bearer API key is required"})
            return False

        def _reply(self, document: dict[str, Any] | None) -> None:
            if document is None:
                self._json(404, {"error": "no such call"})
            else:
                self._json(200, document)

        def _json(self, status: int, document: Mapping[str, Any]) -> None:
            self._answer(status, json.dumps(document).encode(), "application/json")

        def _answer(self, status: int, body: bytes, media_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _silence() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(8000)
        audio.writeframes(b"\x80" * 8000)
    return buffer.getvalue()


_SILENCE: Final = _silence()


def _chaos(default: Chaos, override: object) -> Chaos:
    if override is None:
        return default
    if not isinstance(override, dict):
        raise ValueError("'chaos' must be an object")
    known = {f.name for f in attrs.fields(Chaos)}
    unknown = set(override) - known
    if unknown:
        raise ValueError(f"unknown chaos options: {', '.join(sorted(unknown))}")
    try:
        return attrs.evolve(default, **override)
    except TypeError as error:
        raise ValueError(f"bad chaos options: {error}") from None


def _transcript(call: _Call) -> str:
    opening = call.first_message or "Hello, this is LAD calling."
    if call.scenario is Scenario.VOICEMAIL:
        return f"assistant: {opening} Please call us back when you can."
    if call.scenario is Scenario.DO_NOT_CALL:
        return f"assistant: {opening}\nuser: Please do not call me again."
    return f"assistant: {opening}\nuser: Sure, tell me more.\nassistant: Gladly."


def _analysis(call: _Call) -> dict[str, Any]:
    if call.scenario is Scenario.DO_NOT_CALL:
        return {"sentiment": "negative", "lead_category": "do_not_call",
                "summary": "The person asked not to be called again.",
                "extraction": {"interested": False}, "do_not_call": True,
                "model": "local"}
    if call.status is CallStatus.VOICEMAIL:
        return {"sentiment": "neutral", "lead_category": "voicemail",
                "summary": "A message was left on the voicemail.", "extraction": {},
                "do_not_call": False, "model": "local"}
    category = _CATEGORIES.get(call.to[-1], "interested")
    return {"sentiment": "neutral" if category == "not_interested" else "positive",
            "lead_category": category, "summary": f"The person is {category.replace('_', ' ')}.",
            "extraction": {"interested": category != "not_interested"},
            "do_not_call": False, "model": "local"}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -- the provider ------------------------------------------------------------------------

_KINDS = {"ringing": EventKind.STATUS, "in_progress": EventKind.STATUS,
          "ended": EventKind.ENDED, "analyzed": EventKind.ANALYZED}


class LocalVoiceProvider(ClosesItsClient[httpx.Client]):
    """Implements ``VoiceProvider`` over ``LocalCallService``'s API. Requests are never
    resent: a POST that may have arrived is the caller's to settle (TIMEOUT)."""

    def __init__(self, base_url: str, secret: str, api_key: str | None = None, *,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        if not secret:
            raise ValueError("the local provider needs a webhook secret")
        self._secret = secret.encode()
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  headers=headers, transport=transport)

    @property
    def name(self) -> str:
        return "local"

    def start_call(self, request: CallRequest) -> PlacedCall:
        body: dict[str, Any] = {
            "to": request.to, "from": request.from_, "agent": request.provider_agent_id,
            "language": request.language, "max_duration_seconds": request.max_duration_seconds,
            "first_message": request.first_message, "recording": request.recording,
            "metadata": {**request.metadata, "call_id": str(request.call_id),
                         "tenant_id": str(request.tenant_id)}}
        if "scenario" in request.metadata:
            body["scenario"] = request.metadata["scenario"]
        answer = self._send("POST", "/calls", "placing the call", json=body)
        document = answer_object(answer) if answer is not None else {}
        call_id = _text(document.get("id"))
        if call_id is None:
            raise ProviderError(ProviderErrorKind.TIMEOUT, "the local provider accepted the "
                                "call without naming it: it may have been placed")
        try:
            status = CallStatus(str(document.get("status", "queued")))
        except ValueError:
            status = CallStatus.QUEUED
        return PlacedCall(provider_call_id=call_id, status=status)

    def end_call(self, provider_call_id: str) -> None:
        self._send("POST", f"/calls/{_segment(provider_call_id)}/end", "ending the call")

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        """A call that is over is an ENDED event (with its analysis once it is ready); a
        live one a STATUS event."""
        answer = self._send("GET", f"/calls/{_segment(provider_call_id)}", "reading the call",
                            missing_ok=True)
        if answer is None:
            return None
        call = answer_object(answer)
        status = _status(call)
        kind = EventKind.ENDED if status.is_final else EventKind.STATUS
        return _event(call, kind, status, occurred_at=None)

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        self._verify(body, headers, now)
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValidationFailed.single("body", "the webhook is not JSON") from None
        if not isinstance(document, dict):
            raise ValidationFailed.single("body", "the webhook is not a JSON object")
        kind = _KINDS.get(str(document.get("type")))
        if kind is None:
            return ()
        call = document.get("call")
        if not isinstance(call, dict):
            raise ValidationFailed.single("call", "the webhook carries no call")
        status = _status(call)
        if document["type"] == "ringing":
            status = CallStatus.RINGING
        elif document["type"] == "in_progress":
            status = CallStatus.IN_PROGRESS
        return (_event(call, kind, status, _moment(document.get("occurred_at"), "occurred_at")),)

    def _verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        wanted = SIGNATURE_HEADER.lower()
        given = next((v for k, v in headers.items() if k.lower() == wanted), None)
        if not given:
            raise AuthenticationFailed(f"the webhook has no {SIGNATURE_HEADER} header")
        parts: dict[str, list[str]] = {}
        for item in given.split(","):
            name, _, value = item.strip().partition("=")
            parts.setdefault(name, []).append(value)
        stamps, signatures = parts.get("t", []), parts.get("v1", [])
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            raise AuthenticationFailed(f"the webhook's {SIGNATURE_HEADER} is malformed")
        signed_at = datetime.fromtimestamp(int(stamps[0]), UTC)
        if abs(now - signed_at) > TOLERANCE:
            raise AuthenticationFailed("the webhook's signature is stale")
        expected = hmac.new(self._secret, stamps[0].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        # Every candidate is compared, so the time taken does not say which one matched.
        matched = [hmac.compare_digest(expected.encode(), s.encode()) for s in signatures]
        if not any(matched):
            raise AuthenticationFailed("the webhook's signature does not match")

    def _send(self, method: str, path: str, what: str, *, missing_ok: bool = False,
              json: Mapping[str, Any] | None = None) -> httpx.Response | None:
        try:
            answer = self._http.request(method, path, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise ProviderError(ProviderErrorKind.UNAVAILABLE, f"the local provider could "
                                f"not be reached {what} ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise ProviderError(ProviderErrorKind.TIMEOUT, f"no answer from the local "
                                f"provider {what} ({type(error).__name__}): it may or may "
                                f"not have happened") from None
        status = answer.status_code
        if answer.is_success:
            return answer
        if status == 404 and missing_ok:
            return None
        detail = _text(answer_object(answer).get("error")) or answer.reason_phrase
        message = f"the local provider answered {status} {what}: {detail}"
        if status == 429:
            wait = retry_after(answer.headers.get("Retry-After"))
            raise ProviderError(ProviderErrorKind.THROTTLED, message,
                                retry_after=wait.total_seconds() if wait else None)
        kind = ProviderErrorKind.UNAVAILABLE if status >= 500 else ProviderErrorKind.REJECTED
        raise ProviderError(kind, message)


def _event(call: Mapping[str, Any], kind: EventKind, status: CallStatus,
           occurred_at: datetime | None) -> CallEvent:
    call_id = _text(call.get("id"))
    if call_id is None:
        raise ValidationFailed.single("call.id", "the call has no id")
    metadata = call.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    duration = call.get("duration_seconds")
    return CallEvent(
        provider="local", provider_call_id=call_id, kind=kind, status=status,
        occurred_at=occurred_at, call_id=_uuid(metadata.get("call_id")),
        tenant_id=_uuid(metadata.get("tenant_id")),
        started_at=_moment(call.get("started_at"), "call.started_at"),
        ended_at=_moment(call.get("ended_at"), "call.ended_at"),
        duration_seconds=duration if isinstance(duration, int) and status.is_final else None,
        costs=_costs(call), transcript=_text(call.get("transcript")),
        recording_url=_text(call.get("recording_url")), analysis=_analysis_of(call),
        ended_reason=_text(call.get("ended_reason")))


def _status(call: Mapping[str, Any]) -> CallStatus:
    try:
        return CallStatus(str(call.get("status")))
    except ValueError:
        raise ValidationFailed.single("call.status",
                                      f"unknown status {call.get('status')!r}") from None


def _costs(call: Mapping[str, Any]) -> tuple[CostLine, ...]:
    costs, rates = call.get("costs") or {}, call.get("rates") or {}
    if not isinstance(costs, dict) or not isinstance(rates, dict):
        raise ValidationFailed.single("call.costs", "must be an object")
    duration = call.get("duration_seconds")
    minutes = (Decimal(duration) / 60).quantize(_CENT) if isinstance(duration, int) else None
    lines = []
    for component in sorted(costs):
        amount = _decimal(costs[component], f"call.costs.{component}")
        rate = rates.get(component)
        lines.append(CostLine(component=component, amount=amount, minutes=minutes,
                              rate=_decimal(rate, f"call.rates.{component}")
                              if rate is not None else None))
    return tuple(lines)


def _analysis_of(call: Mapping[str, Any]) -> Analysis | None:
    found = call.get("analysis")
    if not isinstance(found, dict):
        return None
    extraction = found.get("extraction")
    return Analysis(sentiment=_text(found.get("sentiment")),
                    lead_category=_text(found.get("lead_category")),
                    summary=_text(found.get("summary")),
                    extraction=extraction if isinstance(extraction, dict) else {},
                    do_not_call=found.get("do_not_call") is True,
                    model=_text(found.get("model")))


def _decimal(value: object, field: str) -> Decimal:
    if not isinstance(value, str):
        raise ValidationFailed.single(field, "must be a decimal string")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationFailed.single(field, f"{value!r} is not a decimal") from None
    if not amount.is_finite():
        raise ValidationFailed.single(field, f"{value!r} is not a finite amount")
    return amount


def _moment(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed.single(field, f"{value!r} is not an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _segment(value: str) -> str:
    return quote(value, safe="")


