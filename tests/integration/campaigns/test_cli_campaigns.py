"""The CLI: ``lad outreach`` and ``lad campaigns`` as the operator, and ``lad worker
--once`` sending what is due, on every backend; --json for scripts, one-line errors with
the documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from tests.fakes.channels import RecordingEmail
from tests.integration.campaigns.conftest import ALWAYS
from tests.integration.leads.test_leads_cli import lad as run_lad
from tests.unit.leads.workspace import Workspace

BODY = "Dear {{ lead.first_name }},\n\nUnsubscribe: {{ unsubscribe_url }}"


@pytest.fixture
def ws(lad: Container) -> Workspace:
    """A tenant with money to send with."""
    workspace = Workspace.sign_up(lad)
    lad.billing().top_up(Principal.operator(), workspace.tenant_id, "100",
                         idempotency_key_="cli-top-up")
    return workspace


def _json(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run_lad(ws.lad, capsys, *args, "--tenant", str(ws.tenant_id), "--json")
    assert code == 0, err
    return json.loads(out)


def _mailbox(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    found: dict[str, Any] = _json(
        ws, capsys, "outreach", "email-accounts", "add", "--email", "sales@acme.test",
        "--smtp-host", "smtp.acme.test", "--smtp-port", "587", "--smtp-password", "pw-1")
    return found


def test_a_campaign_is_built_enrolled_and_sent_by_the_worker(
        ws: Workspace, capsys: pytest.CaptureFixture[str], email: RecordingEmail,
        tmp_path: Path) -> None:
    body = tmp_path / "intro.txt"
    body.write_text(BODY, encoding="utf-8")
    template = _json(ws, capsys, "outreach", "templates", "save", "--channel", "email",
                     "--key", "intro", "--subject", "Hi {{ lead.first_name }}",
                     "--body", f"@{body}")
    assert template["key"] == "intro" and template["body"] == BODY
    box = _mailbox(ws, capsys)
    assert box["has_smtp_password"] is True and "pw-1" not in json.dumps(box)
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps([{"type": "email", "config": {"template_key": "intro"}}]))
    created = _json(ws, capsys, "campaigns", "create", "--name", "Spring", "--settings",
                    json.dumps({"send_window": ALWAYS, "email_account_ids": [box["id"]]}),
                    "--steps", f"@{steps}")
    assert created["status"] == "draft" and len(created["steps"]) == 1
    lead = ws.lead(email="ada@example.test")
    enrolled = _json(ws, capsys, "campaigns", "enroll", created["id"], "--lead", str(lead.id))
    assert enrolled == {"enrolled": 1, "already_enrolled": 0, "more": False}
    preview = _json(ws, capsys, "outreach", "templates", "preview", template["id"],
                    "--lead", str(lead.id))
    assert preview["subject"] == "Hi Ada"
    assert _json(ws, capsys, "campaigns", "activate", created["id"])["status"] == "active"

    code, out, err = run_lad(ws.lad, capsys, "worker", "--once", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["steps"], report["sent"]) == (1, 1)
    [sent] = email.sent
    assert sent.email.to_address == "ada@example.test"
    assert "List-Unsubscribe" in sent.email.headers

    stats = _json(ws, capsys, "campaigns", "stats", created["id"])
    assert stats["enrollments"]["completed"] == 1 and stats["steps"][0]["sent"] == 1
    [enrollment] = _json(ws, capsys, "campaigns", "enrollments", created["id"])["items"]
    detail = _json(ws, capsys, "campaigns", "enrollment", created["id"], enrollment["id"])
    assert [row["status"] for row in detail["ledger"]] == ["sent"]
    assert [c["id"] for c in _json(ws, capsys, "campaigns", "list", "--status",
                                   "active")["items"]] == [created["id"]]
    code, out, _ = run_lad(ws.lad, capsys, "worker", "--once")
    assert code == 0 and "steps" in out


def test_an_unknown_send_is_reported_and_decided(ws: Workspace,
                                                 capsys: pytest.CaptureFixture[str],
                                                 email: RecordingEmail) -> None:
    from lad_domain.outreach.channels import Delivery, Outcome

    _json(ws, capsys, "outreach", "templates", "save", "--channel", "email", "--key",
          "intro", "--subject", "Hi", "--body", BODY)
    box = _mailbox(ws, capsys)
    created = _json(ws, capsys, "campaigns", "create", "--name", "Spring", "--settings",
                    json.dumps({"send_window": ALWAYS, "email_account_ids": [box["id"]]}),
                    "--steps", json.dumps([{"type": "email",
                                            "config": {"template_key": "intro"}}]))
    _json(ws, capsys, "campaigns", "enroll", created["id"], "--lead",
          str(ws.lead(email="bo@example.test").id))
    _json(ws, capsys, "campaigns", "activate", created["id"])
    email.script.then(Delivery(outcome=Outcome.UNKNOWN, reason="connection dropped"))
    assert ws.lad.send_engine().run_due()
    [unknown] = _json(ws, capsys, "campaigns", "unknown")["items"]
    [settlement] = _json(ws, capsys, "campaigns", "reconcile")["items"]
    assert settlement["activity_id"] == unknown["id"]
    assert settlement["result"].startswith("unknown")
    decided = _json(ws, capsys, "campaigns", "reconcile", "--decide", unknown["id"],
                    "not_sent")
    assert decided["result"] == "not_sent (operator)"
    assert _json(ws, capsys, "campaigns", "unknown") == {"items": [], "next_cursor": None}


def test_accounts_suppressions_and_the_key_rotation(ws: Workspace,
                                                    capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    box = _mailbox(ws, capsys)
    assert _json(ws, capsys, "outreach", "email-accounts", "pause", box["id"])["status"] == \
        "paused"
    assert _json(ws, capsys, "outreach", "email-accounts", "resume", box["id"])["status"] == \
        "active"
    assert _json(ws, capsys, "outreach", "email-accounts", "verify", box["id"])["ok"] is True
    linkedin = _json(ws, capsys, "outreach", "linkedin-accounts", "add",
                     "--unipile-account", "unipile-1", "--invite-cap", "20")
    assert linkedin["caps_today"]["invite"] == 20
    suppressed = _json(ws, capsys, "outreach", "suppressions", "add", "--channel", "email",
                       "--address", "Bo@Example.test")
    assert (suppressed["address"], suppressed["new"]) == ("bo@example.test", True)
    again = _json(ws, capsys, "outreach", "suppressions", "add", "--channel", "email",
                  "--address", "bo@example.test")
    assert again["new"] is False
    assert len(_json(ws, capsys, "outreach", "suppressions", "list")["items"]) == 1

    code, out, err = run_lad(ws.lad, capsys, "outreach", "rotate-key", "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["tenants"] >= 1 and rotated["resealed"] == 0  # sealed with the current key

    for args in (("outreach", "suppressions", "remove", suppressed["id"]),
                 ("outreach", "linkedin-accounts", "remove", linkedin["id"]),
                 ("outreach", "email-accounts", "remove", box["id"])):
        code, _, err = run_lad(ws.lad, capsys, *args, "--tenant", str(ws.tenant_id))
        assert code == 0, err
    assert _json(ws, capsys, "outreach", "email-accounts", "list")["items"] == []


def test_errors_are_one_line_with_their_exit_code(ws: Workspace,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lad(ws.lad, capsys, "outreach", "templates", "save", "--channel",
                           "email", "--key", "bad", "--subject", "Hi", "--body",
                           "{{ lead.nickname }}", "--tenant", str(ws.tenant_id))
    assert code == 2 and err.count("\n") == 1 and "body" in err
    code, _, err = run_lad(ws.lad, capsys, "campaigns", "create", "--name", "x", "--steps",
                           "[{not json", "--tenant", str(ws.tenant_id))
    assert (code, err.count("\n")) == (2, 1) and "--steps" in err
    code, _, err = run_lad(ws.lad, capsys, "campaigns", "show",
                           "00000000-0000-4000-8000-000000000000", "--tenant",
                           str(ws.tenant_id))
    assert (code, err.strip()) == (3, "error: campaign not found")
