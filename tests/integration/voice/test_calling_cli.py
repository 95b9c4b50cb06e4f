"""``lad voice batches|calls|call|sweep`` as the operator on memory, SQLite and PostgreSQL:
batches from ids, a file or a filter, their entries and decisions once the dialer ran,
pause, resume, cancel, the call log, one call, the timeout sweep; --json for scripts,
tables by default, one-line errors with the documented exit codes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.fakes.voice import OneProvider, ScriptedProvider
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.integration.voice.test_calling_http import START, dial
from tests.unit.voice.calls_world import CallWorld

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    lad.voice_providers.override(providers.Object(OneProvider({"local": ScriptedProvider()})))
    return lad


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def world(lad: Container, clock: FixedClock) -> CallWorld:
    return CallWorld.open(lad, clock)


def voice(world: CallWorld, capsys: Capture, *args: str) -> Any:
    code, out, err = run_lad(world.lad, capsys, "voice", *args, "--tenant",
                             str(world.tenant_id), "--json")
    assert code == 0, err
    return json.loads(out)


def create(world: CallWorld, capsys: Capture, *args: str) -> Any:
    return voice(world, capsys, "batches", "create", "--agent", str(world.agent.id),
                 "--number", str(world.number.id), *args)


def test_a_batch_from_ids_shows_its_decisions_after_the_dial(
        world: CallWorld, capsys: Capture) -> None:
    new_york, los_angeles = world.lead(), world.lead("America/Los_Angeles")
    batch = create(world, capsys, "--lead", str(new_york.id), "--lead", str(los_angeles.id))
    assert (batch["total"], batch["skipped"], batch["counts"]["pending"]) == (2, 0, 2)
    assert sorted(dial(world.lad)) == ["placed", "waiting"]
    entries = voice(world, capsys, "batches", "entries", batch["id"])["items"]
    by_lead = {e["lead_id"]: e for e in entries}
    assert by_lead[str(new_york.id)]["decision"] == "dial"
    assert by_lead[str(los_angeles.id)]["zones"] == "America/Los_Angeles"
    counts = voice(world, capsys, "batches", "show", batch["id"])["counts"]
    assert {k: v for k, v in counts.items() if v} == Counter(e["status"] for e in entries)


def test_a_batch_from_a_file_or_a_filter(world: CallWorld, capsys: Capture,
                                         tmp_path: Path) -> None:
    leads = [world.lead(), world.lead()]
    path = tmp_path / "leads.txt"
    path.write_text("# March\n" + "\n".join(str(x.id) for x in leads) + "\n\n")
    assert create(world, capsys, "--file", str(path))["total"] == 2
    world.lead(first_name="Zed")
    assert create(world, capsys, "--text", "Zed")["total"] == 1


def test_a_bad_line_in_the_file_is_one_line_naming_it(world: CallWorld, capsys: Capture,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "leads.txt"
    path.write_text("nope\n")
    code, _, err = run_lad(world.lad, capsys, "voice", "batches", "create", "--agent",
                           str(world.agent.id), "--file", str(path), "--tenant",
                           str(world.tenant_id))
    assert code == 2 and err.startswith("error: --file line 1:") and "Traceback" not in err


def test_pause_resume_and_cancel(world: CallWorld, capsys: Capture) -> None:
    batch = create(world, capsys, "--lead", str(world.lead().id))
    assert voice(world, capsys, "batches", "pause", batch["id"])["status"] == "paused"
    assert dial(world.lad) == []
    assert voice(world, capsys, "batches", "resume", batch["id"])["status"] == "running"
    assert voice(world, capsys, "batches", "cancel", batch["id"])["status"] == "cancelled"
    listed = voice(world, capsys, "batches", "list", "--status", "cancelled")
    assert [b["id"] for b in listed["items"]] == [batch["id"]]


def test_one_call_then_the_call_log(world: CallWorld, capsys: Capture) -> None:
    lead = world.lead()
    called = voice(world, capsys, "call", str(lead.id), "--agent", str(world.agent.id))
    assert called["total"] == 1
    assert dial(world.lad) == ["placed"]
    [call] = voice(world, capsys, "calls", "list", "--lead", str(lead.id))["items"]
    shown = voice(world, capsys, "calls", "show", call["id"])
    assert (shown["status"], shown["batch_id"], shown["analysis"]) == (
        "queued", called["id"], None)


def test_the_sweep_gives_up_a_call_with_no_final_event(world: CallWorld, capsys: Capture
                                                       ) -> None:
    create(world, capsys, "--lead", str(world.lead().id))
    dial(world.lad)
    world.at(START + timedelta(hours=1))
    code, out, err = run_lad(world.lad, capsys, "voice", "sweep", "--json")
    assert code == 0, err
    assert json.loads(out)["unknown"] == 1
    assert [c["status"] for c in voice(world, capsys, "calls", "list")["items"]] == ["unknown"]


def test_an_unknown_batch_exits_3(world: CallWorld, capsys: Capture) -> None:
    code, _, err = run_lad(world.lad, capsys, "voice", "batches", "show",
                           "00000000-0000-4000-8000-000000000000", "--tenant",
                           str(world.tenant_id))
    assert code == 3 and err.strip() == "error: batch not found"


def test_tables_by_default(world: CallWorld, capsys: Capture) -> None:
    create(world, capsys, "--lead", str(world.lead().id), "--name", "March")
    code, out, _ = run_lad(world.lad, capsys, "voice", "batches", "list", "--tenant",
                           str(world.tenant_id))
    assert code == 0 and "March" in out and "{" not in out
