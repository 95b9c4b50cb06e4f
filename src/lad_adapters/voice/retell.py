"""LAD's calls through Retell AI's HTTP API, and Retell's webhooks.

``RetellProvider`` implements ``lad_domain.voice.ports.VoiceProvider``.

The shapes used, from docs.retellai.com (API reference, "Register & handle webhooks",
"Secure the webhook") and Retell's SDKs:

- every request carries ``Authorization: Bearer <API key>``;
- ``POST /v2/create-phone-call`` with ``from_number`` and ``to_number`` (E.164, both
  required), ``override_agent_id``, ``metadata`` (any object, returned on the call) and
  ``agent_override`` (``agent.max_call_duration_ms``, ``retell_llm.begin_message``)
  answers a ``PhoneCallResponse`` (``call_id``, ``call_status`` ``registered``);
- ``GET /v2/get-call/{call_id}`` answers the call: ``call_status`` (``registered``,
  ``not_connected``, ``ongoing``, ``ended``, ``error``), ``disconnection_reason``,
  ``start_timestamp``/``end_timestamp`` (ms since the epoch), ``duration_ms``,
  ``transcript``, ``recording_url``, ``metadata``, ``call_cost`` (``combined_cost`` and
  ``product_costs[]`` ``{product, cost, unit_price}`` in cents, ``unit_price`` in cents per
  second, ``total_duration_seconds``) and ``call_analysis`` (``call_summary``,
  ``user_sentiment`` ``Positive``/``Negative``/``Neutral``/``Unknown``, ``in_voicemail``,
  ``call_successful``, ``custom_analysis_data``);
- ``POST /v2/stop-call/{call_id}`` ends a live call (204);
- webhooks are ``{"event": ..., "call": {...}}`` with ``call_started``, ``call_ended``,
  ``call_analyzed``; other events (``transcript_updated``, transfers...) are ignored;
- the header ``x-retell-signature: v=<ms timestamp>,d=<hex>`` is HMAC-SHA256, keyed with
  the API key that has the webhook badge, over the raw body followed by the timestamp's
  digits; the SDKs refuse a timestamp more than 5 minutes from their clock.

Where the documentation is silent we chose, and say so here:

- ``webhook_secret`` defaults to the API key (Retell signs with it); give the
  webhook-badged key when it is another one;
- ``from_number`` comes from the request, else the one configured; without either the
  call is refused before any request (Retell requires it);
- the first message goes in ``agent_override.retell_llm.begin_message`` (Retell-LLM
  agents); recording follows the agent's own settings at Retell;
- ``not_connected`` and ``error`` are FAILED unless the disconnection reason says more;
  ``ivr_reached`` is NO_ANSWER (a machine, not the person, answered), ``user_declined``
  NO_ANSWER, ``manual_stopped`` CANCELLED, an ended call whose analysis says
  ``in_voicemail`` is VOICEMAIL; a reason not in ``DISCONNECTION_REASONS`` is FAILED when
  it starts with ``error`` and otherwise COMPLETED when the call started, else FAILED;
- a cost line per product (``amount`` = cents / 100, ``minutes`` = the call's seconds / 60,
  ``rate`` = USD per minute from ``unit_price``), and an ``adjustment`` line when
  ``combined_cost`` differs from their sum;
- ``end_call`` on a call Retell refuses to stop (400) looks the call up: ended is done;
- ``fetch_call`` of an ended call is an ENDED event carrying the analysis when Retell has
  one (a ``call_analyzed`` webhook is an ANALYZED event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from lad_adapters.http_client import ClosesItsClient
from lad_adapters.voice.normalise import (
    CALL_ID_KEY,
    TENANT_ID_KEY,
    Clock,
    ProviderHttp,
    cents,
    do_not_call,
    flag,
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
    utc_now,
    whole_seconds,
    with_total,
)
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import Analysis, CallEvent, CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, PlacedCall, ProviderError, ProviderErrorKind

SIGNATURE_HEADER: Final = "x-retell-signature"

LIVE_STATUSES: Final = {"registered": CallStatus.QUEUED, "ongoing": CallStatus.IN_PROGRESS}
_S = CallStatus
DISCONNECTION_REASONS: Final = {
    "dial_busy": _S.BUSY,
    "dial_no_answer": _S.NO_ANSWER, "user_declined": _S.NO_ANSWER,
    "ivr_reached": _S.NO_ANSWER,
    "voicemail_reached": _S.VOICEMAIL, "machine_detected": _S.VOICEMAIL,
    "manual_stopped": _S.CANCELLED,
    **dict.fromkeys(("user_hangup", "agent_hangup", "call_transfer", "inactivity",
                     "max_duration_reached", "transfer_bridged", "transfer_cancelled"),
                    _S.COMPLETED),
    **dict.fromkeys(("dial_failed", "invalid_destination", "concurrency_limit_reached",
                     "no_valid_payment", "scam_detected", "marked_as_spam",
                     "telephony_provider_permission_denied",
                     "telephony_provider_unavailable", "sip_routing_error",
                     "registered_call_timeout"), _S.FAILED),
}
_EVENT_KINDS: Final = {"call_started": EventKind.STATUS, "call_ended": EventKind.ENDED,
                       "call_analyzed": EventKind.ANALYZED}


def ended_status(reason: str | None, *, started: bool, in_voicemail: bool = False
                 ) -> CallStatus:
    """The final status a ``disconnection_reason`` means (see the module docstring)."""
    status = DISCONNECTION_REASONS.get(reason or "")
    if status is None:
        failed = reason is not None and reason.startswith("error")
        status = CallStatus.COMPLETED if started and not failed else CallStatus.FAILED
    if status is CallStatus.COMPLETED and in_voicemail:
        return CallStatus.VOICEMAIL
    return status


class RetellProvider(ClosesItsClient[ProviderHttp]):
    """Calls through Retell. One connection pool per instance; ``close()`` it (or
    ``with``)."""

    def __init__(self, base_url: str, api_key: str, webhook_secret: str | None = None,
                 from_number: str | None = None, *, timeout: float = 10.0,
                 retries: int = 2, backoff: float = 0.2,
                 transport: httpx.BaseTransport | None = None,
                 clock: Clock = utc_now) -> None:
        if not api_key:
            raise ValueError("a Retell API key is required")
        self._secret = webhook_secret or api_key
        self._from_number = from_number
        self._http = ProviderHttp("Retell", base_url,
                                  {"Authorization": f"Bearer {api_key}"}, timeout=timeout,
                                  retries=retries, backoff=backoff, transport=transport,
                                  clock=clock)

    @property
    def name(self) -> str:
        return "retell"

    # -- the API -------------------------------------------------------------------------

    def start_call(self, request: CallRequest) -> PlacedCall:
        from_number = request.from_ or self._from_number
        if not from_number:
            raise ProviderError(ProviderErrorKind.REJECTED,
                                "Retell needs a number to call from: the request has none "
                                "and no from_number is configured")
        override: dict[str, Any] = {
            "agent": {"max_call_duration_ms": request.max_duration_seconds * 1000}}
        if request.first_message:
            override["retell_llm"] = {"begin_message": request.first_message}
        body: dict[str, Any] = {
            "from_number": from_number, "to_number": request.to,
            "metadata": {**request.metadata, CALL_ID_KEY: str(request.call_id),
                         TENANT_ID_KEY: str(request.tenant_id)},
            "agent_override": override,
        }
        if request.provider_agent_id:
            body["override_agent_id"] = request.provider_agent_id
        return self._http.place("/v2/create-phone-call", body, to=request.to, id_key="call_id",
                                status_key="call_status", live=LIVE_STATUSES)

    def fetch_call(self, provider_call_id: str) -> CallEvent | None:
        call = self._http.call(f"/v2/get-call/{quote(provider_call_id, safe='')}",
                               provider_call_id)
        if call is None or text(call.get("call_id")) is None:
            return None
        live = LIVE_STATUSES.get(text(call.get("call_status")) or "")
        if live is not None:
            return self._event(call, EventKind.STATUS, live)
        return self._event(call, EventKind.ENDED, analysed=True)

    def end_call(self, provider_call_id: str) -> None:
        response = self._http.post(f"/v2/stop-call/{quote(provider_call_id, safe='')}")
        if response.is_success or response.status_code == 404:
            return
        now = self.fetch_call(provider_call_id)
        if now is None or now.status.is_final:
            return
        raise self._http.refused(response, f"to stop call {provider_call_id}")

    # -- webhooks ------------------------------------------------------------------------

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        self._verify(body, headers, now)
        document = json_object(body, "Retell")
        event = text(document.get("event"))
        if event is None:
            raise ValidationFailed.single("event", "the Retell webhook names no event")
        if event not in _EVENT_KINDS:
            return ()
        call = document.get("call")
        if not isinstance(call, Mapping) or text(call.get("call_id")) is None:
            raise ValidationFailed.single("call.call_id", f"the Retell {event} webhook "
                                                          f"names no call")
        kind = _EVENT_KINDS[event]
        if kind is EventKind.STATUS:
            return (self._event(call, kind, CallStatus.IN_PROGRESS),)
        return (self._event(call, kind),)

    def _verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        given = header(headers, SIGNATURE_HEADER)
        if not given:
            raise AuthenticationFailed(f"the Retell webhook is not signed (no "
                                       f"{SIGNATURE_HEADER} header)")
        parts = dict(p.split("=", 1) for p in given.strip().split(",") if "=" in p)
        stamp, digest = parts.get("v", ""), parts.get("d", "")
        if not stamp.isdigit() or not digest:
            raise AuthenticationFailed(f"the Retell webhook's {SIGNATURE_HEADER} is not "
                                       f"'v=<timestamp>,d=<digest>'")
        if not same(hmac_sha256_hex(self._secret, body + stamp.encode()), digest):
            raise AuthenticationFailed("the Retell webhook's signature does not match its "
                                       "body")
        signed_at = moment(int(stamp))
        if signed_at is None:
            raise AuthenticationFailed("the Retell webhook's timestamp is not a time")
        fresh(signed_at, now, "Retell")

    # -- normalising ---------------------------------------------------------------------

    def _event(self, call: Mapping[str, Any], kind: EventKind,
               status: CallStatus | None = None, *, analysed: bool = False) -> CallEvent:
        started = moment(call.get("start_timestamp"))
        ended = moment(call.get("end_timestamp"))
        reason = text(call.get("disconnection_reason"))
        report = mapping(call.get("call_analysis"))
        if status is None:
            status = ended_status(reason, started=started is not None,
                                  in_voicemail=flag(report.get("in_voicemail")))
        duration_ms = number(call.get("duration_ms"))
        call_id, tenant_id = our_ids(mapping(call.get("metadata")))
        return CallEvent(
            provider=self.name, provider_call_id=str(call["call_id"]), kind=kind,
            status=status, occurred_at=ended if status.is_final else started,
            call_id=call_id, tenant_id=tenant_id, started_at=started, ended_at=ended,
            duration_seconds=whole_seconds(
                duration_ms.scaleb(-3) if duration_ms is not None else None, started, ended),
            costs=_costs(mapping(call.get("call_cost"))),
            transcript=text(call.get("transcript")),
            recording_url=text(call.get("recording_url")),
            analysis=_analysis(report) if analysed or kind is EventKind.ANALYZED else None,
            ended_reason=reason if status.is_final else None)


def _costs(cost: Mapping[str, Any]) -> tuple[CostLine, ...]:
    seconds = number(cost.get("total_duration_seconds"))
    minutes = seconds / 60 if seconds is not None else None
    lines: list[CostLine] = []
    taken: set[str] = set()
    products = cost.get("product_costs")
    for item in products if isinstance(products, list) else []:
        product = mapping(item)
        amount = cents(product.get("cost"))
        if amount is None:
            continue
        per_second = cents(product.get("unit_price"))
        lines.append(CostLine(unique(text(product.get("product")) or "other", taken), amount,
                              minutes=minutes,
                              rate=per_second * 60 if per_second is not None else None))
    return with_total(lines, cents(cost.get("combined_cost")))


def _analysis(report: Mapping[str, Any]) -> Analysis | None:
    if not report:
        return None
    custom = dict(mapping(report.get("custom_analysis_data")))
    extraction: dict[str, Any] = {**custom}
    for key in ("call_successful", "in_voicemail"):
        if key in report:
            extraction[key] = report[key]
    return Analysis(sentiment=sentiment(report.get("user_sentiment")),
                    lead_category=lead_category(custom),
                    summary=text(report.get("call_summary")), extraction=extraction,
                    do_not_call=do_not_call(custom))

