"""Secrets at rest: AES-256-GCM tokens bound to a context, with rotating keys."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_adapters.security.secret_box import AesGcmSecretBox, SecretBoxError
from tests.examples import scaled

OLD = bytes(range(32))
NEW = bytes(range(100, 132))
CONTEXT = "email_accounts:tenant-1:account-7"
PASSWORD = "hunter2-très-secret"


def test_a_sealed_secret_opens_in_its_context() -> None:
    box = AesGcmSecretBox([NEW])
    token = box.seal(PASSWORD, context=CONTEXT)
    assert box.open(token, context=CONTEXT) == PASSWORD
    version, identifier, data = token.split(".")
    assert version == "v1"
    assert identifier == hashlib.sha256(NEW).hexdigest()[:8]
    assert PASSWORD not in token
    assert set(data) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_sealing_twice_gives_two_tokens() -> None:
    box = AesGcmSecretBox([NEW])
    assert box.seal(PASSWORD, context=CONTEXT) != box.seal(PASSWORD, context=CONTEXT)


@given(plain=st.text(alphabet=st.characters(exclude_categories=["Cs"])),
       context=st.text(alphabet=st.characters(exclude_categories=["Cs"])))
@settings(max_examples=scaled(100))
def test_any_text_round_trips(plain: str, context: str) -> None:
    box = AesGcmSecretBox([NEW])
    assert box.open(box.seal(plain, context=context), context=context) == plain


def test_another_context_does_not_open_it() -> None:
    box = AesGcmSecretBox([NEW])
    token = box.seal(PASSWORD, context=CONTEXT)
    with pytest.raises(SecretBoxError, match="altered or sealed for another context") as raised:
        box.open(token, context="email_accounts:tenant-2:account-7")
    assert PASSWORD not in str(raised.value)


def test_a_tampered_token_does_not_open() -> None:
    box = AesGcmSecretBox([NEW])
    token = box.seal(PASSWORD, context=CONTEXT)
    prefix, data = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    for position in (0, 12, len(raw) - 1):  # the nonce, the ciphertext, the tag
        changed = bytearray(raw)
        changed[position] ^= 1
        forged = prefix + "." + base64.urlsafe_b64encode(bytes(changed)).decode().rstrip("=")
        with pytest.raises(SecretBoxError) as raised:
            box.open(forged, context=CONTEXT)
        assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize("token", ["", "v1", "v2.abcd1234.AAAA", "v1.abcd1234",
                                   "v1.abcd1234.!!!!", "v1.abcd1234.AAAA", "a.b.c.d"])
def test_what_is_not_a_token_is_a_clear_error(token: str) -> None:
    box = AesGcmSecretBox([NEW])
    with pytest.raises(SecretBoxError, match="not a sealed secret"):
        box.open(token, context=CONTEXT)


def test_a_wrong_key_names_the_missing_key_id() -> None:
    token = AesGcmSecretBox([OLD]).seal(PASSWORD, context=CONTEXT)
    with pytest.raises(SecretBoxError, match=hashlib.sha256(OLD).hexdigest()[:8]):
        AesGcmSecretBox([NEW]).open(token, context=CONTEXT)


def test_rotation_the_first_key_seals_all_keys_open() -> None:
    before = AesGcmSecretBox([OLD])
    old_token = before.seal(PASSWORD, context=CONTEXT)
    rotated = AesGcmSecretBox([NEW, OLD])
    assert rotated.open(old_token, context=CONTEXT) == PASSWORD
    assert not rotated.is_current(old_token)
    resealed = rotated.seal(rotated.open(old_token, context=CONTEXT), context=CONTEXT)
    assert rotated.is_current(resealed)
    assert AesGcmSecretBox([NEW]).open(resealed, context=CONTEXT) == PASSWORD
    with pytest.raises(SecretBoxError):
        before.open(resealed, context=CONTEXT)


def test_keys_from_the_settings_value() -> None:
    first, second = AesGcmSecretBox.generate_key(), AesGcmSecretBox.generate_key()
    assert len(base64.urlsafe_b64decode(first)) == 32
    assert first != second
    box = AesGcmSecretBox.from_settings_value(f" {first} ,{second.rstrip('=')},")
    token = AesGcmSecretBox.from_settings_value(second).seal(PASSWORD, context=CONTEXT)
    assert box.open(token, context=CONTEXT) == PASSWORD
    assert not box.is_current(token)
    assert box.is_current(box.seal(PASSWORD, context=CONTEXT))


@pytest.mark.parametrize("value", ["", " , ", base64.urlsafe_b64encode(b"short").decode(),
                                   "not base64 at all!", base64.urlsafe_b64encode(
                                       bytes(33)).decode()])
def test_a_bad_settings_value_names_lad_secret_keys(value: str) -> None:
    with pytest.raises(SecretBoxError, match="LAD_SECRET_KEYS"):
        AesGcmSecretBox.from_settings_value(value)


def test_keys_are_32_bytes_and_never_shown() -> None:
    with pytest.raises(SecretBoxError, match="32"):
        AesGcmSecretBox([bytes(16)])
    with pytest.raises(SecretBoxError):
        AesGcmSecretBox([])
    assert NEW.hex() not in repr(AesGcmSecretBox([NEW]))
    assert repr(AesGcmSecretBox([NEW, OLD])).endswith("keys=2)")
