"""The ledger state machine on the in-memory adapters, with many examples (SQLite and
PostgreSQL run it too, with fewer: tests/integration/billing/test_ledger_machine_backends.py)."""

from __future__ import annotations

from lad_entrypoints.container import Container
from tests.examples import scaled
from tests.unit.billing.ledger_machine import run_ledger_machine


def test_the_ledger_holds_under_any_sequence_in_memory(container: Container) -> None:
    run_ledger_machine(container.settings(), max_examples=scaled(40), steps=25)
