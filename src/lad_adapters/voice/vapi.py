"""LAD's calls through Vapi's HTTP API, and Vapi's server messages (webhooks).

``VapiProvider`` implements ``lad_domain.voice.ports.VoiceProvider``.

The shapes used, from docs.vapi.ai (API reference and "Server events", "Server
authentication", "Live call control"):

- every API request carries ``Authorization: Bearer <private API key>``;
- ``POST /call`` with ``assistantId``, ``phoneNumberId``, ``customer.number`` (E.164) and
  ``assistantOverrides`` (``metadata``, ``maxDurationSeconds``, ``firstMessage``,
  ``artifactPlan.recordingEnabled``) answers a ``Call`` (``id``, ``status``);
- ``GET /call/{id}`` answers a ``Call``: ``status`` (``scheduled``, ``queued``,
  ``ringing``, ``in-progress``, ``forwarding``, ``ended``, ``not-found``,
  ``deletion-failed``), ``endedReason``, ``startedAt``/``endedAt`` (ISO-8601), ``cost``
  (USD), ``costs[]`` (``type``, ``cost`` in USD, ``minutes``, ``subType``,
  ``analysisType``), ``artifact`` (``transcript``, ``recordingUrl``,
  ``recording.mono.combinedUrl``, ``recording.stereoUrl``), ``analysis`` (``summary``,
  ``structuredData``, ``successEvaluation``), ``assistantOverrides.metadata`` and
  ``monitor.controlUrl``;
- a live call is ended by ``POST <monitor.controlUrl>`` with ``{"type": "end-call"}``
  (Live Call Control; the URL carries no API key and we send none);
- server messages are ``{"message": {"type", "call", "timestamp", ...}}``:
  ``status-update`` (``status``, ``endedReason`` when ended) and ``end-of-call-report``
  (``endedReason``, ``cost``, ``costs``, ``artifact``, ``analysis``, ``startedAt``,
  ``endedAt``, ``durationSeconds``); every other type says nothing about the call's
  status (``transcript``, ``speech-update``, ``conversation-update``, ``hang``,
  ``tool-calls``...) and is ignored;
- server messages are authenticated by a custom credential: HMAC (``secretKey``,
  ``algorithm``, ``signatureHeader`` default ``x-signature``, ``timestampHeader`` default
  ``x-timestamp``, ``payloadFormat`` default ``{timestamp}.{body}``,
  ``signatureEncoding`` default ``hex``, optional ``signaturePrefix``), or a bearer token
  sent in ``X-Vapi-Secret`` (the legacy ``secret``) or ``Authorization: Bearer``.

Where the documentation is silent we chose, and say so here:

- ``webhook_auth="hmac"`` (the default) expects the credential with those defaults and
  SHA-256; the timestamp must be there (a delivery without it is refused) and within 5
  minutes of our clock; it is read as Unix seconds, milliseconds (13 digits or more) or
  ISO-8601, since the docs do not say which. An optional ``sha256=`` prefix is accepted.
  ``webhook_auth="secret"`` compares ``X-Vapi-Secret`` (or the bearer token) with the
  secret; it has no timestamp to check;
- the call is placed from the configured ``phone_number_id``; ``CallRequest.from_`` is
  not sent (Vapi names numbers by id);
- our ids travel in ``assistantOverrides.metadata`` and are read back from
  ``call.metadata``, ``call.assistantOverrides.metadata`` or ``assistant.metadata``;
- ``end-of-call-report`` becomes an ENDED event and, when it has an analysis, an
  ANALYZED event carrying it (Vapi sends no separate analysis message); ``fetch_call`` of
  an ended call is one ENDED event carrying the analysis;
- ended reasons: the table ``ENDED_REASONS``; a reason not in it is FAILED when it names
  an error, fault or failure, else COMPLETED when the call had started, else FAILED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx

from lad_adapters.http_client import ClosesItsClient
from lad_adapters.voice.normalise import (
    CALL_ID_KEY,
    TENANT_ID_KEY,
    Clock,
    ProviderHttp,
    do_not_call,
    first_text,
    fresh,
    header,
    hmac_sha256_hex,
    json_object,
    lead_category,
    mapping,
    moment,
    number,
    our_ids,
    same,
    sentiment,
    text,
    unique,
    usd,
    utc_now,
    whole_seconds,
    with_total,
)
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import Analysis, CallEvent, CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, PlacedCall, ProviderError, ProviderErrorKind

SIGNATURE_HEADER: Final = "x-signature"
TIMESTAMP_HEADER: Final = "x-timestamp"
SECRET_HEADER: Final = "X-Vapi-Secret"

LIVE_STATUSES: Final = {
    "scheduled": CallStatus.QUEUED, "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING, "in-progress": CallStatus.IN_PROGRESS,
    "forwarding": CallStatus.IN_PROGRESS,
}
_S = CallStatus
ENDED_REASONS: Final = {
    "customer-did-not-answer": _S.NO_ANSWER,
    "customer-busy": _S.BUSY,
    "voicemail": _S.VOICEMAIL,
    "manually-canceled": _S.CANCELLED, "scheduled-call-deleted": _S.CANCELLED,
    "call-deleted": _S.CANCELLED,
    "call.ringing.sip-inbound-caller-hungup-before-call-connect": _S.CANCELLED,
    **dict.fromkeys((
        "hangup", "customer-ended-call", "customer-ended-call-before-warm-transfer",
        "customer-ended-call-after-warm-transfer-attempt",
        "customer-ended-call-during-transfer", "assistant-ended-call",
        "assistant-said-end-call-phrase", "assistant-ended-call-with-hangup-task",
        "assistant-ended-call-after-message-spoken", "assistant-forwarded-call",
        "exceeded-max-duration", "silence-timed-out", "vonage-completed",
        "call.in-progress.twilio-completed-call", "call.in-progress.sip-completed-call",
        "call.forwarding.operator-busy", "call.ringing.hook-executed-say",
        "call.ringing.hook-executed-transfer", "call.ending.hook-executed-say",
        "call.ending.hook-executed-transfer", "phone-call-provider-closed-websocket",
        "vonage-disconnected"), _S.COMPLETED),
    **dict.fromkeys((
        "twilio-failed-to-connect-call", "twilio-reported-customer-misdialed",
        "vonage-rejected", "vonage-failed-to-connect-call", "assistant-join-timed-out",
        "customer-did-not-give-microphone-permission", "assistant-not-found",
        "assistant-not-valid", "worker-shutdown",
        "phone-call-provider-bypass-enabled-but-no-call-received"), _S.FAILED),
}
_FAILURE_WORDS = ("error", "fault", "failed")


def ended_status(reason: str | None, *, started: bool) -> CallStatus:
    """The final status an ``endedReason`` means (see the module docstring)."""
    if reason is None:
        return CallStatus.COMPLETED if started else CallStatus.FAILED
    if reason in ENDED_REASONS:
        return ENDED_REASONS[reason]
    if any(word in reason for word in _FAILURE_WORDS):
        return CallStatus.FAILED
    return CallStatus.COMPLETED if started else CallStatus.FAILED


class VapiProvider(ClosesItsClient[ProviderHttp]):
    """Calls through Vapi. One connection pool per instance; ``close()`` it (or ``with``)."""

    def __init__(self, base_url: str, api_key: str, webhook_secret: str,
                 phone_number_id: str | None = None, *, timeout: float = 10.0,
                 retries: int = 2, backoff: float = 0.2,
                 webhook_auth: Literal["hmac", "secret"] = "hmac",
                 transport: httpx.BaseTransport | None = None,
                 clock: Clock = utc_now) -> None:
        if not api_key:
            raise ValueError("a Vapi API key is required")
        if not webhook_secret:
            raise ValueError("a Vapi webhook secret is required")
        self._secret = webhook_secret
        self._auth = webhook_auth
        self._phone_number_id = phone_number_id
        self._http = ProviderHttp("Vapi", base_url, {"Authorization": f"Bearer {api_key}"},
                                  timeout=timeout, retries=retries, backoff=backoff,
                                  transport=transport, clock=clock)

    @property
    def name(self) -> str:
        return "vapi"

    # -- the API -------------------------------------------------------------------------

    def start_call(self, request: CallRequest) -> PlacedCall:
        if not request.provider_agent_id:
            raise ProviderError(ProviderErrorKind.REJECTED,
                                "the agent has no Vapi assistant id (provider_agent_id)")
        if not self._phone_number_id:
            raise ProviderError(ProviderErrorKind.REJECTED,
                                "no Vapi phone number id is configured (phone_number_id)")
        overrides: dict[str, Any] = {
            "metadata": {**request.metadata, CALL_ID_KEY: str(request.call_id),
                         TENANT_ID_KEY: str(request.tenant_id)},
            "maxDurationSeconds": request.max_duration_seconds,
            "artifactPlan": {"recordingEnabled": request.recording},
        }
        if request.first_message:
            overrides["firstMessage"] = request.first_message
        body = {"assistantId": request.provider_agent_id,
                "phoneNumberId": self._phone_number_id,
                "customer": {"number": request.to}, "assistantOverrides": overrides}
        return self._http.place("/call", body, to=request.to, id_key="id",
                                status_key="status", live=LIVE_STATUSES)

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        call = self._http.call(f"/call/{quote(provider_call_id, safe='')}", provider_call_id)
        if call is None:
            return None
        status = text(call.get("status"))
        if status == "ended":
            return self._event(call, call, EventKind.ENDED, analysed=True)
        if status not in LIVE_STATUSES:
            return None
        return self._event(call, call, EventKind.STATUS, status=LIVE_STATUSES[status])

    def end_call(self, provider_call_id: str) -> None:
        call = self._http.call(f"/call/{quote(provider_call_id, safe='')}", provider_call_id)
        if call is None or text(call.get("status")) in ("ended", "not-found"):
            return
        control = text(mapping(call.get("monitor")).get("controlUrl"))
        if control is None:
            raise ProviderError(ProviderErrorKind.REJECTED,
                                f"Vapi gave no control URL for call {provider_call_id}: "
                                f"it cannot be ended")
        ended = self._http.post(control, json={"type": "end-call"}, authorized=False)
        if not ended.is_success and ended.status_code != 404:
            raise self._http.refused(ended, f"to end call {provider_call_id}")

    # -- server messages -----------------------------------------------------------------

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        self._verify(body, headers, now)
        message = json_object(body, "Vapi").get("message")
        if not isinstance(message, Mapping):
            raise ValidationFailed.single("message", "the Vapi server message has no "
                                                     "'message' object")
        kind = text(message.get("type"))
        if kind is None:
            raise ValidationFailed.single("message.type", "the Vapi server message names "
                                                          "no type")
        if kind not in ("status-update", "end-of-call-report"):
            return ()
        call = message.get("call")
        if not isinstance(call, Mapping) or text(call.get("id")) is None:
            raise ValidationFailed.single("message.call.id", f"the Vapi {kind} message "
                                                             f"names no call")
        if kind == "end-of-call-report":
            ended = self._event(message, call, EventKind.ENDED)
            analysed = self._event(message, call, EventKind.ANALYZED, analysed=True)
            return (ended, analysed) if analysed.analysis else (ended,)
        status = first_text(message.get("status"), call.get("status"))
        if status is None:
            raise ValidationFailed.single("message.status", "the Vapi status-update "
                                                            "names no status")
        if status == "ended":
            return (self._event(message, call, EventKind.STATUS),)
        if status not in LIVE_STATUSES:
            return ()
        return (self._event(message, call, EventKind.STATUS, status=LIVE_STATUSES[status]),)

    def _verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        if self._auth == "secret":
            given = header(headers, SECRET_HEADER) or (
                header(headers, "Authorization") or "").removeprefix("Bearer ")
            if not given:
                raise AuthenticationFailed(f"the Vapi webhook carries no secret "
                                           f"({SECRET_HEADER})")
            if not same(self._secret, given):
                raise AuthenticationFailed("the Vapi webhook's secret is wrong")
            return
        signature = header(headers, SIGNATURE_HEADER)
        stamp = header(headers, TIMESTAMP_HEADER)
        if not signature or not stamp:
            raise AuthenticationFailed(f"the Vapi webhook is not signed (no "
                                       f"{SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header)")
        signed_at = _stamp(stamp)
        if signed_at is None:
            raise AuthenticationFailed(f"the Vapi webhook's {TIMESTAMP_HEADER} is not a "
                                       f"time: {stamp[:40]!r}")
        expected = hmac_sha256_hex(self._secret, stamp.strip().encode() + b"." + body)
        if not same(expected, signature.strip().removeprefix("sha256=")):
            raise AuthenticationFailed("the Vapi webhook's signature does not match its "
                                       "body")
        fresh(signed_at, now, "Vapi")

    # -- normalising ---------------------------------------------------------------------

    def _event(self, message: Mapping[str, Any], call: Mapping[str, Any], kind: EventKind,
               *, status: CallStatus | None = None, analysed: bool = False) -> CallEvent:
        """The event of a server message (or of a ``Call``, given as both)."""
        started = moment(message.get("startedAt")) or moment(call.get("startedAt"))
        ended = moment(message.get("endedAt")) or moment(call.get("endedAt"))
        reason = first_text(message.get("endedReason"), call.get("endedReason"))
        if status is None:
            status = ended_status(reason, started=started is not None)
        artifact = {**mapping(call.get("artifact")), **mapping(message.get("artifact"))}
        recording = mapping(artifact.get("recording"))
        call_id, tenant_id = our_ids({
            **mapping(mapping(message.get("assistant")).get("metadata")),
            **mapping(mapping(call.get("assistantOverrides")).get("metadata")),
            **mapping(call.get("metadata"))})
        return CallEvent(
            provider=self.name, provider_call_id=str(call["id"]), kind=kind, status=status,
            occurred_at=moment(message.get("timestamp")), call_id=call_id,
            tenant_id=tenant_id, started_at=started, ended_at=ended,
            duration_seconds=whole_seconds(message.get("durationSeconds"), started, ended),
            costs=_costs(message.get("costs") or call.get("costs"),
                         message.get("cost") if "cost" in message else call.get("cost")),
            transcript=first_text(artifact.get("transcript"), message.get("transcript")),
            recording_url=first_text(artifact.get("recordingUrl"),
                                     mapping(recording.get("mono")).get("combinedUrl"),
                                     recording.get("stereoUrl"),
                                     message.get("recordingUrl")),
            analysis=_analysis(message.get("analysis") or call.get("analysis"))
            if analysed else None,
            ended_reason=reason if status.is_final else None)


def _stamp(value: str) -> datetime | None:
    value = value.strip()
    if value.isdigit():
        return moment(int(value) if len(value) >= 13 else int(value) * 1000)
    return moment(value)


def _costs(items: object, total: object) -> tuple[CostLine, ...]:
    lines: list[CostLine] = []
    taken: set[str] = set()
    for item in items if isinstance(items, list) else []:
        cost = mapping(item)
        amount = usd(cost.get("cost"))
        if amount is None:
            continue
        kind = text(cost.get("type")) or "other"
        detail = first_text(cost.get("subType"), cost.get("analysisType"))
        lines.append(CostLine(unique(f"{kind}:{detail}" if detail else kind, taken), amount,
                              minutes=number(cost.get("minutes"))))
    return with_total(lines, usd(total))


def _analysis(value: object) -> Analysis | None:
    data = mapping(value)
    structured = dict(mapping(data.get("structuredData")))
    summary = text(data.get("summary"))
    evaluation = data.get("successEvaluation")
    if not structured and summary is None and evaluation is None:
        return None
    extraction = {**structured, **({"success_evaluation": evaluation}
                                   if evaluation is not None else {})}
    return Analysis(sentiment=sentiment(structured.get("sentiment")),
                    lead_category=lead_category(structured), summary=summary,
                    extraction=extraction, do_not_call=do_not_call(structured))
