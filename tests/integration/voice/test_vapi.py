"""The Vapi adapter against a fake Vapi over real HTTP (placing, fetching and ending calls,
each failure's kind, which requests are retried), and its reading of signed server
messages."""

from __future__ import annotations

import email.utils
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from lad_adapters.voice.vapi import VapiProvider
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, ProviderError, ProviderErrorKind, VoiceProvider
from tests.fakes.unipile import refused_port
from tests.fakes.voice_providers import (
    FakeVapi,
    running,
    vapi_message,
    vapi_secret_webhook,
    vapi_webhook,
)

SECRET = "vapi-webhook-secret"
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
CALL_ID = uuid.UUID("0b0b5f59-5e3a-4a43-9d5e-0a7f2d1c0001")
TENANT_ID = uuid.UUID("0b0b5f59-5e3a-4a43-9d5e-0a7f2d1c0002")


@pytest.fixture
def fake() -> Iterator[FakeVapi]:
    yield from running(FakeVapi())


@pytest.fixture
def vapi(fake: FakeVapi) -> Iterator[VapiProvider]:
    with VapiProvider(fake.url, fake.api_key, SECRET, "pn-1", timeout=0.2, backoff=0.01,
                      clock=lambda: NOW) as provider:
        yield provider


BASE = CallRequest(call_id=CALL_ID, tenant_id=TENANT_ID, to="+14155550123", from_=None,
                   provider_agent_id="asst-1", language="en", max_duration_seconds=300,
                   first_message="Hi, this is Ava.")


def request(**changes: Any) -> CallRequest:
    return attrs.evolve(BASE, **changes)


def failure(vapi: VapiProvider, call: CallRequest | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        vapi.start_call(call or request())
    return caught.value


# -- placing a call ------------------------------------------------------------------------


def test_it_is_a_voice_provider_named_vapi(vapi: VapiProvider) -> None:
    provider: VoiceProvider = vapi
    assert provider.name == "vapi"


def test_a_call_is_placed_with_our_ids_in_its_metadata(fake: FakeVapi,
                                                       vapi: VapiProvider) -> None:
    placed = vapi.start_call(request(metadata={"batch": "b-1"}))

    assert placed.status is CallStatus.QUEUED
    [sent] = fake.requests_to("POST", "/call")
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    assert sent.json == {
        "assistantId": "asst-1", "phoneNumberId": "pn-1",
        "customer": {"number": "+14155550123"},
        "assistantOverrides": {
            "metadata": {"batch": "b-1", "lad_call_id": str(CALL_ID),
                         "lad_tenant_id": str(TENANT_ID)},
            "maxDurationSeconds": 300, "firstMessage": "Hi, this is Ava.",
            "artifactPlan": {"recordingEnabled": False}}}
    assert placed.provider_call_id in fake.calls


@pytest.mark.parametrize("header", ["7", email.utils.format_datetime(
    NOW + timedelta(seconds=7), usegmt=True)])
def test_a_429_is_throttled_with_its_retry_after(fake: FakeVapi, vapi: VapiProvider,
                                                 header: str) -> None:
    fake.script(status=429, retry_after=header, method="POST", path="/call")

    error = failure(vapi)

    assert (error.kind, error.retry_after) == (ProviderErrorKind.THROTTLED, 7.0)
    assert fake.calls == {}


def test_a_5xx_is_unavailable_and_not_sent_again(fake: FakeVapi, vapi: VapiProvider) -> None:
    fake.script(status=503, method="POST", path="/call")

    assert failure(vapi).kind == ProviderErrorKind.UNAVAILABLE
    assert len(fake.requests_to("POST", "/call")) == 1


def test_a_refused_connection_is_unavailable() -> None:
    with VapiProvider(f"http://127.0.0.1:{refused_port()}", "key", SECRET, "pn-1",
                      timeout=0.2) as vapi:
        error = failure(vapi)

    assert error.kind == ProviderErrorKind.UNAVAILABLE
    assert not error.placed_maybe


def test_no_answer_in_time_is_a_timeout_the_call_may_exist(fake: FakeVapi,
                                                           vapi: VapiProvider) -> None:
    fake.script(delay=0.6, method="POST", path="/call")

    error = failure(vapi)

    assert error.kind == ProviderErrorKind.TIMEOUT and error.placed_maybe
    assert len(fake.requests_to("POST", "/call")) == 1


def test_a_4xx_is_rejected_with_vapis_message(fake: FakeVapi, vapi: VapiProvider) -> None:
    error = failure(vapi, request(to="0415 555 0123"))

    assert error.kind == ProviderErrorKind.REJECTED
    assert "E.164" in error.message and "400" in error.message


def test_a_call_without_an_assistant_is_rejected_before_any_request(
        fake: FakeVapi, vapi: VapiProvider) -> None:
    assert failure(vapi, request(provider_agent_id=None)).kind == ProviderErrorKind.REJECTED
    assert fake.requests == []


# -- fetching and ending -------------------------------------------------------------------


def test_fetching_an_ended_call_gives_its_report(fake: FakeVapi, vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id
    fake.set_call(call_id, status="ended", endedReason="customer-busy", cost=0.1234,
                  costs=[{"type": "transport", "minutes": 0.5, "cost": 0.1234}],
                  startedAt="2026-12-01T14:00:00.000Z", endedAt="2026-12-01T14:00:30.400Z")

    event = vapi.fetch_call(call_id)

    assert event is not None
    assert (event.kind, event.status, event.ended_reason) == (
        EventKind.ENDED, CallStatus.BUSY, "customer-busy")
    assert event.costs == (CostLine("transport", Decimal("0.1234"), minutes=Decimal("0.5")),)
    assert (event.duration_seconds, event.call_id, event.tenant_id) == (31, CALL_ID, TENANT_ID)


def test_fetching_a_live_call_gives_its_status(fake: FakeVapi, vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id
    fake.set_call(call_id, status="in-progress")

    event = vapi.fetch_call(call_id)

    assert event is not None
    assert (event.kind, event.status) == (EventKind.STATUS, CallStatus.IN_PROGRESS)


def test_fetching_an_unknown_call_gives_none(vapi: VapiProvider) -> None:
    assert vapi.fetch_call("no-such-call") is None


def test_fetching_retries_a_5xx(fake: FakeVapi, vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id
    fake.script(status=502, method="GET", path="/call/")

    assert vapi.fetch_call(call_id) is not None
    assert len(fake.requests_to("GET", "/call/")) == 2


def test_fetching_gives_up_after_its_retries(fake: FakeVapi, vapi: VapiProvider) -> None:
    fake.script(status=500, times=5, method="GET", path="/call/")

    with pytest.raises(ProviderError) as caught:
        vapi.fetch_call("c-1")

    assert caught.value.kind == ProviderErrorKind.UNAVAILABLE
    assert len(fake.requests_to("GET", "/call/")) == 3


def test_ending_a_live_call_posts_end_call_to_its_control_url_without_our_key(
        fake: FakeVapi, vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id

    vapi.end_call(call_id)

    [control] = fake.requests_to("POST", "/control/")
    assert control.json == {"type": "end-call"}
    assert "authorization" not in control.headers
    assert fake.calls[call_id]["status"] == "ended"


def test_ending_an_ended_or_unknown_call_is_done(fake: FakeVapi, vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id
    fake.set_call(call_id, status="ended")

    vapi.end_call(call_id)
    vapi.end_call("no-such-call")

    assert fake.requests_to("POST", "/control/") == []


# -- server messages: authentication -------------------------------------------------------

CALL = {"id": "vapi-call-1", "assistantOverrides": {
    "metadata": {"lad_call_id": str(CALL_ID), "lad_tenant_id": str(TENANT_ID)}}}


def status_update(status: str = "ringing") -> dict[str, object]:
    return vapi_message("status-update", CALL, status=status)


def test_a_signed_message_is_read(vapi: VapiProvider) -> None:
    body, headers = vapi_webhook(SECRET, status_update(), at=NOW)

    [event] = vapi.read_webhook(body, headers, NOW)

    assert (event.provider, event.provider_call_id, event.status) == (
        "vapi", "vapi-call-1", CallStatus.RINGING)
    assert (event.call_id, event.tenant_id) == (CALL_ID, TENANT_ID)


def test_a_timestamp_in_milliseconds_is_read(vapi: VapiProvider) -> None:
    stamp = str(int(NOW.timestamp() * 1000))
    body, headers = vapi_webhook(SECRET, status_update(), timestamp=stamp)

    assert len(vapi.read_webhook(body, headers, NOW)) == 1


def test_a_message_signed_with_another_secret_is_refused(vapi: VapiProvider) -> None:
    body, headers = vapi_webhook("another-secret", status_update(), at=NOW)

    with pytest.raises(AuthenticationFailed, match="does not match"):
        vapi.read_webhook(body, headers, NOW)


def test_an_unsigned_message_is_refused(vapi: VapiProvider) -> None:
    body = json.dumps(status_update()).encode()

    with pytest.raises(AuthenticationFailed, match="not signed"):
        vapi.read_webhook(body, {"Content-Type": "application/json"}, NOW)


def test_a_stale_message_is_refused(vapi: VapiProvider) -> None:
    body, headers = vapi_webhook(SECRET, status_update(), at=NOW - timedelta(minutes=6))

    with pytest.raises(AuthenticationFailed, match="stale"):
        vapi.read_webhook(body, headers, NOW)


def test_a_body_altered_by_one_byte_is_refused(vapi: VapiProvider) -> None:
    body, headers = vapi_webhook(SECRET, status_update(), at=NOW)
    altered = body.replace(b"ringing", b"ringinG")

    with pytest.raises(AuthenticationFailed):
        vapi.read_webhook(altered, headers, NOW)


def test_the_legacy_secret_header_is_accepted_when_configured(fake: FakeVapi) -> None:
    with VapiProvider(fake.url, fake.api_key, SECRET, webhook_auth="secret") as vapi:
        assert len(vapi.read_webhook(*vapi_secret_webhook(SECRET, status_update()), NOW)) == 1
        with pytest.raises(AuthenticationFailed, match="wrong"):
            vapi.read_webhook(*vapi_secret_webhook("guess", status_update()), NOW)


# -- server messages: shapes ---------------------------------------------------------------


def test_a_signed_body_that_is_not_json_is_invalid(vapi: VapiProvider) -> None:
    with pytest.raises(ValidationFailed, match="not JSON"):
        vapi.read_webhook(*vapi_webhook(SECRET, b"{not json", at=NOW), NOW)


@pytest.mark.parametrize(("payload", "field"), [
    ({"event": "call_ended"}, "message"),
    ({"message": {"call": CALL}}, "message.type"),
    ({"message": {"type": "status-update", "status": "ringing"}}, "message.call.id"),
])
def test_a_message_not_of_vapis_shape_is_invalid(vapi: VapiProvider,
                                                 payload: dict[str, object], field: str
                                                 ) -> None:
    with pytest.raises(ValidationFailed) as caught:
        vapi.read_webhook(*vapi_webhook(SECRET, payload, at=NOW), NOW)

    assert caught.value.errors[0].field == field


@pytest.mark.parametrize("kind", ["transcript", "speech-update", "conversation-update",
                                  "hang", "tool-calls"])
def test_messages_that_say_nothing_about_the_status_give_no_event(vapi: VapiProvider,
                                                                  kind: str) -> None:
    body, headers = vapi_webhook(SECRET, vapi_message(kind, CALL), at=NOW)

    assert vapi.read_webhook(body, headers, NOW) == ()


@pytest.mark.parametrize(("status", "expected"), [
    ("scheduled", CallStatus.QUEUED), ("queued", CallStatus.QUEUED),
    ("ringing", CallStatus.RINGING), ("in-progress", CallStatus.IN_PROGRESS),
    ("forwarding", CallStatus.IN_PROGRESS),
])
def test_live_statuses_are_mapped(vapi: VapiProvider, status: str,
                                  expected: CallStatus) -> None:
    [event] = vapi.read_webhook(*vapi_webhook(SECRET, status_update(status), at=NOW), NOW)

    assert (event.kind, event.status) == (EventKind.STATUS, expected)


@pytest.mark.parametrize(("reason", "started", "expected"), [
    ("customer-did-not-answer", False, CallStatus.NO_ANSWER),
    ("customer-busy", False, CallStatus.BUSY),
    ("voicemail", True, CallStatus.VOICEMAIL),
    ("customer-ended-call", True, CallStatus.COMPLETED),
    ("assistant-ended-call", True, CallStatus.COMPLETED),
    ("exceeded-max-duration", True, CallStatus.COMPLETED),
    ("silence-timed-out", True, CallStatus.COMPLETED),
    ("manually-canceled", False, CallStatus.CANCELLED),
    ("twilio-failed-to-connect-call", False, CallStatus.FAILED),
    ("call.start.error-subscription-insufficient-credits", False, CallStatus.FAILED),
    ("pipeline-error-openai-llm-failed", True, CallStatus.FAILED),
    ("some-future-reason", True, CallStatus.COMPLETED),
    ("some-future-reason", False, CallStatus.FAILED),
])
def test_ended_reasons_are_mapped(vapi: VapiProvider, reason: str, started: bool,
                                  expected: CallStatus) -> None:
    times = {"startedAt": "2026-12-01T14:59:00Z"} if started else {}
    payload = vapi_message("status-update", {**CALL, **times}, status="ended",
                           endedReason=reason)

    [event] = vapi.read_webhook(*vapi_webhook(SECRET, payload, at=NOW), NOW)

    assert (event.status, event.ended_reason) == (expected, reason)


def report(**fields: object) -> dict[str, object]:
    return vapi_message(
        "end-of-call-report", CALL, endedReason="customer-ended-call",
        startedAt="2026-12-01T14:58:00.000Z", endedAt="2026-12-01T14:59:01.200Z",
        cost=0.3368, costs=[
            {"type": "transport", "provider": "twilio", "minutes": 1.0203, "cost": 0.1234},
            {"type": "vapi", "subType": "normal", "minutes": 1.0203, "cost": 0.0511},
            {"type": "analysis", "analysisType": "summary", "cost": 0.0023}],
        artifact={"transcript": "AI: Hello\nUser: Hi",
                  "recording": {"mono": {"combinedUrl": "https://rec.example/1.wav"}}},
        **fields)


def test_an_end_of_call_report_is_an_ended_event_with_exact_costs(vapi: VapiProvider) -> None:
    [ended] = vapi.read_webhook(*vapi_webhook(SECRET, report(), at=NOW), NOW)

    assert (ended.kind, ended.status, ended.duration_seconds) == (
        EventKind.ENDED, CallStatus.COMPLETED, 62)
    assert [(c.component, c.amount) for c in ended.costs] == [
        ("transport", Decimal("0.1234")), ("vapi:normal", Decimal("0.0511")),
        ("analysis:summary", Decimal("0.0023")), ("adjustment", Decimal("0.1600"))]
    assert ended.provider_cost == Decimal("0.3368")
    assert (ended.transcript, ended.recording_url) == ("AI: Hello\nUser: Hi",
                                                       "https://rec.example/1.wav")


def test_a_report_with_an_analysis_is_also_an_analyzed_event(vapi: VapiProvider) -> None:
    payload = report(analysis={
        "summary": "Asked to be removed from the list.", "successEvaluation": "false",
        "structuredData": {"sentiment": "Negative", "lead_category": "not_interested",
                           "do_not_call": True}})

    ended, analysed = vapi.read_webhook(*vapi_webhook(SECRET, payload, at=NOW), NOW)

    assert (ended.analysis, analysed.kind) == (None, EventKind.ANALYZED)
    assert analysed.analysis is not None
    assert (analysed.analysis.sentiment, analysed.analysis.lead_category,
            analysed.analysis.do_not_call) == ("negative", "not_interested", True)
    assert analysed.analysis.summary == "Asked to be removed from the list."
    assert analysed.analysis.extraction["success_evaluation"] == "false"


@pytest.mark.parametrize(("given", "sentiment", "dnc"), [
    ({"sentiment": "Mixed"}, "mixed", False), ({"sentiment": "frustrated"}, "negative", False),
    ({"sentiment": "meh"}, None, False), ({"doNotCall": "yes"}, None, True),
    ({"do_not_call": False, "leadCategory": "warm"}, None, False),
])
def test_the_structured_data_is_normalised(vapi: VapiProvider, given: dict[str, object],
                                           sentiment: str | None, dnc: bool) -> None:
    payload = report(analysis={"structuredData": given})

    _, analysed = vapi.read_webhook(*vapi_webhook(SECRET, payload, at=NOW), NOW)

    assert analysed.analysis is not None
    assert (analysed.analysis.sentiment, analysed.analysis.do_not_call) == (sentiment, dnc)


def test_fetching_an_analysed_call_gives_one_ended_event_with_it(fake: FakeVapi,
                                                                  vapi: VapiProvider) -> None:
    call_id = vapi.start_call(request()).provider_call_id
    fake.set_call(call_id, status="ended", endedReason="voicemail",
                  analysis={"summary": "Left a voicemail."})

    event = vapi.fetch_call(call_id)

    assert event is not None and event.analysis is not None
    assert (event.kind, event.status, event.analysis.summary) == (
        EventKind.ENDED, CallStatus.VOICEMAIL, "Left a voicemail.")
