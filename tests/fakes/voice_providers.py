"""Fake Vapi and Retell: real HTTP servers on 127.0.0.1 (a thread running
``http.server.ThreadingHTTPServer``, an ephemeral port) with the endpoints LAD's voice
adapters call, the calls they hold, a log of every request, and a script of answers to
give instead (throttles with Retry-After, 5xx, slow answers, refusals); and the functions
that build correctly signed webhook deliveries of each provider.

    with FakeVapi() as fake:
        fake.script(status=429, retry_after="7", method="POST", path="/call")
        provider = VapiProvider(fake.url, fake.api_key, "whsec", "pn-1")
        ...
        body, headers = vapi_webhook("whsec", vapi_message("status-update", call, ...))

FakeVapi: ``POST /call``, ``GET /call/{id}``, ``POST /control/{id}`` (the call's
``monitor.controlUrl``; ``{"type": "end-call"}`` ends it). Errors are NestJS documents
``{"message", "error", "statusCode"}`` as Vapi's.
FakeRetell: ``POST /v2/create-phone-call``, ``GET /v2/get-call/{id}``,
``POST /v2/stop-call/{id}`` (204; 400 once ended). Errors are ``{"status": "error",
"message"}``.
Both require ``Authorization: Bearer <api_key>`` (the control URL requires nothing).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from lad_adapters.voice.normalise import hmac_sha256_hex
from tests.fakes.loopback import Answer, LoopbackFake, RecordedRequest, Scripted, running

__all__ = ["FakeRetell", "FakeVapi", "RecordedRequest", "retell_event", "retell_webhook",
           "running", "vapi_message", "vapi_secret_webhook", "vapi_webhook"]


class FakeProvider(LoopbackFake):
    """What both fakes share: life, the script, the log, the calls (by provider id)."""

    name = "fake provider"

    def __init__(self, api_key: str = "fake-voice-key") -> None:
        super().__init__(api_key)
        self.calls: dict[str, dict[str, Any]] = {}

    def script(self, *, status: int | None = None, retry_after: str | None = None,
               delay: float = 0.0, body: dict[str, Any] | None = None, times: int = 1,
               method: str | None = None, path: str | None = None) -> None:
        """The next ``times`` requests matching ``method`` and ``path`` (a prefix; None:
        any) get ``status`` (with ``body`` or an error document, and ``Retry-After`` when
        given) after ``delay`` seconds instead of the normal answer."""
        with self._lock:
            self._script.append(Scripted(status=status, retry_after=retry_after, delay=delay,
                                         body=body, method=method, path=path, times=times))

    def set_call(self, call_id: str, **fields: Any) -> dict[str, Any]:
        """Change a call (or add one) as the provider would have."""
        with self._lock:
            call = self.calls.setdefault(call_id, self._new_call(call_id))
            call.update(fields)
            return dict(call)

    # -- serving (on the server's threads) ---------------------------------------------

    def _new_call(self, call_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def _error(self, status: int, message: str) -> Answer:
        raise NotImplementedError

    def _route(self, request: RecordedRequest, parts: list[str]) -> Answer:
        raise NotImplementedError

    def _open(self, request: RecordedRequest, parts: list[str]) -> bool:
        """Whether this route needs no API key."""
        return False

    def serve(self, request: RecordedRequest) -> Answer:
        scripted = self._record(request)
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            if scripted.status is not None:
                answer = (Answer(scripted.status, scripted.body) if scripted.body is not None
                          else self._error(scripted.status, f"scripted {scripted.status}"))
                if scripted.retry_after:
                    answer.headers["Retry-After"] = scripted.retry_after
                return answer
        parts = [unquote(p) for p in request.path.split("/") if p]
        if not self._open(request, parts) and \
                request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Invalid API key")
        try:
            with self._lock:
                return self._route(request, parts)
        except Answer as answer:
            return answer


class FakeVapi(FakeProvider):
    name = "fake Vapi"

    def _new_call(self, call_id: str) -> dict[str, Any]:
        now = _iso(datetime.now(UTC))
        return {"id": call_id, "orgId": "org-fake", "type": "outboundPhoneCall",
                "status": "queued", "createdAt": now, "updatedAt": now,
                "monitor": {"listenUrl": f"ws://127.0.0.1/{call_id}/listen",
                            "controlUrl": f"{self.url}/control/{call_id}"}}

    def _error(self, status: int, message: str) -> Answer:
        return Answer(status, {"message": message, "error": _REASONS.get(status, "Error"),
                               "statusCode": status})

    def _open(self, request: RecordedRequest, parts: list[str]) -> bool:
        return bool(parts) and parts[0] == "control"

    def _route(self, request: RecordedRequest, parts: list[str]) -> Answer:
        if request.method == "POST" and parts == ["call"]:
            return self._create(request.json if isinstance(request.json, dict) else {})
        if len(parts) == 2 and parts[1] not in self.calls:
            raise self._error(404, f"Couldn't Find Call {parts[1]}")
        if request.method == "GET" and len(parts) == 2 and parts[0] == "call":
            return Answer(200, self.calls[parts[1]])
        if request.method == "POST" and len(parts) == 2 and parts[0] == "control":
            if not isinstance(request.json, dict) or request.json.get("type") != "end-call":
                raise self._error(400, "unknown control message")
            call = self.calls[parts[1]]
            if call["status"] != "ended":
                call.update(status="ended", endedReason="manually-canceled",
                            endedAt=_iso(datetime.now(UTC)))
            return Answer(200, {})
        raise self._error(404, f"Cannot {request.method} {request.path}")

    def _create(self, body: dict[str, Any]) -> Answer:
        number = (body.get("customer") or {}).get("number")
        problems = [name for name, ok in (
            ("assistantId", isinstance(body.get("assistantId"), str)),
            ("phoneNumberId", isinstance(body.get("phoneNumberId"), str)),
            ("customer.number must be a valid phone number in the E.164 format",
             isinstance(number, str) and number.startswith("+") and number[1:].isdigit()),
        ) if not ok]
        if problems:
            raise Answer(400, {"message": problems, "error": "Bad Request",
                               "statusCode": 400})
        call = self._new_call(str(uuid.uuid4()))
        call.update({key: body[key] for key in ("assistantId", "phoneNumberId", "customer",
                                                "assistantOverrides") if key in body})
        self.calls[call["id"]] = call
        return Answer(201, call)


class FakeRetell(FakeProvider):
    name = "fake Retell"

    def _new_call(self, call_id: str) -> dict[str, Any]:
        return {"call_id": call_id, "call_type": "phone_call", "agent_id": "agent_fake",
                "agent_version": 0, "call_status": "registered", "direction": "outbound",
                "from_number": "+14155550100", "to_number": "+14155550111",
                "metadata": {}}

    def _error(self, status: int, message: str) -> Answer:
        return Answer(status, {"status": "error", "message": message})

    def _route(self, request: RecordedRequest, parts: list[str]) -> Answer:
        if parts[:1] != ["v2"]:
            raise self._error(404, f"no route {request.path}")
        route = parts[1:]
        if request.method == "POST" and route == ["create-phone-call"]:
            return self._create(request.json if isinstance(request.json, dict) else {})
        if len(route) == 2 and route[1] not in self.calls:
            raise self._error(404, "Call not found")
        if request.method == "GET" and len(route) == 2 and route[0] == "get-call":
            return Answer(200, self.calls[route[1]])
        if request.method == "POST" and len(route) == 2 and route[0] == "stop-call":
            call = self.calls[route[1]]
            if call["call_status"] not in ("registered", "ongoing"):
                raise self._error(400, "Call is not ongoing")
            call.update(call_status="ended", disconnection_reason="manual_stopped",
                        end_timestamp=int(time.time() * 1000))
            return Answer(204, None)
        raise self._error(404, f"no route {request.method} {request.path}")

    def _create(self, body: dict[str, Any]) -> Answer:
        for field in ("from_number", "to_number"):
            value = body.get(field)
            if not (isinstance(value, str) and value.startswith("+") and value[1:].isdigit()):
                raise self._error(400, f"{field} must be a number in E.164 format")
        call = self._new_call("call_" + uuid.uuid4().hex)
        call.update(from_number=body["from_number"], to_number=body["to_number"],
                    metadata=body.get("metadata") or {},
                    agent_id=body.get("override_agent_id") or call["agent_id"])
        self.calls[call["call_id"]] = call
        return Answer(201, call)


_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}

def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- webhook deliveries --------------------------------------------------------------------

def _body(payload: Mapping[str, Any] | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def vapi_webhook(secret: str, payload: Mapping[str, Any] | bytes, *,
                 at: datetime | None = None, timestamp: str | None = None
                 ) -> tuple[bytes, dict[str, str]]:
    """A Vapi server message signed by an HMAC credential with Vapi's defaults:
    ``x-signature`` = hex HMAC-SHA256 of ``{timestamp}.{body}``, ``x-timestamp`` = Unix
    seconds of ``at`` (now) unless ``timestamp`` gives the header's text."""
    body = _body(payload)
    stamp = timestamp or str(int((at or datetime.now(UTC)).timestamp()))
    return body, {"Content-Type": "application/json", "x-timestamp": stamp,
                  "x-signature": hmac_sha256_hex(secret, stamp.encode() + b"." + body)}


def vapi_secret_webhook(secret: str, payload: Mapping[str, Any] | bytes
                        ) -> tuple[bytes, dict[str, str]]:
    """A Vapi server message with the legacy ``X-Vapi-Secret`` header."""
    return _body(payload), {"Content-Type": "application/json", "X-Vapi-Secret": secret}


def retell_webhook(secret: str, payload: Mapping[str, Any] | bytes, *,
                   at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """A Retell webhook signed as Retell does: ``x-retell-signature: v=<ms>,d=<hex>``, the
    HMAC-SHA256 (keyed with ``secret``, the API key) of the body then the timestamp."""
    body = _body(payload)
    stamp = str(int((at or datetime.now(UTC)).timestamp() * 1000))
    digest = hmac_sha256_hex(secret, body + stamp.encode())
    return body, {"Content-Type": "application/json",
                  "x-retell-signature": f"v={stamp},d={digest}"}


def vapi_message(kind: str, call: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A Vapi server message ``{"message": {"type": kind, "call": call, ...fields}}``."""
    return {"message": {"type": kind, "call": dict(call),
                        "timestamp": int(time.time() * 1000), **fields}}


def retell_event(event: str, call: Mapping[str, Any]) -> dict[str, Any]:
    return {"event": event, "call": dict(call)}
