"""PostgreSQL posts a single usage event with a stored function, and everything else (memory,
SQLite, batches) with the domain's rule: the two must agree. Two tenants of one database take
the same random steps in the same order (tests/integration/billing/posting_steps.py): usage
priced by the catalog or the tenant's override, within or beyond a quota, against a credit
limit, paid by a member's sub-wallet, dated earlier, unpriced; top-ups, transfers,
reservations, captures, releases, expiries, and retries of every kind. One tenant posts
through the function, the other through the rule; at each step both answer alike, and at the
end their wallets, ledgers, usage events, billing domain events and quota counts read alike
(ids named by the order in which they appeared)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from lad_adapters.sql.billing.posting import PostgresUsagePostings
from lad_domain.billing.invoice import Period
from lad_domain.billing.posting import RepositoryUsagePostings
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.settings import Settings
from tests.examples import scaled
from tests.integration.billing.posting_steps import (
    START,
    USAGE_KEYS,
    Step,
    Use,
    openings,
    steps,
)
from tests.integration.billing.twins import PythonRuleFor, Twin, assert_alike


class PostingPaths:
    """The twins in one container: ``function`` posts by the stored function, ``rule`` by
    the domain's rule."""

    def __init__(self, settings: Settings) -> None:
        self.clock = FixedClock(START)
        self.lad = build_container(settings)
        self.lad.clock.override(providers.Object(self.clock))
        by_rule = PythonRuleFor(self.lad.unit_of_work())
        self.lad.unit_of_work.override(providers.Object(by_rule))
        self.function = Twin.open(self.lad, "Function")
        self.rule = Twin.open(self.lad, "Rule")
        by_rule.tenants.add(self.rule.id)
        self.last_use: Use | None = None

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def take(self, step: Step) -> None:
        step.prepare(self)
        assert_alike(self.function.outcome(lambda twin: step(self, twin)),
                     self.rule.outcome(lambda twin: step(self, twin)), repr(step))

    def compare_the_books(self) -> None:
        periods = [Period.of(START), Period.of(self.clock.now())]
        assert_alike(self.function.state(USAGE_KEYS, periods),
                     self.rule.state(USAGE_KEYS, periods), "books")


def walk_alike(new_paths: Callable[[], PostingPaths], taken: st.SearchStrategy[list[Step]],
               *, max_examples: int) -> None:
    """From any opening, the steps ``taken`` draws, taken on both twins of new paths, leave
    their books reading alike (each example's container closed after it)."""

    @examples(max_examples=max_examples, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(opening=openings, taken=taken)
    def the_books_read_alike(opening: tuple[Step | None, ...], taken: list[Step]) -> None:
        paths = new_paths()
        try:
            for step in [*filter(None, opening), *taken]:
                paths.take(step)
            paths.compare_the_books()
        finally:
            close(paths.lad)

    the_books_read_alike()


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_one_twin_posts_by_the_function_and_the_other_by_the_rule(
        backend: str, container: Container) -> None:
    paths = PostingPaths(container.settings())
    for twin, path in [(paths.function, PostgresUsagePostings),
                       (paths.rule, RepositoryUsagePostings)]:
        with paths.lad.unit_of_work()(twin.id) as uow:
            assert type(uow.usage_postings) is path
    close(paths.lad)


def test_the_stored_function_and_the_rule_post_alike(backend: str, container: Container
                                                      ) -> None:
    settings = container.settings()

    walk_alike(lambda: PostingPaths(settings), st.lists(steps, min_size=20, max_size=50),
               max_examples=scaled(30))
