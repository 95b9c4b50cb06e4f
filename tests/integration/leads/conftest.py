"""Leads integration fixtures: every backend's container with a fixed clock, attachments in
a temporary directory, a workspace and the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from lad_adapters.storage import LocalFileStorage
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.unit.leads.workspace import Workspace


@pytest.fixture
def lad(backend: str, lad: Container, tmp_path: Path) -> Container:
    """Runs the test on memory, SQLite and PostgreSQL; files go to a temporary directory."""
    if backend != "memory":
        lad.file_storage.override(providers.Object(LocalFileStorage(tmp_path / "attachments")))
    return lad


@pytest.fixture
def ws(lad: Container) -> Workspace:
    return Workspace.sign_up(lad)


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    with TestClient(create_app(lad)) as client:
        yield client
