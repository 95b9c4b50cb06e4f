"""Signed one-click links of an email (unsubscribe, open tracking).

A link carries who it is for (tenant, enrollment, lead, channel, address) in the token
itself, signed with HMAC-SHA256, so that a click needs no lookup table and a forged or
altered token is refused. The token is URL-safe base64 without padding of a compact binary
payload followed by the first 16 bytes of its HMAC (about 135 characters for a usual
address). There is no expiry: RFC 8058 one-click unsubscribe links must keep working."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import attrs

from lad_domain.shared.errors import ValidationFailed

Purpose = Literal["unsubscribe", "open"]
PURPOSES: tuple[Purpose, ...] = ("unsubscribe", "open")
VERSION = 1
MAC_BYTES = 16
MIN_SECRET_BYTES = 16
#: version (high nibble) | has enrollment (bit 2) | purpose (bits 0-1); tenant; lead;
#: issued at (whole seconds, unsigned 32 bits: until 2106).
HEADER = struct.Struct(">B16s16sI")
ENROLLMENT = struct.Struct(">16s")
#: The longest channel or address a link carries (bytes of UTF-8; an address is at most 254).
MAX_TEXT_BYTES = 255
BAD_TOKEN = "is not a valid link (altered, truncated or not issued by us)"


def to_utc_second(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


def short_text(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ValueError(f"{attribute.name} is longer than {MAX_TEXT_BYTES} bytes")


@attrs.frozen
class SignedLink:
    """What a link stands for. ``issued_at`` is kept to the second, in UTC."""

    purpose: Purpose = attrs.field(validator=attrs.validators.in_(PURPOSES))
    tenant_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    lead_id: uuid.UUID
    channel: str = attrs.field(validator=short_text)
    #: The email address the message went to (the one to unsubscribe).
    address: str = attrs.field(validator=short_text)
    issued_at: datetime = attrs.field(converter=to_utc_second)

    def __attrs_post_init__(self) -> None:
        if not datetime(1970, 1, 1, tzinfo=UTC) <= self.issued_at < datetime(
                2106, 2, 7, tzinfo=UTC):
            raise ValueError("issued_at must be between 1970 and 2106")


def encode_text(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    return bytes([len(raw)]) + raw


class LinkSeal:
    """Seals links into tokens with one secret, and opens them again with it or with one
    of the previous secrets (links in emails already sent outlive a key rotation)."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        for key in (secret, *previous):
            if len(key) < MIN_SECRET_BYTES:
                raise ValueError(f"a link secret needs at least {MIN_SECRET_BYTES} bytes")
        self._secret = bytes(secret)
        self._previous = tuple(bytes(key) for key in previous)

    @classmethod
    def derived(cls, secret: str, purpose_label: str,
                previous_secrets: Sequence[str] = ()) -> LinkSeal:
        """A seal whose key is derived from an application secret for one purpose, so the
        links of one purpose never verify as another's and the secret is never used as is;
        links sealed under ``previous_secrets`` still open."""
        def key(application_secret: str) -> bytes:
            if len(application_secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise ValueError("the application secret needs at least "
                                 f"{MIN_SECRET_BYTES} bytes")
            return hmac.new(application_secret.encode("utf-8"),
                            b"lad/links/" + purpose_label.encode("utf-8"),
                            hashlib.sha256).digest()
        return cls(key(secret), [key(old) for old in previous_secrets])

    def __repr__(self) -> str:
        return "LinkSeal()"

    def seal(self, link: SignedLink) -> str:
        flags = (VERSION << 4) | PURPOSES.index(link.purpose)
        if link.enrollment_id is not None:
            flags |= 0b100
        payload = HEADER.pack(flags, link.tenant_id.bytes, link.lead_id.bytes,
                              int(link.issued_at.timestamp()))
        if link.enrollment_id is not None:
            payload += ENROLLMENT.pack(link.enrollment_id.bytes)
        payload += encode_text(link.channel) + encode_text(link.address)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode()

    def open(self, token: str) -> SignedLink:
        """The link a token stands for; ValidationFailed on "token" when it was forged,
        truncated or altered."""
        raw = decode_token(token)
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if len(raw) <= MAC_BYTES or not any(
                hmac.compare_digest(mac, self._mac(payload, key))
                for key in (self._secret, *self._previous)):
            raise ValidationFailed.single("token", BAD_TOKEN)
        try:
            return parse_payload(payload)
        except (ValueError, struct.error, IndexError, UnicodeDecodeError):
            # Signed by us but not readable: a payload of another version.
            raise ValidationFailed.single("token", BAD_TOKEN) from None

    def _mac(self, payload: bytes, key: bytes | None = None) -> bytes:
        return hmac.new(self._secret if key is None else key, payload,
                        hashlib.sha256).digest()[:MAC_BYTES]


def decode_token(token: str) -> bytes:
    if not token.isascii() or len(token) > 1024:
        raise ValidationFailed.single("token", BAD_TOKEN)
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed.single("token", BAD_TOKEN) from None
    # One token per payload: refuse other spellings of the same bytes (padding, spare bits).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise ValidationFailed.single("token", BAD_TOKEN)
    return raw


def parse_payload(payload: bytes) -> SignedLink:
    flags, tenant, lead, issued = HEADER.unpack_from(payload)
    if flags >> 4 != VERSION or flags & 0b11 >= len(PURPOSES) or flags & 0b1000:
        raise ValueError("another link version")
    offset = HEADER.size
    enrollment = None
    if flags & 0b100:
        (enrollment_bytes,) = ENROLLMENT.unpack_from(payload, offset)
        enrollment = uuid.UUID(bytes=enrollment_bytes)
        offset += ENROLLMENT.size
    texts: list[str] = []
    for _ in range(2):
        length = payload[offset]
        text = payload[offset + 1:offset + 1 + length]
        if len(text) != length:
            raise ValueError("a text is cut short")
        texts.append(text.decode("utf-8", "surrogatepass"))
        offset += 1 + length
    if offset != len(payload):
        raise ValueError("bytes after the payload")
    return SignedLink(purpose=PURPOSES[flags & 0b11], tenant_id=uuid.UUID(bytes=tenant),
                      enrollment_id=enrollment, lead_id=uuid.UUID(bytes=lead),
                      channel=texts[0], address=texts[1],
                      issued_at=datetime.fromtimestamp(issued, UTC))
