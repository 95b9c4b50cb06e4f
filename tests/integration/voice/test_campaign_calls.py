"""A campaign's voice_call step end to end, on every backend: activation refuses an agent
that does not exist and a tenant without the voice feature (422 naming the step's
agent_id); with a real agent the send engine queues the call in the campaign step's batch
and goes on to the next step, the worker dials it through the local call service and the
call is billed once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_domain.campaigns.model import Campaign, EnrollmentStatus
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Role
from lad_domain.tenancy.services.sessions import issue_session
from lad_domain.voice.model import CallStatus, EntryStatus
from lad_entrypoints.http.app import create_app
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.integration.tenancy.api import fields
from tests.integration.voice.conftest import OPERATOR, Switchboard
from tests.unit.campaigns.world import HELLO, Mailboxes, World

#: Tuesday 3 March 2026, 15:00 UTC: 10:00 in New York.
NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return NOW


@pytest.fixture
def world(backend: str, switchboard: Switchboard) -> World:
    """The switchboard's tenant, running campaigns: email through a recording channel, a
    mailbox, the hello template."""
    lad = switchboard.lad
    lad.email_channel.override(providers.Object(RecordingEmail()))
    lad.mailbox_reader.override(providers.Object(Mailboxes()))
    lad.team().set_feature(OPERATOR, "campaigns", True, tenant_id=switchboard.tenant_id)
    world = World(lad, switchboard.clock, switchboard.ws, lad.email_channel(),
                  RecordingLinkedIn(), lad.mailbox_reader())
    world.templates()
    return world


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.lad)) as client:
        yield client


def _draft(world: World, agent_id: object) -> Campaign:
    steps = [{"type": "voice_call", "config": {"agent_id": agent_id}}, HELLO]
    return world.campaign(steps, mailboxes=[world.mailbox()], leads=[world.lead(
        "America/New_York", phone="+12125550106")], activate=False)


def _activate(client: TestClient, world: World, campaign: Campaign) -> Any:
    assert world.owner.user_id is not None
    token = issue_session(world.lad.tokens(), world.tenant_id, world.owner.user_id,
                          Role.OWNER).access_token
    return client.post(f"/v1/campaigns/{campaign.id}/activate",
                       headers={"Authorization": f"Bearer {token}"})


def test_activation_refuses_an_agent_that_does_not_exist(world: World,
                                                        client: TestClient) -> None:
    answer = _activate(client, world, _draft(world, 999))
    assert fields(answer) == ["steps[1].config.agent_id"]
    assert "agent 999 does not exist" in answer.json()["errors"][0]["message"]


def test_activation_refuses_a_tenant_without_the_voice_feature(
        world: World, switchboard: Switchboard, client: TestClient) -> None:
    campaign = _draft(world, switchboard.agent.id)
    switchboard.lad.team().set_feature(OPERATOR, "voice", False,
                                       tenant_id=switchboard.tenant_id)
    answer = _activate(client, world, campaign)
    assert fields(answer) == ["steps[1].config.agent_id"]
    assert "voice feature is not enabled" in answer.json()["errors"][0]["message"]


def test_a_voice_call_step_is_queued_dialed_and_billed_once(world: World,
                                                            switchboard: Switchboard) -> None:
    leads = [world.lead("America/New_York", phone=p) for p in ("+12125550106",
                                                               "+12125550112")]
    campaign = world.campaign([{"type": "voice_call",
                                "config": {"agent_id": switchboard.agent.id}}, HELLO],
                              mailboxes=[world.mailbox()], leads=leads)
    assert world.work() == {StepResult.SENT: 2}
    [batch] = switchboard.lad.calling().batches(switchboard.owner, PageRequest()).items
    assert (batch.campaign_id, batch.name) == (campaign.id, f"{campaign.name} - step 1")
    entries = switchboard.entries(batch.id)
    assert sorted(e.lead_id for e in entries) == sorted(lead.id for lead in leads)
    assert {(e.status, e.step_order) for e in world.enrollments(campaign)} == {
        (EnrollmentStatus.ACTIVE, 2)}
    switchboard.work()
    calls = switchboard.calls()
    assert {(c.campaign_id, c.status) for c in calls} == {
        (campaign.id, CallStatus.COMPLETED), (campaign.id, CallStatus.VOICEMAIL)}
    assert len(world.email.sent) == 2  # the worker went on to the email step
    charges = switchboard.charges(calls)
    assert set(charges) == {c.id for c in calls}
    debits = {d.id: d.amount for d in switchboard.ledger("usage_debit")}
    assert [-debits[u.ledger_entry_id] for u in charges.values() if u.ledger_entry_id] == [
        u.total_cost for u in charges.values()]
    assert {e.status for e in switchboard.entries(batch.id)} == {EntryStatus.COMPLETED}
    assert switchboard.wallet().reserved_balance == 0 and switchboard.reconciles()
