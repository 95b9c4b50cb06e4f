"""Unit fixtures shared by every context: the memory:// container with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def lad(container: Container, clock: FixedClock) -> Container:
    """The memory:// container, its clock fixed before anything is built."""
    container.clock.override(providers.Object(clock))
    return container
