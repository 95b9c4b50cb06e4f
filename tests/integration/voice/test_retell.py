"""The Retell adapter against a fake Retell over real HTTP (placing, fetching and ending
calls, each failure's kind, which requests are retried), and its reading of signed
webhooks."""

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

from lad_adapters.voice.retell import RetellProvider
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import CallStatus, CostLine, EventKind
from lad_domain.voice.ports import CallRequest, ProviderError, ProviderErrorKind, VoiceProvider
from tests.fakes.unipile import refused_port
from tests.fakes.voice_providers import FakeRetell, retell_event, retell_webhook, running

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
CALL_ID = uuid.UUID("5e11c0de-0000-4000-8000-000000000001")
TENANT_ID = uuid.UUID("5e11c0de-0000-4000-8000-000000000002")
BASE = CallRequest(call_id=CALL_ID, tenant_id=TENANT_ID, to="+14155550123",
                   from_="+14155550100", provider_agent_id="agent_abc", language="en",
                   max_duration_seconds=300, first_message="Hi, this is Ava.")


@pytest.fixture
def fake() -> Iterator[FakeRetell]:
    yield from running(FakeRetell())


@pytest.fixture
def retell(fake: FakeRetell) -> Iterator[RetellProvider]:
    with RetellProvider(fake.url, fake.api_key, timeout=0.2, backoff=0.01,
                        clock=lambda: NOW) as provider:
        yield provider


def request(**changes: Any) -> CallRequest:
    return attrs.evolve(BASE, **changes)


def failure(retell: RetellProvider, call: CallRequest = BASE) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        retell.start_call(call)
    return caught.value


# -- placing a call ------------------------------------------------------------------------


def test_it_is_a_voice_provider_named_retell(retell: RetellProvider) -> None:
    provider: VoiceProvider = retell
    assert provider.name == "retell"


def test_a_call_is_placed_with_our_ids_in_its_metadata(fake: FakeRetell,
                                                       retell: RetellProvider) -> None:
    placed = retell.start_call(request(metadata={"batch": "b-1"}))

    assert placed.status is CallStatus.QUEUED
    [sent] = fake.requests_to("POST", "/v2/create-phone-call")
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    assert sent.json == {
        "from_number": "+14155550100", "to_number": "+14155550123",
        "override_agent_id": "agent_abc",
        "metadata": {"batch": "b-1", "lad_call_id": str(CALL_ID),
                     "lad_tenant_id": str(TENANT_ID)},
        "agent_override": {"agent": {"max_call_duration_ms": 300_000},
                           "retell_llm": {"begin_message": "Hi, this is Ava."}}}
    assert fake.calls[placed.provider_call_id]["metadata"]["lad_call_id"] == str(CALL_ID)


def test_the_configured_number_is_used_when_the_request_has_none(fake: FakeRetell) -> None:
    with RetellProvider(fake.url, fake.api_key, from_number="+14155550199") as retell:
        retell.start_call(request(from_=None))

    assert fake.requests[0].json["from_number"] == "+14155550199"


def test_without_any_number_to_call_from_nothing_is_sent(fake: FakeRetell,
                                                         retell: RetellProvider) -> None:
    assert failure(retell, request(from_=None)).kind == ProviderErrorKind.REJECTED
    assert fake.requests == []


@pytest.mark.parametrize("header", ["12", email.utils.format_datetime(
    NOW + timedelta(seconds=12), usegmt=True)])
def test_a_429_is_throttled_with_its_retry_after(fake: FakeRetell, retell: RetellProvider,
                                                 header: str) -> None:
    fake.script(status=429, retry_after=header, method="POST")

    error = failure(retell)

    assert (error.kind, error.retry_after) == (ProviderErrorKind.THROTTLED, 12.0)


def test_a_5xx_is_unavailable_and_not_sent_again(fake: FakeRetell,
                                                 retell: RetellProvider) -> None:
    fake.script(status=500, method="POST")

    assert failure(retell).kind == ProviderErrorKind.UNAVAILABLE
    assert len(fake.requests) == 1


def test_a_refused_connection_is_unavailable() -> None:
    with RetellProvider(f"http://127.0.0.1:{refused_port()}", "key", timeout=0.2) as retell:
        assert failure(retell).kind == ProviderErrorKind.UNAVAILABLE


def test_no_answer_in_time_is_a_timeout_the_call_may_exist(fake: FakeRetell,
                                                           retell: RetellProvider) -> None:
    fake.script(delay=0.6, method="POST")

    error = failure(retell)

    assert error.kind == ProviderErrorKind.TIMEOUT and error.placed_maybe
    assert len(fake.requests) == 1


def test_a_4xx_is_rejected_with_retells_message(retell: RetellProvider) -> None:
    error = failure(retell, request(to="12345"))

    assert error.kind == ProviderErrorKind.REJECTED
    assert "to_number must be a number in E.164 format" in error.message


def test_our_api_key_never_appears_in_a_message(fake: FakeRetell,
                                                retell: RetellProvider) -> None:
    fake.script(status=401, body={"message": f"bad key {fake.api_key}"}, method="POST")

    assert fake.api_key not in failure(retell).message


# -- fetching and ending -------------------------------------------------------------------

ENDED = {"call_status": "ended", "disconnection_reason": "user_hangup",
         "start_timestamp": NOW_MS - 90_500, "end_timestamp": NOW_MS, "duration_ms": 90_500,
         "transcript": "Agent: Hello\nUser: Hi", "recording_url": "https://rec.example/r.wav",
         "call_cost": {"combined_cost": 1234, "total_duration_seconds": 90,
                       "product_costs": [
                           {"product": "elevenlabs_tts", "unit_price": 0.1166667,
                            "cost": 1050},
                           {"product": "gpt_4o", "unit_price": 0.0333333, "cost": 184}]}}


def test_fetching_an_ended_call_gives_its_report(fake: FakeRetell,
                                                 retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id
    fake.set_call(call_id, **ENDED)

    event = retell.fetch_call(call_id)

    assert event is not None
    assert (event.kind, event.status, event.ended_reason) == (
        EventKind.ENDED, CallStatus.COMPLETED, "user_hangup")
    assert (event.duration_seconds, event.call_id, event.tenant_id) == (91, CALL_ID, TENANT_ID)
    assert event.provider_cost == Decimal("12.34")
    assert event.costs[0] == CostLine("elevenlabs_tts", Decimal("10.50"), minutes=Decimal("1.5"),
                                      rate=Decimal("0.07000002"))


def test_fetching_an_analysed_call_gives_its_analysis(fake: FakeRetell,
                                                     retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id
    fake.set_call(call_id, **ENDED, call_analysis={"call_summary": "Booked a demo."})

    event = retell.fetch_call(call_id)

    assert event is not None and event.analysis is not None
    assert (event.kind, event.analysis.summary) == (EventKind.ENDED, "Booked a demo.")


def test_fetching_a_live_call_gives_its_status(fake: FakeRetell,
                                               retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id
    fake.set_call(call_id, call_status="ongoing", start_timestamp=NOW_MS)

    event = retell.fetch_call(call_id)

    assert event is not None
    assert (event.kind, event.status, event.started_at) == (
        EventKind.STATUS, CallStatus.IN_PROGRESS, NOW)


def test_fetching_an_unknown_call_gives_none(retell: RetellProvider) -> None:
    assert retell.fetch_call("call_unknown") is None


def test_fetching_retries_a_timeout(fake: FakeRetell, retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id
    fake.script(delay=0.6, method="GET")

    assert retell.fetch_call(call_id) is not None
    assert len(fake.requests_to("GET", "/v2/get-call/")) == 2


def test_ending_a_live_call_stops_it(fake: FakeRetell, retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id

    retell.end_call(call_id)

    assert fake.calls[call_id]["call_status"] == "ended"
    assert len(fake.requests_to("POST", f"/v2/stop-call/{call_id}")) == 1


def test_ending_an_ended_or_unknown_call_is_done(fake: FakeRetell,
                                                 retell: RetellProvider) -> None:
    call_id = retell.start_call(BASE).provider_call_id
    fake.set_call(call_id, **ENDED)

    retell.end_call(call_id)
    retell.end_call("call_unknown")

    assert fake.calls[call_id]["disconnection_reason"] == "user_hangup"


# -- webhooks: authentication --------------------------------------------------------------

KEY = "fake-voice-key"
CALL = {"call_id": "call_1", "call_status": "ongoing", "start_timestamp": NOW_MS - 5_000,
        "metadata": {"lad_call_id": str(CALL_ID), "lad_tenant_id": str(TENANT_ID)}}
STARTED = retell_event("call_started", CALL)


def test_a_signed_webhook_is_read(retell: RetellProvider) -> None:
    [event] = retell.read_webhook(*retell_webhook(KEY, STARTED, at=NOW), NOW)

    assert (event.provider, event.provider_call_id, event.kind, event.status) == (
        "retell", "call_1", EventKind.STATUS, CallStatus.IN_PROGRESS)
    assert (event.call_id, event.tenant_id) == (CALL_ID, TENANT_ID)


def test_a_webhook_signed_with_another_key_is_refused(retell: RetellProvider) -> None:
    with pytest.raises(AuthenticationFailed, match="does not match"):
        retell.read_webhook(*retell_webhook("other-key", STARTED, at=NOW), NOW)


def test_a_webhook_signed_with_the_configured_secret_is_read(fake: FakeRetell) -> None:
    with RetellProvider(fake.url, fake.api_key, webhook_secret="badge-key") as retell:
        assert len(retell.read_webhook(*retell_webhook("badge-key", STARTED, at=NOW),
                                       NOW)) == 1


@pytest.mark.parametrize("headers", [{}, {"x-retell-signature": "sha256=abc"},
                                     {"x-retell-signature": "v=,d="}])
def test_an_unsigned_or_badly_signed_webhook_is_refused(retell: RetellProvider,
                                                        headers: dict[str, str]) -> None:
    with pytest.raises(AuthenticationFailed, match="x-retell-signature"):
        retell.read_webhook(json.dumps(STARTED).encode(), headers, NOW)


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_stale_webhook_is_refused(retell: RetellProvider, age: timedelta) -> None:
    with pytest.raises(AuthenticationFailed, match="stale"):
        retell.read_webhook(*retell_webhook(KEY, STARTED, at=NOW - age), NOW)


def test_a_body_altered_by_one_byte_is_refused(retell: RetellProvider) -> None:
    body, headers = retell_webhook(KEY, STARTED, at=NOW)

    with pytest.raises(AuthenticationFailed):
        retell.read_webhook(body.replace(b"call_1", b"call_2"), headers, NOW)


# -- webhooks: shapes ----------------------------------------------------------------------


def test_a_signed_body_that_is_not_json_is_invalid(retell: RetellProvider) -> None:
    with pytest.raises(ValidationFailed, match="not JSON"):
        retell.read_webhook(*retell_webhook(KEY, b'{"event": ', at=NOW), NOW)


@pytest.mark.parametrize(("payload", "field"), [
    ({"message": {"type": "status-update"}}, "event"),
    ({"event": "call_ended"}, "call.call_id"),
    ({"event": "call_ended", "call": {"call_status": "ended"}}, "call.call_id"),
])
def test_a_webhook_not_of_retells_shape_is_invalid(retell: RetellProvider,
                                                   payload: dict[str, object],
                                                   field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        retell.read_webhook(*retell_webhook(KEY, payload, at=NOW), NOW)

    assert caught.value.errors[0].field == field


def test_other_events_give_no_event(retell: RetellProvider) -> None:
    payload = retell_event("transcript_updated", CALL)

    assert retell.read_webhook(*retell_webhook(KEY, payload, at=NOW), NOW) == ()


@pytest.mark.parametrize(("status", "reason", "started", "expected"), [
    ("ended", "user_hangup", True, CallStatus.COMPLETED),
    ("ended", "agent_hangup", True, CallStatus.COMPLETED),
    ("ended", "max_duration_reached", True, CallStatus.COMPLETED),
    ("ended", "voicemail_reached", True, CallStatus.VOICEMAIL),
    ("ended", "ivr_reached", True, CallStatus.NO_ANSWER),
    ("not_connected", "dial_no_answer", False, CallStatus.NO_ANSWER),
    ("not_connected", "dial_busy", False, CallStatus.BUSY),
    ("not_connected", "dial_failed", False, CallStatus.FAILED),
    ("not_connected", "invalid_destination", False, CallStatus.FAILED),
    ("ended", "manual_stopped", True, CallStatus.CANCELLED),
    ("error", "error_llm_websocket_open", True, CallStatus.FAILED),
    ("error", None, False, CallStatus.FAILED),
    ("ended", "a_future_reason", True, CallStatus.COMPLETED),
])
def test_disconnection_reasons_are_mapped(retell: RetellProvider, status: str,
                                          reason: str | None, started: bool,
                                          expected: CallStatus) -> None:
    call = {"call_id": "call_1", "call_status": status, "disconnection_reason": reason,
            **({"start_timestamp": NOW_MS - 1000} if started else {})}

    [event] = retell.read_webhook(
        *retell_webhook(KEY, retell_event("call_ended", call), at=NOW), NOW)

    assert (event.kind, event.status, event.ended_reason) == (EventKind.ENDED, expected,
                                                              reason)


def test_call_ended_carries_exact_costs_and_the_transcript(retell: RetellProvider) -> None:
    payload = retell_event("call_ended", {**CALL, **ENDED})

    [event] = retell.read_webhook(*retell_webhook(KEY, payload, at=NOW), NOW)

    assert [(c.component, c.amount) for c in event.costs] == [
        ("elevenlabs_tts", Decimal("10.50")), ("gpt_4o", Decimal("1.84"))]
    assert event.provider_cost == Decimal("12.34")
    assert (event.transcript, event.recording_url, event.ended_at) == (
        "Agent: Hello\nUser: Hi", "https://rec.example/r.wav", NOW)
    assert event.analysis is None


def test_the_duration_is_whole_seconds_from_duration_ms(retell: RetellProvider) -> None:
    call = {"call_id": "call_1", "call_status": "ended", "disconnection_reason": "user_hangup",
            "duration_ms": 1500}

    [event] = retell.read_webhook(
        *retell_webhook(KEY, retell_event("call_ended", call), at=NOW), NOW)

    assert event.duration_seconds == 2


def test_a_combined_cost_alone_is_one_line_and_a_gap_is_an_adjustment(
        retell: RetellProvider) -> None:
    alone = {**CALL, **ENDED, "call_cost": {"combined_cost": 1234, "product_costs": []}}
    gap = {**CALL, **ENDED, "call_cost": {"combined_cost": 1000.5, "product_costs": [
        {"product": "retell_platform", "cost": 1100}]}}

    [one] = retell.read_webhook(*retell_webhook(KEY, retell_event("call_ended", alone),
                                                at=NOW), NOW)
    [two] = retell.read_webhook(*retell_webhook(KEY, retell_event("call_ended", gap),
                                                at=NOW), NOW)

    assert one.costs == (CostLine("total", Decimal("12.34")),)
    assert two.costs[-1] == CostLine("adjustment", Decimal("-0.995"))
    assert two.provider_cost == Decimal("10.005")


def test_call_analyzed_carries_the_analysis(retell: RetellProvider) -> None:
    payload = retell_event("call_analyzed", {**CALL, **ENDED, "call_analysis": {
        "call_summary": "Interested, asked for a demo next week.",
        "user_sentiment": "Positive", "call_successful": True, "in_voicemail": False,
        "custom_analysis_data": {"lead_category": "hot", "do_not_call": "false"}}})

    [event] = retell.read_webhook(*retell_webhook(KEY, payload, at=NOW), NOW)

    assert (event.kind, event.status) == (EventKind.ANALYZED, CallStatus.COMPLETED)
    assert event.analysis is not None
    assert (event.analysis.sentiment, event.analysis.lead_category,
            event.analysis.do_not_call) == ("positive", "hot", False)
    assert event.analysis.summary == "Interested, asked for a demo next week."
    assert event.analysis.extraction == {"lead_category": "hot", "do_not_call": "false",
                                         "call_successful": True, "in_voicemail": False}


@pytest.mark.parametrize(("analysis", "sentiment", "dnc", "status"), [
    ({"user_sentiment": "Unknown"}, None, False, CallStatus.COMPLETED),
    ({"user_sentiment": "Negative", "custom_analysis_data": {"do_not_call": True}},
     "negative", True, CallStatus.COMPLETED),
    ({"in_voicemail": True}, None, False, CallStatus.VOICEMAIL),
])
def test_the_analysis_is_normalised(retell: RetellProvider, analysis: dict[str, object],
                                    sentiment: str | None, dnc: bool,
                                    status: CallStatus) -> None:
    payload = retell_event("call_analyzed", {**CALL, **ENDED, "call_analysis": analysis})

    [event] = retell.read_webhook(*retell_webhook(KEY, payload, at=NOW), NOW)

    assert event.analysis is not None
    assert (event.analysis.sentiment, event.analysis.do_not_call, event.status) == (
        sentiment, dnc, status)
