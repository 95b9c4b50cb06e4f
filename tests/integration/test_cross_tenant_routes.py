"""HTTP, generated from the route table: every route that takes an id, called by tenant B's
owner and by B's admin API key with tenant A's ids, answers exactly as it does for ids
nobody has (404, or a refusal listed in REFUSALS), shows none of A's data and changes
nothing of A. A route that takes an id is exercised or listed in NOT_EXERCISED."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from lad_adapters.catalog import default_catalog
from lad_adapters.storage import LocalFileStorage
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.fakes.voice import OneProvider, ScriptedProvider
from tests.integration.route_table import Call, Operation, build_call, operations
from tests.integration.tenancy.api import PASSWORD
from tests.integration.tenant_world import (
    OPERATOR_TOKEN,
    TenantWorld,
    build_worlds,
    snapshot,
    voice_stored,
)

#: Which of a tenant's objects an id names, by the name of the parameter or body field.
SLOTS = {
    "tenant_id": "tenant", "user_id": "member", "owner_id": "member", "key_id": "key",
    "invitation_id": "invitation", "lead_id": "lead", "note_id": "note",
    "attachment_id": "attachment", "booking_id": "booking", "key": "stage",
    "move_to": "stage", "student_id": "student", "counsellor_id": "counsellor",
    "to_counsellor_id": "counsellor", "reassign_to": "counsellor", "wallet_id": "wallet",
    "reservation_id": "reservation", "invoice_id": "invoice",
    "template_id": "template", "email_account_id": "email_account",
    "email_account_ids": "email_account", "sender_id": "email_account",
    "owner_user_id": "member", "linkedin_account_id": "linkedin_account",
    "linkedin_account_ids": "linkedin_account", "suppression_id": "suppression",
    "campaign_id": "campaign", "enrollment_id": "enrollment", "lead_ids": "lead",
    "activity_id": "activity", "voice_id": "voice", "agent_id": "agent",
    "default_agent_id": "agent", "number_id": "number", "default_number_id": "number",
    "permission_id": "permission", "batch_id": "batch", "call_id": "call",
    "conversation_id": "conversation", "profile_id": "profile", "person_ids": "person",
}
#: Ids naming a catalog entry (the same in every tenant) or a provider's object, not a
#: tenant's object.
CATALOG = {"feature_key": "core", "capability_key": "members.manage",
           "unipile_account_id": "unipile-probe", "provider_voice_id": "voice-probe",
           "provider_number_id": "number-probe"}
_FEATURES = "feature_key names a catalog feature, not a tenant's object: B's call reads or " \
    "sets B's own switch"
_LINK = "a signed link, no bearer: its tenant is in its signature; a forged one is a 404 " \
    "(tests/integration/campaigns/test_http_campaigns)"
NOT_EXERCISED = {
    ("GET", "/v1/features/{feature_key}"): _FEATURES,
    ("PUT", "/v1/features/{feature_key}"): _FEATURES,
    ("GET", "/v1/flags/{flag_key}"): _FEATURES,
    ("POST", "/v1/me/identities"): "provider_user_id is the identity provider's id of the "
    "caller, not a tenant's object (an identity linked to another user: test_http_auth)",
    ("GET", "/v1/public/unsubscribe/{token}"): _LINK,
    ("POST", "/v1/public/unsubscribe/{token}"): _LINK,
    ("GET", "/v1/public/open/{token}"): _LINK,
    ("POST", "/v1/voice/voices"): "provider_voice_id names the provider's voice, not a "
    "tenant's object: B adds a voice of its own (another tenant's voice: tests/integration/"
    "voice/test_setup_http)",
    ("POST", "/v1/icp/search/preview"): "takes a profile_id or a conversation_id, one of "
    "the two: the minimal example sends both (a 422 before any lookup); each alone of "
    "another tenant's is a 404 in tests/integration/icp/test_icp_http_cli",
    ("POST", "/v1/webhooks/voice/{provider}"): "provider names a call provider, not a "
    "tenant's object; no bearer: the signature authenticates, and each event is applied in "
    "its call's own tenant (tests/integration/voice/test_calling_http)",
}
_OPERATOR = "the operator token only: refused before the tenant or anything in it is read"
_SERVICES = "usage is recorded by services (API keys): refused before any lookup"
_PEOPLE = "for members, not API keys: refused before any lookup"
_FILTER = "a filter: A's id matches nothing in B, as an unknown id matches nothing"
_MEMBER = "names no member of B: 422 naming the field, as for an unknown id"
_NOT_OURS = "a body id naming no voice, agent, number or member of B's: 422 naming the " \
    "field, as for an unknown id"
_NOT_SEARCHED = "person_ids name people of B's own recent searches: A's search results are " \
    "not in B's cache, a 422 naming the field, as for ids nobody has"
_NO_STAGE = "move_to names no key of B's pipeline: 422 naming the field, as an unknown key"
#: Answers other than 404, by route, then by who: an actor, the one id of A's sent among
#: B's own (see _variants) or "*" (always). Each is also the answer for ids nobody has,
#: which the test checks.
REFUSALS: dict[tuple[str, str], dict[str, tuple[int, str]]] = {
    ("POST", "/v1/auth/token"): {"*": (401, "log-in: B's owner is no member of A, answered "
                                              "as for a tenant nobody has")},
    ("POST", "/v1/tenant/transfer-ownership"): {"api_key": (403, _PEOPLE)},
    ("PUT", "/v1/members/{user_id}/capabilities/{feature_key}/{capability_key}"): {
        "api_key": (403, _PEOPLE)},
    ("DELETE", "/v1/members/{user_id}/capabilities/{feature_key}/{capability_key}"): {
        "api_key": (403, _PEOPLE)},
    ("DELETE", "/v1/api-keys/{key_id}"): {"api_key": (403, _PEOPLE)},
    ("GET", "/v1/leads"): {"*": (200, _FILTER)},
    ("GET", "/v1/leads/export"): {"*": (200, _FILTER)},
    ("POST", "/v1/leads"): {"*": (422, _MEMBER)},
    ("PATCH", "/v1/leads/{lead_id}"): {"owner_id": (422, _MEMBER)},
    ("DELETE", "/v1/pipeline/stages/{key}"): {"move_to": (422, _NO_STAGE)},
    ("DELETE", "/v1/pipeline/statuses/{key}"): {"move_to": (422, _NO_STAGE)},
    ("GET", "/v1/education/students"): {"*": (200, _FILTER)},
    ("POST", "/v1/education/counsellors"): {"*": (422, _MEMBER)},
    ("GET", "/v1/billing/ledger"): {"*": (200, _FILTER)},
    ("POST", "/v1/billing/usage-events"): {"owner": (403, _SERVICES), "*": (422, _MEMBER)},
    ("POST", "/v1/billing/reservations"): {"owner": (403, _SERVICES), "*": (422, _MEMBER)},
    ("POST", "/v1/billing/reservations/{reservation_id}/capture"): {"owner": (403, _SERVICES)},
    ("POST", "/v1/billing/reservations/{reservation_id}/release"): {"owner": (403, _SERVICES)},
    ("POST", "/v1/operator/tenants/{tenant_id}/top-ups"): {"*": (403, _OPERATOR)},
    ("PATCH", "/v1/operator/tenants/{tenant_id}/invoices/{invoice_id}"): {
        "*": (403, _OPERATOR)},
    ("POST", "/v1/outreach/email-accounts"): {"*": (422, _MEMBER)},
    ("POST", "/v1/outreach/linkedin-accounts"): {"*": (422, _MEMBER)},
    ("POST", "/v1/voice/agents"): {"*": (422, _NOT_OURS)},
    ("PATCH", "/v1/voice/agents/{agent_id}"): {"voice_id": (422, _NOT_OURS)},
    ("POST", "/v1/voice/numbers"): {"*": (422, _NOT_OURS)},
    ("PATCH", "/v1/voice/numbers/{number_id}"): {"agent_id": (422, _NOT_OURS)},
    ("PUT", "/v1/voice/profiles/me"): {"*": (422, _NOT_OURS)},
    ("PUT", "/v1/voice/profiles/{user_id}"): {"default_agent_id": (422, _NOT_OURS),
                                             "default_number_id": (422, _NOT_OURS)},
    ("GET", "/v1/voice/permissions"): {"*": (200, _FILTER)},
    ("POST", "/v1/voice/permissions"): {"*": (422, _NOT_OURS)},
    ("POST", "/v1/icp/import"): {"*": (422, _NOT_SEARCHED)},
    ("POST", "/v1/enrichment/people/import"): {"*": (422, _NOT_SEARCHED)},
}
ACTORS = ("owner", "api_key")


@pytest.fixture
def lad(backend: str, container: Container, tmp_path: Path) -> Container:
    """Runs on memory, SQLite and PostgreSQL: a fixed clock, the default price catalog,
    attachments in a temporary directory, an operator token, and channels that send
    nothing (each world sends one campaign email and places one call)."""
    container.clock.override(providers.Object(FixedClock()))
    container.email_channel.override(providers.Object(RecordingEmail()))
    container.linkedin_channel.override(providers.Object(RecordingLinkedIn()))
    container.voice_providers.override(providers.Object(OneProvider({
        "local": ScriptedProvider()})))
    container.file_storage.override(providers.Object(LocalFileStorage(tmp_path / "files")))
    settings = container.settings().model_copy(update={"operator_token": SecretStr(OPERATOR_TOKEN)})
    container.settings.override(providers.Object(settings))
    container.billing_plans().load_pricing(Principal.operator(), default_catalog())
    return container


@pytest.fixture
def app(lad: Container) -> FastAPI:
    return create_app(lad)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A server error is answered 500 (and reported by the test), not raised."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_every_route_that_takes_an_id_is_exercised_or_listed(container: Container) -> None:
    ops = operations(create_app(container))
    routes = {op.route for op in ops}
    assert ("GET", "/v1/leads/{lead_id}") in routes  # the walk sees included routers
    unknown = {op.route: name for op in ops if op.route not in NOT_EXERCISED
               for name in op.path_ids + op.query_ids + op.body_ids
               if name not in SLOTS and name not in CATALOG}
    assert unknown == {}, "ids the generator cannot fill: add to SLOTS or NOT_EXERCISED"
    assert {r for r in NOT_EXERCISED if r not in routes} == set(), "stale NOT_EXERCISED"
    assert {r for r in REFUSALS if r not in routes} == set(), "stale REFUSALS"
    listed_without_ids = {op.route for op in ops if op.route in NOT_EXERCISED
                          and not op.takes_ids}
    assert listed_without_ids == set()


@pytest.mark.parametrize("actor", ACTORS)
def test_tenant_b_reaches_nothing_of_tenant_a_by_id(app: FastAPI, client: TestClient,
                                                    lad: Container, actor: str) -> None:
    a, b = build_worlds(client, lad, "alpha", "beta")
    for page, world in enumerate((a, b), start=1):
        _icp_world(client, world, page)
    before = _snapshot(client, lad, a)
    exercised = [op for op in operations(app) if op.takes_ids and op.route not in NOT_EXERCISED
                 and (voice_stored(lad) or not op.path.startswith("/v1/voice/"))]
    problems = [p for op in exercised for p in _probe(client, op, a, b, actor)]
    assert not problems, "\n".join(problems)
    assert _snapshot(client, lad, a) == before


def _icp_world(client: TestClient, world: TenantWorld, page: int) -> None:
    """A conversation of one turn, a profile saved from it, and a person found by a people
    search (over the simulated Apollo; each world its own page, so that no person is in
    both tenants' caches): the ICP and enrichment objects routes name by id."""
    auth, name = world.owner.auth, world.ids["stage"].removesuffix("_only")
    conversation = client.post("/v1/icp/conversations", headers=auth,
                               json={"title": f"{name} conversation"}).json()["id"]
    said = client.post(f"/v1/icp/conversations/{conversation}/messages", headers=auth,
                       json={"content": "CTOs at software companies with 50-200 employees "
                             "in Germany"})
    assert said.status_code == 201, said.text
    profile = client.post("/v1/icp/profiles", headers=auth, json={
        "name": f"{name} profile", "conversation_id": conversation})
    assert profile.status_code == 201, profile.text
    found = client.post("/v1/enrichment/people/search", headers=auth, json={
        "filters": {"person_titles": ["cto"]}, "page": page, "per_page": 1})
    assert found.status_code == 200, found.text
    world.ids.update(conversation=conversation, profile=profile.json()["id"],
                     person=found.json()["items"][0]["apollo_id"])


#: What the owner reads of the ICP assistant and enrichment, beside tenant_world's READS.
ICP_READS = ("/v1/icp/conversations", "/v1/icp/conversations/{conversation}",
             "/v1/icp/conversations/{conversation}/messages", "/v1/icp/profiles",
             "/v1/icp/profiles/{profile}", "/v1/icp/keywords/stats")


def _snapshot(client: TestClient, lad: Container, world: TenantWorld) -> list[Any]:
    reads = []
    for path in ICP_READS:
        response = client.get(path.format(**world.ids), headers=world.owner.auth)
        assert response.status_code == 200, f"{path}: {response.text}"
        reads.append((path, response.content))
    return [*snapshot(client, lad, world), *reads]


def _probe(client: TestClient, op: Operation, a: TenantWorld, b: TenantWorld, actor: str
           ) -> Iterator[str]:
    headers = b.owner.auth if actor == "owner" else b.key_auth
    examples = {"email": b.owner.email, "password": PASSWORD, "first_name": "Probe",
                "role": "viewer"}
    hidden = {value: kind for kind, value in a.ids.items()}
    stranger = {value: _stranger(kind, value) for value, kind in hidden.items()}
    for variant, ids in _variants(op, a, b):
        status, why = _expected(op, actor, variant)
        call = build_call(op, ids, examples, headers)
        if variant != "ids" and ids[variant] not in call.sent:
            continue  # nested in an optional object the minimal example leaves out
        unknown_call = build_call(op, {k: stranger.get(v, v) for k, v in ids.items()},
                                  examples, headers)
        foreign, unknown = _send(client, call), _send(client, unknown_call)
        where = f"{actor} {variant} {op.method} {call.url}"
        if foreign.status_code != status:
            yield f"{where}: {foreign.status_code} (want {status}: {why}) {foreign.text}"
        # A's whole-number ids are masked in both answers: a count ("1 of them ...") is no
        # id, and the two answers still have to agree everywhere else.
        numbers = {value: kind for value, kind in hidden.items() if value.isdigit()}
        if _mask(foreign.text, hidden) != _mask(unknown.text, {
                stranger[value]: kind for value, kind in hidden.items()} | numbers):
            yield f"{where}: A's ids answered unlike unknown ones: {foreign.text} | " \
                f"{unknown.text}"
        # A whole-number id (an agent's) is in any text: its name and prompt are the marks.
        leaked = sorted(s for s in a.secrets if not s.isdigit() and s in foreign.text
                        and s not in call.sent)
        if leaked:
            yield f"{where}: shows A's {leaked}: {foreign.text}"


def _variants(op: Operation, a: TenantWorld, b: TenantWorld
              ) -> Iterator[tuple[str, dict[str, str]]]:
    """"ids": every id is A's; then, where it takes more than one, each id of A's alone
    among B's own (A's note on B's lead, B's student with A's counsellor, ...)."""
    foreign = {name: a.ids[kind] for name, kind in SLOTS.items() if kind in a.ids} | CATALOG
    yield "ids", foreign
    names = [n for n in op.path_ids + op.query_ids + op.body_ids if n in SLOTS]
    if len(names) > 1:
        own = {name: b.ids[kind] for name, kind in SLOTS.items() if kind in b.ids} | CATALOG
        for name in names:
            yield name, own | {name: foreign[name]}


def _expected(op: Operation, actor: str, variant: str) -> tuple[int, str]:
    answers = REFUSALS.get(op.route, {})
    return (answers.get(actor) or answers.get(variant) or answers.get("*")
            or (404, "not found in B's tenant"))


def _stranger(kind: str, value: str) -> str:
    """An id of the same kind that nobody has."""
    if kind == "stage":
        return "nobody_only"
    return "987654321" if value.isdigit() else str(uuid.uuid4())


def _mask(text: str, names: Mapping[str, str]) -> str:
    for value, name in names.items():
        if value.isdigit():
            # A whole number only where it stands alone (not the 1 of /v1/ or of a date).
            text = re.sub(rf"(?<![\w.-]){value}(?![\w.-])", f"<{name}>", text)
        else:
            text = text.replace(value, f"<{name}>")
    return text


def _send(client: TestClient, call: Call) -> httpx.Response:
    response: httpx.Response = client.request(
        call.method, call.url, headers=call.headers, json=call.json, files=call.files,
        data=call.data)
    return response

