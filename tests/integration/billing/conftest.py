"""Billing integration fixtures: the container of each backend (memory, SQLite,
PostgreSQL), priced, on the billing day; a tenant's books; the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from pydantic import SecretStr

from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.unit.billing.books import priced
from tests.unit.billing.conftest import books, clock_start

__all__ = ["books", "clock_start"]


@pytest.fixture
def lad(backend: str, lad: Container) -> Container:
    """Runs the test on memory, SQLite and PostgreSQL."""
    return priced(lad)


OPERATOR_TOKEN = "operator-" + "t" * 32


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    """The HTTP app over each backend, with an operator token configured."""
    settings = lad.settings().model_copy(update={"operator_token": SecretStr(OPERATOR_TOKEN)})
    lad.settings.override(providers.Object(settings))
    with TestClient(create_app(lad)) as client:
        yield client


@pytest.fixture
def memory_lad(container: Container, clock: object) -> Container:
    """The memory:// container only (CLI tests reach into its store)."""
    return priced(container)
