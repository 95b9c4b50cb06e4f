"""Leads unit fixtures: a workspace (the container and clock come from tests/unit)."""

from __future__ import annotations

import pytest

from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace


@pytest.fixture
def ws(lad: Container) -> Workspace:
    return Workspace.sign_up(lad)
