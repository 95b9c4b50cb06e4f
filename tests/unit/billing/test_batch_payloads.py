"""A batch checks and fingerprints a payload its events repeat once: only payloads equal
value for value and type for type share the check, so each event is refused or posted as it
would be alone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.shared.errors import ValidationFailed
from tests.unit.billing.books import Books


def _event(key: str, quantity: object, **more: object) -> dict[str, object]:
    return {"idempotency_key": key, "feature_key": "outreach",
            "usage_items": [{"category": "email_send", "quantity": quantity}], **more}


@pytest.mark.parametrize("refused", [True, 1.0, "1.0000001", "nan"])
def test_a_payload_equal_to_a_checked_one_but_of_another_type_is_checked_itself(
        books: Books, refused: object) -> None:
    books.fund("1")
    events = [_event("a1", 1), _event("a2", "1"), _event("a3", Decimal("1")),
              _event("a4", refused)]
    with pytest.raises(ValidationFailed) as failed:
        books.lad.billing().record_usage_batch(books.service, events)
    assert [e.field for e in failed.value.errors] == ["events[3].usage_items[0].quantity"]
    assert books.balance() == 1


def test_events_that_repeat_a_payload_keep_their_own_keys_and_share_its_fingerprint(
        books: Books) -> None:
    books.fund("1")
    posted = books.lad.billing().record_usage_batch(
        books.service, [_event(f"k{n}", "2") for n in range(3)] + [_event("k3", "3")])
    assert [e.idempotency_key for e in posted] == ["k0", "k1", "k2", "k3"]
    assert len({e.fingerprint for e in posted[:3]}) == 1
    assert posted[3].fingerprint != posted[0].fingerprint
    again = books.lad.billing().record_usage_batch(books.service, [_event("k1", "2")])
    assert again == [posted[1]]


def test_a_bad_key_after_a_repeated_payload_is_refused_naming_its_event(books: Books) -> None:
    with pytest.raises(ValidationFailed) as failed:
        books.lad.billing().record_usage_batch(books.service, [_event("ok", "1"),
                                                               _event("not ok", "1")])
    assert [e.field for e in failed.value.errors] == ["events[1].idempotency_key"]
