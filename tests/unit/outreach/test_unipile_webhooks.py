"""Unipile webhooks: authenticity (our secret in Unipile-Auth) and normalisation into
LinkedInEvent, on the payloads Unipile documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lad_adapters.unipile import (
    parse_webhook,
    profile_identifier,
    retry_after,
    webhook_is_authentic,
)
from lad_domain.outreach.channels import LinkedInEvent, LinkedInEventKind

OWN = "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E"
JANE = "ACoAAAh_Ffqss54sqAGQOD8u7sl5of04y9_3AwyM"


def raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def message_received(sender: str = JANE, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "account_id": "dfXlh46vQYCsMbVarumWlg",
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": OWN},
        "event": "message_received",
        "chat_id": "R8J-xM9WX7eoHLp6gSVtWQ",
        "timestamp": "2023-09-24T13:49:07.965Z",
        "webhook_name": "LAD",
        "message_id": "ykmhfXlRW0W_cqReJYrfBw",
        "message": "Sounds good, let's talk",
        "sender": {
            "attendee_id": "C8zaRZTlVcmfnke_Vai4Gg",
            "attendee_name": "Jane Doe",
            "attendee_provider_id": sender,
            "attendee_profile_url": "https://www.linkedin.com/in/jane-doe/",
        },
        "attendees": [],
    }
    document.update(changes)
    return document


def new_relation() -> dict[str, Any]:
    return {
        "event": "new_relation",
        "account_id": "SDF4tGaPSPSzNe1D1xsOs",
        "account_type": "LINKEDIN",
        "webhook_name": "",
        "user_full_name": "Julien Crépieux",
        "user_provider_id": JANE,
        "user_public_identifier": "julien-crepieux",
        "user_profile_url": "https://www.linkedin.com/in/julien-crepieux/",
        "user_picture_url": "https://media.licdn.com/x.jpg",
    }


# -- authenticity ----------------------------------------------------------------------------


def test_a_delivery_with_our_secret_is_authentic_whatever_the_header_case() -> None:
    assert webhook_is_authentic({"Unipile-Auth": "s3cret"}, "s3cret")
    assert webhook_is_authentic({"unipile-auth": "s3cret", "Content-Type": "x"}, "s3cret")


@pytest.mark.parametrize("headers", [
    {}, {"Unipile-Auth": ""}, {"Unipile-Auth": "s3cre"}, {"Unipile-Auth": "s3cret "},
    {"X-Unipile-Auth": "s3cret"}, {"Unipile-Auth": "S3CRET"},
])
def test_a_delivery_without_our_secret_is_not(headers: dict[str, str]) -> None:
    assert not webhook_is_authentic(headers, "s3cret")


def test_an_empty_secret_authenticates_nothing() -> None:
    assert not webhook_is_authentic({"Unipile-Auth": ""}, "")


# -- messages --------------------------------------------------------------------------------


def test_a_message_from_the_other_person_is_a_message_received() -> None:
    event = parse_webhook(raw(message_received()))

    assert event == LinkedInEvent(
        kind=LinkedInEventKind.MESSAGE_RECEIVED, event_id="ykmhfXlRW0W_cqReJYrfBw",
        account_id="dfXlh46vQYCsMbVarumWlg", person_provider_id=JANE,
        person_public_id="jane-doe", chat_id="R8J-xM9WX7eoHLp6gSVtWQ",
        occurred_at=datetime(2023, 9, 24, 13, 49, 7, 965000, tzinfo=UTC))


def test_the_accounts_own_message_is_ignored() -> None:
    assert parse_webhook(raw(message_received(sender=OWN))) is None


def test_a_profile_url_carrying_a_provider_id_gives_no_public_id() -> None:
    document = message_received()
    document["sender"]["attendee_profile_url"] = f"https://www.linkedin.com/in/{JANE}/"

    event = parse_webhook(raw(document))

    assert event is not None
    assert (event.person_provider_id, event.person_public_id) == (JANE, None)


@pytest.mark.parametrize("event", ["message_read", "message_reaction", "message_edited",
                                   "mail_received", "something_new"])
def test_events_we_do_not_follow_are_ignored(event: str) -> None:
    assert parse_webhook(raw(message_received(event=event))) is None


# -- new relations ---------------------------------------------------------------------------


def test_an_accepted_invitation_hours_late_is_still_a_new_relation() -> None:
    # LinkedIn reports relations up to hours late and the webhook has no timestamp:
    # nothing in it expires, it is parsed whenever it comes.
    event = parse_webhook(raw(new_relation()),
                          received_at=datetime.now(UTC) + timedelta(hours=8))

    assert event == LinkedInEvent(
        kind=LinkedInEventKind.NEW_RELATION, event_id=f"SDF4tGaPSPSzNe1D1xsOs:{JANE}",
        account_id="SDF4tGaPSPSzNe1D1xsOs", person_provider_id=JANE,
        person_public_id="julien-crepieux", chat_id=None, occurred_at=None)


def test_a_new_relation_without_public_identifier_takes_it_from_the_url() -> None:
    document = new_relation()
    del document["user_public_identifier"]

    event = parse_webhook(raw(document))

    assert event is not None and event.person_public_id == "julien-crepieux"


def test_the_same_relation_delivered_twice_has_the_same_event_id() -> None:
    first = parse_webhook(raw(new_relation()))
    again = parse_webhook(raw(new_relation()))
    assert first is not None and again is not None and first.event_id == again.event_id


# -- account status --------------------------------------------------------------------------


def test_a_credentials_status_is_a_disconnection() -> None:
    received = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    document = {"AccountStatus": {"account_id": "h_EKCy2lRLef5NzHp0iw4A",
                                  "account_type": "LINKEDIN", "message": "CREDENTIALS"}}

    event = parse_webhook(raw(document), received_at=received)

    assert event == LinkedInEvent(
        kind=LinkedInEventKind.ACCOUNT_DISCONNECTED,
        event_id=f"h_EKCy2lRLef5NzHp0iw4A:CREDENTIALS:{received.isoformat()}",
        account_id="h_EKCy2lRLef5NzHp0iw4A", person_provider_id=None,
        person_public_id=None, chat_id=None, occurred_at=None)


def test_a_status_with_a_timestamp_takes_its_id_from_it() -> None:
    document = {"AccountStatus": {"account_id": "acc", "message": "DISCONNECTED",
                                  "timestamp": "2026-12-01T09:00:00.000Z"}}

    first = parse_webhook(raw(document), received_at=datetime(2026, 12, 1, 9, 1, tzinfo=UTC))
    retried = parse_webhook(raw(document), received_at=datetime(2026, 12, 1, 9, 5, tzinfo=UTC))

    assert first is not None and retried is not None
    assert first.kind is LinkedInEventKind.ACCOUNT_DISCONNECTED
    assert first.event_id == retried.event_id == "acc:DISCONNECTED:2026-12-01T09:00:00+00:00"
    assert first.occurred_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", ["OK", "CONNECTING", "CREATION_SUCCESS", "RECONNECTED",
                                    "SYNC_SUCCESS", "DELETED", "ERROR", "STOPPED"])
def test_other_statuses_are_ignored(status: str) -> None:
    assert parse_webhook(raw({"AccountStatus": {"account_id": "acc",
                                                "message": status}})) is None


# -- malformed -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "says"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (raw({"account_id": "acc"}), "names no event"),
    (raw({"AccountStatus": "CREDENTIALS"}), "not an object"),
    (raw({"AccountStatus": {"message": "CREDENTIALS"}}), "no account_id"),
    (raw(message_received(message_id=None)), "no message_id"),
    (raw({**message_received(), "sender": None}), "no sender"),
    (raw({"event": "new_relation", "account_id": "acc"}), "no user_provider_id"),
])
def test_a_malformed_webhook_is_refused_with_a_clear_message(body: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_webhook(body)


# -- the small parsers the client uses -------------------------------------------------------


@pytest.mark.parametrize(("profile", "identifier"), [
    ("https://www.linkedin.com/in/jane-doe/", "jane-doe"),
    ("https://linkedin.com/in/jane-doe?trk=abc", "jane-doe"),
    ("www.linkedin.com/in/j%C3%A9r%C3%B4me-x/", "jérôme-x"),
    ("https://fr.linkedin.com/in/jane-doe", "jane-doe"),
    ("jane-doe", "jane-doe"),
    (JANE, JANE),
    ("https://www.linkedin.com/company/acme/", None),
    ("https://example.com/in/jane-doe", None),
    ("  ", None),
])
def test_profile_identifiers(profile: str, identifier: str | None) -> None:
    assert profile_identifier(profile) == identifier


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert retry_after("120") == timedelta(seconds=120)
    assert retry_after("Tue, 01 Dec 2026 10:01:30 GMT", now=lambda: now) \
        == timedelta(seconds=90)
    assert retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now=lambda: now) == timedelta(0)
    assert retry_after("soon") is None
    assert retry_after(None) is None
