"""What an email address must be (``normalise_email``, the one check behind every email
field): internationalised domains and local parts accepted and stored in one form, and
domains that can never receive mail refused with the reason."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lad_domain.outreach.model import Channel, suppression_address
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.validation import mail_address, normalise_email
from tests.examples import scaled


@pytest.mark.parametrize(("raw", "stored"), [
    ("ada@acme.com", "ada@acme.com"),
    ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
    ("first.last+tag@sub.acme.co.uk", "first.last+tag@sub.acme.co.uk"),
    ("o'brien!#$%&*/=?^_`{|}~-@acme.io", "o'brien!#$%&*/=?^_`{|}~-@acme.io"),
    # internationalised domains: one stored form however they are written
    ("a@müller.de", "a@müller.de"),
    ("a@MÜLLER.de", "a@müller.de"),
    ("A@MU\u0308LLER.DE", "a@müller.de"),  # decomposed Ü (NFD)
    ("a@xn--mller-kva.de", "a@müller.de"),
    ("info@例え.jp", "info@例え.jp"),
    # UTF-8 local parts (SMTPUTF8): letters, marks and digits of any script
    ("jösé.ñúñez@acme.es", "jösé.ñúñez@acme.es"),
    ("ÜBER@acme.de", "über@acme.de"),
    ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@παράδειγμα.δοκιμή"),
    ("用户@例子.广告", "用户@例子.广告"),
    ("नमस्ते@acme.in", "नमस्ते@acme.in"),
    # documentation and test names are ordinary names (RFC 6761 asks that they be)
    ("lead@example.com", "lead@example.com"),
    ("lead@acme.test", "lead@acme.test"),
    ("lead@x.example", "lead@x.example"),
    ("a@" + "d" * 63 + ".com", "a@" + "d" * 63 + ".com"),
    ("l" * 64 + "@acme.com", "l" * 64 + "@acme.com"),
])
def test_a_valid_address_is_stored_in_its_normal_form(raw: str, stored: str) -> None:
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(("raw", "reason"), [
    ("", "is required"),
    ("   ", "is required"),
    ("ada", "it needs a name, '@' and a domain"),
    ("@acme.com", "nothing before '@'"),
    ("ada@", "nothing after '@'"),
    ("a b@acme.com", "may not hold spaces"),
    ("a\u0000b@acme.com", "may not hold control characters"),
    ("a\tb@acme.com", "may not hold spaces"),
    ("\"quoted\"@acme.com", "may not hold '\"'"),
    ("a😀@acme.com", "may not hold '😀'"),
    ("a..b@acme.com", "two in a row"),
    (".a@acme.com", "a dot at its start or end"),
    ("a.@acme.com", "a dot at its start or end"),
    ("l" * 65 + "@acme.com", "longer than 64 octets"),
    ("ü" * 33 + "@acme.com", "longer than 64 octets"),
    ("a@acme", "the domain 'acme' has no top-level domain"),
    ("a@localhost", "has no top-level domain"),
    ("a@acme..com", "two in a row"),
    ("a@acme.com.", "a dot at its start or end"),
    ("a@-acme.com", "only letters, digits and hyphens"),
    ("a@acme_x.com", "only letters, digits and hyphens"),
    ("a@" + "d" * 64 + ".com", "a part longer than 63 characters"),
    ("a@" + "ü" * 64 + ".de", "not a valid internationalised domain name"),
    ("a@xn--zz.com", "not a valid internationalised domain name"),
    ("a@" + ("d" * 60 + ".") * 5 + "com", "longer than 253 characters"),
    ("l" * 64 + "@" + ("d" * 60 + ".") * 3 + "d" * 5 + ".com", "longer than 254 characters"),
    # places that cannot receive mail
    ("a@[192.0.2.1]", "IP-address domains are not accepted"),
    ("a@192.0.2.1", "the domain '192.0.2.1' is a number, not a name"),
    ("a@acme.123", "is a number, not a name"),
    ("a@x.invalid", "the domain 'x.invalid' cannot receive mail: .invalid is reserved"),
    ("a@X.INVALID", "cannot receive mail: .invalid"),
    ("a@printer.localhost", "cannot receive mail: .localhost"),
    ("a@nas.local", "cannot receive mail: .local"),
    ("a@abc.onion", "cannot receive mail: .onion"),
    ("a@x.alt", "cannot receive mail: .alt"),
    ("a@corp.internal", "cannot receive mail: .internal"),
    ("a@router.home.arpa", "cannot receive mail: .arpa"),
])
def test_an_invalid_address_is_refused_naming_the_field_and_the_reason(
        raw: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_email(raw, field="owner_email")

    [error] = refused.value.errors
    assert error.field == "owner_email"
    assert reason in error.message
    if raw.strip():  # the value named, cut to 80 characters
        shown = raw.strip() if len(raw.strip()) <= 80 else raw.strip()[:77] + "..."
        assert error.message.startswith(f"{shown!r} is not a valid email address: ")


def test_a_value_that_is_not_text_is_required() -> None:
    with pytest.raises(ValidationFailed, match="is required"):
        normalise_email(None)


def test_addresses_differing_only_in_case_and_spelling_of_the_domain_are_one() -> None:
    spellings = ["a@müller.de", "A@MÜLLER.DE", "a@xn--mller-kva.de", "a@XN--MLLER-KVA.DE",
                 "a@mu\u0308ller.de"]

    assert {normalise_email(spelling) for spelling in spellings} == {"a@müller.de"}


@pytest.mark.parametrize(("stored", "sent"), [
    ("a@müller.de", "a@xn--mller-kva.de"),
    ("jösé@acme.es", "jösé@acme.es"),
    ("ada@acme.com", "ada@acme.com"),
    ("用户@例え.テスト", "用户@xn--r8jz45g.xn--zckzah"),  # IANA's IDN test names
])
def test_mail_carries_the_domain_idna_encoded(stored: str, sent: str) -> None:
    assert mail_address(stored) == sent


ADDRESS_PIECES = st.sampled_from(
    ["a", "Z", "0", ".", "..", "+", "-", "_", "@", " ", "\"", "ü", "Ü", "u\u0308", "é",
     "xn--", "例え", "\u212a", "İ", "ß", "ς", "!", "#", "'", "\t", "\u0000", "[", "]", "。",
     "com", "de", "invalid", "123", "x" * 63, "y" * 70])


@settings(max_examples=scaled(600))
@given(st.one_of(st.text(max_size=120),
                 st.lists(ADDRESS_PIECES, min_size=1, max_size=14).map("".join),
                 st.emails()))
@example("a@müller.de")
@example("İ@İ.com")
@example("a@ß.de")
@example("a@\u212a.com")
def test_any_text_is_stored_once_and_for_all_or_refused(text: str) -> None:
    """Never an error but ValidationFailed; a stored address checks again as itself, and
    its domain encodes for mail."""
    try:
        stored = normalise_email(text)
    except ValidationFailed:
        return
    assert normalise_email(stored) == stored
    assert mail_address(stored).rpartition("@")[2].isascii()


@pytest.mark.parametrize("reported", ["a@müller.de", "A@XN--MLLER-KVA.DE", "a@mu\u0308ller.de"])
def test_a_suppression_or_bounce_in_any_spelling_matches_the_stored_address(
        reported: str) -> None:
    """A DSN names the recipient as the server saw it (punycode): the suppression it adds is
    looked up by the lead's stored address."""
    assert suppression_address(Channel.EMAIL, reported) == normalise_email("a@müller.de")
    assert suppression_address(Channel.EMAIL, " Ada@Acme.COM ") == "ada@acme.com"
