"""Billing unit fixtures: the memory:// container with a fixed clock, the default catalog,
and a tenant's books."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lad_adapters.catalog import default_catalog
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def lad(lad: Container) -> Container:
    """The unit container (its clock fixed at this module's date), the default catalog
    loaded."""
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    return lad


@pytest.fixture
def books(lad: Container) -> Books:
    return Books.open(lad)
