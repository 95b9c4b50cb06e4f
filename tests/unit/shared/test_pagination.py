"""Signed cursors: a position sealed for one list of one tenant scope opens only there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import Cursor, CursorSeal, PageRequest

POSITION = Cursor(created_at=datetime(2026, 1, 1, 12, 30, tzinfo=UTC), id=uuid.uuid4())
ACME, GLOBEX = uuid.uuid4(), uuid.uuid4()
SEAL = CursorSeal.from_secret("s" * 32)


def _refusal(seal: CursorSeal, kind: str, token: str) -> str:
    with pytest.raises(ValidationFailed) as refused:
        seal.open(kind, token)
    assert [e.field for e in refused.value.errors] == ["cursor"]
    return refused.value.errors[0].message


def test_a_sealed_position_opens_for_its_list() -> None:
    token = SEAL.scoped(ACME).seal("leads", POSITION)
    assert SEAL.scoped(ACME).open("leads", token) == POSITION
    assert SEAL.scoped(ACME).after("leads", PageRequest(cursor=token)) == POSITION
    assert SEAL.after("leads", PageRequest()) is None


def test_another_list_or_tenant_is_refused() -> None:
    token = SEAL.scoped(ACME).seal("leads", POSITION)
    assert _refusal(SEAL.scoped(ACME), "memberships", token) == "is not a cursor of this list"
    assert _refusal(SEAL.scoped(GLOBEX), "leads", token) == "is not a cursor of this list"
    assert _refusal(SEAL, "leads", token) == "is not a cursor of this list"


@pytest.mark.parametrize("token", ["", "junk", "a.b", "é.é", "x" * 300 + "." + "y" * 43])
def test_garbage_is_invalid(token: str) -> None:
    assert _refusal(SEAL, "leads", token) == "is invalid"


def test_another_key_or_an_altered_body_is_invalid() -> None:
    token = SEAL.seal("leads", POSITION)
    assert _refusal(CursorSeal.from_secret("t" * 32), "leads", token) == "is invalid"
    body, _, signature = token.partition(".")
    altered = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    assert _refusal(SEAL, "leads", f"{altered}.{signature}") == "is invalid"


def test_an_overlong_cursor_and_a_short_key_are_refused_up_front() -> None:
    with pytest.raises(ValidationFailed):
        PageRequest.parse(cursor="x" * 513)
    with pytest.raises(ValueError, match="32 bytes"):
        CursorSeal(b"short")
    assert PageRequest.parse(cursor="").cursor is None
