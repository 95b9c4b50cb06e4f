"""The local call provider end to end over real HTTP: the service simulates each scenario
and posts signed webhooks to a receiver on loopback; ``LocalVoiceProvider`` places, ends
and fetches calls and reads what was posted. Its error mapping runs against a stub."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from lad_adapters.voice.local import (
    Chaos,
    LocalCallService,
    LocalVoiceProvider,
    sign,
)
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import CallEvent, CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, ProviderError, ProviderErrorKind, VoiceProvider

SECRET = "whsec-local-test"
SPEED = 1000.0
TENANT = uuid.UUID("00000000-0000-7000-8000-000000000001")


class Receiver:
    """Webhook deliveries as they arrive (answering 500 to the first ``failing``)."""

    def __init__(self, failing: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.failing = failing
        self.arrived = threading.Condition()
        self.server = _serve(self._handle)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhooks/local"

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        with self.arrived:
            if self.failing > 0:
                self.failing -= 1
                return 500, b""
            self.posts.append((dict(handler.headers.items()), body))
            self.arrived.notify_all()
        return 204, b""

    def wait_for(self, found: Callable[[list[tuple[dict[str, str], bytes]]], bool]) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: found(self.posts), timeout=10)


def _serve(answer: Callable[[BaseHTTPRequestHandler, bytes], tuple[int, bytes]],
           extra: dict[str, str] | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, reply = answer(self, body)
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def service(receiver: Receiver) -> Iterator[LocalCallService]:
    with LocalCallService(receiver.url, SECRET, speed=SPEED, retry_backoff=0.001) as service:
        yield service


@pytest.fixture
def provider(service: LocalCallService) -> Iterator[LocalVoiceProvider]:
    with LocalVoiceProvider(service.url, SECRET, timeout=5) as provider:
        yield provider


def request(to: str, *, max_duration: int = 600, **metadata: str) -> CallRequest:
    return CallRequest(call_id=uuid.uuid4(), tenant_id=TENANT, to=to, from_="+14155550100",
                       provider_agent_id="agent-1", language="en",
                       max_duration_seconds=max_duration, first_message="Hi, it's Ada.",
                       metadata=metadata)


def received(provider: VoiceProvider, receiver: Receiver) -> list[CallEvent]:
    now = datetime.now(UTC)
    return [event for headers, body in receiver.posts
            for event in provider.read_webhook(body, headers, now)]


def settle(service: LocalCallService) -> None:
    assert service.wait_settled(timeout=10)


# -- the scenarios -------------------------------------------------------------------------


def test_an_answered_call_reports_ringing_answered_ended_then_analyzed(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    call = request("+12125550146")
    placed = provider.start_call(call)
    settle(service)

    events = received(provider, receiver)
    assert [(e.kind, e.status) for e in events] == [
        (EventKind.STATUS, CallStatus.RINGING), (EventKind.STATUS, CallStatus.IN_PROGRESS),
        (EventKind.ENDED, CallStatus.COMPLETED), (EventKind.ANALYZED, CallStatus.COMPLETED)]
    assert {(e.provider_call_id, e.call_id, e.tenant_id) for e in events} == {
        (placed.provider_call_id, call.call_id, TENANT)}
    ended = events[2]
    assert ended.duration_seconds == 34  # 20 + the digits "14" before the last
    assert ended.ended_at is not None and ended.started_at is not None
    assert ended.ended_at - ended.started_at == timedelta(seconds=34)
    assert ended.costs == (
        CostLine("telephony", Decimal("0.0068"), Decimal("0.5667"), Decimal("0.0120")),
        CostLine("voice", Decimal("0.0340"), Decimal("0.5667"), Decimal("0.0600")))
    assert ended.ended_reason == "customer_ended_call"
    assert ended.transcript is not None and "Hi, it's Ada." in ended.transcript
    assert ended.recording_url == f"{service.url}/recordings/{placed.provider_call_id}.wav"
    analysis = events[3].analysis
    assert analysis is not None
    assert (analysis.lead_category, analysis.do_not_call) == ("interested", False)


@pytest.mark.parametrize(("to", "statuses", "reason", "duration"), [
    ("+12125550130", ["ringing", "no_answer"], "no_answer", 0),
    ("+12125550131", ["ringing", "busy"], "busy", 0),
    ("+12125550132", ["ringing", "in_progress", "voicemail", "voicemail"], "voicemail", 13),
    ("+12125550133", ["ringing", "in_progress", "completed", "completed"],
     "max_duration_reached", 60),
    ("+12125550134", ["failed"], "failed_to_connect", 0),
    ("+12125550135", ["ringing", "in_progress", "completed", "completed"],
     "customer_ended_call", 33),
])
def test_the_last_digit_chooses_the_scenario(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver,
        to: str, statuses: list[str], reason: str, duration: int) -> None:
    provider.start_call(request(to, max_duration=60))
    settle(service)

    events = received(provider, receiver)
    assert [e.status.value for e in events] == statuses
    [ended] = [e for e in events if e.kind is EventKind.ENDED]
    assert (ended.ended_reason, ended.duration_seconds) == (reason, duration)
    assert bool(ended.costs) == ended.status.connected


def test_a_do_not_call_analysis_says_so(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    provider.start_call(request("+12125550135"))
    settle(service)

    [analyzed] = [e for e in received(provider, receiver) if e.kind is EventKind.ANALYZED]
    assert analyzed.analysis is not None
    assert analyzed.analysis.do_not_call is True
    assert analyzed.analysis.lead_category == "do_not_call"


def test_a_scenario_named_in_the_request_overrides_the_number(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    provider.start_call(request("+12125550130", scenario="busy"))
    settle(service)

    assert [e.status for e in received(provider, receiver)] == [CallStatus.RINGING,
                                                                 CallStatus.BUSY]


def test_an_unknown_scenario_is_rejected(provider: LocalVoiceProvider) -> None:
    with pytest.raises(ProviderError) as refused:
        provider.start_call(request("+12125550146", scenario="haunted"))

    assert refused.value.kind == ProviderErrorKind.REJECTED
    assert "unknown scenario" in refused.value.message


def test_ending_a_long_call_completes_it_then(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    placed = provider.start_call(request("+12125550133", max_duration=3600))
    receiver.wait_for(lambda posts: any(b'"in_progress"' in body for _, body in posts))

    provider.end_call(placed.provider_call_id)
    settle(service)

    [ended] = [e for e in received(provider, receiver) if e.kind is EventKind.ENDED]
    assert (ended.status, ended.ended_reason) == (CallStatus.COMPLETED, "ended_by_api")
    assert ended.duration_seconds is not None and ended.duration_seconds < 3600


def test_fetching_an_unknown_call_answers_none(provider: LocalVoiceProvider) -> None:
    assert provider.fetch_call("call_nobody") is None


# -- signatures ------------------------------------------------------------------------------


def test_a_delivery_is_signed_over_its_raw_bytes(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    provider.start_call(request("+12125550134"))
    settle(service)
    [(headers, body)] = receiver.posts

    assert headers["X-Lad-Signature"].startswith("t=")
    with pytest.raises(AuthenticationFailed, match="does not match"):
        provider.read_webhook(body.replace(b"failed", b"complet"), headers, datetime.now(UTC))


#: The time the signature checks below are made at (signed at collection, read at run: one
#: fixed instant, so a long session cannot move a "stale" signature back into the window).
CHECKED_AT = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "no X-Lad-Signature"),
    ({"X-Lad-Signature": "v1=abc"}, "malformed"),
    ({"X-Lad-Signature": "t=soon,v1=abc"}, "malformed"),
    (sign("another secret", b"{}", CHECKED_AT), "does not match"),
    (sign(SECRET, b"{}", CHECKED_AT - timedelta(minutes=6)), "stale"),
    (sign(SECRET, b"{}", CHECKED_AT + timedelta(minutes=6)), "stale"),
])
def test_a_missing_wrong_or_stale_signature_is_refused(
        provider: LocalVoiceProvider, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(AuthenticationFailed, match=reason):
        provider.read_webhook(b"{}", headers, CHECKED_AT)


def test_a_signed_body_that_is_not_a_call_event_is_invalid(
        provider: LocalVoiceProvider) -> None:
    now = datetime.now(UTC)
    for body in (b"not json", b"[1]", b'{"type": "ended"}',
                 b'{"type": "ended", "call": {"id": "c", "status": "exploded"}}'):
        with pytest.raises(ValidationFailed):
            provider.read_webhook(body, sign(SECRET, body, now), now)
    body = b'{"type": "call.transferred", "call": {}}'
    assert provider.read_webhook(body, sign(SECRET, body, now), now) == ()


# -- chaos and retries -----------------------------------------------------------------------


def test_duplicated_deliveries_carry_the_same_event(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    service.chaos = Chaos(duplicates=3)
    provider.start_call(request("+12125550131"))
    settle(service)

    events = received(provider, receiver)
    assert len(events) == 6
    assert len({e.dedupe_key for e in events}) == 2


def test_shuffled_deliveries_arrive_out_of_order_and_all_of_them(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    service.chaos = Chaos(shuffle=True, seed=1)
    provider.start_call(request("+12125550146"))
    settle(service)

    assert [e.kind.value + ":" + e.status.value for e in received(provider, receiver)] == [
        "analyzed:completed", "status:ringing", "ended:completed", "status:in_progress"]


def test_after_a_dropped_final_event_only_fetching_tells_the_end(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    service.chaos = Chaos(drop_final=True)
    call = request("+12125550135")
    placed = provider.start_call(call)
    settle(service)

    assert [e.status for e in received(provider, receiver)] == [CallStatus.RINGING,
                                                                 CallStatus.IN_PROGRESS]
    fetched = provider.fetch_call(placed.provider_call_id)
    assert fetched is not None
    assert (fetched.kind, fetched.status, fetched.call_id) == (
        EventKind.ENDED, CallStatus.COMPLETED, call.call_id)
    assert fetched.provider_cost == Decimal("0.0396")
    assert fetched.analysis is not None and fetched.analysis.do_not_call


def test_a_delayed_final_event_comes_after_the_call_is_over(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    service.chaos = Chaos(delay_final=3600)
    placed = provider.start_call(request("+12125550131"))

    assert service.wait_final(placed.provider_call_id)
    fetched = provider.fetch_call(placed.provider_call_id)
    assert fetched is not None and fetched.status is CallStatus.BUSY
    assert all(b'"ended"' not in body for _, body in receiver.posts)


def test_chaos_can_be_asked_for_one_call_in_its_request(
        service: LocalCallService, provider: LocalVoiceProvider, receiver: Receiver) -> None:
    with httpx.Client(base_url=service.url) as client:
        refused = client.post("/calls", json={"to": "+12125550131",
                                              "chaos": {"duplicates": "many"}})
        placed = client.post("/calls", json={"to": "+12125550131",
                                             "chaos": {"duplicates": 2}})
    settle(service)

    assert refused.status_code == 422
    assert placed.status_code == 201
    assert [e.status for e in received(provider, receiver)] == [CallStatus.RINGING] * 2 + [
        CallStatus.BUSY] * 2


def test_a_failed_delivery_is_retried(service: LocalCallService, provider: LocalVoiceProvider,
                                      receiver: Receiver) -> None:
    receiver.failing = 2
    provider.start_call(request("+12125550134"))
    settle(service)

    assert [e.status for e in received(provider, receiver)] == [CallStatus.FAILED]
    assert [(d.attempt, d.status) for d in service.deliveries] == [(1, 500), (2, 500),
                                                                   (3, 204)]


def test_with_an_api_key_only_a_provider_holding_it_is_served(receiver: Receiver) -> None:
    with LocalCallService(receiver.url, SECRET, speed=SPEED, api_key="key-1") as service:
        with LocalVoiceProvider(service.url, SECRET) as stranger, pytest.raises(
                ProviderError) as refused:
            stranger.start_call(request("+12125550146"))
        with LocalVoiceProvider(service.url, SECRET, api_key="key-1") as holder:
            placed = holder.start_call(request("+12125550146"))

    assert refused.value.kind == ProviderErrorKind.REJECTED
    assert placed.status is CallStatus.QUEUED


# -- the provider's errors -----------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[Callable[..., str]]:
    servers: list[ThreadingHTTPServer] = []

    def answering(status: int, *, delay: float = 0.0, **headers: str) -> str:
        def answer(handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
            threading.Event().wait(delay)  # a server too slow for the client's timeout
            return status, b'{"error": "scripted"}'
        servers.append(_serve(answer, {k.replace("_", "-"): v for k, v in headers.items()}))
        return f"http://127.0.0.1:{servers[-1].server_port}"

    yield answering
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "kind"), [
    (400, ProviderErrorKind.REJECTED), (422, ProviderErrorKind.REJECTED),
    (500, ProviderErrorKind.UNAVAILABLE), (503, ProviderErrorKind.UNAVAILABLE)])
def test_an_http_error_is_mapped_to_its_kind(stub: Callable[..., str], status: int,
                                             kind: str) -> None:
    with LocalVoiceProvider(stub(status), SECRET) as provider, pytest.raises(
            ProviderError) as failed:
        provider.start_call(request("+12125550146"))

    assert (failed.value.kind, failed.value.placed_maybe) == (kind, False)
    assert "scripted" in failed.value.message


def test_a_throttle_says_when_to_try_again(stub: Callable[..., str]) -> None:
    with LocalVoiceProvider(stub(429, Retry_After="7"), SECRET) as provider, pytest.raises(
            ProviderError) as throttled:
        provider.start_call(request("+12125550146"))

    assert (throttled.value.kind, throttled.value.retry_after) == (
        ProviderErrorKind.THROTTLED, 7.0)


def test_no_answer_in_time_may_have_placed_the_call(stub: Callable[..., str]) -> None:
    with LocalVoiceProvider(stub(201, delay=1.0), SECRET, timeout=0.1) as provider, \
            pytest.raises(ProviderError) as timed_out:
        provider.start_call(request("+12125550146"))

    assert (timed_out.value.kind, timed_out.value.placed_maybe) == (
        ProviderErrorKind.TIMEOUT, True)


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with LocalVoiceProvider(f"http://127.0.0.1:{port}", SECRET) as provider, pytest.raises(
            ProviderError) as failed:
        provider.fetch_call("call_1")

    assert failed.value.kind == ProviderErrorKind.UNAVAILABLE
