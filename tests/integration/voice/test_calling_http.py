"""Calling over HTTP on memory, SQLite and PostgreSQL: batches (entries with the decisions
the dialer stored, pause, resume, cancel, counts that agree with the entries), the call log,
a lead's calls, one call to one lead, and the voice webhook (signed by the local provider's
scheme: applied once, a replay a duplicate, a bad or stale signature 401 with nothing
stored). The calls are placed by a scripted provider; the phone plan is the real one."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.catalog import default_catalog
from lad_adapters.voice.local import LocalVoiceProvider, sign
from lad_adapters.voice.registry import local_secret
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import CallEvent
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from lad_entrypoints.settings import revealed
from tests.fakes.voice import OneProvider, ScriptedProvider
from tests.integration.tenancy.api import Account, problem, sign_up
from tests.worlds import fund

V = "/v1/voice"
#: A Tuesday, 15:00 UTC: 10:00 in New York, 07:00 in Los Angeles (outside calling hours).
START = datetime(2026, 3, 3, 15, tzinfo=UTC)
NEW_YORK = "+12125550147"
LOS_ANGELES = "+14155552671"


@attrs.define
class SignedProvider(ScriptedProvider):
    """Places calls as scripted; reads webhooks as the local provider does (its signature
    checked with the secret the container configures)."""

    reader: LocalVoiceProvider | None = None

    def read_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime
                     ) -> Sequence[CallEvent]:
        assert self.reader is not None
        return self.reader.read_webhook(body, headers, now)


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    """The container of each backend (asking for ``backend`` is what parametrises it)."""
    return lad


@pytest.fixture
def clock_start() -> datetime:
    return START


def secret(lad: Container) -> str:
    settings = lad.settings()
    return local_secret(revealed(settings.voice_local_secret), settings.resolved_jwt_secret())


@pytest.fixture
def provider(lad: Container) -> Iterator[SignedProvider]:
    with LocalVoiceProvider("http://127.0.0.1:9", secret(lad)) as reader:
        placed = SignedProvider(reader=reader)
        lad.voice_providers.override(providers.Object(OneProvider({"local": placed})))
        lad.billing_plans().load_pricing(Principal.operator(), default_catalog())
        yield placed


@pytest.fixture
def client(lad: Container, provider: SignedProvider) -> Iterator[TestClient]:
    with TestClient(create_app(lad)) as client:
        yield client


@attrs.frozen
class Desk:
    """A funded tenant with an agent and a number, seen through its owner's token."""

    client: TestClient
    owner: Account
    agent: int
    number: str

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"{V}{path}", headers=self.owner.auth, json=body)

    def get(self, path: str) -> Any:
        return self.client.get(f"{V}{path}", headers=self.owner.auth)

    def lead(self, phone: str | None = NEW_YORK, **fields: Any) -> str:
        response = self.client.post("/v1/leads", headers=self.owner.auth, json={
            "email": f"{uuid.uuid4().hex[:8]}@lead.test", "phone": phone, **fields})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def batch(self, leads: list[str], **body: Any) -> dict[str, Any]:
        response = self.post("/batches", {"agent_id": self.agent, "number_id": self.number,
                                          "lead_ids": leads, **body})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    def entries(self, batch_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/batches/{batch_id}/entries").json()["items"]
        return found


def open_desk(client: TestClient, lad: Container) -> Desk:
    owner = sign_up(client)
    fund(lad, uuid.UUID(owner.tenant_id), "50")
    agent = client.post(f"{V}/agents", headers=owner.auth, json={"name": "Ava"}).json()["id"]
    number = client.post(f"{V}/numbers", headers=owner.auth, json={
        "phone": "+12127363100", "provider": "twilio", "agent_id": agent}).json()["id"]
    return Desk(client, owner, agent, number)


@pytest.fixture
def desk(client: TestClient, lad: Container) -> Desk:
    return open_desk(client, lad)


def dial(lad: Container) -> list[str]:
    dialer, results = lad.dialer(), []
    while claims := dialer.claim(50):
        results.extend(str(dialer.run(c)) for c in claims)
    return results


def test_a_batch_is_created_with_its_counts_and_location(desk: Desk) -> None:
    leads = [desk.lead(), desk.lead(phone=None)]
    response = desk.post("/batches", {"agent_id": desk.agent, "number_id": desk.number,
                                      "lead_ids": [*leads, leads[0]], "name": "March"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{V}/batches/{body['id']}"
    assert (body["skipped"], body["duplicates"], body["total_calls"]) == (1, 1, 2)
    assert body["counts"]["pending"] == 1 and body["counts"]["skipped"] == 1
    assert desk.get(f"/batches/{body['id']}").json()["name"] == "March"


def test_entries_show_the_decisions_of_the_dial(desk: Desk, lad: Container) -> None:
    new_york, los_angeles = desk.lead(), desk.lead(phone=LOS_ANGELES)
    batch = desk.batch([new_york, los_angeles])
    assert sorted(dial(lad)) == ["placed", "waiting"]
    by_lead = {e["lead_id"]: e for e in desk.entries(batch["id"])}
    placed, waiting = by_lead[new_york], by_lead[los_angeles]
    assert placed["status"] == "calling" and placed["decision"]["decision"] == "dial"
    assert placed["attempts"] == 1 and placed["last_call_id"] is not None
    assert waiting["decision"]["decision"] == "wait"
    assert waiting["decision"]["zones"] == ["America/Los_Angeles"]
    assert waiting["decision"]["local_times"] == ["Tue 07:00"]
    assert waiting["next_attempt_at"] == waiting["decision"]["until"] is not None


def test_counts_agree_with_the_entries(desk: Desk, lad: Container) -> None:
    batch = desk.batch([desk.lead(), desk.lead(phone=LOS_ANGELES), desk.lead(phone=None)])
    dial(lad)
    counts = desk.get(f"/batches/{batch['id']}").json()["counts"]
    seen = Counter(e["status"] for e in desk.entries(batch["id"]))
    assert {k: v for k, v in counts.items() if v} == dict(seen)
    waiting = desk.get(f"/batches/{batch['id']}/entries?status=pending").json()["items"]
    assert [e["status"] for e in waiting] == ["pending"]


def test_the_batchs_window_narrows_the_calling_hours(desk: Desk, lad: Container) -> None:
    batch = desk.batch([desk.lead()], settings={
        "window": {"days": ["tue"], "start": "11:00", "end": "12:00"}, "concurrency": 2})
    assert batch["settings"]["concurrency"] == 2
    assert dial(lad) == ["waiting"]
    [entry] = desk.entries(batch["id"])
    assert entry["next_attempt_at"].startswith("2026-03-03T16:00")


def test_a_window_outside_the_legal_hours_is_refused(desk: Desk) -> None:
    response = desk.post("/batches", {"agent_id": desk.agent, "lead_ids": [desk.lead()],
                                      "settings": {"window": {"start": "21:00",
                                                              "end": "23:00"}}})
    assert {e["field"] for e in problem(response, 422)["errors"]} == {"settings.window"}


def test_a_paused_batch_is_not_dialed_until_resumed(desk: Desk, lad: Container) -> None:
    batch = desk.batch([desk.lead()])
    assert desk.post(f"/batches/{batch['id']}/pause").json()["status"] == "paused"
    assert dial(lad) == []
    assert desk.post(f"/batches/{batch['id']}/resume").json()["status"] == "running"
    assert dial(lad) == ["placed"]


def test_a_cancelled_batch_cancels_its_waiting_entries(desk: Desk) -> None:
    batch = desk.batch([desk.lead(), desk.lead()])
    assert desk.post(f"/batches/{batch['id']}/cancel").json()["status"] == "cancelled"
    assert {e["status"] for e in desk.entries(batch["id"])} == {"cancelled"}
    problem(desk.post(f"/batches/{batch['id']}/resume"), 409)
    listed = desk.get("/batches?status=cancelled").json()["items"]
    assert [b["id"] for b in listed] == [batch["id"]]


def test_calls_are_listed_shown_and_kept_per_lead(desk: Desk, lad: Container) -> None:
    lead = desk.lead()
    batch = desk.batch([lead, desk.lead()])
    dial(lad)
    calls = desk.get(f"/calls?batch_id={batch['id']}").json()["items"]
    assert len(calls) == 2 and {c["status"] for c in calls} == {"queued"}
    [mine] = desk.get(f"/leads/{lead}/calls").json()["items"]
    shown = desk.get(f"/calls/{mine['id']}").json()
    assert (shown["lead_id"], shown["to"], shown["analysis"]) == (lead, NEW_YORK, None)
    assert desk.get("/calls?since=2026-03-04T00:00Z").json()["items"] == []


def test_one_call_to_one_lead_is_a_batch_of_one(desk: Desk, lad: Container) -> None:
    lead = desk.lead()
    response = desk.post(f"/leads/{lead}/call", {"agent_id": desk.agent})
    assert response.status_code == 201, response.text
    assert response.json()["total_calls"] == 1
    assert dial(lad) == ["placed"]
    assert len(desk.get(f"/leads/{lead}/calls").json()["items"]) == 1


def test_an_oversized_batch_names_the_limit(desk: Desk) -> None:
    ids = [str(uuid.uuid4()) for _ in range(5001)]
    response = desk.post("/batches", {"agent_id": desk.agent, "lead_ids": ids})
    assert "5000" in problem(response, 422)["detail"]


def test_unknown_or_malformed_ids_are_refused(desk: Desk) -> None:
    lead = desk.lead()
    assert "agent 999" in problem(desk.post(f"/leads/{lead}/call", {"agent_id": 999}),
                                  404)["detail"]
    nobody = str(uuid.uuid4())
    assert nobody in problem(desk.post(f"/leads/{lead}/call", {
        "agent_id": desk.agent, "number_id": nobody}), 404)["detail"]
    problem(desk.post("/leads/not-a-lead/call", {"agent_id": desk.agent}), 422)
    problem(desk.get(f"/calls?lead_id={nobody}"), 404)
    fields = problem(desk.post("/numbers", {"phone": "12", "provider": "twilio"}), 422)
    assert {e["field"] for e in fields["errors"]} == {"phone"}


def test_a_time_without_a_zone_is_refused_naming_it(desk: Desk) -> None:
    response = desk.post("/batches", {"agent_id": desk.agent, "lead_ids": [desk.lead()],
                                      "start_at": "2026-03-04T09:00"})
    assert {e["field"] for e in problem(response, 422)["errors"]} == {"start_at"}
    assert {e["field"] for e in problem(desk.get("/calls?since=2026-03-04T09:00"),
                                        422)["errors"]} == {"since"}


def test_another_tenants_number_batch_and_call_are_not_found(
        desk: Desk, client: TestClient, lad: Container) -> None:
    batch = desk.batch([desk.lead()])
    dial(lad)
    [call] = desk.get("/calls").json()["items"]
    other = open_desk(client, lad)
    problem(other.post(f"/leads/{other.lead()}/call", {"agent_id": other.agent,
                                                       "number_id": desk.number}), 404)
    problem(other.get(f"/batches/{batch['id']}"), 404)
    problem(other.post(f"/batches/{batch['id']}/pause"), 404)
    problem(other.get(f"/calls/{call['id']}"), 404)


# --- the webhook --------------------------------------------------------------------------

def delivery(call: dict[str, Any], tenant: str, *, kind: str = "ended") -> bytes:
    """The local provider's webhook about ``call`` (a completed call of 42 seconds)."""
    started = START + timedelta(seconds=5)
    return json.dumps({"id": f"evt_{call['provider_call_id']}_{kind}", "type": kind,
                       "occurred_at": (started + timedelta(seconds=42)).isoformat(),
                       "call": {"id": call["provider_call_id"], "status": "completed",
                                "created_at": START.isoformat(),
                                "started_at": started.isoformat(),
                                "ended_at": (started + timedelta(seconds=42)).isoformat(),
                                "duration_seconds": 42,
                                "costs": {"telephony": "0.0084", "voice": "0.0420"},
                                "rates": {"telephony": "0.0120", "voice": "0.0600"},
                                "transcript": "Hello.", "ended_reason": "customer_ended",
                                "metadata": {"call_id": call["id"], "tenant_id": tenant}},
                       }).encode()


@pytest.fixture
def placed(desk: Desk, lad: Container) -> dict[str, Any]:
    """A call placed and waiting for its events."""
    desk.batch([desk.lead()])
    assert dial(lad) == ["placed"]
    [call] = desk.get("/calls").json()["items"]
    found: dict[str, Any] = call
    return found


def post_webhook(client: TestClient, lad: Container, body: bytes, *,
                 signed_at: datetime | None = None, provider: str = "local") -> Any:
    clock = lad.clock()
    assert isinstance(clock, FixedClock)
    headers = sign(secret(lad), body, signed_at or clock.now())
    return client.post(f"/v1/webhooks/voice/{provider}", content=body, headers=headers)


def test_a_signed_delivery_is_applied_once(desk: Desk, lad: Container, client: TestClient,
                                           placed: dict[str, Any]) -> None:
    body = delivery(placed, desk.owner.tenant_id)
    first = post_webhook(client, lad, body)
    assert first.status_code == 200, first.text
    assert first.json() == {"applied": 1, "duplicates": 0, "ignored": 0}
    assert post_webhook(client, lad, body).json() == {"applied": 0, "duplicates": 1,
                                                      "ignored": 0}
    shown = desk.get(f"/calls/{placed['id']}").json()
    assert (shown["status"], shown["duration_seconds"]) == ("completed", 42)
    assert shown["cost"] is not None
    [entry] = desk.entries(placed["batch_id"])
    assert (entry["status"], entry["last_outcome"]) == ("completed", "completed")


def test_the_calls_are_on_the_leads_history(desk: Desk, lad: Container, client: TestClient,
                                            placed: dict[str, Any]) -> None:
    post_webhook(client, lad, delivery(placed, desk.owner.tenant_id))
    answer = client.get(f"/v1/leads/{placed['lead_id']}/events", headers=desk.owner.auth)
    assert answer.status_code == 200, answer.text
    calls = [e for e in answer.json() if e["event_type"] == "lead.call"]
    assert [e["payload"]["status"] for e in calls] == ["completed", "queued"]  # newest first
    assert calls[0]["payload"]["call_id"] == placed["id"]
    assert calls[0]["payload"]["duration_seconds"] == 42
    other = client.get(f"/v1/leads/{uuid.uuid4()}/events", headers=desk.owner.auth)
    assert other.status_code == 404


def test_a_bad_signature_is_refused_and_nothing_stored(
        desk: Desk, lad: Container, client: TestClient, placed: dict[str, Any]) -> None:
    body = delivery(placed, desk.owner.tenant_id)
    headers = sign("not-the-secret", body, START)
    refused = client.post("/v1/webhooks/voice/local", content=body, headers=headers)
    problem(refused, 401)
    assert desk.get(f"/calls/{placed['id']}").json()["status"] == "queued"
    assert post_webhook(client, lad, body).json()["applied"] == 1


def test_a_stale_signature_is_refused(desk: Desk, lad: Container, client: TestClient,
                                      placed: dict[str, Any]) -> None:
    body = delivery(placed, desk.owner.tenant_id)
    problem(post_webhook(client, lad, body, signed_at=START - timedelta(minutes=10)), 401)
    assert desk.get(f"/calls/{placed['id']}").json()["status"] == "queued"


def test_an_unknown_provider_is_not_found(lad: Container, client: TestClient) -> None:
    problem(post_webhook(client, lad, b"{}", provider="nobody"), 404)


def test_a_malformed_or_oversized_delivery_is_refused(lad: Container, client: TestClient
                                                      ) -> None:
    problem(post_webhook(client, lad, b"not json"), 422)
    problem(post_webhook(client, lad, b"{" + b" " * (1024 * 1024) + b"}"), 413)
