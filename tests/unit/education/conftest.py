"""Education unit fixtures: the memory:// container with a fixed clock, and a workspace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def lad(container: Container, clock: FixedClock) -> Container:
    container.clock.override(providers.Object(clock))
    return container


@pytest.fixture
def ws(lad: Container) -> Workspace:
    return Workspace.sign_up(lad)
