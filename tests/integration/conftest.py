"""Integration fixtures every context's repository tests share: a workspace on each
backend (memory, SQLite, PostgreSQL) and another tenant's beside it."""

from __future__ import annotations

import pytest

from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace


@pytest.fixture
def ws(backend: str, lad: Container) -> Workspace:
    return Workspace.sign_up(lad)


@pytest.fixture
def other(ws: Workspace) -> Workspace:
    return Workspace.sign_up(ws.lad, "Other")
