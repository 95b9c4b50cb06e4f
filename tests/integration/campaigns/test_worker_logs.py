"""The worker's log lines name the job they were written for: a campaign step its tenant,
enrollment, campaign and step; a step that fails is logged with its traceback and the same
ids; a mailbox read its tenant. On every backend, read back from ``lad worker --once``."""

from __future__ import annotations

import json
import logging
from typing import Any, NoReturn

import pytest

from lad_domain.campaigns.services.engine import SendEngine
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.worker import Worker
from tests.fakes.channels import RecordingEmail
from tests.integration.campaigns.conftest import ALWAYS
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.integration.log_lines import json_lines, kept, parsed
from tests.unit.leads.workspace import Workspace

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def ws(lad: Container) -> Workspace:
    workspace = Workspace.sign_up(lad)
    lad.billing().top_up(Principal.operator(), workspace.tenant_id, "100",
                         idempotency_key_="log-top-up")
    return workspace


def _json(ws: Workspace, capsys: Capture, *args: str) -> Any:
    code, out, err = run_lad(ws.lad, capsys, *args, "--tenant", str(ws.tenant_id), "--json")
    assert code == 0, err
    return json.loads(out)


def _campaign_with_one_due_step(ws: Workspace, capsys: Capture) -> tuple[str, str]:
    """An active campaign of one email step, a lead enrolled: its id and the enrollment's."""
    _json(ws, capsys, "outreach", "templates", "save", "--channel", "email", "--key",
          "intro", "--subject", "Hi", "--body", "Dear {{ lead.first_name }}, {{ unsubscribe_url }}")
    box = _json(ws, capsys, "outreach", "email-accounts", "add", "--email", "sales@acme.test",
                "--smtp-host", "smtp.acme.test", "--smtp-port", "587",
                "--smtp-password", "pw-1")
    created = _json(ws, capsys, "campaigns", "create", "--name", "Spring", "--settings",
                    json.dumps({"send_window": ALWAYS, "email_account_ids": [box["id"]]}),
                    "--steps", json.dumps([{"type": "email",
                                            "config": {"template_key": "intro"}}]))
    _json(ws, capsys, "campaigns", "enroll", created["id"], "--lead",
          str(ws.lead(email="ada@example.test").id))
    _json(ws, capsys, "campaigns", "activate", created["id"])
    [enrollment] = _json(ws, capsys, "campaigns", "enrollments", created["id"])["items"]
    return created["id"], enrollment["id"]


def test_a_campaign_steps_lines_carry_its_ids(ws: Workspace, capsys: Capture,
                                              email: RecordingEmail) -> None:
    campaign_id, enrollment_id = _campaign_with_one_due_step(ws, capsys)
    with kept():  # `lad worker` configures the process's logging: on standard error
        code, out, err = run_lad(ws.lad, capsys, "worker", "--once", "--json")
    assert code == 0, err
    assert json.loads(out)["sent"] == 1 and len(email.sent) == 1
    lines = parsed(err)  # every line JSON: standard error is not a terminal
    [step] = [line for line in lines if line.get("enrollment_id") == enrollment_id]
    assert (step["logger"], step["level"], step["event"]) == (
        "lad.worker", "info", "campaign step ran: sent")
    assert (step["tenant_id"], step["campaign_id"], step["step"], step["result"]) == (
        str(ws.tenant_id), campaign_id, 1, "sent")
    # What the step's send wrote is no one's but the step's: no id leaks past it.
    assert [line for line in lines if "request_id" in line] == []


def test_a_failing_step_is_logged_with_its_traceback_and_ids(
        ws: Workspace, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, enrollment_id = _campaign_with_one_due_step(ws, capsys)

    def broken(*args: object) -> NoReturn:
        raise RuntimeError("the channel broke")

    monkeypatch.setattr(SendEngine, "_deliver", broken)
    with json_lines(ws.lad.settings()) as logs:
        report = Worker.of(ws.lad).run(once=True)
        logging.getLogger("tests.after").info("after the round")
    assert report.steps["error"] == 1
    [failed] = [line for line in parsed(logs.getvalue()) if line["level"] == "error"]
    assert failed["event"] == "a campaign step failed"
    assert (failed["enrollment_id"], failed["campaign_id"], failed["tenant_id"]) == (
        enrollment_id, campaign_id, str(ws.tenant_id))
    assert failed["exception"].rstrip().endswith("RuntimeError: the channel broke")
    after = parsed(logs.getvalue())[-1]
    assert after["event"] == "after the round"
    assert not {"tenant_id", "enrollment_id", "campaign_id", "step"} & after.keys()
