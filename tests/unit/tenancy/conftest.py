"""Tenancy unit fixtures: the container on memory:// with a fixed clock, and tenants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from lad_adapters.memory.store import InMemoryStore
from lad_domain.shared.clock import FixedClock
from lad_domain.tenancy.services import TenancyService
from lad_domain.tenancy.team import TeamService
from lad_entrypoints.container import Container
from tests.unit.tenancy.org import Org


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def lad(container: Container, clock: FixedClock) -> Container:
    """The memory:// container, its clock fixed before anything is built."""
    container.clock.override(providers.Object(clock))
    return container


@pytest.fixture
def accounts(lad: Container) -> TenancyService:
    return lad.tenancy()


@pytest.fixture
def team(lad: Container) -> TeamService:
    return lad.team()


@pytest.fixture
def store(lad: Container) -> InMemoryStore:
    store: InMemoryStore = lad.unit_of_work().store
    return store


@pytest.fixture
def new_org(accounts: TenancyService, team: TeamService) -> Callable[..., Org]:
    def build(name: str = "Acme") -> Org:
        return Org.sign_up(accounts, team, name)

    return build


@pytest.fixture
def org(new_org: Callable[..., Org]) -> Org:
    return new_org()
