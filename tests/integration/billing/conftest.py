"""Billing integration fixtures: the container of each backend (memory, SQLite,
PostgreSQL) with a fixed clock and the default catalog, and a tenant's books."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.catalog import default_catalog
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.unit.billing.books import Books
from tests.unit.tenancy.org import OPERATOR


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def lad(backend: str, container: Container, clock: FixedClock) -> Container:
    """Runs the test on memory, SQLite and PostgreSQL."""
    container.clock.override(providers.Object(clock))
    container.billing_plans().load_pricing(OPERATOR, default_catalog())
    return container


@pytest.fixture
def books(lad: Container) -> Books:
    return Books.open(lad)


OPERATOR_TOKEN = "operator-" + "t" * 32


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    """The HTTP app over each backend, with an operator token configured."""
    settings = lad.settings().model_copy(update={"operator_token": OPERATOR_TOKEN})
    lad.settings.override(providers.Object(settings))
    with TestClient(create_app(lad)) as client:
        yield client


@pytest.fixture
def memory_lad(container: Container, clock: FixedClock) -> Container:
    """The memory:// container only (CLI tests reach into its store)."""
    container.clock.override(providers.Object(clock))
    container.billing_plans().load_pricing(OPERATOR, default_catalog())
    return container
