"""The ledger state machine (tests/unit/billing/ledger_machine.py) on SQLite and
PostgreSQL: the same rules and invariants as in memory, fewer and shorter examples."""

from __future__ import annotations

import pytest

from lad_entrypoints.container import Container
from tests.examples import scaled
from tests.unit.billing.ledger_machine import run_ledger_machine


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_ledger_holds_under_any_sequence(backend: str, container: Container) -> None:
    # ``database_url`` follows ``backend`` only for a test that asks for it.
    assert container.settings().database_url.startswith(backend)
    run_ledger_machine(container.settings(), max_examples=scaled(15), steps=20)
