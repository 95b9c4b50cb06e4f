"""Posting usage gives the same results on every backend (PostgreSQL posts a single event
through its stored function, a batch through the shared rule)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lad_domain.billing.model import RejectionReason, UsageStatus
from lad_domain.shared.errors import Conflict, ValidationFailed
from tests.unit.billing.books import EMAIL, Books
from tests.unit.tenancy.org import OPERATOR

CALL = [{"category": "telephony_minute", "provider": "twilio", "quantity": "2.5"},
        {"category": "voice_minute", "provider": "elevenlabs", "model": "eleven_turbo_v2",
         "quantity": "2.5"}]


def test_a_posted_event_reads_back_as_it_was_returned(books: Books) -> None:
    books.fund("1")
    event = books.use(CALL, feature="voice")
    with books.lad.unit_of_work()(books.id) as uow:
        assert uow.usage_events.get(event.id) == event
    assert (event.total_cost, event.charged, books.balance()) == (
        Decimal("0.185"), Decimal("0.185"), Decimal("0.815"))


def test_the_ledger_row_names_its_cause_and_actor(books: Books) -> None:
    books.fund("1")
    event = books.use()
    usage = books.ledger()[0]
    assert (usage.cause_id, usage.amount, usage.balance_after) == (
        event.id, Decimal("-0.001"), Decimal("0.999"))
    assert usage.actor == f"api_key:{books.service.api_key_id}"


def test_a_retry_returns_the_first_result_and_writes_nothing(books: Books) -> None:
    books.fund("1")
    first = books.use(idempotency_key="send-1")
    assert books.use(idempotency_key="send-1") == first
    assert len(books.ledger()) == 2 and books.balance() == Decimal("0.999")


def test_the_same_key_with_another_payload_is_a_conflict(books: Books) -> None:
    books.fund("1")
    books.use(idempotency_key="send-1")
    with pytest.raises(Conflict):
        books.use([{"category": "email_send", "quantity": "3"}], idempotency_key="send-1")


def test_usage_without_funds_is_rejected_stored_and_replayed(books: Books) -> None:
    event = books.use(idempotency_key="poor")
    assert event.rejection_reason is RejectionReason.INSUFFICIENT_FUNDS
    assert books.use(idempotency_key="poor") == event
    with books.lad.unit_of_work()(books.id) as uow:
        assert uow.usage_events.get(event.id) == event


def test_unpriced_items_are_refused_naming_them(books: Books) -> None:
    with pytest.raises(ValidationFailed) as refused:
        books.use([{"category": "telepathy", "quantity": "1"}, EMAIL,
                   {"category": "smoke_signal", "quantity": "1"}])
    assert [e.field for e in refused.value.errors] == ["usage_items[0]", "usage_items[2]"]


def test_costs_round_half_to_even_at_the_sixth_decimal(books: Books) -> None:
    books.lad.billing_plans().load_pricing(OPERATOR, [
        {"category": "email_send", "unit_price": "0.0000005"}])
    books.fund("1")
    events = [books.use([{"category": "email_send", "quantity": q}]) for q in ("1", "3")]
    assert [e.total_cost for e in events] == [Decimal("0"), Decimal("0.000002")]


def test_quota_use_is_counted_and_refused_beyond_the_plan(books: Books) -> None:
    books.lad.billing_plans().set_entitlement(OPERATOR, books.id, "outreach",
                                              monthly_quota=1, overage="refuse")
    books.fund("1")
    assert books.use().within_quota
    assert books.use().rejection_reason is RejectionReason.QUOTA_EXHAUSTED
    assert books.lad.billing_plans().entitlement(books.org.owner, "outreach").remaining == 0


def test_a_members_sub_wallet_pays_for_their_usage(books: Books) -> None:
    from lad_domain.shared.principal import Role
    member = books.org.member(Role.MEMBER)
    books.fund("1")
    books.lad.billing().transfer(books.org.owner, "0.5", idempotency_key_="t",
                                 to_user_id=member.user_id)
    event = books.use(user_id=member.user_id)
    assert event.wallet_id == books.wallet(member.user_id).id
    assert books.balance(member.user_id) == Decimal("0.499")


def test_low_and_depleted_events_are_stored(books: Books) -> None:
    books.lad.billing().set_low_balance_threshold(OPERATOR, books.id, "0.0015")
    books.fund("0.002")
    books.use()
    books.use()
    [low] = books.events("billing.balance_low")
    [depleted] = books.events("billing.balance_depleted")
    assert (low.payload["available"], depleted.payload["available"]) == ("0.001000",
                                                                         "0.000000")


def test_a_batch_posts_in_order_and_replays_per_event(books: Books) -> None:
    books.fund("0.002")
    events = [{"idempotency_key": f"b{i}", "feature_key": "outreach", "usage_items": [EMAIL]}
              for i in range(3)]
    posted = books.lad.billing().record_usage_batch(books.service, events)
    assert [e.status for e in posted] == [UsageStatus.POSTED] * 2 + [UsageStatus.REJECTED]
    assert books.lad.billing().record_usage_batch(books.service, events) == posted
    assert books.use(idempotency_key="b0") == posted[0]
    assert books.reconcile().clean


def test_a_large_batch_is_stored_exactly_as_returned(books: Books) -> None:
    from lad_domain.shared.principal import Role
    member = books.org.member(Role.MEMBER)
    books.lad.billing().set_low_balance_threshold(OPERATOR, books.id, "0.05")
    books.fund("0.06")
    books.lad.billing().transfer(books.org.owner, "0.01", idempotency_key_="t",
                                 to_user_id=member.user_id)
    events = [{"idempotency_key": f"big-{i}", "feature_key": "voice" if i % 3 else "outreach",
               "usage_items": CALL if i % 3 else [EMAIL],
               "user_id": str(member.user_id) if i % 4 == 0 else None} for i in range(40)]
    posted = books.lad.billing().record_usage_batch(books.service, events)
    with books.lad.unit_of_work()(books.id) as uow:
        assert [uow.usage_events.get(e.id) for e in posted] == posted
    assert {e.status for e in posted} == {UsageStatus.POSTED, UsageStatus.REJECTED}
    assert len(books.ledger()) == 3 + sum(e.status is UsageStatus.POSTED for e in posted)
    assert books.events("billing.balance_low") and books.reconcile().clean
