"""The ledger state machine, on any backend: under any sequence of top-ups, usage,
reservations, captures, releases, expiries, transfers and retries, no available balance
goes negative, every balance equals its ledger, reserved equals the open reservations, and
a retried key returns the first result and writes nothing (a different payload is a
conflict that writes nothing). Each example signs up a tenant of its own, so examples
share one database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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

from lad_adapters.catalog import default_catalog
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import Conflict, DomainError
from lad_domain.shared.principal import Role
from lad_entrypoints.container import build_container, close
from lad_entrypoints.settings import Settings
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR

keys = st.sampled_from(["k1", "k2", "k3", "k4"])
amounts = st.sampled_from(["0.001", "0.05", "0.2", "1"])
quantities = st.integers(min_value=1, max_value=400)
payers = st.sampled_from([None, "member"])


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 3, 10, tzinfo=UTC))
        lad = build_container(settings)
        lad.clock.override(providers.Object(self.clock))
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        self.books = Books.open(lad)
        self.member = self.books.org.member(Role.MEMBER).user_id
        self.firsts: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.reservations: list[Any] = []

    def once(self, kind: str, key: str, payload: Any, action: Callable[[], Any]) -> None:
        """Run a keyed request; a repeat must answer as the first did, writing nothing."""
        before = len(self.books.ledger())
        first = self.firsts.get((kind, key))
        try:
            result = action()
        except Conflict:
            assert first is not None and first[0] != payload, "a conflict on a new key"
            assert len(self.books.ledger()) == before
            return
        except DomainError:
            assert len(self.books.ledger()) == before, "a refused request wrote the ledger"
            return
        if first is None:
            self.firsts[(kind, key)] = (payload, result)
            return
        assert first[0] == payload, "a different payload was accepted"
        assert result == first[1] and len(self.books.ledger()) == before

    def user(self, payer: str | None) -> Any:
        return self.member if payer else None

    @rule(key=keys, amount=amounts)
    def top_up(self, key: str, amount: str) -> None:
        self.once("top_up", key, amount, lambda: self.books.fund(amount, key))

    @rule(key=keys, quantity=quantities, payer=payers)
    def use(self, key: str, quantity: int, payer: str | None) -> None:
        items = [{"category": "email_send", "quantity": str(quantity)}]
        self.once("use", key, (quantity, payer), lambda: self.books.use(
            items, idempotency_key=key, user_id=self.user(payer)))

    @rule(key=keys, amount=amounts, to_member=st.booleans())
    def transfer(self, key: str, amount: str, to_member: bool) -> None:
        target, source = (self.member, None) if to_member else (None, self.member)
        self.once("transfer", key, (amount, to_member), lambda: self.books.lad.billing(
        ).transfer(OPERATOR, amount, idempotency_key_=key, to_user_id=target,
                   from_user_id=source, tenant_id=self.books.id))

    @rule(key=keys, amount=amounts, payer=payers)
    def reserve(self, key: str, amount: str, payer: str | None) -> None:
        def action() -> Any:
            reservation = self.books.lad.billing_reservations().reserve(
                self.books.service, feature_key="voice", amount_=amount, idempotency_key_=key,
                user_id=self.user(payer), hold=timedelta(minutes=10))
            self.reservations.append(reservation.id)
            return reservation.id
        self.once("reserve", key, (amount, payer), action)

    @rule(index=st.integers(0, 20), share=st.sampled_from(["0", "0.5", "1"]))
    def capture(self, index: int, share: str) -> None:
        if self.reservations:
            held = self.reservations[index % len(self.reservations)]
            with contextlib.suppress(DomainError):
                self.books.lad.billing_reservations().capture(self.books.service, held, share)

    @rule(index=st.integers(0, 20))
    def release(self, index: int) -> None:
        if self.reservations:
            held = self.reservations[index % len(self.reservations)]
            with contextlib.suppress(DomainError):
                self.books.lad.billing_reservations().release(self.books.service, held)

    @rule(minutes=st.sampled_from([1, 6, 11]))
    def time_passes_and_the_sweep_runs(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        # This tenant's only: the examples before this one share the database.
        self.books.lad.billing_reservations().sweep(OPERATOR, tenant_id=self.books.id)

    @invariant()
    def no_available_balance_is_negative(self) -> None:
        for wallet in self.books.lad.billing().wallets(OPERATOR, tenant_id=self.books.id):
            assert wallet.available >= 0 and wallet.reserved_balance >= 0

    @invariant()
    def balances_equal_the_ledger_and_the_open_reservations(self) -> None:
        assert self.books.reconcile().drifts == []

    @invariant()
    def money_is_conserved(self) -> None:
        entries = self.books.ledger()
        wallets = self.books.lad.billing().wallets(OPERATOR, tenant_id=self.books.id)
        assert sum((w.current_balance for w in wallets), Decimal(0)) == sum(
            (e.amount for e in entries), Decimal(0))

    def teardown(self) -> None:
        close(self.books.lad)


def run_ledger_machine(settings: Settings, *, max_examples: int, steps: int) -> None:
    """Run the machine on the database ``settings`` name, each example a new container."""
    run_state_machine_as_test(lambda: LedgerMachine(settings), settings=examples(
        max_examples=max_examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
