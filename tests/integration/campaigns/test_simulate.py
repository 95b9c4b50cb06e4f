"""The simulation: the engine's rules played forward, sending and charging nothing."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from lad_entrypoints.container import Container
from tests.fakes.channels import RecordingEmail
from tests.integration.campaigns.test_http_campaigns import _ok, ready
from tests.integration.tenancy.api import Account, sign_up


def test_a_simulation_follows_the_steps_and_sends_nothing(
        client: TestClient, lad: Container, owner: Account, email: RecordingEmail) -> None:
    found, _ = ready(client, owner)
    wallet_before = _ok(client.get("/v1/billing/wallet", headers=owner.auth))
    timeline = _ok(client.post(f"/v1/campaigns/{found['id']}/simulate", headers=owner.auth,
                               json={"days": 7}))
    # The first email now, the follow-up after the two days' wait: both within the week.
    assert timeline["total_sends"] == 2
    [first, second] = timeline["first_sends"]
    assert (first["step_order"], second["step_order"]) == (1, 3)
    gap = (datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"]))
    assert gap.days >= 2
    assert timeline["completing"] == 1 and timeline["funds_run_out_at"] is None
    assert sum(d["sends"] for d in timeline["days"]) == 2
    # Nothing went, nothing was charged, nothing moved.
    assert email.sent == []
    assert _ok(client.get("/v1/billing/wallet", headers=owner.auth)) == wallet_before
    assert lad.send_engine().run_due()  # and the real engine still has its first step due


def test_a_simulation_says_when_the_wallet_runs_out(client: TestClient) -> None:
    poor = sign_up(client)  # no top-up: a wallet of 0
    found, _ = ready(client, poor)
    timeline = _ok(client.post(f"/v1/campaigns/{found['id']}/simulate", headers=poor.auth))
    assert timeline["total_sends"] == 0
    assert timeline["funds_run_out_at"] is not None
    assert timeline["waiting"] == {"insufficient funds": 1}


def test_a_simulation_of_more_than_90_days_is_refused(client: TestClient, owner: Account
                                                       ) -> None:
    found, _ = ready(client, owner)
    problem = _ok(client.post(f"/v1/campaigns/{found['id']}/simulate", headers=owner.auth,
                              json={"days": 91}), 422)
    assert "days" in str(problem)
