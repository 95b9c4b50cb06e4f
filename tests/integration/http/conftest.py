"""HTTP edge fixtures: the app over each backend's container (attachments in a temporary
directory) and a member of a fresh tenant, signed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lad_adapters.storage import LocalFileStorage
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.tenancy.api import Account, join, sign_up


@pytest.fixture
def app(backend: str, container: Container, tmp_path: Path) -> FastAPI:
    if backend != "memory":
        container.file_storage.override(providers.Object(
            LocalFileStorage(tmp_path / "attachments")))
    return create_app(container)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def member(client: TestClient) -> Account:
    """A member (not an admin) of a new tenant: what most API clients are."""
    return join(client, sign_up(client), "member")
