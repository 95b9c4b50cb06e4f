"""Tenancy integration fixtures: each backend's unit-of-work factory and HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_domain.shared.clock import FixedClock
from lad_domain.tenancy.ports import TenancyUnitOfWorkFactory
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app


@pytest.fixture
def uows(backend: str, container: Container) -> TenancyUnitOfWorkFactory:
    """Runs the test on memory, SQLite and PostgreSQL."""
    factory: TenancyUnitOfWorkFactory = container.unit_of_work()
    return factory


@pytest.fixture
def clock(container: Container) -> FixedClock:
    """The container's clock, fixed before anything is built."""
    fixed = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    container.clock.override(providers.Object(fixed))
    return fixed


@pytest.fixture
def client(backend: str, container: Container, clock: FixedClock) -> Iterator[TestClient]:
    """The HTTP app over the container of each backend; a server error raises."""
    with TestClient(create_app(container)) as client:
        yield client
