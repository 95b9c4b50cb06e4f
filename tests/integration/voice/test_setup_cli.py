"""``lad voice`` as the operator: the shipped catalog loaded, a tenant's agents, numbers,
grants and defaults; --json for scripts, one-line errors with the documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lad_entrypoints.container import Container
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.unit.leads.workspace import Workspace


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    """The container of each backend (asking for ``backend`` is what parametrises it)."""
    return lad


@pytest.fixture
def ws(lad: Container) -> Workspace:
    return Workspace.sign_up(lad)


def _json(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run_lad(ws.lad, capsys, "voice", *args, "--tenant", str(ws.tenant_id),
                             "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_shipped_catalog_loads_once(ws: Workspace, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    code, out, _ = run_lad(ws.lad, capsys, "voice", "voices", "load", "--json")
    assert code == 0 and json.loads(out)["added"] >= 15
    code, out, _ = run_lad(ws.lad, capsys, "voice", "voices", "load", "--json")
    assert json.loads(out)["added"] == 0 and json.loads(out)["updated"] == 0
    providers = {v["provider"] for v in _json(ws, capsys, "voices", "list", "--limit",
                                              "200")["items"]}
    assert providers == {"elevenlabs", "openai", "cartesia", "google"}


def test_a_bad_catalog_file_names_the_row_and_writes_nothing(
        ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "voices.json"
    path.write_text(json.dumps({"voices": [{"provider": "openai", "provider_voice_id": "a",
                                            "name": "A"}, {"provider": "openai"}]}))
    code, _, err = run_lad(ws.lad, capsys, "voice", "voices", "load", str(path))
    assert code == 2 and "voices[1].name: is required" in err and "Traceback" not in err
    assert _json(ws, capsys, "voices", "list") == {"items": [], "next_cursor": None}


def test_an_agent_a_number_a_grant_and_a_default(
        ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    member = ws.member()
    agent = _json(ws, capsys, "agents", "create", "--name", "Ava", "--language", "en-gb",
                  "--config", '{"recording": true, "recording_disclosure": "Recorded."}')
    assert agent["language"] == "en-GB" and agent["config"]["recording"] is True
    number = _json(ws, capsys, "numbers", "add", "--phone", "+14155552671", "--provider",
                   "twilio", "--agent", str(agent["id"]), "--capability", "voice",
                   "--capability", "sms")
    assert number["agent_id"] == agent["id"] and number["capabilities"] == "sms, voice"
    grant = _json(ws, capsys, "permissions", "grant", "--user", str(member.user_id),
                  "--number", number["id"])
    assert grant["is_active"] is True
    profile = _json(ws, capsys, "profiles", "set", str(member.user_id), "--agent",
                    str(agent["id"]), "--number", number["id"])
    assert profile["default_number_id"] == number["id"]
    assert [a["name"] for a in _json(ws, capsys, "agents", "list")["items"]] == ["Ava"]


def test_a_bad_phone_is_one_line_naming_the_field(
        ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lad(ws.lad, capsys, "voice", "numbers", "add", "--phone", "12",
                           "--provider", "twilio", "--tenant", str(ws.tenant_id))
    assert code == 2 and err.startswith("error: phone:") and "Traceback" not in err


def test_an_unknown_agent_exits_3(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lad(ws.lad, capsys, "voice", "agents", "show", "999",
                           "--tenant", str(ws.tenant_id))
    assert code == 3 and err.strip() == "error: agent not found"


def test_tables_by_default(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    run_lad(ws.lad, capsys, "voice", "agents", "create", "--name", "Ava", "--tenant",
            str(ws.tenant_id))
    code, out, _ = run_lad(ws.lad, capsys, "voice", "agents", "list", "--tenant",
                           str(ws.tenant_id))
    assert code == 0 and "Ava" in out and "{" not in out
