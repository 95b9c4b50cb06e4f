"""The worker's rounds read back from GET /metrics: each campaign step it ran, by outcome
(on memory, SQLite and PostgreSQL, the campaign fixtures' recording email channel)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lad_entrypoints.container import Container
from lad_entrypoints.worker import Worker
from tests.fakes.channels import RecordingEmail
from tests.integration.campaigns.test_http_campaigns import ready
from tests.integration.scrape import scrape
from tests.integration.tenancy.api import Account


def test_a_worker_round_counts_its_steps(client: TestClient, lad: Container, owner: Account,
                                         email: RecordingEmail) -> None:
    ready(client, owner)
    before = scrape(client)

    report = Worker.of(lad).run(once=True)  # what `lad worker --once` runs

    assert report.steps == {"sent": 1} and len(email.sent) == 1
    after = scrape(client)
    assert after.types["lad_worker_steps"] == "counter"
    assert after.since(before, "lad_worker_steps_total", work="campaign_step",
                       outcome="sent") == 1
    # The send's hold, taken and released, and its price, posted when its step committed
    # (on PostgreSQL the price by the posting function): the same rows on every backend.
    assert {kind: after.since(before, "lad_ledger_postings_total", kind=kind)
            for kind in ("reservation", "release", "usage_debit", "capture")} == {
        "reservation": 1, "release": 1, "usage_debit": 1, "capture": 0}
