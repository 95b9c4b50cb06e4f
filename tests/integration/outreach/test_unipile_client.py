"""The Unipile client against a fake Unipile over real HTTP: each outcome, and which
requests are retried, counted by the fake's request log."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from lad_adapters.unipile import UnipileClient, UnipileUnavailable
from lad_domain.outreach.channels import AccountState, LinkedInChannel, Outcome
from tests.fakes.unipile import FakeUnipile, FakeUser, RefusingFirst, running

ACCOUNT = "acc-linkedin-1"
INVITE = "/api/v1/users/invite"
USERS = "/api/v1/users/"


@pytest.fixture
def fake() -> Iterator[FakeUnipile]:
    yield from running()


@pytest.fixture
def jane(fake: FakeUnipile) -> FakeUser:
    fake.add_account(ACCOUNT)
    return fake.add_user("jane-doe")


@pytest.fixture
def client(fake: FakeUnipile) -> Iterator[UnipileClient]:
    with UnipileClient(fake.url, fake.api_key, timeout=2.0, backoff=0.01) as unipile:
        yield unipile


# -- invitations ---------------------------------------------------------------------------


def test_an_invitation_to_a_profile_url_resolves_it_then_is_sent(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    delivery = client.invite(ACCOUNT, "https://www.linkedin.com/in/jane-doe/", "Hi Jane",
                             client_key="k1")

    assert delivery.outcome is Outcome.SENT
    [invitation] = fake.invitations
    assert delivery.provider_id == invitation.id
    assert (invitation.provider_id, invitation.message) == (jane.provider_id, "Hi Jane")
    [resolve, send] = fake.requests
    assert (resolve.method, resolve.path, resolve.query) == (
        "GET", "/api/v1/users/jane-doe", {"account_id": [ACCOUNT]})
    assert (send.method, send.path) == ("POST", INVITE)
    assert send.json == {"provider_id": jane.provider_id, "account_id": ACCOUNT,
                         "message": "Hi Jane"}
    assert all(r.headers["x-api-key"] == fake.api_key for r in fake.requests)


def test_a_public_identifier_is_resolved_and_a_provider_id_is_used_as_is(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    assert client.invite(ACCOUNT, "jane-doe", None, client_key="k1").outcome is Outcome.SENT
    other = fake.add_user("john-roe")
    fake.reset()

    delivery = client.invite(ACCOUNT, other.provider_id, None, client_key="k2")

    assert delivery.outcome is Outcome.SENT
    assert [(r.method, r.path) for r in fake.requests] == [("POST", INVITE)]
    assert fake.requests[0].json == {"provider_id": other.provider_id, "account_id": ACCOUNT}


def test_a_note_over_300_characters_fails_before_any_request(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    delivery = client.invite(ACCOUNT, "jane-doe", "x" * 301, client_key="k1")

    assert delivery.outcome is Outcome.FAILED
    assert delivery.code == "note_too_long"
    assert delivery.reason is not None and "301" in delivery.reason and "300" in delivery.reason
    assert fake.requests == []
    assert client.invite(ACCOUNT, "jane-doe", "x" * 300, client_key="k2").outcome \
        is Outcome.SENT


def test_an_invitation_already_pending_counts_as_sent_and_says_why(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.pending_invitation(ACCOUNT, jane.provider_id)

    delivery = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")

    assert delivery.outcome is Outcome.SENT
    assert delivery.code == "errors/already_invited_recently"
    assert delivery.reason is not None and "already pending" in delivery.reason
    assert len(fake.invitations) == 1


def test_a_profile_that_does_not_exist_fails_without_sending(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    delivery = client.invite(ACCOUNT, "https://linkedin.com/in/nobody-here", None,
                             client_key="k1")

    assert delivery.outcome is Outcome.FAILED
    assert delivery.code == "errors/invalid_recipient"
    assert delivery.reason is not None and "nobody-here" in delivery.reason
    assert fake.requests_to("POST", INVITE) == []


def test_a_url_that_is_no_profile_fails_without_a_request(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    delivery = client.invite(ACCOUNT, "https://www.linkedin.com/company/acme/", None,
                             client_key="k1")

    assert delivery.outcome is Outcome.FAILED
    assert delivery.code == "invalid_profile"
    assert fake.requests == []


def test_an_invalid_recipient_refused_at_send_is_failed(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=422, error_type="errors/invalid_recipient", method="POST", path=INVITE)

    delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert delivery.outcome is Outcome.FAILED
    assert delivery.code == "errors/invalid_recipient"
    assert len(fake.requests_to("POST", INVITE)) == 1


# -- throttles and disconnections ----------------------------------------------------------


def test_a_429_with_retry_after_seconds_is_deferred_and_not_retried(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=429, retry_after="7", method="POST", path=INVITE)

    delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert delivery.outcome is Outcome.DEFERRED
    assert (delivery.code, delivery.retry_after) == ("429", timedelta(seconds=7))
    assert len(fake.requests_to("POST", INVITE)) == 1
    assert fake.invitations == []


def test_a_429_with_an_http_date_is_deferred_until_then(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    fake.script(status=429, retry_after=email.utils.format_datetime(later, usegmt=True),
                method="POST", path=INVITE)

    delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert delivery.outcome is Outcome.DEFERRED and delivery.code == "429"
    assert delivery.retry_after is not None
    assert timedelta(seconds=100) < delivery.retry_after <= timedelta(seconds=120)


def test_a_429_without_retry_after_is_deferred_without_a_wait(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=429, method="POST", path="/api/v1/chats")

    delivery = client.message(ACCOUNT, jane.provider_id, "Hello", chat_id=None,
                              client_key="k1")

    assert delivery.outcome is Outcome.DEFERRED
    assert (delivery.code, delivery.retry_after) == ("429", None)
    assert fake.chats == {}


def test_a_429_on_the_profile_lookup_is_deferred_and_nothing_is_sent(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=429, retry_after="30", method="GET", path=USERS)

    delivery = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")

    assert delivery.outcome is Outcome.DEFERRED
    assert (delivery.code, delivery.retry_after) == ("429", timedelta(seconds=30))
    assert len(fake.requests_to("GET", USERS)) == 1
    assert fake.requests_to("POST", INVITE) == []


def test_a_disconnected_account_defers_invitations_and_messages(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    chat = client.message(ACCOUNT, jane.provider_id, "Hello", chat_id=None, client_key="k0")
    fake.disconnect(ACCOUNT)

    invited = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")
    by_id = client.invite(ACCOUNT, jane.provider_id, None, client_key="k2")
    followed_up = client.message(ACCOUNT, jane.provider_id, "Again", chat_id=chat.chat_id,
                                 client_key="k3")

    for delivery in (invited, by_id, followed_up):
        assert delivery.outcome is Outcome.DEFERRED
        assert delivery.code == "disconnected"
    assert fake.invitations == []
    assert client.account_state(ACCOUNT) is AccountState.DISCONNECTED


def test_a_403_naming_credentials_is_a_disconnection(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=403, error_type="errors/invalid_credentials", method="POST",
                path=INVITE)

    delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, "disconnected")


def test_a_refused_api_key_is_deferred_and_the_key_is_never_in_the_reason(
        fake: FakeUnipile, jane: FakeUser) -> None:
    with UnipileClient(fake.url, "wrong-key-123", backoff=0.01) as wrong:
        delivery = wrong.invite(ACCOUNT, jane.provider_id, None, client_key="k1")
    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, "401")
    assert "wrong-key-123" not in (delivery.reason or "")

    fake.script(status=422, method="POST", path=INVITE, body={
        "type": "errors/invalid_recipient", "status": 422,
        "detail": f"bad request with key {fake.api_key}"})
    with UnipileClient(fake.url, fake.api_key, backoff=0.01) as client:
        echoed = client.invite(ACCOUNT, jane.provider_id, None, client_key="k2")
    assert echoed.outcome is Outcome.FAILED
    assert echoed.reason is not None and fake.api_key not in echoed.reason
    assert "***" in echoed.reason


# -- retries -------------------------------------------------------------------------------


def test_a_get_is_retried_after_500s(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=500, times=2, method="GET", path=USERS)

    delivery = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")

    assert delivery.outcome is Outcome.SENT
    assert len(fake.requests_to("GET", USERS)) == 3
    assert len(fake.requests_to("POST", INVITE)) == 1


def test_a_get_that_keeps_failing_is_deferred_after_the_retries(
        fake: FakeUnipile, jane: FakeUser) -> None:
    fake.script(status=503, times=10, method="GET", path=USERS)
    with UnipileClient(fake.url, fake.api_key, retries=2, backoff=0.01) as client:
        delivery = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, "503")
    assert len(fake.requests_to("GET", USERS)) == 3
    assert fake.requests_to("POST", INVITE) == []


def test_a_get_that_timed_out_is_retried(fake: FakeUnipile, jane: FakeUser) -> None:
    fake.script(delay=1.0, method="GET", path=USERS)
    with UnipileClient(fake.url, fake.api_key, timeout=0.3, backoff=0.01) as client:
        delivery = client.invite(ACCOUNT, "jane-doe", None, client_key="k1")

    assert delivery.outcome is Outcome.SENT
    assert len(fake.requests_to("GET", USERS)) == 2


def test_a_post_that_timed_out_is_unknown_and_not_retried(
        fake: FakeUnipile, jane: FakeUser) -> None:
    fake.script(delay=1.0, method="POST", path=INVITE)
    with UnipileClient(fake.url, fake.api_key, timeout=0.3, backoff=0.01) as client:
        delivery = client.invite(ACCOUNT, jane.provider_id, "Hi", client_key="k1")

    assert delivery.outcome is Outcome.UNKNOWN
    assert delivery.code == "ReadTimeout"
    assert len(fake.requests_to("POST", INVITE)) == 1
    # It may have happened, and here it did: the fake did the work after answering late.
    for _ in range(40):
        if fake.invitations:
            break
        time.sleep(0.05)
    assert len(fake.invitations) == 1


def test_a_post_answered_500_is_unknown_and_not_retried(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=500, method="POST", path="/api/v1/chats")

    delivery = client.message(ACCOUNT, jane.provider_id, "Hello", chat_id=None,
                              client_key="k1")

    assert (delivery.outcome, delivery.code) == (Outcome.UNKNOWN, "500")
    assert len(fake.requests_to("POST", "/api/v1/chats")) == 1


def test_a_post_is_retried_after_a_refused_connection(
        fake: FakeUnipile, jane: FakeUser) -> None:
    transport = RefusingFirst(refusals=2)
    with UnipileClient(fake.url, fake.api_key, transport=transport, backoff=0.01) as client:
        delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert delivery.outcome is Outcome.SENT
    assert transport.attempts == 3
    assert len(fake.requests_to("POST", INVITE)) == 1
    assert len(fake.invitations) == 1


def test_a_post_that_never_connects_is_deferred_after_the_retries(
        fake: FakeUnipile, jane: FakeUser) -> None:
    transport = RefusingFirst(refusals=100)
    with UnipileClient(fake.url, fake.api_key, transport=transport, retries=2,
                       backoff=0.01) as client:
        delivery = client.invite(ACCOUNT, jane.provider_id, None, client_key="k1")

    assert (delivery.outcome, delivery.code) == (Outcome.DEFERRED, "unreachable")
    assert delivery.reason is not None and "nothing was sent" in delivery.reason
    assert transport.attempts == 3
    assert fake.requests == []


# -- messages ------------------------------------------------------------------------------


def test_a_first_message_starts_a_chat_and_the_next_goes_into_it(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    first = client.message(ACCOUNT, "https://www.linkedin.com/in/jane-doe", "Hello Jane",
                           chat_id=None, client_key="k1")

    assert first.outcome is Outcome.SENT and first.chat_id is not None
    chat = fake.chats[first.chat_id]
    assert chat.attendees == [jane.provider_id]
    start = fake.requests_to("POST", "/api/v1/chats")[0]
    assert start.form == {"account_id": [ACCOUNT], "attendees_ids": [jane.provider_id],
                          "text": ["Hello Jane"]}
    assert start.headers["content-type"].startswith("multipart/form-data")

    second = client.message(ACCOUNT, "jane-doe", "Following up", chat_id=first.chat_id,
                            client_key="k2")

    assert second.outcome is Outcome.SENT and second.chat_id == first.chat_id
    assert [text for _, text in chat.messages] == ["Hello Jane", "Following up"]
    assert second.provider_id == chat.messages[1][0]
    assert len(fake.requests_to("GET", USERS)) == 1  # the chat needs no lookup


def test_a_message_into_a_chat_that_does_not_exist_fails(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    delivery = client.message(ACCOUNT, "jane-doe", "Hello", chat_id="no-such-chat",
                              client_key="k1")

    assert delivery.outcome is Outcome.FAILED
    assert delivery.code == "errors/resource_not_found"


# -- account state -------------------------------------------------------------------------


def test_the_account_state_follows_its_sources(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    assert client.account_state(ACCOUNT) is AccountState.CONNECTED
    fake.disconnect(ACCOUNT, "CREDENTIALS")
    assert client.account_state(ACCOUNT) is AccountState.DISCONNECTED
    assert client.account_state("no-such-account") is AccountState.DISCONNECTED


def test_the_account_state_is_retried_then_unavailable(
        fake: FakeUnipile, jane: FakeUser, client: UnipileClient) -> None:
    fake.script(status=500, times=2, method="GET", path="/api/v1/accounts/")
    assert client.account_state(ACCOUNT) is AccountState.CONNECTED
    assert len(fake.requests_to("GET", "/api/v1/accounts/")) == 3

    fake.script(status=502, times=10, method="GET", path="/api/v1/accounts/")
    with pytest.raises(UnipileUnavailable, match="502"):
        client.account_state(ACCOUNT)


def test_the_client_is_the_linkedin_channel_and_keeps_its_key_to_itself(
        fake: FakeUnipile, client: UnipileClient) -> None:
    channel: LinkedInChannel = client  # mypy checks the port is implemented
    assert fake.api_key not in repr(channel)
    assert fake.url in repr(channel)
