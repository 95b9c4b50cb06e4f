"""GET /metrics read back after real requests: request latency by route template and
status, lead import rows, ledger postings, the database pool gauges; outside the OpenAPI
document and tenant authentication, behind LAD_METRICS_TOKEN when it is set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from lad_adapters.memory.tenancy import InMemoryEventRepository
from lad_adapters.sql.tenancy import SqlEventRepository
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.scrape import Scrape, scrape
from tests.integration.tenancy.api import bearer, problem, sign_up
from tests.integration.tenant_world import OPERATOR_TOKEN
from tests.worlds import OPERATOR

DURATION = "lad_http_request_duration_seconds"
CSV = b"First Name,E-mail,Phone\nAda,ada@x.io,+44 20 7946 0958\nBo,bad-email,\n" \
      b"Cy,cy@x.io,+1 555\nDi,di@x.io,\n"


@pytest.fixture
def operated(lad: Container) -> Container:
    settings = lad.settings().model_copy(update={"operator_token": SecretStr(OPERATOR_TOKEN)})
    lad.settings.override(providers.Object(settings))
    return lad


@pytest.fixture
def app(backend: str, operated: Container) -> FastAPI:
    return create_app(operated)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def requests_of(after: Scrape, before: Scrape, method: str, route: str, status: str
                ) -> float:
    return after.since(before, f"{DURATION}_count", method=method, route=route,
                       status=status)


def test_requests_are_timed_by_route_template_and_status(client: TestClient) -> None:
    before = scrape(client)
    owner = sign_up(client)
    lead = client.post("/v1/leads", headers=owner.auth, json={"email": "ada@lead.test"})
    assert lead.status_code == 201, lead.text
    for _ in range(2):
        assert client.get(f"/v1/leads/{lead.json()['id']}", headers=owner.auth
                          ).status_code == 200
    problem(client.get(f"/v1/leads/{uuid.uuid4()}", headers=owner.auth), 404)
    problem(client.get("/v1/no-such-route/42"), 404)
    problem(client.request("BREW", "/v1/leads"), 405)

    after = scrape(client)
    assert after.types[DURATION] == "histogram"
    assert requests_of(after, before, "POST", "/v1/auth/signup", "201") == 1
    assert requests_of(after, before, "POST", "/v1/leads", "201") == 1
    assert requests_of(after, before, "GET", "/v1/leads/{lead_id}", "200") == 2
    assert requests_of(after, before, "GET", "/v1/leads/{lead_id}", "404") == 1
    # Paths no route matched share one label, and so do unknown methods.
    assert requests_of(after, before, "GET", "unrouted", "404") == 1
    assert requests_of(after, before, "other", "/v1/leads", "405") + requests_of(
        after, before, "other", "unrouted", "405") == 1
    assert not [labels for name, labels in after.samples
                if name.startswith(DURATION) and ("route", "/v1/no-such-route/42") in labels]
    # The histogram's buckets: the +Inf one holds every request, its sum is a duration.
    assert after.since(before, f"{DURATION}_bucket", method="GET",
                       route="/v1/leads/{lead_id}", status="200", le="+Inf") == 2
    assert 0 < after.since(before, f"{DURATION}_sum", method="GET",
                           route="/v1/leads/{lead_id}", status="200") < 60


def test_import_rows_and_ledger_postings_are_counted(client: TestClient) -> None:
    before = scrape(client)
    owner = sign_up(client)
    imported = client.post("/v1/leads/import", headers=owner.auth,
                           files={"file": ("leads.csv", CSV, "text/csv")})
    assert imported.status_code == 200, imported.text
    assert (imported.json()["rows"], imported.json()["rejected_rows"]) == (4, 2)
    dry = client.post("/v1/leads/import", headers=owner.auth, data={"dry_run": "true"},
                      files={"file": ("leads.csv", CSV, "text/csv")})
    assert dry.status_code == 200, dry.text
    top_up = client.post(f"/v1/operator/tenants/{owner.tenant_id}/top-ups",
                         headers={**bearer(OPERATOR_TOKEN), "Idempotency-Key": "pay-1"},
                         json={"amount": "25"})
    assert top_up.status_code == 201, top_up.text
    replayed = client.post(f"/v1/operator/tenants/{owner.tenant_id}/top-ups",
                           headers={**bearer(OPERATOR_TOKEN), "Idempotency-Key": "pay-1"},
                           json={"amount": "25"})
    assert replayed.json()["id"] == top_up.json()["id"]

    after = scrape(client)
    # The dry run wrote nothing and counts nothing.
    assert after.since(before, "lad_lead_import_rows_total", outcome="accepted") == 2
    assert after.since(before, "lad_lead_import_rows_total", outcome="rejected") == 2
    # The replay posted nothing new.
    assert after.since(before, "lad_ledger_postings_total", kind="top_up") == 1
    assert after.types["lad_ledger_postings"] == "counter"
    assert requests_of(after, before, "POST", "/v1/leads/import", "200") == 2
    assert requests_of(after, before, "POST", "/v1/operator/tenants/{tenant_id}/top-ups",
                       "201") == 2


def test_a_posting_rolled_back_is_not_counted(client: TestClient, operated: Container,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A top-up whose commit fails (its events cannot be stored) leaves no ledger row and
    counts nothing; the same top-up committed counts one."""
    owner = sign_up(client)
    tenant = uuid.UUID(owner.tenant_id)
    before = scrape(client)

    def refuse(repository: object, events: object) -> None:
        raise RuntimeError("the events cannot be stored")

    with monkeypatch.context() as patched:
        patched.setattr(SqlEventRepository, "add_many", refuse)
        patched.setattr(InMemoryEventRepository, "add_many", refuse)
        with pytest.raises(RuntimeError, match="cannot be stored"):
            operated.billing().top_up(OPERATOR, tenant, "5", idempotency_key_="pay-3")
    assert client.get("/v1/billing/ledger", headers=owner.auth).json()["items"] == []
    assert scrape(client).since(before, "lad_ledger_postings_total", kind="top_up") == 0

    operated.billing().top_up(OPERATOR, tenant, "5", idempotency_key_="pay-3")
    assert len(client.get("/v1/billing/ledger", headers=owner.auth).json()["items"]) == 1
    assert scrape(client).since(before, "lad_ledger_postings_total", kind="top_up") == 1


def test_the_pool_is_read_when_scraped(client: TestClient, backend: str) -> None:
    found = scrape(client)
    if backend == "memory":
        assert "lad_db_pool_size" not in found.types
        return
    assert found.types["lad_db_pool_size"] == "gauge"
    assert found.value("lad_db_pool_size") >= 1
    # The scrape itself holds no connection; the test holds none either.
    assert found.value("lad_db_pool_checked_out") == 0
    assert ("lad_db_pool_overflow", ()) in found.samples


def test_metrics_is_outside_the_document_and_tenant_authentication(
        client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    assert client.get("/metrics").status_code == 200  # no bearer needed
    problem(client.post("/metrics"), 405)


def test_a_metrics_token_is_required_when_set(operated: Container) -> None:
    """On memory:// (the test asks for no backend)."""
    token = "scrape-" + "s" * 24
    settings = operated.settings().model_copy(update={"metrics_token": SecretStr(token)})
    operated.settings.override(providers.Object(settings))
    with TestClient(create_app(operated)) as client:
        missing = problem(client.get("/metrics"), 401)
        assert "LAD_METRICS_TOKEN" in missing["detail"]
        assert client.get("/metrics").headers["www-authenticate"] == "Bearer"
        problem(client.get("/metrics", headers=bearer("scrape-" + "x" * 24)), 401)
        problem(client.get("/metrics", headers={"Authorization": f"Basic {token}"}), 401)
        # A tenant's token is not the scrape token either.
        problem(client.get("/metrics", headers=sign_up(client).auth), 401)
        found = scrape(client, bearer(token))
        assert found.types["lad_http_request_duration_seconds"] == "histogram"


def test_a_short_metrics_token_is_refused_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from lad_entrypoints.settings import Settings

    monkeypatch.setenv("LAD_METRICS_TOKEN", "short")
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings()


#: One process of ``lad serve --workers N`` in multiprocess mode: a top-up through the
#: library, then (when asked) the scrape it would answer, printed.
MULTIPROCESS = """
import sys
from lad_domain.shared.principal import Principal
from lad_entrypoints import metrics
from lad_entrypoints.container import build_container

lad = build_container(database_url="memory://", jwt_secret="x" * 40, argon2_time_cost=1,
                      argon2_memory_kib=1024)
session = lad.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                password="correct horse battery")
lad.billing().top_up(Principal.operator(), session.tenant_id, "5", idempotency_key_="k")
if sys.argv[1] == "scrape":
    print(metrics.exposition(lad.engine()).decode())
"""


def test_multiprocess_mode_sums_the_processes(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, a scrape answered by one process counts the postings
    of every process that wrote to the directory."""
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    answers = [subprocess.run([sys.executable, "-c", MULTIPROCESS, role], env=environ,
                              capture_output=True, text=True, timeout=120, check=False)
               for role in ("post", "post", "scrape")]
    assert [a.returncode for a in answers] == [0, 0, 0], [a.stderr for a in answers]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(answers[2].stdout)
               for s in family.samples}
    assert samples[("lad_ledger_postings_total", (("kind", "top_up"),))] == 3
