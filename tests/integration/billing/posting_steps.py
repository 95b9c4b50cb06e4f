"""What the twins do, one step at a time, and the strategy that draws the steps: usage most
often (new keys mostly; a reused key is a retry or a conflict; now and then a batch), then
top-ups, transfers, quotas, price overrides, credit limits and thresholds, reservations and
the passing of time. Amounts and prices move in whole cents, so that balances meet credit
limits and thresholds exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import attrs
from hypothesis import strategies as st

from lad_domain.shared.money import ZERO
from lad_entrypoints.container import Container
from tests.integration.billing.twins import Twin
from tests.unit.tenancy.org import OPERATOR

#: Five minutes to the month's end: quotas start again within a few steps.
START = datetime(2026, 3, 31, 23, 55, tzinfo=UTC)
#: Before every price override (they start after START): usage dated then pays the catalog.
EARLIER = START - timedelta(hours=1)
USAGE_KEYS = [f"u{n}" for n in range(1, 13)]
#: What a usage event may hold; every cost is a whole number of cents or nothing.
ITEMS = {
    "email": [{"category": "email_send", "quantity": "10"}],  # 0.01
    "call": [{"category": "telephony_minute", "provider": "plivo", "quantity": "2.5"},
             {"category": "voice_minute", "provider": "elevenlabs", "model": "eleven_turbo_v2",
              "quantity": "2.5"}],  # 0.03 + 0.15 (the most specific prices)
    "tokens": [{"category": "llm_input_tokens", "provider": "anthropic",
                "model": "claude-3-5-haiku", "quantity": "0.625"}],  # 0.0000005: half to even, 0
    "unpriced": [{"category": "email_send", "quantity": "1"},
                 {"category": "telepathy", "quantity": "1"}],
}


class Paths(Protocol):
    """What a step may use besides the twin it acts on."""

    lad: Container
    function: Twin
    last_use: Use | None

    def advance(self, delta: timedelta) -> None: ...


@attrs.frozen
class Step:
    def prepare(self, paths: Paths) -> None:
        """Once, before the step is taken for each twin."""

    def __call__(self, paths: Paths, twin: Twin) -> object:
        raise NotImplementedError


@attrs.frozen
class Use(Step):
    key: str
    items: str
    feature: str
    by_member: bool
    earlier: bool

    def prepare(self, paths: Paths) -> None:
        paths.last_use = self

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return twin.books.use(ITEMS[self.items], feature=self.feature, idempotency_key=self.key,
                              occurred_at=EARLIER if self.earlier else None,
                              user_id=twin.member if self.by_member else None)

    def event(self, twin: Twin) -> dict[str, object]:
        """This use as one event of a batch."""
        return {"idempotency_key": self.key, "feature_key": self.feature,
                "usage_items": ITEMS[self.items], "occurred_at": EARLIER if self.earlier else None,
                "user_id": twin.member if self.by_member else None}


@attrs.frozen
class UseInABatch(Step):
    """Two uses in one batch: PostgreSQL posts a batch by the rule, so the function's twin
    keeps books written by both paths."""

    uses: tuple[Use, Use]

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return paths.lad.billing().record_usage_batch(
            twin.books.service, [use.event(twin) for use in self.uses])


@attrs.frozen
class RetryTheLastUse(Step):
    def __call__(self, paths: Paths, twin: Twin) -> object:
        return paths.last_use(paths, twin) if paths.last_use else None


@attrs.frozen
class TopUp(Step):
    key: str
    amount: str

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return twin.books.fund(self.amount, self.key)


@attrs.frozen
class Transfer(Step):
    key: str
    amount: str
    to_member: bool

    def __call__(self, paths: Paths, twin: Twin) -> object:
        member = twin.member
        return paths.lad.billing().transfer(
            OPERATOR, self.amount, idempotency_key_=self.key, tenant_id=twin.id,
            to_user_id=member if self.to_member else None,
            from_user_id=None if self.to_member else member)


@attrs.frozen
class SetQuota(Step):
    feature: str
    quota: int | None
    overage: str

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return paths.lad.billing_plans().set_entitlement(
            OPERATOR, twin.id, self.feature, monthly_quota=self.quota, overage=self.overage)


@attrs.frozen
class OverridePrice(Step):
    """The tenant's own price, from a minute on (two from one instant are a conflict)."""

    category: str
    price: str

    def prepare(self, paths: Paths) -> None:
        paths.advance(timedelta(minutes=1))

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return paths.lad.billing_plans().load_pricing(OPERATOR, [
            {"category": self.category, "unit_price": self.price, "tenant_id": str(twin.id)}])


@attrs.frozen
class ConfigureTheWallet(Step):
    credit_limit: str | None
    threshold: str | None

    def __call__(self, paths: Paths, twin: Twin) -> object:
        billing = paths.lad.billing()
        return [billing.set_credit_limit(OPERATOR, twin.id, self.credit_limit),
                billing.set_low_balance_threshold(OPERATOR, twin.id, self.threshold)]


@attrs.frozen
class ThresholdAtTheBalance(Step):
    """The low-balance threshold set to the available balance: the next charge crosses it,
    from exactly on it."""

    def __call__(self, paths: Paths, twin: Twin) -> object:
        available = twin.books.wallet().available
        return paths.lad.billing().set_low_balance_threshold(OPERATOR, twin.id,
                                                             max(available, ZERO))


@attrs.frozen
class Reserve(Step):
    key: str
    amount: str
    by_member: bool

    def __call__(self, paths: Paths, twin: Twin) -> object:
        held = paths.lad.billing_reservations().reserve(
            twin.books.service, feature_key="voice", amount_=self.amount,
            idempotency_key_=self.key, user_id=twin.member if self.by_member else None,
            hold=timedelta(minutes=10))
        twin.reservations[self.key] = held.id
        return held


@attrs.frozen
class Settle(Step):
    """Capture an amount of one of the reservations, or (None) release it."""

    index: int
    capture: str | None

    def __call__(self, paths: Paths, twin: Twin) -> object:
        held = sorted(paths.function.reservations)
        if not held:
            return None
        reservation = twin.reservations[held[self.index % len(held)]]
        reservations = paths.lad.billing_reservations()
        if self.capture is None:
            return reservations.release(twin.books.service, reservation)
        return reservations.capture(twin.books.service, reservation, self.capture)


@attrs.frozen
class TimePassesAndTheSweepRuns(Step):
    minutes: int

    def prepare(self, paths: Paths) -> None:
        paths.advance(timedelta(minutes=self.minutes))

    def __call__(self, paths: Paths, twin: Twin) -> object:
        return paths.lad.billing_reservations().sweep(OPERATOR, tenant_id=twin.id)


amounts = st.sampled_from(["0.01", "0.02", "0.2", "1"])
holds = st.sampled_from(["0.01", "0.02", "0.2"])
features = st.sampled_from(["outreach", "voice"])
keys = st.sampled_from(["k1", "k2", "k3"])
quotas = st.builds(SetQuota, features, st.sampled_from([None, 0, 1, 2]),
                   st.sampled_from(["charge", "refuse"]))
uses = st.builds(Use, st.sampled_from(USAGE_KEYS), st.sampled_from(sorted(ITEMS)), features,
                 st.booleans(), st.booleans())
#: Each kind of step with its weight: usage most often. (``one_of`` would weigh them alike,
#: and a strategy listed twice counts once.)
WEIGHED = [
    (8, uses), (2, st.just(RetryTheLastUse())), (1, st.builds(UseInABatch, st.tuples(uses, uses))),
    (2, st.builds(TopUp, keys, amounts)),
    (1, st.builds(Transfer, keys, amounts, st.booleans())), (1, quotas),
    (1, st.builds(OverridePrice, st.sampled_from(["email_send", "voice_minute"]),
                  st.sampled_from(["0", "0.004", "0.02"]))),
    (1, st.builds(ConfigureTheWallet, st.sampled_from([None, "0.01", "0.2"]),
                  st.sampled_from([None, "0.01", "0.2"]))),
    (1, st.just(ThresholdAtTheBalance())),
    (1, st.builds(Reserve, keys, holds, st.booleans())),
    (1, st.builds(Settle, st.integers(0, 5), st.sampled_from([None, "0", "0.01", "0.02"]))),
    (1, st.builds(TimePassesAndTheSweepRuns, st.sampled_from([1, 6, 11]))),
]
steps = st.sampled_from([kind for weight, kind in WEIGHED for _ in range(weight)]).flatmap(
    lambda kind: kind)
#: Every sequence starts from a funded, configured wallet (or none at all); half of them
#: with a quota, half with money held.
openings = st.tuples(
    st.sampled_from([None, "0.01", "0.2", "1"]).map(lambda funds: TopUp("k0", funds) if funds
                                                    else None),
    st.builds(ConfigureTheWallet, st.sampled_from([None, "0.01"]),
              st.sampled_from([None, "0.01", "0.2"])),
    st.one_of(st.none(), st.builds(SetQuota, features, st.sampled_from([0, 1, 2]),
                                   st.sampled_from(["charge", "refuse"]))),
    st.one_of(st.none(), st.builds(Reserve, st.just("k0"), holds, st.just(False))))
