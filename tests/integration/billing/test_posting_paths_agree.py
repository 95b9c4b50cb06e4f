"""PostgreSQL posts a single usage event with a stored function, and everything else (memory,
SQLite, batches) with the domain's rule: the two must agree. Two tenants of one database do
the same random things in the same order: top-ups, usage (priced globally or by the tenant's
override, within or beyond a quota, against a credit limit, paid by a member's sub-wallet,
dated earlier, unpriced), transfers, reservations, captures, releases, expiries and retries
of every kind. One tenant posts through the function, the other through the rule; after
each step both answered alike, and their wallets, ledgers, usage events, billing domain
events and quota counts read alike (ids named by order of appearance)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers
from hypothesis import HealthCheck
from hypothesis import settings as examples
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from lad_adapters.sql.billing_posting import PostgresUsagePostings
from lad_domain.billing.invoice import Period
from lad_domain.billing.posting import RepositoryUsagePostings
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.settings import Settings
from tests.integration.billing.twins import PythonRuleFor, Twin
from tests.unit.tenancy.org import OPERATOR

KEYS = ["k1", "k2", "k3"]
keys = st.sampled_from(KEYS)
amounts = st.sampled_from(["0.004", "0.05", "0.3"])
payers = st.sampled_from([None, "member"])
features = st.sampled_from(["outreach", "voice"])
ITEMS = {
    "email": [{"category": "email_send", "quantity": "7"}],
    "call": [{"category": "telephony_minute", "provider": "twilio", "quantity": "2.5"},
             {"category": "voice_minute", "provider": "elevenlabs", "model": "eleven_turbo_v2",
              "quantity": "2.5"}],
    "free": [{"category": "llm_input_tokens", "provider": "openai", "model": "gpt-4o-mini",
              "quantity": "3"}],  # 0.00000045: costs 0 at six decimals
    "unpriced": [{"category": "email_send", "quantity": "1"}, {"category": "telepathy",
                                                                "quantity": "1"}],
}
#: Five minutes to the month's end: quotas start again within a few steps.
START = datetime(2026, 3, 31, 23, 55, tzinfo=UTC)


class PostingPaths(RuleBasedStateMachine):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.lad = build_container(settings)
        self.lad.clock.override(providers.Object(self.clock))
        by_rule = PythonRuleFor(self.lad.unit_of_work())
        self.lad.unit_of_work.override(providers.Object(by_rule))
        self.function = Twin.open(self.lad, "Function")
        self.rule = Twin.open(self.lad, "Rule")
        by_rule.tenants.add(self.rule.id)
        self.last_use: Callable[[Twin], object] | None = None

    def both(self, action: Callable[[Twin], object]) -> None:
        assert self.function.outcome(action) == self.rule.outcome(action)

    @rule(key=keys, amount=amounts)
    def top_up(self, key: str, amount: str) -> None:
        self.both(lambda twin: twin.books.fund(amount, key))

    @rule(key=keys, what=st.sampled_from(sorted(ITEMS)), feature=features, payer=payers,
          earlier=st.booleans())
    def use(self, key: str, what: str, feature: str, payer: str | None, earlier: bool) -> None:
        at = self.clock.now() - timedelta(hours=1) if earlier else None
        self.last_use = lambda twin: twin.books.use(
            ITEMS[what], feature=feature, idempotency_key=key, occurred_at=at,
            user_id=twin.member if payer else None)
        self.both(self.last_use)

    @rule()
    def retry_the_last_use(self) -> None:
        if self.last_use is not None:
            self.both(self.last_use)

    @rule(feature=features, quota=st.sampled_from([None, 0, 1, 2]),
          overage=st.sampled_from(["charge", "refuse"]))
    def set_quota(self, feature: str, quota: int | None, overage: str) -> None:
        self.both(lambda twin: self.lad.billing_plans().set_entitlement(
            OPERATOR, twin.id, feature, monthly_quota=quota, overage=overage))

    @rule(category=st.sampled_from(["email_send", "voice_minute"]),
          price=st.sampled_from(["0", "0.0005", "0.02"]))
    def override_price(self, category: str, price: str) -> None:
        self.both(lambda twin: self.lad.billing_plans().load_pricing(OPERATOR, [
            {"category": category, "unit_price": price, "tenant_id": str(twin.id)}]))

    @rule(limit=st.sampled_from([None, "0.01", "0.2"]),
          threshold=st.sampled_from([None, "0.01", "0.3"]))
    def configure_the_wallet(self, limit: str | None, threshold: str | None) -> None:
        self.both(lambda twin: self.lad.billing().set_credit_limit(OPERATOR, twin.id, limit))
        self.both(lambda twin: self.lad.billing().set_low_balance_threshold(
            OPERATOR, twin.id, threshold))

    @rule(key=keys, amount=amounts, to_member=st.booleans())
    def transfer(self, key: str, amount: str, to_member: bool) -> None:
        self.both(lambda twin: self.lad.billing().transfer(
            OPERATOR, amount, idempotency_key_=key, tenant_id=twin.id,
            to_user_id=twin.member if to_member else None,
            from_user_id=None if to_member else twin.member))

    @rule(key=keys, amount=amounts, payer=payers)
    def reserve(self, key: str, amount: str, payer: str | None) -> None:
        def action(twin: Twin) -> object:
            held = self.lad.billing_reservations().reserve(
                twin.books.service, feature_key="voice", amount_=amount, idempotency_key_=key,
                user_id=twin.member if payer else None, hold=timedelta(minutes=10))
            twin.reservations[key] = held.id
            return held
        self.both(action)

    @rule(key=keys, capture=st.sampled_from([None, "0", "0.004", "0.05"]))
    def settle(self, key: str, capture: str | None) -> None:
        """Capture an amount of the key's reservation, or (None) release it."""
        reservations = self.lad.billing_reservations()
        self.both(lambda twin: None if key not in twin.reservations else (
            reservations.release(twin.books.service, twin.reservations[key]) if capture is None
            else reservations.capture(twin.books.service, twin.reservations[key], capture)))

    @rule(minutes=st.sampled_from([1, 6, 11]))
    def time_passes_and_the_sweep_runs(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.both(lambda twin: self.lad.billing_reservations().sweep(
            OPERATOR, tenant_id=twin.id))

    @invariant()
    def the_books_read_alike(self) -> None:
        periods = [Period.of(START), Period.of(self.clock.now())]
        assert self.function.state(KEYS, periods) == self.rule.state(KEYS, periods)

    def teardown(self) -> None:
        close(self.lad)


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_one_twin_posts_by_the_function_and_the_other_by_the_rule(
        backend: str, container: Container) -> None:
    twins = PostingPaths(container.settings())
    try:
        for twin, path in [(twins.function, PostgresUsagePostings),
                           (twins.rule, RepositoryUsagePostings)]:
            with twins.lad.unit_of_work()(twin.id) as uow:
                assert type(uow.usage_postings) is path
    finally:
        twins.teardown()


def test_the_stored_function_and_the_rule_post_alike(backend: str, container: Container
                                                      ) -> None:
    assert container.settings().database_url.startswith("postgresql")
    run_state_machine_as_test(lambda: PostingPaths(container.settings()), settings=examples(
        max_examples=15, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
