"""The claim of due enrollments across tenants (``SqlDueWork``): only due rows, never one
row to two claimers, held for the lease, fair to a small tenant beside a large one, and,
on PostgreSQL, read through the due index alone."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lad_adapters.sql.due_work import SqlDueWork
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_domain.campaigns.model import Claim, EnrollmentStatus
from lad_domain.shared.errors import ValidationFailed
from tests.conftest import APP_ROLE
from tests.integration.campaigns import NOW, SQL_BACKENDS, due_count, enrol, new_tenant, sql_factory

LEASE = timedelta(minutes=5)


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uows(backend: str, database_url: str) -> Iterator[SqlUnitOfWorkFactory]:
    yield from sql_factory(database_url)


def claim(uows: SqlUnitOfWorkFactory, limit: int, *, at: Any = NOW,
          token: uuid.UUID | None = None) -> list[Claim]:
    return list(SqlDueWork(uows.engine).claim(at, limit=limit, lease=LEASE,
                                              token=token or uuid.uuid4()))


def test_only_due_enrollments_are_claimed_and_held_for_the_lease(
        uows: SqlUnitOfWorkFactory) -> None:
    tenant = new_tenant(uows, "acme")
    due = enrol(uows, tenant, [NOW - timedelta(hours=1), NOW])
    enrol(uows, tenant, [NOW + timedelta(days=1), None])
    enrol(uows, tenant, [None], status=EnrollmentStatus.COMPLETED)
    token = uuid.uuid4()
    claimed = claim(uows, 10, token=token)
    assert sorted(c.enrollment_id for c in claimed) == sorted(due)
    assert {(c.tenant_id, c.token) for c in claimed} == {(tenant, token)}
    with uows(tenant) as uow:
        held = [uow.enrollments.get(i) for i in due]
    assert {(h.next_run_at, h.claim_token) for h in held if h} == {(NOW + LEASE, token)}
    # Held: not claimable again before the lease ends, claimable once it has.
    assert claim(uows, 10, at=NOW + LEASE - timedelta(seconds=1)) == []
    assert sorted(c.enrollment_id for c in claim(uows, 10, at=NOW + LEASE)) == sorted(due)


def test_a_claim_takes_at_most_its_limit_oldest_first(uows: SqlUnitOfWorkFactory) -> None:
    tenant = new_tenant(uows, "acme")
    ids = enrol(uows, tenant, [NOW - timedelta(minutes=k) for k in range(6)])
    first = claim(uows, 4)
    assert [c.enrollment_id for c in first] == ids[::-1][:4]  # the most overdue first
    assert [c.enrollment_id for c in claim(uows, 4)] == ids[::-1][4:]
    assert claim(uows, 4) == []
    with pytest.raises(ValidationFailed):
        SqlDueWork(uows.engine).claim(NOW, limit=1, lease=timedelta(0), token=uuid.uuid4())


def test_a_small_tenant_is_served_beside_a_large_one(uows: SqlUnitOfWorkFactory) -> None:
    large, small = new_tenant(uows, "large"), new_tenant(uows, "small")
    # The large tenant's work is the most overdue: a claim by age alone would take only it.
    enrol(uows, large, [NOW - timedelta(days=1, seconds=k) for k in range(500)])
    small_ids = enrol(uows, small, [NOW - timedelta(seconds=k) for k in range(5)])
    first = claim(uows, 20)
    assert len(first) == 20
    assert {c.enrollment_id for c in first if c.tenant_id == small} == set(small_ids)
    assert sum(c.tenant_id == large for c in first) == 15  # its share, then the rest
    second = claim(uows, 20)
    assert {c.tenant_id for c in second} == {large} and len(second) == 20
    assert due_count(uows, large, NOW) == 500 - 35


def test_each_tenant_gets_its_share_when_all_have_plenty(uows: SqlUnitOfWorkFactory) -> None:
    tenants = [new_tenant(uows, f"t{k}") for k in range(3)]
    for tenant in tenants:
        enrol(uows, tenant, [NOW - timedelta(seconds=k) for k in range(10)])
    claimed = claim(uows, 9)
    assert sorted(sum(c.tenant_id == t for c in claimed) for t in tenants) == [3, 3, 3]
    # Fewer places than tenants: the most overdue tenants first, one each.
    assert len({c.tenant_id for c in claim(uows, 2)}) == 2


def test_concurrent_claimers_never_get_the_same_enrollment(uows: SqlUnitOfWorkFactory) -> None:
    tenants = [new_tenant(uows, f"t{k}") for k in range(3)]
    for tenant in tenants:
        enrol(uows, tenant, [NOW - timedelta(seconds=k) for k in range(60)])
    results: list[list[Claim]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(4):
                results.append(claim(uows, 10))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [c.enrollment_id for batch in results for c in batch]
    assert len(ids) == len(set(ids)) == 180  # each once, and every one of them
    tokens = {c.enrollment_id: c.token for batch in results for c in batch}
    for tenant in tenants:
        with uows(tenant) as uow:
            for enrollment_id, token in tokens.items():
                held = uow.enrollments.get(enrollment_id)
                if held is not None:
                    assert held.claim_token == token


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_claim_reads_the_due_index_only(uows: SqlUnitOfWorkFactory, postgres_url: str,
                                            backend: str) -> None:
    """Thousands of enrollments with nothing due (ended, or due later) beside a few due:
    every statement of the claim function reads the partial due index, none scans the
    table (auto_explain shows the plans of the statements inside the function)."""
    tenants = [new_tenant(uows, f"t{k}") for k in range(3)]
    for tenant in tenants:
        enrol(uows, tenant, [None] * 1500, status=EnrollmentStatus.COMPLETED)
        enrol(uows, tenant, [NOW + timedelta(days=1, seconds=k) for k in range(500)])
        enrol(uows, tenant, [NOW - timedelta(seconds=k) for k in range(3)])
    owner = sa.create_engine(postgres_url)
    plans: list[str] = []
    try:
        with owner.connect() as conn:
            conn.exec_driver_sql("ANALYZE campaign_leads")
            driver = conn.connection.driver_connection
            driver.add_notice_handler(  # type: ignore[union-attr]  # a live psycopg connection
                lambda notice: plans.append(notice.message_primary or ""))
            for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                            "SET auto_explain.log_nested_statements = on",
                            "SET auto_explain.log_level = notice",
                            "SET client_min_messages = notice"):
                conn.exec_driver_sql(setting)
            claimed = conn.execute(sa.text(
                "SELECT * FROM campaigns_claim_due(:now, 6, interval '5 minutes', :token)"),
                {"now": NOW, "token": uuid.uuid4()}).all()
            conn.rollback()
    finally:
        owner.dispose()
    assert len(claimed) == 6
    inner = [p for p in plans if "campaign_leads" in p]
    assert len(inner) >= 4, plans  # the tenants, then a claim per tenant
    assert all("ix_campaign_leads_due" in p for p in inner), inner
    assert not any("Seq Scan" in p for p in inner), inner


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_narrow_paths_run_as_their_owner_for_the_application_role_only(
        postgres_url: str, backend: str) -> None:
    owner = sa.create_engine(postgres_url)
    try:
        with owner.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT p.proname, p.prosecdef, p.proconfig, "
                "has_function_privilege(:app, p.oid, 'EXECUTE') AS app, "
                "has_function_privilege('public', p.oid, 'EXECUTE') AS anyone "
                "FROM pg_proc p WHERE p.proname IN "
                "('campaigns_claim_due', 'outreach_linkedin_tenant') ORDER BY p.proname"),
                {"app": APP_ROLE}).all()
    finally:
        owner.dispose()
    assert [(f.proname, f.prosecdef, f.proconfig, f.app, f.anyone) for f in found] == [
        (name, True, ["search_path=pg_catalog, public"], True, False)
        for name in ("campaigns_claim_due", "outreach_linkedin_tenant")]
