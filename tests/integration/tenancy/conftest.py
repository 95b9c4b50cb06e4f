"""Tenancy integration fixtures: each backend's unit-of-work factory and HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
def client(backend: str, container: Container, clock: FixedClock) -> Iterator[TestClient]:
    """The HTTP app over the container of each backend; a server error raises."""
    with TestClient(create_app(container)) as client:
        yield client
