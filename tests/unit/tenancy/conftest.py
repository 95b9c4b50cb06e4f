"""Tenancy unit fixtures: services and tenants (the container and clock come from tests/unit)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lad_adapters.memory.store import InMemoryStore
from lad_domain.tenancy.services import TeamService, TenancyService
from lad_entrypoints.container import Container
from tests.unit.tenancy.org import Org


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
