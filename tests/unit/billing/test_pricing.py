"""The pricing catalog: specificity, loading without losing history, who may see and load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lad_adapters.catalog import default_catalog
from lad_domain.billing.model import UsageItem
from lad_domain.billing.pricing import Price, best_price
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, PermissionDenied, ValidationFailed
from lad_domain.shared.principal import Role
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _price(price_id: int, **fields: object) -> Price:
    return Price(id=__import__("uuid").UUID(int=price_id), category="llm_input_tokens",
                 unit_price=Decimal(price_id), effective_from=T0, created_at=T0,
                 **fields)  # type: ignore[arg-type]


def test_the_most_specific_price_wins() -> None:
    prices = [_price(1), _price(2, provider="openai"), _price(3, provider="openai",
                                                              model="gpt-4o")]
    item = UsageItem("llm_input_tokens", Decimal(1), provider="openai", model="gpt-4o")
    assert best_price(prices, item, T0) == prices[2]
    assert best_price(prices, UsageItem("llm_input_tokens", Decimal(1), "openai", "o1"),
                      T0) == prices[1]


def test_a_price_ended_before_the_event_is_not_used() -> None:
    ended = _price(1, effective_to=T0 + timedelta(days=1))
    item = UsageItem("llm_input_tokens", Decimal(1))
    assert best_price([ended], item, T0 + timedelta(days=1)) is None


def test_loading_the_same_catalog_twice_changes_nothing(lad: object) -> None:
    plans = lad.billing_plans()  # type: ignore[attr-defined]
    load = plans.load_pricing(OPERATOR, default_catalog())
    assert (load.added, load.closed, load.unchanged) == (0, 0, 29)


def test_a_new_price_closes_the_one_it_supersedes(books: Books, clock: FixedClock) -> None:
    plans = books.lad.billing_plans()
    load = plans.load_pricing(OPERATOR, [{"category": "email_send", "unit_price": "0.002"}])
    assert (load.added, load.closed) == (1, 1)
    [email] = [p for p in plans.pricing(books.org.owner) if p.category == "email_send"]
    assert email.unit_price == Decimal("0.002")


def test_replace_closes_the_rows_the_document_omits(books: Books) -> None:
    plans = books.lad.billing_plans()
    plans.load_pricing(OPERATOR, [{"category": "email_send", "unit_price": "0.002"}],
                       mode="replace")
    assert [p.category for p in plans.pricing(books.org.owner)] == ["email_send"]


def test_a_bad_row_names_its_field_and_nothing_is_loaded(books: Books) -> None:
    plans = books.lad.billing_plans()
    with pytest.raises(ValidationFailed) as refused:
        plans.load_pricing(OPERATOR, [{"category": "email_send", "unit_price": "0.5"},
                                      {"category": "x", "unit_price": "cheap"}])
    assert refused.value.errors[0].field == "prices[1].unit_price"
    assert books.use().total_cost == Decimal("0.001")


def test_a_price_older_than_the_one_in_force_is_a_conflict(books: Books) -> None:
    with pytest.raises(Conflict):
        books.lad.billing_plans().load_pricing(OPERATOR, [
            {"category": "email_send", "unit_price": "0.5",
             "effective_from": "2019-01-01T00:00:00Z"}])


def test_only_the_operator_loads_prices(books: Books) -> None:
    with pytest.raises(PermissionDenied):
        books.lad.billing_plans().load_pricing(books.org.owner, default_catalog())


def test_any_member_sees_the_prices(books: Books) -> None:
    prices = books.lad.billing_plans().pricing(books.org.member(Role.VIEWER))
    assert len(prices) == 29
