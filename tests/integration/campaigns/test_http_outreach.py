"""HTTP: templates (checked when saved, replaced by channel and key, previewed for a lead),
mailboxes (verified before they are kept, passwords never shown), LinkedIn accounts and
the suppression list."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lad_domain.outreach.channels import VerifyReport, VerifyStage
from tests.fakes.channels import RecordingEmail
from tests.integration.campaigns.test_http_campaigns import INTRO, lead, mailbox
from tests.integration.tenancy.api import Account, fields, join, problem


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_template_is_created_replaced_previewed_and_removed(client: TestClient,
                                                              owner: Account) -> None:
    created = _ok(client.post("/v1/templates", headers=owner.auth, json=INTRO), 201)
    assert created["variables"] == ["lead.first_name", "sender.name", "unsubscribe_url"]
    replaced = _ok(client.post("/v1/templates", headers=owner.auth, json={
        **INTRO, "subject": "Hi {{ lead.first_name }}", "name": "Intro"}))
    assert (replaced["id"], replaced["subject"], replaced["name"]) == (
        created["id"], "Hi {{ lead.first_name }}", "Intro")
    assert [t["id"] for t in _ok(client.get("/v1/templates", params={"channel": "email"},
                                            headers=owner.auth))["items"]] == [created["id"]]
    assert _ok(client.get("/v1/templates", params={"channel": "linkedin"},
                          headers=owner.auth))["items"] == []

    box = mailbox(client, owner)
    preview = _ok(client.post(f"/v1/templates/{created['id']}/preview", headers=owner.auth,
                              json={"lead_id": lead(client, owner), "sender_id": box}))
    assert preview["subject"] == "Hi Ada"
    assert "A word from Acme Sales." in preview["text"]
    assert "/v1/public/unsubscribe/" in preview["text"] and preview["html"]

    assert client.delete(f"/v1/templates/{created['id']}", headers=owner.auth
                         ).status_code == 204
    problem(client.get(f"/v1/templates/{created['id']}", headers=owner.auth), 404)


def test_a_template_with_an_undefined_variable_is_a_422_naming_it(client: TestClient,
                                                                  owner: Account) -> None:
    refused = problem(client.post("/v1/templates", headers=owner.auth, json={
        **INTRO, "body": "Hello {{ lead.nickname }} and {{ coupon }}"}), 422)
    assert [e["field"] for e in refused["errors"]] == ["body"]
    assert "nickname" in refused["errors"][0]["message"]
    assert fields(client.post("/v1/templates", headers=owner.auth, json={
        **INTRO, "subject": "{% if %}"})) == ["subject"]
    assert fields(client.post("/v1/templates", headers=owner.auth, json={
        **INTRO, "subject": None})) == ["subject"]
    assert _ok(client.get("/v1/templates", headers=owner.auth))["items"] == []


def test_a_mailbox_is_verified_and_shows_no_password(client: TestClient, owner: Account,
                                                     email: RecordingEmail) -> None:
    added = client.post("/v1/outreach/email-accounts", headers=owner.auth, json={
        "email": "Sales@Acme.test", "smtp_host": "smtp.acme.test", "smtp_port": 587,
        "smtp_password": "s3cret-pass", "daily_cap": 50, "warmup_start": 5,
        "warmup_step": 5})
    account = _ok(added, 201)
    assert "s3cret-pass" not in added.text and "sealed" not in added.text
    assert account["has_smtp_password"] is True and account["has_imap_password"] is False
    assert account["verification"] == {"ok": True, "stage": "ok", "detail": "logged in"}
    assert account["pacing"]["caps"] == {"email": 50}
    assert account["pacing"]["caps_today"] == {"email": 5}  # warm-up, day one
    assert account["email"] == "sales@acme.test"
    path = f"/v1/outreach/email-accounts/{account['id']}"
    shown = client.get(path, headers=owner.auth)
    assert "s3cret-pass" not in shown.text and shown.json()["has_smtp_password"] is True

    email.verify_report = VerifyReport(VerifyStage.AUTH, "535 authentication failed")
    assert _ok(client.post(f"{path}/verify", headers=owner.auth, json={
        "password": "wrong"})) == {"ok": False, "stage": "auth",
                                   "detail": "535 authentication failed"}
    refused = problem(client.post("/v1/outreach/email-accounts", headers=owner.auth, json={
        "email": "other@acme.test", "smtp_host": "smtp.acme.test", "smtp_port": 587,
        "smtp_password": "wrong"}), 422)
    assert refused["errors"][0]["field"] == "smtp (auth)"
    assert fields(client.patch(path, headers=owner.auth, json={"smtp_password": "x"})) == [
        "smtp (auth)"]
    unverified = _ok(client.post("/v1/outreach/email-accounts", headers=owner.auth,
                                 params={"verify": "false"}, json={
                                     "email": "later@acme.test", "smtp_host": "smtp.acme.test",
                                     "smtp_port": 465, "smtp_security": "tls"}), 201)
    assert unverified["verification"] is None and unverified["has_smtp_password"] is False

    email.verify_report = VerifyReport(VerifyStage.OK, "logged in")
    patched = _ok(client.patch(path, headers=owner.auth, json={
        "display_name": "Sales", "min_spacing_seconds": 120}))
    assert patched["display_name"] == "Sales"
    assert patched["pacing"]["min_spacing_seconds"] == 120
    assert _ok(client.post(f"{path}/pause", headers=owner.auth))["status"] == "paused"
    assert _ok(client.post(f"{path}/resume", headers=owner.auth))["status"] == "active"
    listed = _ok(client.get("/v1/outreach/email-accounts", headers=owner.auth))["items"]
    assert sorted(a["email"] for a in listed) == ["later@acme.test", "sales@acme.test"]
    assert client.delete(path, headers=owner.auth).status_code == 204
    problem(client.get(path, headers=owner.auth), 404)
    assert fields(client.post("/v1/outreach/email-accounts", headers=owner.auth, json={
        "email": "x@acme.test", "smtp_host": "smtp.acme.test", "smtp_port": 587,
        "smtp_security": "ssl"})) == ["smtp_security"]


def test_linkedin_accounts_are_connected_paced_and_removed(client: TestClient,
                                                           owner: Account) -> None:
    member = join(client, owner, "member")
    account = _ok(client.post("/v1/outreach/linkedin-accounts", headers=owner.auth, json={
        "unipile_account_id": "unipile-1", "user_id": member.user_id,
        "daily_invite_cap": 20}), 201)
    assert account["pacing"]["caps"]["invite"] == 20
    assert account["pacing"]["caps"]["message"] == 100
    problem(client.post("/v1/outreach/linkedin-accounts", headers=owner.auth, json={
        "unipile_account_id": "unipile-1"}), 409)
    path = f"/v1/outreach/linkedin-accounts/{account['id']}"
    assert _ok(client.post(f"{path}/pause", headers=owner.auth))["status"] == "paused"
    assert _ok(client.post(f"{path}/resume", headers=owner.auth))["status"] == "active"
    listed = _ok(client.get("/v1/outreach/linkedin-accounts", headers=member.auth))["items"]
    assert [a["id"] for a in listed] == [account["id"]]
    problem(client.delete(path, headers=member.auth), 403)
    assert client.delete(path, headers=owner.auth).status_code == 204
    problem(client.get(path, headers=owner.auth), 404)


def test_a_suppression_is_added_once_and_lifted(client: TestClient, owner: Account) -> None:
    first = _ok(client.post("/v1/suppressions", headers=owner.auth, json={
        "channel": "email", "address": "Bo@Example.test"}), 201)
    assert (first["address"], first["reason"]) == ("bo@example.test", "do_not_contact")
    again = _ok(client.post("/v1/suppressions", headers=owner.auth, json={
        "channel": "email", "address": "bo@example.test", "reason": "complained"}))
    assert again["id"] == first["id"] and again["reason"] == "do_not_contact"
    _ok(client.post("/v1/suppressions", headers=owner.auth, json={
        "channel": "linkedin", "address": "https://www.linkedin.com/in/bo/"}), 201)
    emails = _ok(client.get("/v1/suppressions", params={"channel": "email"},
                            headers=owner.auth))["items"]
    assert [s["id"] for s in emails] == [first["id"]]
    assert client.delete(f"/v1/suppressions/{first['id']}", headers=owner.auth
                         ).status_code == 204
    problem(client.delete(f"/v1/suppressions/{first['id']}", headers=owner.auth), 404)
    assert fields(client.post("/v1/suppressions", headers=owner.auth, json={
        "channel": "fax", "address": "x"})) == ["channel"]
