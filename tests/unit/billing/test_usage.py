"""Recording usage: priced from the catalog, paid from the wallet, idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from lad_domain.billing.model import RejectionReason, UsageStatus
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import (
    Conflict,
    InsufficientFunds,
    PermissionDenied,
    ValidationFailed,
)
from lad_domain.shared.principal import Role
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR

CALL = [{"category": "telephony_minute", "provider": "twilio", "quantity": "2.5"},
        {"category": "voice_minute", "provider": "elevenlabs", "model": "eleven_turbo_v2",
         "quantity": "2.5"}]


def test_usage_is_priced_from_the_catalog_and_debited(books: Books) -> None:
    books.fund("1")
    event = books.use(CALL, feature="voice")
    assert [i.unit_price for i in event.items] == [Decimal("0.014"), Decimal("0.06")]
    assert (event.status, event.total_cost, event.charged) == (
        UsageStatus.POSTED, Decimal("0.185"), Decimal("0.185"))
    assert books.balance() == Decimal("0.815")


def test_a_tenant_override_beats_the_global_price(books: Books) -> None:
    books.lad.billing_plans().load_pricing(OPERATOR, [
        {"category": "email_send", "unit_price": "0.0005", "tenant_id": str(books.id)}])
    books.fund("1")
    assert books.use().total_cost == Decimal("0.0005")


def test_the_price_in_force_when_the_usage_happened_is_used(books: Books,
                                                            clock: FixedClock) -> None:
    before = clock.now()
    clock.advance(timedelta(days=1))
    books.lad.billing_plans().load_pricing(OPERATOR, [
        {"category": "email_send", "unit": "message", "unit_price": "0.002"}])
    books.fund("1")
    assert books.use(occurred_at=before).total_cost == Decimal("0.001")
    assert books.use().total_cost == Decimal("0.002")


def test_an_item_without_a_price_is_refused_naming_it(books: Books) -> None:
    with pytest.raises(ValidationFailed) as refused:
        books.use([EMAIL, {"category": "telepathy", "quantity": "1"}])
    assert refused.value.errors[0].field == "usage_items[1]"


def test_bad_usage_items_name_every_field(books: Books) -> None:
    with pytest.raises(ValidationFailed) as refused:
        books.use([{"category": "Bad Key", "quantity": "-1"}, {"quantity": 0.5}])
    assert {e.field for e in refused.value.errors} == {
        "usage_items[0].quantity", "usage_items[1].quantity"}


def test_usage_without_funds_is_rejected_and_stored(books: Books) -> None:
    event = books.use()
    assert (event.status, event.rejection_reason) == (
        UsageStatus.REJECTED, RejectionReason.INSUFFICIENT_FUNDS)
    assert books.lad.billing().record_usage(
        books.service, idempotency_key=event.idempotency_key, feature_key="outreach",
        usage_items=[EMAIL]) == event
    assert books.ledger() == []


def test_asked_to_raise_the_refusal_it_stores_the_event_then_raises(books: Books) -> None:
    for _ in range(2):
        with pytest.raises(InsufficientFunds, match="insufficient funds for"):
            books.lad.billing().record_usage(books.service, idempotency_key="r1",
                                             feature_key="outreach", usage_items=[EMAIL],
                                             raise_refusal=True)
    assert books.use(idempotency_key="r1").status is UsageStatus.REJECTED


def test_a_retry_returns_the_first_result_and_writes_nothing(books: Books) -> None:
    books.fund("1")
    first = books.use(idempotency_key="send-1")
    assert books.use(idempotency_key="send-1") == first
    assert books.balance() == Decimal("0.999") and len(books.ledger()) == 2


def test_the_same_key_with_another_payload_is_a_conflict(books: Books) -> None:
    books.fund("1")
    books.use(idempotency_key="send-1")
    with pytest.raises(Conflict):
        books.use([{"category": "email_send", "quantity": "2"}], idempotency_key="send-1")


def test_logged_in_users_do_not_record_usage(books: Books) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing().record_usage(books.org.owner, idempotency_key="x",
                                         feature_key="outreach", usage_items=[EMAIL])


def test_usage_for_someone_outside_the_tenant_is_refused(books: Books) -> None:
    other = Books.open(books.lad, "Other")
    with pytest.raises(ValidationFailed, match="user_id"):
        books.use(user_id=other.org.owner.user_id)


def test_a_viewer_api_key_records_usage(books: Books) -> None:
    issued = books.lad.team().create_api_key(books.org.owner, name="v", role=Role.VIEWER)
    viewer = books.lad.tenancy().authenticate(issued.secret)
    books.fund("1")
    event = books.lad.billing().record_usage(viewer, idempotency_key="v1",
                                             feature_key="outreach", usage_items=[EMAIL])
    assert event.status is UsageStatus.POSTED


def test_a_batch_posts_in_order_until_the_money_runs_out(books: Books) -> None:
    books.fund("0.002")
    events = [{"idempotency_key": f"b{i}", "feature_key": "outreach", "usage_items": [EMAIL]}
              for i in range(3)]
    posted = books.lad.billing().record_usage_batch(books.service, events)
    assert [e.status for e in posted] == [UsageStatus.POSTED, UsageStatus.POSTED,
                                          UsageStatus.REJECTED]
    assert books.balance() == 0


def test_a_batch_with_a_bad_event_writes_nothing(books: Books) -> None:
    books.fund("1")
    events = [{"idempotency_key": "b1", "feature_key": "outreach", "usage_items": [EMAIL]},
              {"idempotency_key": "b2", "feature_key": "outreach", "usage_items": []}]
    with pytest.raises(ValidationFailed, match=r"events\[1\].usage_items"):
        books.lad.billing().record_usage_batch(books.service, events)
    assert books.balance() == 1


def test_low_and_depleted_balances_are_recorded_as_events(books: Books) -> None:
    books.lad.billing().set_low_balance_threshold(OPERATOR, books.id, "0.0015")
    books.fund("0.002")
    books.use()
    assert len(books.events("billing.balance_low")) == 1
    assert books.events("billing.balance_depleted") == []
    books.use()
    assert len(books.events("billing.balance_depleted")) == 1
    assert len(books.events("billing.balance_low")) == 1


def test_an_unpriced_item_in_a_batch_names_its_event(books: Books) -> None:
    events = [{"idempotency_key": "b1", "feature_key": "outreach", "usage_items": [EMAIL]},
              {"idempotency_key": "b2", "feature_key": "outreach",
               "usage_items": [{"category": "telepathy", "quantity": "1"}]}]
    with pytest.raises(ValidationFailed, match=r"events\[1\].usage_items\[0\]"):
        books.lad.billing().record_usage_batch(books.service, events)
