"""Billing unit fixtures: the memory:// container with a fixed clock, the default catalog,
and a tenant's books."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lad_entrypoints.container import Container
from tests.unit.billing.books import Books, priced


@pytest.fixture
def clock_start() -> datetime:
    """Billing follows the calendar: a day inside a month, away from its edges."""
    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def lad(lad: Container) -> Container:
    """The container (its clock fixed at ``clock_start``), the default catalog loaded."""
    return priced(lad)


@pytest.fixture
def books(lad: Container) -> Books:
    return Books.open(lad)
