"""Enrichment unit fixtures: the world on the memory backend, its clock fixed."""

from __future__ import annotations

import pytest

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from tests.unit.enrichment.world import World


@pytest.fixture
def world(lad: Container, clock: FixedClock) -> World:
    return World.open(lad, clock)
