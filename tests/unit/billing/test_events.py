"""Billing's event classes: one event type each, and the stored payloads as before."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from lad_domain.billing import events as ev
from lad_domain.billing.model import OverageMode, WalletSetting
from lad_domain.shared.events import Event
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR

ID, USER = uuid.UUID(int=1), uuid.UUID(int=2)
D = Decimal("1.500000")
SAMPLES: list[tuple[Event, dict[str, object]]] = [
    (ev.BalanceLow(ID, ID, D, D), {"wallet_id": str(ID), "available": "1.500000",
                                   "threshold": "1.500000"}),
    (ev.BalanceDepleted(ID, ID, -D, D), {"wallet_id": str(ID), "available": "-1.500000",
                                         "threshold": "1.500000"}),
    (ev.ToppedUp(ID, D, D), {"amount": "1.500000", "balance": "1.500000"}),
    (ev.WalletConfigured(ID, WalletSetting.CREDIT_LIMIT, None), {"credit_limit": None}),
    (ev.LegacyMigrated(ID, USER, D), {"user_id": str(USER), "amount": "1.500000"}),
    (ev.EntitlementSet(ID, "voice", None, OverageMode.REFUSE),
     {"feature_key": "voice", "monthly_quota": None, "overage": "refuse"}),
    (ev.ReservationOpened(ID, D, "voice"), {"amount": "1.500000", "feature_key": "voice"}),
    (ev.ReservationCaptured(ID, D, D), {"amount": "1.500000", "released": "1.500000"}),
    (ev.ReservationReleased(ID, D), {"amount": "1.500000"}),
    (ev.ReservationExpired(ID, D), {"amount": "1.500000"}),
    (ev.InvoiceGenerated(ID, "INV-000001", "2026-02", D),
     {"number": "INV-000001", "period": "2026-02", "total": "1.500000"}),
    *[(kind(ID, "INV-000001", D), {"number": "INV-000001", "total": "1.500000"})
      for kind in ev.INVOICE_STATUS_EVENTS.values()],
]


def test_every_event_class_has_its_own_type_and_a_sample() -> None:
    assert len({kind.event_type for kind in ev.EVENTS}) == len(ev.EVENTS)
    assert {type(event) for event, _ in SAMPLES} == set(ev.EVENTS)


@pytest.mark.parametrize(("event", "payload"), SAMPLES, ids=lambda x: type(x).__name__)
def test_the_payload_is_stored_as_before(event: Event, payload: dict[str, object]) -> None:
    assert (event.aggregate_key(), event.payload()) == (str(ID), payload)


def test_a_wallet_setting_is_recorded_by_name(books: Books) -> None:
    books.lad.billing().set_low_balance_threshold(OPERATOR, books.id, "2")
    [event] = books.events("billing.wallet_configured")
    assert (event.aggregate_type, event.payload) == ("wallet", {"low_balance_threshold":
                                                                "2.000000"})
