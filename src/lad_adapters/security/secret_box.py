"""Secrets at rest (mailbox passwords, provider tokens): AES-256-GCM with rotating keys.

A sealed secret is ``v1.<key id>.<nonce and ciphertext, urlsafe base64>``: the key id (the
first 8 hex digits of the key's SHA-256) says which key opens it, so keys rotate by putting
a new key first (it seals) and keeping the old ones after it (they still open) until every
token is re-sealed (``is_current`` finds the ones to re-seal). ``context`` (for example
``email_accounts:<tenant>:<account id>``) is bound as associated data: a token copied to
another row, another tenant or another column does not open there."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SETTINGS_NAME = "LAD_SECRET_KEYS"


class SecretBoxError(ValueError):
    """A token that cannot be opened (or a key that cannot be used). The message never
    holds a secret: no plaintext, no key."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Urlsafe base64, with or without its padding; binascii.Error when it is not."""
    if not text.isascii():
        raise binascii.Error("not base64")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class AesGcmSecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretBoxError("a secret box needs at least one key")
        for position, key in enumerate(keys, start=1):
            if len(key) != KEY_BYTES:
                raise SecretBoxError(f"key {position} is {len(key)} bytes; "
                                     f"AES-256-GCM needs {KEY_BYTES}")
        self._current = key_id(keys[0])
        self._ciphers: list[tuple[str, AESGCM]] = [(key_id(key), AESGCM(bytes(key)))
                                                   for key in keys]

    @classmethod
    def from_settings_value(cls, value: str) -> AesGcmSecretBox:
        """Keys as comma-separated urlsafe base64 32-byte keys, the current one first."""
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            raise SecretBoxError(f"{SETTINGS_NAME} holds no key (generate one with "
                                 "AesGcmSecretBox.generate_key())")
        keys: list[bytes] = []
        for position, part in enumerate(parts, start=1):
            try:
                key = b64decode(part)
            except (binascii.Error, ValueError):
                raise SecretBoxError(f"{SETTINGS_NAME}: key {position} is not urlsafe "
                                     "base64") from None
            if len(key) != KEY_BYTES:
                raise SecretBoxError(f"{SETTINGS_NAME}: key {position} is {len(key)} bytes, "
                                     f"not {KEY_BYTES}")
            keys.append(key)
        return cls(keys)

    @staticmethod
    def generate_key() -> str:
        return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    def __repr__(self) -> str:
        return f"AesGcmSecretBox(current={self._current}, keys={len(self._ciphers)})"

    def seal(self, plain: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        identifier, cipher = self._ciphers[0]
        sealed = cipher.encrypt(nonce, plain.encode("utf-8"), context.encode("utf-8"))
        return f"{VERSION}.{identifier}.{b64encode(nonce + sealed)}"

    def open(self, token: str, *, context: str) -> str:
        identifier, payload = self._parts(token)
        candidates = [cipher for known, cipher in self._ciphers if known == identifier]
        if not candidates:
            raise SecretBoxError(f"the secret was sealed with key {identifier}, which is not "
                                 f"among the keys of {SETTINGS_NAME}")
        nonce, sealed = payload[:NONCE_BYTES], payload[NONCE_BYTES:]
        for cipher in candidates:
            try:
                plain = cipher.decrypt(nonce, sealed, context.encode("utf-8"))
            except InvalidTag:
                continue
            return plain.decode("utf-8")
        raise SecretBoxError("the secret cannot be opened: it was altered or sealed for "
                             "another context")

    def is_current(self, token: str) -> bool:
        """Whether the token was sealed with the current (first) key; one that is not is
        re-sealed during a rotation."""
        identifier, _ = self._parts(token)
        return identifier == self._current

    def _parts(self, token: str) -> tuple[str, bytes]:
        pieces = token.split(".")
        if len(pieces) != 3 or pieces[0] != VERSION:
            raise SecretBoxError(f"not a sealed secret (expected {VERSION}.<key id>.<data>)")
        identifier, data = pieces[1], pieces[2]
        try:
            payload = b64decode(data)
        except (binascii.Error, ValueError):
            raise SecretBoxError("not a sealed secret: its data is not urlsafe base64"
                                 ) from None
        if len(payload) < NONCE_BYTES + TAG_BYTES:
            raise SecretBoxError("not a sealed secret: its data is too short")
        return identifier, payload
