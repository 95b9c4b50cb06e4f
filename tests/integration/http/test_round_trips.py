"""Round trips to PostgreSQL per authenticated request, counted from a libpq trace (one per
ReadyForQuery). The first carries the tenant scope, the tenant, the member's role (read
from the database on every request), their user row and the tenant's features, in one
message; a read's data query is the next, and a read has no transaction to end. And the
role read there still makes a removed member lose access on the very next request. A read
leaves its scope on the session: the next unit of work sets its own, and any other checkout
of the connection starts unscoped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lad_adapters.sql.round_trips import RoundTripTrace
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.tenancy.api import Account, join, problem, sign_up

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture
def traced(backend: str, lad: Container, clock: FixedClock
           ) -> Iterator[tuple[TestClient, RoundTripTrace]]:
    with RoundTripTrace().watching(lad.engine()) as trace, TestClient(create_app(lad)) as client:
        yield client, trace


def _round_trips(client: TestClient, trace: RoundTripTrace, path: str, who: Account) -> int:
    assert client.get(path, headers=who.auth).status_code == 200  # warm: the pool connects
    before = trace.round_trips()
    assert client.get(path, headers=who.auth).status_code == 200
    return trace.round_trips() - before


def _lead(client: TestClient, who: Account) -> str:
    created = client.post("/v1/leads", json={"email": "ada@example.com"}, headers=who.auth)
    assert created.status_code == 201
    return str(created.json()["id"])


def test_me_is_one_round_trip(traced: tuple[TestClient, RoundTripTrace]) -> None:
    client, trace = traced
    owner = sign_up(client)
    assert _round_trips(client, trace, "/v1/me", owner) == 1


def test_a_lead_and_a_page_of_leads_are_two(traced: tuple[TestClient, RoundTripTrace]) -> None:
    client, trace = traced
    owner = sign_up(client)
    lead = _lead(client, owner)
    assert _round_trips(client, trace, f"/v1/leads/{lead}", owner) == 2
    assert _round_trips(client, trace, "/v1/leads?limit=50", owner) == 2


def _scope(connection: sa.Connection) -> tuple[str, str, str]:
    row = connection.execute(sa.text(
        "SELECT current_setting('lad.tenant_id', true), current_setting('lad.user_id', true),"
        " current_setting('default_transaction_read_only')")).one()
    return row[0] or "", row[1] or "", row[2]


def test_a_read_leaves_no_scope_to_other_checkouts(
        traced: tuple[TestClient, RoundTripTrace], lad: Container) -> None:
    client, _ = traced
    owner = sign_up(client)
    engine = lad.engine()
    engine.dispose()
    for _ in range(3):  # every pooled connection has served a read
        assert client.get("/v1/me", headers=owner.auth).status_code == 200
    with engine.connect() as connection:
        assert _scope(connection) == ("", "", "off")
        connection.execute(sa.text("CREATE TEMPORARY TABLE written (id int)"))  # may write


def test_a_read_after_another_tenants_read_sees_its_own_rows(
        traced: tuple[TestClient, RoundTripTrace], lad: Container) -> None:
    client, _ = traced
    a, b = sign_up(client), sign_up(client, tenant_name="B")
    lead_a = _lead(client, a)
    lad.engine().dispose()  # one request at a time: every read below has the same connection
    for _ in range(2):
        assert [lead["id"] for lead in client.get(
            "/v1/leads", headers=a.auth).json()["items"]] == [lead_a]
        assert client.get("/v1/leads", headers=b.auth).json()["items"] == []
        problem(client.get(f"/v1/leads/{lead_a}", headers=b.auth), 404)


def test_a_removed_member_is_refused_on_the_next_request(
        traced: tuple[TestClient, RoundTripTrace]) -> None:
    client, _ = traced
    owner = sign_up(client)
    member = join(client, owner)
    lead = _lead(client, owner)
    assert client.get(f"/v1/leads/{lead}", headers=member.auth).status_code == 200
    assert client.delete(f"/v1/members/{member.user_id}", headers=owner.auth).status_code == 204
    problem(client.get(f"/v1/leads/{lead}", headers=member.auth), 403)
    problem(client.get("/v1/me", headers=member.auth), 403)


def test_a_demoted_member_loses_the_write_at_once(
        traced: tuple[TestClient, RoundTripTrace]) -> None:
    client, _ = traced
    owner = sign_up(client)
    member = join(client, owner)
    lead = _lead(client, member)
    assert client.patch(f"/v1/members/{member.user_id}", json={"role": "viewer"},
                        headers=owner.auth).status_code == 200
    problem(client.patch(f"/v1/leads/{lead}", json={"company": "Acme"},
                         headers=member.auth), 403)
    assert client.get(f"/v1/leads/{lead}", headers=member.auth).status_code == 200
