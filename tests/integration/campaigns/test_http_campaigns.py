"""HTTP: a campaign from its template and mailbox to the first email in the fake channel,
its statistics, the one-click unsubscribe and the open pixel, Unipile's webhooks, and the
refusals (steps out of order, another tenant's lead, who may, the feature switched off)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from lad_domain.campaigns.services.engine import StepResult
from lad_entrypoints.container import Container
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.integration.campaigns.conftest import ALWAYS, PUBLIC_URL, WEBHOOK_SECRET
from tests.integration.tenancy.api import Account, fields, join, problem, sign_up

INTRO = {"channel": "email", "key": "intro", "subject": "Hello {{ lead.first_name }}",
         "body": "Dear {{ lead.first_name }},\n\nA word from {{ sender.name }}.\n\n"
                 "Unsubscribe: {{ unsubscribe_url }}"}
STEPS = [{"type": "email", "config": {"template_key": "intro"}},
         {"type": "wait", "config": {"days": 2}},
         {"type": "email", "config": {"template_key": "intro"}}]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def mailbox(client: TestClient, admin: Account, address: str = "sales@acme.test") -> str:
    account: str = _ok(client.post("/v1/outreach/email-accounts", headers=admin.auth, json={
        "email": address, "display_name": "Acme Sales", "smtp_host": "smtp.acme.test",
        "smtp_port": 587, "smtp_username": address, "smtp_password": "s3cret-pass"}),
        201)["id"]
    return account


def campaign(client: TestClient, who: Account, mailbox_id: str, steps: Any = None
             ) -> dict[str, Any]:
    found: dict[str, Any] = _ok(client.post("/v1/campaigns", headers=who.auth, json={
        "name": "Spring", "settings": {"send_window": ALWAYS,
                                       "email_account_ids": [mailbox_id]},
        "steps": STEPS if steps is None else steps}), 201)
    return found


def lead(client: TestClient, who: Account, address: str = "ada@example.test",
         **extra: Any) -> str:
    found: str = _ok(client.post("/v1/leads", headers=who.auth, json={
        "email": address, "first_name": "Ada", **extra}), 201)["id"]
    return found


def ready(client: TestClient, owner: Account) -> tuple[dict[str, Any], str]:
    """A template, a mailbox, a campaign of STEPS and a lead enrolled; activated."""
    _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    found = campaign(client, owner, mailbox(client, owner))
    lead_id = lead(client, owner)
    enrolled = _ok(client.post(f"/v1/campaigns/{found['id']}/enroll", headers=owner.auth,
                               json={"lead_ids": [lead_id]}))
    assert enrolled == {"enrolled": 1, "already_enrolled": 0, "more": False}
    assert _ok(client.post(f"/v1/campaigns/{found['id']}/activate",
                           headers=owner.auth))["status"] == "active"
    return found, lead_id


def links(email: RecordingEmail) -> tuple[str, str]:
    """The https unsubscribe link of the one email sent, and its path."""
    [sent] = email.sent
    header = sent.email.headers["List-Unsubscribe"]
    found = re.search(r"<(https://[^>]+)>", header)
    assert found is not None, header
    return found.group(1), found.group(1).removeprefix(PUBLIC_URL)


def test_a_campaign_sends_its_first_email_and_counts_it(
        client: TestClient, lad: Container, owner: Account, email: RecordingEmail) -> None:
    found, lead_id = ready(client, owner)
    again = _ok(client.post(f"/v1/campaigns/{found['id']}/enroll", headers=owner.auth,
                            json={"lead_ids": [lead_id]}))
    assert (again["enrolled"], again["already_enrolled"]) == (0, 1)

    assert lad.send_engine().run_due() == {StepResult.SENT: 1}

    [sent] = email.sent
    assert (sent.email.to_address, sent.email.subject) == ("ada@example.test", "Hello Ada")
    assert "A word from Acme Sales." in sent.email.text
    assert sent.login.password == "s3cret-pass" and sent.login.host == "smtp.acme.test"
    headers = sent.email.headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"<{PUBLIC_URL}/v1/public/unsubscribe/" in headers["List-Unsubscribe"]
    assert "<mailto:sales@acme.test?subject=unsubscribe>" in headers["List-Unsubscribe"]

    stats = _ok(client.get(f"/v1/campaigns/{found['id']}/stats", headers=owner.auth))
    assert stats["totals"]["sent"] == 1 and stats["enrollments"]["waiting"] == 1
    assert [(s["step_order"], s["sent"]) for s in stats["steps"]] == [(1, 1)]
    [enrollment] = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments",
                                  headers=owner.auth))["items"]
    assert enrollment["step_order"] == 3 and enrollment["status"] == "waiting"
    detail = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments/{enrollment['id']}",
                            headers=owner.auth))
    [row] = detail["ledger"]
    assert (row["status"], row["step_order"], row["recipient"]) == (
        "sent", 1, "ada@example.test")
    assert row["message_key"] == sent.email.message_id

    account = _ok(client.get(f"/v1/outreach/email-accounts/{row['sender_id']}",
                             headers=owner.auth))
    assert account["pacing"]["sent_today"] == {"email": 1}
    assert account["pacing"]["next_send_at"] is not None
    assert lad.send_engine().run_due() == {}  # the next step waits two days


def test_unsubscribe_suppresses_once_and_its_page_suppresses_nothing(
        client: TestClient, lad: Container, owner: Account, email: RecordingEmail) -> None:
    found, _ = ready(client, owner)
    lad.send_engine().run_due()
    _, path = links(email)

    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "ada@example.test" in page.text
    assert _ok(client.get("/v1/suppressions", headers=owner.auth))["items"] == []

    assert _ok(client.post(path)) == {"result": "unsubscribed"}
    assert _ok(client.post(path, data={"List-Unsubscribe": "One-Click"})) == {
        "result": "already unsubscribed"}
    [suppressed] = _ok(client.get("/v1/suppressions", headers=owner.auth))["items"]
    assert (suppressed["address"], suppressed["reason"]) == ("ada@example.test",
                                                             "unsubscribed")
    [stopped] = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments",
                               params={"status": "stopped"}, headers=owner.auth))["items"]
    assert stopped["stop_reason"] == "unsubscribed"
    stats = _ok(client.get(f"/v1/campaigns/{found['id']}/stats", headers=owner.auth))
    assert stats["totals"]["unsubscribed"] == 1

    browser = client.post(path, headers={"Accept": "text/html"})
    assert browser.status_code == 200 and "Unsubscribed" in browser.text


def test_a_forged_link_is_a_404_problem(client: TestClient, lad: Container, owner: Account,
                                        email: RecordingEmail) -> None:
    ready(client, owner)
    lad.send_engine().run_due()
    _, path = links(email)
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for response in (client.get(f"/v1/public/unsubscribe/{forged}"),
                     client.post(f"/v1/public/unsubscribe/{forged}"),
                     client.get(f"/v1/public/open/{forged}"),
                     client.get("/v1/public/open/not-a-token"),
                     client.post(f"/v1/public/open/{token}")):
        assert response.status_code in (404, 405), response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert _ok(client.get("/v1/suppressions", headers=owner.auth))["items"] == []


def test_the_open_pixel_records_the_open(client: TestClient, lad: Container, owner: Account,
                                         email: RecordingEmail) -> None:
    found, _ = ready(client, owner)
    lad.send_engine().run_due()
    [sent] = email.sent
    assert sent.email.html is not None
    pixel = re.search(r'src="([^"]+/v1/public/open/[^"]+)"', sent.email.html)
    assert pixel is not None, sent.email.html
    answer = client.get(pixel.group(1).removeprefix(PUBLIC_URL))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/gif"
    assert answer.content.startswith(b"GIF89a")
    stats = _ok(client.get(f"/v1/campaigns/{found['id']}/stats", headers=owner.auth))
    assert stats["totals"]["opened"] == 1


def test_steps_out_of_order_are_a_422_naming_the_step(client: TestClient, owner: Account
                                                      ) -> None:
    _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    draft = campaign(client, owner, mailbox(client, owner), steps=[])
    shuffled = [{**STEPS[0], "order": 2}, {**STEPS[1], "order": 1}]
    assert fields(client.put(f"/v1/campaigns/{draft['id']}/steps", headers=owner.auth,
                             json=shuffled)) == ["steps[1].order", "steps[2].order"]
    assert fields(client.post("/v1/campaigns", headers=owner.auth, json={
        "name": "x", "steps": shuffled})) == ["steps[1].order", "steps[2].order"]
    unknown = [{"type": "email", "config": {"template_key": "nope"}}]
    assert fields(client.put(f"/v1/campaigns/{draft['id']}/steps", headers=owner.auth,
                             json=unknown)) == ["steps[1].config.template_key"]
    placed = _ok(client.put(f"/v1/campaigns/{draft['id']}/steps", headers=owner.auth,
                            json=STEPS))
    assert [(s["order"], s["type"]) for s in placed["steps"]] == [
        (1, "email"), (2, "wait"), (3, "email")]


def test_enrolling_another_tenants_lead_is_a_404(client: TestClient, owner: Account) -> None:
    _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    mine = campaign(client, owner, mailbox(client, owner))
    stranger = sign_up(client, "Other")
    theirs = lead(client, stranger, "bo@other.test")
    problem(client.post(f"/v1/campaigns/{mine['id']}/enroll", headers=owner.auth,
                        json={"lead_ids": [theirs]}), 404)
    problem(client.post(f"/v1/campaigns/{mine['id']}/enroll", headers=owner.auth,
                        json={"lead_ids": [str(uuid.uuid4())]}), 404)
    problem(client.get(f"/v1/campaigns/{mine['id']}", headers=stranger.auth), 404)
    assert _ok(client.get(f"/v1/campaigns/{mine['id']}/enrollments",
                          headers=owner.auth))["items"] == []


def test_enroll_by_filter(client: TestClient, owner: Account) -> None:
    _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    draft = campaign(client, owner, mailbox(client, owner))
    for n in range(3):
        lead(client, owner, f"lead{n}@example.test", company="Zed" if n else "Acme")
    report = _ok(client.post(f"/v1/campaigns/{draft['id']}/enroll", headers=owner.auth,
                             json={"filter": {"q": "Zed"}}))
    assert report == {"enrolled": 2, "already_enrolled": 0, "more": False}
    assert fields(client.post(f"/v1/campaigns/{draft['id']}/enroll", headers=owner.auth,
                              json={})) == ["lead_ids"]


def test_a_campaign_lives_draft_active_paused_archived(client: TestClient, owner: Account
                                                       ) -> None:
    _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    found = campaign(client, owner, mailbox(client, owner))
    path = f"/v1/campaigns/{found['id']}"
    renamed = _ok(client.patch(path, headers=owner.auth, json={
        "name": "Summer", "settings": {"daily_cap": 10}}))
    assert (renamed["name"], renamed["settings"]["daily_cap"]) == ("Summer", 10)
    assert renamed["settings"]["send_window"]["start"] == "00:00"  # kept
    problem(client.post(f"{path}/pause", headers=owner.auth), 409)
    for action, status in (("activate", "active"), ("pause", "paused"),
                           ("resume", "active"), ("complete", "completed"),
                           ("archive", "archived")):
        assert _ok(client.post(f"{path}/{action}", headers=owner.auth))["status"] == status
    problem(client.put(f"{path}/steps", headers=owner.auth, json=STEPS), 409)
    problem(client.delete(path, headers=owner.auth), 405)
    listed = _ok(client.get("/v1/campaigns", params={"status": "archived"},
                            headers=owner.auth))["items"]
    assert [c["id"] for c in listed] == [found["id"]]


def test_a_member_runs_campaigns_but_adds_no_mailbox(client: TestClient, owner: Account
                                                     ) -> None:
    member = join(client, owner, "member")
    problem(client.post("/v1/outreach/email-accounts", headers=member.auth, json={
        "email": "m@acme.test", "smtp_host": "smtp.acme.test", "smtp_port": 587}), 403)
    problem(client.post("/v1/suppressions", headers=member.auth, json={
        "channel": "email", "address": "x@acme.test"}), 403)
    box = mailbox(client, owner)
    _ok(client.post("/v1/templates", headers=member.auth, json=INTRO), 201)
    found = campaign(client, member, box)
    _ok(client.post(f"/v1/campaigns/{found['id']}/enroll", headers=member.auth,
                    json={"lead_ids": [lead(client, member)]}))
    assert _ok(client.post(f"/v1/campaigns/{found['id']}/activate",
                           headers=member.auth))["status"] == "active"
    problem(client.post("/v1/campaigns/reconcile", headers=member.auth), 403)
    viewer = join(client, owner, "viewer")
    assert _ok(client.get(f"/v1/campaigns/{found['id']}", headers=viewer.auth))["id"]
    problem(client.post(f"/v1/campaigns/{found['id']}/pause", headers=viewer.auth), 403)


def test_the_campaigns_feature_switched_off_is_a_403(client: TestClient, owner: Account
                                                     ) -> None:
    _ok(client.put("/v1/features/campaigns", headers=owner.auth, json={"enabled": False}))
    for response in (client.get("/v1/campaigns", headers=owner.auth),
                     client.post("/v1/campaigns", headers=owner.auth, json={"name": "x"}),
                     client.get("/v1/templates", headers=owner.auth),
                     client.get("/v1/outreach/email-accounts", headers=owner.auth)):
        problem(response, 403)


def test_reconcile_lists_an_unknown_send_and_a_person_settles_it(
        client: TestClient, lad: Container, owner: Account, email: RecordingEmail) -> None:
    from lad_domain.outreach.channels import Delivery, Outcome

    found, _ = ready(client, owner)
    email.script.then(Delivery(outcome=Outcome.UNKNOWN, reason="connection dropped"))
    assert lad.send_engine().run_due() == {StepResult.UNKNOWN: 1}
    [unknown] = _ok(client.get("/v1/campaigns/unknown-sends", headers=owner.auth))["items"]
    report = _ok(client.post("/v1/campaigns/reconcile", headers=owner.auth))
    assert [s["activity_id"] for s in report["settlements"]] == [unknown["id"]]
    assert report["settlements"][0]["result"].startswith("unknown")
    problem(client.post(f"/v1/campaigns/sends/{unknown['id']}/decide", headers=owner.auth,
                        json={"decision": "maybe"}), 422)
    settled = _ok(client.post(f"/v1/campaigns/sends/{unknown['id']}/decide",
                              headers=owner.auth, json={"decision": "sent"}))
    assert settled["result"] == "sent (operator)"
    problem(client.post(f"/v1/campaigns/sends/{unknown['id']}/decide", headers=owner.auth,
                        json={"decision": "sent"}), 409)
    stats = _ok(client.get(f"/v1/campaigns/{found['id']}/stats", headers=owner.auth))
    assert (stats["totals"]["sent"], stats["totals"]["unknown"]) == (1, 0)


# --- Unipile webhooks ----------------------------------------------------------------------

PROFILE = "https://www.linkedin.com/in/ada-lovelace/"


def _linkedin_campaign(client: TestClient, lad: Container, owner: Account,
                       linkedin: RecordingLinkedIn) -> tuple[dict[str, Any], str]:
    """An invitation sent to a lead from a LinkedIn account."""
    account = _ok(client.post("/v1/outreach/linkedin-accounts", headers=owner.auth, json={
        "unipile_account_id": "unipile-acc-1"}), 201)
    lead_id = lead(client, owner)
    _ok(client.patch(f"/v1/leads/{lead_id}/social", headers=owner.auth,
                     json={"linkedin": PROFILE}))
    found = _ok(client.post("/v1/campaigns", headers=owner.auth, json={
        "name": "LinkedIn", "settings": {"send_window": ALWAYS},
        "linkedin_account_ids": [account["id"]],
        "steps": [{"type": "linkedin_invite"}]}), 201)
    _ok(client.post(f"/v1/campaigns/{found['id']}/enroll", headers=owner.auth,
                    json={"lead_ids": [lead_id]}))
    _ok(client.post(f"/v1/campaigns/{found['id']}/activate", headers=owner.auth))
    assert lad.send_engine().run_due() == {StepResult.SENT: 1}
    assert [a.kind for a in linkedin.actions] == ["invite"]
    return found, account["id"]


def _accepted(event_id: str = "1") -> bytes:
    return json.dumps({"event": "new_relation", "account_id": "unipile-acc-1",
                       "user_provider_id": f"ACoAAProvider{event_id}",
                       "user_public_identifier": "ada-lovelace",
                       "user_profile_url": PROFILE}).encode()


def _webhook(client: TestClient, body: bytes, secret: str | None = WEBHOOK_SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Unipile-Auth"] = secret
    return client.post("/v1/webhooks/unipile", content=body, headers=headers)


def test_a_webhook_with_a_bad_secret_is_401_and_stores_nothing(
        client: TestClient, lad: Container, owner: Account, linkedin: RecordingLinkedIn
        ) -> None:
    found, account = _linkedin_campaign(client, lad, owner, linkedin)
    disconnected = json.dumps({"AccountStatus": {"account_id": "unipile-acc-1",
                                                 "message": "DISCONNECTED",
                                                 "timestamp": "2026-03-02T10:00:00Z"}}
                              ).encode()
    for body, secret in ((disconnected, "wrong"), (disconnected, None),
                         (_accepted(), "wrong"), (_accepted(), "")):
        problem(_webhook(client, body, secret), 401)
    assert _ok(client.get(f"/v1/outreach/linkedin-accounts/{account}",
                          headers=owner.auth))["status"] == "active"
    [enrollment] = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments",
                                  headers=owner.auth))["items"]
    assert enrollment["accepted_at"] is None
    # The first authentic delivery is applied: nothing of the refused ones was kept.
    assert _ok(_webhook(client, disconnected))["result"] == "applied"
    assert _ok(client.get(f"/v1/outreach/linkedin-accounts/{account}",
                          headers=owner.auth))["status"] == "disconnected"


def test_a_replayed_webhook_has_one_effect(client: TestClient, lad: Container,
                                           owner: Account, linkedin: RecordingLinkedIn
                                           ) -> None:
    found, _ = _linkedin_campaign(client, lad, owner, linkedin)
    assert _ok(_webhook(client, _accepted()))["result"] == "applied"
    [enrollment] = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments",
                                  headers=owner.auth))["items"]
    accepted_at = enrollment["accepted_at"]
    assert accepted_at is not None
    assert _ok(_webhook(client, _accepted()))["result"] == "duplicate"
    [again] = _ok(client.get(f"/v1/campaigns/{found['id']}/enrollments",
                             headers=owner.auth))["items"]
    assert again == enrollment
    stats = _ok(client.get(f"/v1/campaigns/{found['id']}/stats", headers=owner.auth))
    assert stats["totals"]["accepted"] == 1


def test_a_webhook_that_is_not_unipiles_is_refused_and_one_not_ours_ignored(
        client: TestClient, owner: Account) -> None:
    assert fields(_webhook(client, b"{not json")) == ["body"]
    assert fields(_webhook(client, b'{"event": "message_received"}')) == ["body"]
    assert _ok(_webhook(client, b'{"event": "message_read", "account_id": "x"}')) == {
        "result": "ignored", "detail": None}
    assert _ok(_webhook(client, _accepted()))["result"] == "ignored"  # no tenant has it
