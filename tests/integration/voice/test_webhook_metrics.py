"""Voice read back from GET /metrics, on memory, SQLite and PostgreSQL: a worker round's
dials counted by outcome, and the lag of a provider's webhook (now minus the event's time)
observed when it is read; a refused signature observes nothing. The fixtures are those of
the calling tests: a scripted provider that reads webhooks as the local provider does."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lad_adapters.voice.local import sign
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from lad_entrypoints.worker import Worker
from tests.integration.scrape import scrape
from tests.integration.tenancy.api import problem
from tests.integration.voice.test_calling_http import (
    START,
    Desk,
    client,
    clock_start,
    delivery,
    desk,
    lad,
    post_webhook,
    provider,
)

__all__ = ["client", "clock_start", "desk", "lad", "provider"]

LAG = "lad_voice_webhook_lag_seconds"


def test_dials_and_webhook_lag_are_read_back(desk: Desk, lad: Container,
                                             client: TestClient) -> None:
    before = scrape(client)
    desk.batch([desk.lead()])

    assert Worker.of(lad).run(once=True).calls == {"placed": 1}

    dialed = scrape(client)
    assert dialed.since(before, "lad_worker_steps_total", work="call", outcome="placed") == 1
    [call] = desk.get("/calls").json()["items"]
    body = delivery(call, desk.owner.tenant_id)  # the call ended at START + 47 s
    clock = lad.clock()
    assert isinstance(clock, FixedClock)
    clock.advance(START + timedelta(seconds=47 + 30) - clock.now())

    refused = client.post("/v1/webhooks/voice/local", content=body,
                          headers=sign("not-the-secret", body, clock.now()))
    problem(refused, 401)
    assert scrape(client).since(dialed, f"{LAG}_count", provider="local") == 0

    assert post_webhook(client, lad, body).json()["applied"] == 1

    after = scrape(client)
    assert after.types[LAG] == "histogram"
    assert after.since(dialed, f"{LAG}_count", provider="local") == 1
    assert after.since(dialed, f"{LAG}_sum", provider="local") == 30
    assert after.since(dialed, f"{LAG}_bucket", provider="local", le="10.0") == 0
    assert after.since(dialed, f"{LAG}_bucket", provider="local", le="30.0") == 1
