"""Voice unit fixtures: the memory:// container with cheap passwords, its clock fixed on a
Tuesday at 15:00 UTC (10:00 in New York, 07:00 in Los Angeles)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.settings import Settings
from tests.conftest import fast_settings
from tests.unit.campaigns.world import QuickPasswords
from tests.unit.voice.calls_world import CallWorld

START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def voice_settings() -> Settings:
    return fast_settings("memory://")


@pytest.fixture
def container(voice_settings: Settings) -> Iterator[Container]:
    lad = build_container(voice_settings)
    lad.password_hasher.override(providers.Object(QuickPasswords()))
    yield lad
    close(lad)


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def world(lad: Container, clock: FixedClock) -> CallWorld:
    return CallWorld.open(lad, clock)
