"""Signed one-click links: tokens that round-trip, are URL-safe and short, and refuse forgery."""

from __future__ import annotations

import base64
import string
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_domain.outreach.links import LinkSeal, SignedLink
from lad_domain.shared.errors import ValidationFailed
from tests.examples import scaled

SECRET = b"s" * 32
URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def a_link(**changes: object) -> SignedLink:
    values: dict[str, object] = {
        "purpose": "unsubscribe", "tenant_id": uuid.uuid4(), "enrollment_id": uuid.uuid4(),
        "lead_id": uuid.uuid4(), "channel": "email", "address": "ada.lovelace@example.com",
        "issued_at": datetime(2026, 12, 1, 10, 30, 15, tzinfo=UTC)}
    values.update(changes)
    return SignedLink(**values)  # type: ignore[arg-type]  # the test's keyword values


def refused(seal: LinkSeal, token: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        seal.open(token)
    [error] = raised.value.errors
    assert error.field == "token"


def test_a_link_round_trips_through_a_short_url_safe_token() -> None:
    seal = LinkSeal(SECRET)
    link = a_link()
    token = seal.seal(link)
    assert seal.open(token) == link
    assert set(token) <= URL_SAFE
    assert len(token) < 200


def test_a_link_without_enrollment_and_for_opens() -> None:
    seal = LinkSeal(SECRET)
    link = a_link(purpose="open", enrollment_id=None, channel="linkedin")
    assert seal.open(seal.seal(link)) == link


def test_issued_at_is_kept_to_the_second_in_utc() -> None:
    moment = datetime(2026, 12, 1, 12, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    link = a_link(issued_at=moment)
    assert link.issued_at == datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    assert link.issued_at.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        a_link(issued_at=datetime(2026, 12, 1))


def test_a_link_is_checked_when_made() -> None:
    with pytest.raises(ValueError):
        a_link(purpose="click")
    with pytest.raises(ValueError, match="address"):
        a_link(address="a" * 256)


def test_a_token_of_another_secret_is_refused() -> None:
    token = LinkSeal(SECRET).seal(a_link())
    refused(LinkSeal(b"t" * 32), token)


def test_a_tampered_token_is_refused_byte_by_byte() -> None:
    seal = LinkSeal(SECRET)
    token = seal.seal(a_link())
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for position in range(len(raw)):
        changed = bytearray(raw)
        changed[position] ^= 0x20
        refused(seal, base64.urlsafe_b64encode(bytes(changed)).decode().rstrip("="))


def test_a_truncated_or_extended_token_is_refused() -> None:
    seal = LinkSeal(SECRET)
    token = seal.seal(a_link())
    for cut in (1, 2, 10, len(token) - 1):
        refused(seal, token[:-cut])
    refused(seal, token + "A")
    refused(seal, token + "==")
    refused(seal, "")
    refused(seal, "not a token!")
    refused(seal, "é" * 40)


def test_derived_seals_differ_by_purpose_and_secret() -> None:
    link = a_link()
    unsubscribe = LinkSeal.derived("application-secret-of-32-bytes!!", "unsubscribe")
    token = unsubscribe.seal(link)
    assert LinkSeal.derived("application-secret-of-32-bytes!!", "unsubscribe").open(
        token) == link
    refused(LinkSeal.derived("application-secret-of-32-bytes!!", "open"), token)
    refused(LinkSeal.derived("another-application-secret-32-b!", "unsubscribe"), token)
    refused(LinkSeal(b"application-secret-of-32-bytes!!"), token)


def test_secrets_are_long_enough_and_never_shown() -> None:
    with pytest.raises(ValueError):
        LinkSeal(b"short")
    with pytest.raises(ValueError):
        LinkSeal.derived("short", "unsubscribe")
    assert "s" * 8 not in repr(LinkSeal(SECRET))


links = st.builds(
    SignedLink,
    purpose=st.sampled_from(["unsubscribe", "open"]),
    tenant_id=st.uuids(), enrollment_id=st.none() | st.uuids(), lead_id=st.uuids(),
    channel=st.text(max_size=20),
    address=st.emails() | st.text(max_size=60),
    issued_at=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2106, 1, 1),
                           timezones=st.just(UTC)),
)


@given(link=links, secret=st.binary(min_size=16, max_size=64))
@settings(max_examples=scaled(200))
def test_any_link_round_trips(link: SignedLink, secret: bytes) -> None:
    seal = LinkSeal(secret)
    token = seal.seal(link)
    assert set(token) <= URL_SAFE
    assert seal.open(token) == link


@given(link=links, position=st.integers(min_value=0), flip=st.integers(1, 255))
@settings(max_examples=scaled(200))
def test_any_changed_byte_is_refused(link: SignedLink, position: int, flip: int) -> None:
    seal = LinkSeal(SECRET)
    token = seal.seal(link)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[position % len(raw)] ^= flip
    refused(seal, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))


def test_links_sealed_under_a_previous_secret_open_until_it_is_dropped() -> None:
    old, new = "old-application-secret-of-32-bytes", "new-application-secret-of-32-bytes"
    link = a_link()
    sent = LinkSeal.derived(old, "email-links").seal(link)
    rotating = LinkSeal.derived(new, "email-links", [old])
    assert rotating.open(sent) == link
    fresh = rotating.seal(link)
    refused(LinkSeal.derived(old, "email-links"), fresh)  # new links use the new secret
    refused(LinkSeal.derived(new, "email-links"), sent)  # dropped: old links refused
    with pytest.raises(ValueError):
        LinkSeal.derived(new, "email-links", ["short"])
