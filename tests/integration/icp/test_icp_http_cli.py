"""The ICP assistant over HTTP and the CLI, on memory, SQLite and PostgreSQL: a
conversation of two turns (the second corrects the location) read by the offline rules
extractor, saved as a profile, previewed over the simulated Apollo on loopback, twenty of
the people imported as leads (and not twice); bad input named (an empty or a 100 KB
message, contradictory headcount ranges), another tenant's profile a 404, a model not
configured a 503 naming the setting; the CLI's exit codes for the same."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.catalog import default_catalog
from lad_domain.billing.ports import UsageLine
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.integration.tenancy.api import Account, fields, problem, sign_up

OPERATOR = Principal.operator()
ICP = "/v1/icp"
FIRST = ("We sell to engineering managers and directors at software companies with "
         "50-5000 employees in the United Kingdom.")
CORRECTION = "Actually, the people should be in the United States instead."
PROFILE = {"titles": ["Engineering Manager"], "headcounts": [{"min": 50, "max": 5000}],
           "person_locations": ["United States"]}

EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    """Each backend's container with the default price list (the rules extractor is free,
    an Apollo lookup is not)."""
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    return lad


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    with TestClient(create_app(lad), raise_server_exceptions=False) as client:
        yield client


@attrs.frozen
class Desk:
    """A tenant's owner, through HTTP; the wallet funded unless asked otherwise."""

    client: TestClient
    lad: Container
    owner: Account

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.owner.tenant_id)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, headers=self.owner.auth, json=body)

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.owner.auth)

    def ok(self, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.post(path, body)
        assert response.status_code == status, response.text
        return response.json()

    def fund(self, amount: str = "50") -> None:
        self.lad.billing().top_up(OPERATOR, self.tenant_id, amount,
                                  idempotency_key_=f"fund-{uuid.uuid4()}")

    def conversation(self) -> str:
        return str(self.ok(f"{ICP}/conversations", {"title": "Q3"}, 201)["id"])

    def say(self, conversation: str, content: str) -> Any:
        return self.ok(f"{ICP}/conversations/{conversation}/messages", {"content": content},
                       201)

    def profile(self, icp: dict[str, Any] | None = None, name: str = "US managers") -> str:
        return str(self.ok(f"{ICP}/profiles", {"name": name, "icp": icp or PROFILE},
                           201)["id"])

    def usage(self, feature: str) -> list[UsageLine]:
        """The usage events the tenant was billed for ``feature``."""
        with self.lad.tenant_scope().uow(self.tenant_id) as uow:
            return [line for line in uow.usage_events.posted_between(EVER[0], EVER[1])
                    if line.feature_key == feature]


def open_desk(client: TestClient, lad: Container, *, funded: bool = True) -> Desk:
    desk = Desk(client, lad, sign_up(client))
    if funded:
        desk.fund()
    return desk


@pytest.fixture
def desk(client: TestClient, lad: Container) -> Desk:
    return open_desk(client, lad)


def test_two_turns_build_the_icp_and_the_second_corrects_the_location(desk: Desk) -> None:
    conversation = desk.conversation()
    first = desk.say(conversation, FIRST)
    assert {"titles", "headcounts", "person_locations"} <= set(first["changed"])
    assert first["icp"]["headcounts"] == [{"min": 50, "max": 5000}]
    assert first["search_params"]["organization_num_employees_ranges"] == ["50,5000"]
    second = desk.say(conversation, CORRECTION)
    assert second["changed"] == ["person_locations"]
    assert second["icp"]["person_locations"] == ["United States"]
    assert second["icp"]["titles"] == first["icp"]["titles"]
    said = desk.get(f"{ICP}/conversations/{conversation}/messages").json()["items"]
    assert [(m["role"], m["content"]) for m in said[::2]] == [("user", FIRST),
                                                             ("user", CORRECTION)]
    assert [m["role"] for m in said[1::2]] == ["assistant", "assistant"]


def test_the_journey_from_a_conversation_to_leads(desk: Desk) -> None:
    conversation = desk.conversation()
    desk.say(conversation, FIRST)
    desk.say(conversation, CORRECTION)
    saved = desk.ok(f"{ICP}/profiles", {"name": "US engineering managers",
                                        "conversation_id": conversation}, 201)
    assert saved["icp"]["person_locations"] == ["United States"]
    preview = desk.ok(f"{ICP}/search/preview", {"profile_id": saved["id"], "per_page": 25})
    assert preview["search_params"]["person_locations"] == ["United States"]
    people = preview["people"]
    assert len(people["items"]) == 25 and people["cached"] is False and people["cost"] == "0"
    ids = [p["apollo_id"] for p in people["items"][:20]]
    first = desk.ok(f"{ICP}/import", {"person_ids": ids})
    assert (first["selected"], first["already_leads"], first["report"]["created"]) == (20, 0, 20)
    again = desk.ok("/v1/enrichment/people/import", {"person_ids": ids})
    assert (again["already_leads"], again["report"]["created"]) == (20, 0)
    leads = desk.get("/v1/leads?limit=200").json()["items"]
    assert {x["custom_fields"]["apollo_person_id"] for x in leads} == set(ids)
    assert desk.get(f"{ICP}/profiles/{saved['id']}").json()["usage_count"] == 1


def test_a_second_preview_is_served_from_the_cache(desk: Desk) -> None:
    body = {"profile_id": desk.profile(), "per_page": 10}
    first, second = desk.ok(f"{ICP}/search/preview", body), desk.ok(f"{ICP}/search/preview",
                                                                     body)
    assert (first["people"]["cached"], second["people"]["cached"]) == (False, True)
    assert second["people"]["items"] == first["people"]["items"]


@pytest.mark.parametrize("content", ["", "   ", "x" * 100_000])
def test_an_empty_or_huge_message_is_a_422_naming_content(desk: Desk, content: str) -> None:
    response = desk.post(f"{ICP}/conversations/{desk.conversation()}/messages",
                         {"content": content})
    assert fields(response) == ["content"]


def test_contradictory_headcount_ranges_are_a_422_naming_the_range(desk: Desk) -> None:
    icp = {**PROFILE, "headcounts": [{"min": 50, "max": 200}, {"min": 100, "max": 500}]}
    response = desk.post(f"{ICP}/profiles", {"name": "Overlap", "icp": icp})
    assert fields(response) == ["icp.headcounts"]
    backwards = desk.post(f"{ICP}/profiles", {"name": "Backwards", "icp": {
        **PROFILE, "headcounts": [{"min": 500, "max": 50}]}})
    assert fields(backwards) == ["icp.headcounts[0]"]
    assert "contradicts" in problem(backwards, 422)["detail"]


def test_another_tenants_profile_and_conversation_are_not_found(
        desk: Desk, client: TestClient, lad: Container) -> None:
    other = open_desk(client, lad)
    profile, conversation = desk.profile(), desk.conversation()
    for response in (other.get(f"{ICP}/profiles/{profile}"),
                     other.post(f"{ICP}/search/preview", {"profile_id": profile}),
                     other.post(f"{ICP}/search/preview", {"conversation_id": conversation}),
                     other.post(f"{ICP}/profiles", {"name": "Theirs",
                                                    "conversation_id": conversation})):
        problem(response, 404)
    assert desk.get(f"{ICP}/profiles/{profile}").json()["usage_count"] == 0


def unconfigure_the_model(lad: Container) -> None:
    """LAD_ICP_MODEL=openai without LAD_LLM_API_KEY."""
    settings = lad.settings().model_copy(update={"icp_model": "openai", "llm_api_key": None})
    lad.settings.override(providers.Object(settings))
    lad.icp_extractor.reset()
    lad.icp_assistant.reset()


def test_a_model_not_configured_is_a_503_naming_the_key(desk: Desk, lad: Container) -> None:
    conversation = desk.conversation()
    unconfigure_the_model(lad)
    body = problem(desk.post(f"{ICP}/conversations/{conversation}/messages",
                             {"content": FIRST}), 503)
    assert "LAD_LLM_API_KEY" in body["detail"]
    assert desk.get(f"{ICP}/conversations/{conversation}/messages").json()["items"] == []


def test_keyword_expansion_is_cached_after_the_first_ask(desk: Desk) -> None:
    first = desk.ok(f"{ICP}/keywords/expand", {"keyword": "SaaS"})
    second = desk.ok(f"{ICP}/keywords/expand", {"keyword": "saas"})
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["keywords"] == first["keywords"]
    stats = desk.get(f"{ICP}/keywords/stats").json()
    assert stats["hits"] >= 1 and stats["misses"] >= 1 and 0 < stats["hit_rate"] <= 1


# --- the CLI -------------------------------------------------------------------------------

def icp(desk: Desk, capsys: Capture, *args: str) -> tuple[int, Any, str]:
    code, out, err = run_lad(desk.lad, capsys, "icp", *args, "--tenant",
                             str(desk.tenant_id), "--json")
    return code, json.loads(out) if code == 0 else None, err


def test_the_cli_talks_saves_and_previews(desk: Desk, capsys: Capture) -> None:
    code, started, _ = icp(desk, capsys, "conversations", "start", "--member",
                           desk.owner.email)
    assert code == 0, started
    code, turn, err = icp(desk, capsys, "conversations", "say", started["id"], FIRST)
    assert code == 0, err
    assert turn["icp"]["headcounts"] == [{"min": 50, "max": 5000}]
    code, saved, err = icp(desk, capsys, "profiles", "save", "--name", "CLI",
                           "--conversation", started["id"])
    assert code == 0, err
    code, preview, err = icp(desk, capsys, "preview", "--profile", saved["id"],
                             "--per-page", "5")
    assert code == 0 and len(preview["items"]) == 5, err
    code, _, _ = icp(desk, capsys, "conversations", "archive", started["id"])
    assert code == 0
    assert icp(desk, capsys, "conversations", "say", started["id"], FIRST)[0] == 4


def test_the_cli_exits_2_on_bad_input_and_3_when_not_found(desk: Desk,
                                                          capsys: Capture) -> None:
    code, _, err = icp(desk, capsys, "profiles", "save", "--name", "Bad", "--icp",
                       json.dumps({"headcounts": ["50,200", "100,300"]}))
    assert code == 2 and "icp.headcounts" in err and "Traceback" not in err
    code, _, err = icp(desk, capsys, "profiles", "show", str(uuid.uuid4()))
    assert code == 3 and err.startswith("error: ")
    code, _, err = icp(desk, capsys, "conversations", "start", "--member",
                       "nobody@nowhere.test")
    assert code == 2 and "member" in err


def test_the_cli_exits_69_when_the_model_is_not_configured(desk: Desk, lad: Container,
                                                           capsys: Capture) -> None:
    code, started, _ = icp(desk, capsys, "conversations", "start", "--member",
                           desk.owner.email)
    unconfigure_the_model(lad)
    code, _, err = icp(desk, capsys, "conversations", "say", started["id"], FIRST)
    assert code == 69 and "LAD_LLM_API_KEY" in err and "Traceback" not in err
