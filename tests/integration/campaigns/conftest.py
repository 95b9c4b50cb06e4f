"""Campaign and outreach integration fixtures, on every backend: a fixed clock on a
Monday morning, channels that send nothing and record what they are handed, the default
price catalog, an operator token and a Unipile webhook secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from pydantic import SecretStr

from lad_adapters.catalog import default_catalog
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.fakes.channels import RecordingEmail, RecordingLinkedIn
from tests.integration.tenancy.api import Account, bearer, sign_up
from tests.integration.tenant_world import OPERATOR_TOKEN

WEBHOOK_SECRET = "unipile-" + "w" * 24
PUBLIC_URL = "https://lad.example"
#: Every day, all day: the tests choose when to send, not the window.
ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
          "end": "23:59"}


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday


@pytest.fixture
def email() -> RecordingEmail:
    return RecordingEmail()


@pytest.fixture
def linkedin() -> RecordingLinkedIn:
    return RecordingLinkedIn()


@pytest.fixture
def lad(backend: str, lad: Container, email: RecordingEmail, linkedin: RecordingLinkedIn
        ) -> Container:
    """Runs the test on memory, SQLite and PostgreSQL."""
    lad.email_channel.override(providers.Object(email))
    lad.linkedin_channel.override(providers.Object(linkedin))
    settings = lad.settings().model_copy(update={
        "operator_token": SecretStr(OPERATOR_TOKEN),
        "unipile_webhook_secret": SecretStr(WEBHOOK_SECRET),
        "public_url": PUBLIC_URL})
    lad.settings.override(providers.Object(settings))
    lad.billing_plans().load_pricing(Principal.operator(), default_catalog())
    return lad


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    with TestClient(create_app(lad)) as client:
        yield client


@pytest.fixture
def owner(client: TestClient) -> Account:
    """The owner of a tenant with money to send with."""
    account = sign_up(client)
    response = client.post(f"/v1/operator/tenants/{account.tenant_id}/top-ups", headers={
        **bearer(OPERATOR_TOKEN), "Idempotency-Key": f"top-up-{uuid.uuid4()}"},
        json={"amount": "100"})
    assert response.status_code == 201, response.text
    return account
