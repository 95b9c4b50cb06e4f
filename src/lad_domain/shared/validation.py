"""Checks on plain values that several contexts share (emails, names, keys)."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from typing import TypeVar

from lad_domain.shared.errors import ValidationFailed

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

#: RFC 5322's atext symbols: with letters and digits, what an unquoted local part may hold.
_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~")
#: Beyond ASCII (RFC 6531, SMTPUTF8): letters, combining marks and digits of any script.
_LOCAL_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"})
MAX_EMAIL = 254
MAX_LOCAL_PART = 64
MAX_DOMAIN = 253

#: Top-level domains that never receive mail from the Internet, and why. RFC 6761 leaves
#: ``.test`` and ``.example`` to be treated as ordinary names ("application software SHOULD
#: NOT recognize" them), and ``example.com`` is a registered domain: all three are accepted.
UNDELIVERABLE_TLDS = {
    "invalid": "is reserved for names that never exist (RFC 6761)",
    "localhost": "names the machine itself (RFC 6761)",
    "local": "is multicast DNS on a local network (RFC 6762)",
    "onion": "is a Tor onion service (RFC 7686)",
    "alt": "is outside the DNS (RFC 9476)",
    "internal": "is reserved for private networks",
    "arpa": "is the Internet's infrastructure (RFC 3172)",
}


def normalise_email(value: object, *, field: str = "email") -> str:
    """An address as LAD stores it, or a ValidationFailed on ``field`` saying why not.

    The local part is an unquoted dot-atom: RFC 5322's atext, or letters, marks and digits
    of any script (RFC 6531); no leading, trailing or double dot; at most 64 octets. The
    domain has at least two labels, each letters, digits and inner hyphens once encoded
    with IDNA (``müller.de`` is ``xn--mller-kva.de``), at most 63 octets each and 253 in
    all, under a top-level domain that is neither all digits nor one that cannot receive
    mail (``UNDELIVERABLE_TLDS``); IP-address domains are refused.

    The stored form is NFC, lower-case, with the domain in Unicode as IDNA gives it back
    (``A@MÜLLER.DE`` and ``a@xn--mller-kva.de`` are both ``a@müller.de``): addresses are
    unique case-insensitively, and whoever sends mail encodes the domain (``mail_address``).
    Python's IDNA codec is IDNA 2003's, which maps ``ß`` to ``ss``: an address at a domain
    with ``ß`` is stored, and reached, as its ``ss`` spelling."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(field, "is required")
    text = value.strip()
    shown = repr(text if len(text) <= 80 else text[:77] + "...")

    def refuse(reason: str) -> ValidationFailed:
        return ValidationFailed.single(field, f"{shown} is not a valid email address: {reason}")

    if len(text) > 4 * MAX_EMAIL:
        raise refuse(f"it is longer than {MAX_EMAIL} characters")
    local, at, domain = unicodedata.normalize("NFC", text).rpartition("@")
    if not at or not local:
        raise refuse("it needs a name, '@' and a domain" if not at else "nothing before '@'")
    local = unicodedata.normalize("NFC", local.lower())
    _check_local(local, refuse)
    ascii_domain, unicode_domain = _check_domain(domain, refuse)
    if len(local.encode()) + 1 + len(ascii_domain) > MAX_EMAIL:
        raise refuse(f"it is longer than {MAX_EMAIL} characters")
    return f"{local}@{unicode_domain}"


def _check_local(local: str, refuse: Callable[[str], ValidationFailed]) -> None:
    if len(local.encode()) > MAX_LOCAL_PART:
        raise refuse(f"the part before '@' is longer than {MAX_LOCAL_PART} octets")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise refuse("the part before '@' has a dot at its start or end, or two in a row")
    for ch in local:
        allowed = (ch.isalnum() or ch in _ATEXT or ch == "." if ch.isascii()
                   else unicodedata.category(ch) in _LOCAL_CATEGORIES)
        if not allowed:
            raise refuse(f"the part before '@' may not hold {_describe(ch)}")


def _describe(ch: str) -> str:
    if ch.isspace():
        return "spaces"
    if unicodedata.category(ch).startswith("C"):
        return "control characters"
    return repr(ch)


def _check_domain(domain: str, refuse: Callable[[str], ValidationFailed]) -> tuple[str, str]:
    """The domain's IDNA (ASCII) and Unicode forms, both lower-case."""
    shown = repr(domain if len(domain) <= 80 else domain[:77] + "...")
    if domain.startswith("[") or domain.endswith("]"):
        raise refuse("IP-address domains are not accepted")
    if not domain:
        raise refuse("nothing after '@'")
    if "." not in domain:
        raise refuse(f"the domain {shown} has no top-level domain")
    if "" in domain.split("."):
        raise refuse(f"the domain {shown} has a dot at its start or end, or two in a row")
    if any(label.isascii() and len(label) > 63 for label in domain.split(".")):
        raise refuse(f"the domain {shown} has a part longer than 63 characters")
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
        unicode_domain = ascii_domain.encode("ascii").decode("idna").lower()
    except UnicodeError:
        raise refuse(f"the domain {shown} is not a valid internationalised domain name"
                     ) from None
    labels = ascii_domain.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise refuse(f"the domain {shown} may hold only letters, digits and hyphens "
                     "(not at the start or end of a part)")
    if len(ascii_domain) > MAX_DOMAIN:
        raise refuse(f"the domain {shown} is longer than {MAX_DOMAIN} characters")
    top = labels[-1]
    if top.isdigit():
        raise refuse(f"the domain {shown} is a number, not a name (IP addresses are "
                     "not accepted)")
    if top in UNDELIVERABLE_TLDS:
        raise refuse(f"the domain {shown} cannot receive mail: .{top} "
                     f"{UNDELIVERABLE_TLDS[top]}")
    return ascii_domain, unicode_domain


def mail_address(email: str) -> str:
    """An address with its domain IDNA-encoded (``a@müller.de`` -> ``a@xn--mller-kva.de``),
    as SMTP envelopes and headers without SMTPUTF8 need it; an ASCII domain, or one the
    codec refuses (never one ``normalise_email`` stored), is left as it is."""
    local, _, domain = email.rpartition("@")
    if not local or domain.isascii():
        return email
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return email


def required_text(value: object, *, field: str, max_length: int = 200) -> str:
    """Non-blank text, trimmed. NUL and other control characters but tab and newline are
    refused: PostgreSQL text cannot hold NUL, and no user text needs an escape sequence."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(field, "is required")
    text = value.strip()
    if len(text) > max_length:
        raise ValidationFailed.single(field, f"must be at most {max_length} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise ValidationFailed.single(field, "must not contain control characters")
    return text


def plain_text(value: object, *, field: str, max_length: int = 200) -> str:
    """A required one-line name or label: no control characters at all."""
    text = required_text(value, field=field, max_length=max_length)
    if any(ch in "\t\n\r" for ch in text):
        raise ValidationFailed.single(field, "must be a single line")
    return text


def key(value: object, *, field: str) -> str:
    """A machine key (feature, flag, capability, stage): lower-case, starts with a letter."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise ValidationFailed.single(
            field, "must be 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter"
        )
    return value


E = TypeVar("E", bound=enum.StrEnum)


def choice(kind: type[E], value: object, *, field: str) -> E:
    """One of an enumeration's values, or a ValidationFailed on ``field`` listing them."""
    try:
        return kind(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "must be one of " + ", ".join(
            member.value for member in kind)) from None
