"""Campaigns unit fixtures: the memory:// container (reached over https, as RFC 8058
one-click unsubscribe links must be), its clock fixed on a working morning, and a world
(a funded tenant with the campaigns feature and recording channels)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.settings import Settings
from tests.conftest import fast_settings
from tests.unit.campaigns.world import PUBLIC_URL, Founding, QuickPasswords, World

START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def campaign_settings() -> Settings:
    """Read once: building settings reads the environment and .env files."""
    return fast_settings("memory://", public_url=PUBLIC_URL)


@pytest.fixture
def container(campaign_settings: Settings) -> Iterator[Container]:
    lad = build_container(campaign_settings)
    lad.password_hasher.override(providers.Object(QuickPasswords()))
    yield lad
    close(lad)


@pytest.fixture
def clock_start() -> datetime:
    """Tuesday 3 March 2026, 10:00 UTC: inside a 09:00-17:00 weekday window in UTC."""
    return START


@pytest.fixture(scope="session")
def founding(campaign_settings: Settings) -> Founding:
    """A funded tenant with the campaigns feature and templates, made once: each test's
    world starts from a copy of its rows."""
    lad = build_container(campaign_settings)
    lad.password_hasher.override(providers.Object(QuickPasswords()))
    clock = FixedClock(START)
    lad.clock.override(providers.Object(clock))
    world = World.open(lad, clock)
    world.templates()
    founded = world.founding()
    close(lad)
    return founded


@pytest.fixture
def world(lad: Container, clock: FixedClock, founding: Founding) -> World:
    assert clock.now() == START, "the founding's rows were written at START"
    return World.from_founding(lad, clock, founding)
