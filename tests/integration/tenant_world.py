"""A tenant with one of every object a route can name by id, built through the HTTP API
(the invoice through the operator's use case: no route generates one), and a snapshot of
everything its owner can read, to prove that nobody else changed it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import attrs
from fastapi.testclient import TestClient

from lad_adapters.sql.unit_of_work import SqlUnitOfWork
from lad_domain.campaigns.services.engine import StepResult
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_domain.voice.services.dialer import DialResult
from lad_entrypoints.container import Container
from tests.integration.tenancy.api import Account, api_key, bearer, join, sign_up

OPERATOR_TOKEN = "operator-" + "t" * 32
OPERATOR = bearer(OPERATOR_TOKEN)


@attrs.frozen
class TenantWorld:
    """``ids`` by kind of object (lead, note, ...); ``secrets`` are strings only this
    tenant's members may ever see: every id, name, email and content."""

    owner: Account
    member: Account
    key_secret: str
    ids: dict[str, str]
    marks: frozenset[str]

    @property
    def key_auth(self) -> dict[str, str]:
        return bearer(self.key_secret)

    @property
    def secrets(self) -> frozenset[str]:
        return self.marks | set(self.ids.values())


def _created(client: TestClient, path: str, headers: dict[str, str], **kwargs: Any
             ) -> dict[str, Any]:
    response = client.post(path, headers=headers, **kwargs)
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def voice_stored(lad: Container) -> bool:
    """Whether the backend stores voice: memory does; SQL once its repositories exist."""
    return bool(lad.settings().is_memory or hasattr(SqlUnitOfWork, "agents"))


def build_worlds(client: TestClient, lad: Container, *names: str) -> list[TenantWorld]:
    """A world for each name, each with last month's invoice: the container's clock moves
    from the end of March 2026, where the worlds are built, into April."""
    clock = lad.clock()
    assert isinstance(clock, FixedClock)
    clock.set(datetime(2026, 3, 31, 18, tzinfo=UTC))
    worlds = [build_world(client, name, voice=voice_stored(lad)) for name in names]
    # Each world's campaign sends its email (through the channel the test put in the
    # container): the send ledger's row is an object routes name by id.
    assert lad.send_engine().run_due().get(StepResult.SENT) == len(worlds)
    for world in worlds:
        detail = client.get(f"/v1/campaigns/{world.ids['campaign']}/enrollments/"
                            f"{world.ids['enrollment']}", headers=world.owner.auth)
        [sent] = detail.json()["ledger"]
        world.ids["activity"] = sent["id"]
    if voice_stored(lad):
        _place_calls(client, lad, worlds)
    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    for world in worlds:
        [invoice] = lad.billing_invoices().generate(Principal.operator(), "2026-03",
                                                    tenant_id=uuid.UUID(world.owner.tenant_id))
        world.ids["invoice"] = str(invoice.id)
    return worlds


def build_world(client: TestClient, name: str, *, voice: bool = True) -> TenantWorld:
    """``name`` (one word) names the tenant and marks its data."""
    owner = sign_up(client, f"{name} Corp")
    member = join(client, owner, "member")
    auth = owner.auth
    key = api_key(client, owner)
    service = {**bearer(key["secret"])}
    lead = _created(client, "/v1/leads", auth, json={"email": f"lead@{name}.test",
                                                    "first_name": f"{name}lead"})["id"]
    on_lead = f"/v1/leads/{lead}"
    assert client.patch(f"{on_lead}/social", headers=auth,
                        json={"linkedin": f"in/{name}"}).status_code == 200
    for kind in ("stages", "statuses"):
        _created(client, f"/v1/pipeline/{kind}", auth, json={"key": f"{name}_only",
                                                            "label": f"{name} label"})
    counsellor = _created(client, "/v1/education/counsellors", auth, json={
        "user_id": member.user_id, "counselor_code": f"{name}-1"})["id"]
    _created(client, f"/v1/operator/tenants/{owner.tenant_id}/top-ups", {
        **OPERATOR, "Idempotency-Key": f"{name}-top-up"}, json={"amount": "100"})
    _created(client, "/v1/billing/usage-events", {**service, "Idempotency-Key": "march"},
             json={"feature_key": "outreach",
                   "usage_items": [{"category": "email_send", "quantity": "1"}]})
    ids = {
        "tenant": owner.tenant_id, "member": member.user_id, "key": key["id"],
        "lead": lead, "stage": f"{name}_only", "counsellor": counsellor,
        "invitation": _created(client, "/v1/invitations", auth, json={
            "email": f"pending@{name}.test", "role": "viewer"})["id"],
        "note": _created(client, f"{on_lead}/notes", auth,
                         json={"content": f"{name} note"})["id"],
        "attachment": _created(client, f"{on_lead}/attachments", auth, files={
            "file": (f"{name}.txt", f"{name} file".encode(), "text/plain")})["id"],
        "booking": _created(client, f"{on_lead}/bookings", auth, json={
            "scheduled_at": "2030-01-01T09:00:00Z", "notes": f"{name} booking"})["id"],
        # On a lead of its own: the lead above stays free to enrol (with another's ids).
        "student": _created(client, "/v1/education/students", auth, json={
            "lead_id": _created(client, "/v1/leads", auth, json={
                "email": f"pupil@{name}.test"})["id"],
            "counsellor_id": counsellor, "grade": f"{name} grade"})["id"],
        "reservation": _created(client, "/v1/billing/reservations", {
            **service, "Idempotency-Key": f"{name}-hold"}, json={
            "feature_key": "voice", "amount": "1", "expires_in_seconds": 86_400})["id"],
        "wallet": client.get("/v1/billing/wallet", headers=auth).json()["id"],
        **_outreach(client, auth, name),
        **(_voice(client, auth, name, member.user_id) if voice else {}),
    }
    marks = {owner.email, member.email, name, _password(name)}
    return TenantWorld(owner, member, key["secret"], ids, frozenset(marks))


def _password(name: str) -> str:
    return f"{name}-smtp-password"


def _outreach(client: TestClient, auth: dict[str, str], name: str) -> dict[str, str]:
    """A template, a mailbox (its password is a secret nobody may ever read back), a
    LinkedIn account, a suppression, and an active campaign with a prospect enrolled."""
    template = _created(client, "/v1/templates", auth, json={
        "channel": "email", "key": f"{name}_intro", "subject": f"{name} hello",
        "body": "Hello {{ lead.first_name }}"})["id"]
    mailbox = _created(client, "/v1/outreach/email-accounts?verify=false", auth, json={
        "email": f"sender@{name}.test", "smtp_host": f"smtp.{name}.test", "smtp_port": 587,
        "smtp_username": f"sender@{name}.test", "smtp_password": _password(name)})["id"]
    linkedin = _created(client, "/v1/outreach/linkedin-accounts", auth, json={
        "unipile_account_id": f"{name}-unipile", "display_name": f"{name} LinkedIn"})["id"]
    suppression = _created(client, "/v1/suppressions", auth, json={
        "channel": "email", "address": f"gone@{name}.test"})["id"]
    campaign = _created(client, "/v1/campaigns", auth, json={
        "name": f"{name} campaign", "settings": {
            "send_window": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            "start": "00:00", "end": "23:59"},
            "email_account_ids": [mailbox]},
        "steps": [{"type": "email", "config": {"template_key": f"{name}_intro"}}]})["id"]
    prospect = _created(client, "/v1/leads", auth, json={
        "email": f"prospect@{name}.test", "first_name": f"{name}prospect"})["id"]
    _created(client, f"/v1/campaigns/{campaign}/enroll", auth, json={"lead_ids": [prospect]})
    _created(client, f"/v1/campaigns/{campaign}/activate", auth)
    enrollments = client.get(f"/v1/campaigns/{campaign}/enrollments", headers=auth).json()
    return {"template": template, "email_account": mailbox, "linkedin_account": linkedin,
            "suppression": suppression, "campaign": campaign,
            "enrollment": enrollments["items"][0]["id"]}


def _voice(client: TestClient, auth: dict[str, str], name: str, member: str
           ) -> dict[str, str]:
    """A voice of its own, an agent with it, a number the agent answers, the member's
    grant to call from it and their defaults."""
    voice = _created(client, "/v1/voice/voices", auth, json={
        "provider": "elevenlabs", "provider_voice_id": f"{name}-voice",
        "name": f"{name} voice"})["id"]
    agent = _created(client, "/v1/voice/agents", auth, json={
        "name": f"{name} agent", "voice_id": voice,
        "system_prompt": f"You are {name}'s assistant."})["id"]
    number = _created(client, "/v1/voice/numbers", auth, json={
        "phone": "+14155552671", "provider": "twilio", "agent_id": agent,
        "label": f"{name} line"})["id"]
    permission = _created(client, "/v1/voice/permissions", auth, json={
        "user_id": member, "number_id": number})["id"]
    profile = client.put(f"/v1/voice/profiles/{member}", headers=auth, json={
        "default_agent_id": agent, "default_number_id": number})
    assert profile.status_code == 200, profile.text
    # A batch of one: a call to a lead with a phone (New York: inside calling hours when
    # the worlds are built), placed by build_worlds.
    callee = _created(client, "/v1/leads", auth, json={
        "email": f"callee@{name}.test", "first_name": f"{name}callee",
        "phone": "+12125550147"})["id"]
    batch = _created(client, f"/v1/voice/leads/{callee}/call", auth, json={
        "agent_id": agent, "number_id": number})["id"]
    return {"voice": voice, "agent": str(agent), "number": number, "permission": permission,
            "batch": batch}


def _place_calls(client: TestClient, lad: Container, worlds: list[TenantWorld]) -> None:
    """Each world's batch of one is dialed (by the provider the test put in the
    container): the call is an object routes name by id."""
    dialer = lad.dialer()
    placed = [dialer.run(claim) for claim in dialer.claim(50)]
    assert placed == [DialResult.PLACED] * len(worlds)
    for world in worlds:
        [call] = client.get("/v1/voice/calls", headers=world.owner.auth).json()["items"]
        world.ids["call"] = call["id"]


#: What the owner reads to see the whole tenant; ``{kind}`` is one of its ids.
READS = (
    "/v1/tenant", "/v1/members", "/v1/invitations", "/v1/api-keys", "/v1/leads?limit=200",
    "/v1/leads/{lead}", "/v1/leads/{lead}/history", "/v1/leads/{lead}/notes",
    "/v1/leads/{lead}/attachments", "/v1/leads/{lead}/attachments/{attachment}",
    "/v1/leads/{lead}/social", "/v1/leads/{lead}/bookings", "/v1/pipeline/stages",
    "/v1/pipeline/statuses", "/v1/education/students", "/v1/education/counsellors",
    "/v1/education/counsellors/{counsellor}/students", "/v1/billing/wallet",
    "/v1/billing/ledger?limit=200", "/v1/billing/invoices", "/v1/billing/entitlements",
    "/v1/features/outreach", "/v1/templates", "/v1/outreach/email-accounts",
    "/v1/outreach/linkedin-accounts", "/v1/suppressions", "/v1/campaigns",
    "/v1/campaigns/{campaign}/enrollments/{enrollment}", "/v1/campaigns/{campaign}/stats",
    "/v1/campaigns/unknown-sends",
)
VOICE_READS = (
    "/v1/voice/voices", "/v1/voice/agents", "/v1/voice/numbers", "/v1/voice/permissions",
    "/v1/voice/profiles/{member}", "/v1/voice/batches", "/v1/voice/batches/{batch}",
    "/v1/voice/batches/{batch}/entries", "/v1/voice/calls", "/v1/voice/calls/{call}",
    "/v1/voice/leads/{lead}/calls",
)


def snapshot(client: TestClient, lad: Container, world: TenantWorld) -> list[Any]:
    """Everything the owner can read, the member's capabilities and the tenant's domain
    events (by id): equal snapshots mean nothing of the tenant changed."""
    reads = []
    for path in READS + (VOICE_READS if "agent" in world.ids else ()):
        response = client.get(path.format(**world.ids), headers=world.owner.auth)
        assert response.status_code == 200, f"{path}: {response.text}"
        reads.append((path, response.content))
    with lad.unit_of_work()(uuid.UUID(world.owner.tenant_id)) as uow:
        held = uow.capabilities.list_for_user(uuid.UUID(world.member.user_id))
        events = sorted(e.id for e in uow.events.list(limit=100_000))
    assert events, "the tenant's domain events are read"
    return [*reads, sorted(c.capability_key for c in held), events]
