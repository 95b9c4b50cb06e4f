"""The calls of a month on PostgreSQL read that month's partition alone, on every page and
with the generic plan a prepared statement gets after its fifth run (the pool's
connections prepare the repository's statements): the pruning then happens as the
statement starts, not as it is planned."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from lad_adapters.sql import partitions
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.integration.repositories import run
from tests.integration.voice.test_repositories import call
from tests.unit.leads.workspace import Workspace

FEBRUARY, MARCH = datetime(2034, 2, 1, tzinfo=UTC), datetime(2034, 3, 1, tzinfo=UTC)


@pytest.fixture
def ws(backend: str, postgres_url: str, lad: Container) -> Workspace:
    owner = sa.create_engine(postgres_url)
    with owner.begin() as conn:
        partitions.ensure(conn, today=date(2034, 1, 1), months_ahead=2)
    owner.dispose()
    workspace = Workspace.sign_up(lad)
    calls = [call(workspace) for _ in range(4)]
    for day, placed in enumerate(calls, start=1):
        placed.created_at = datetime(2034, 1 + day % 3, day, tzinfo=UTC)
    run(workspace, lambda uow: [uow.calls.add(c) for c in calls])
    return workspace


def _scanned(plan: dict[str, Any]) -> list[str]:
    found = [plan["Relation Name"]] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scanned(child)
    return found


def _pruned_at_start(plan: dict[str, Any]) -> int:
    """The partitions a generic plan holds and the executor dropped as it started."""
    return int(plan.get("Subplans Removed", 0)) + sum(
        _pruned_at_start(child) for child in plan.get("Plans", []))


def _generic_plan(conn: sa.Connection, statement: str, parameters: dict[str, Any]
                  ) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the statement prepared and run with its generic plan."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    # EXECUTE takes no bind parameters: its arguments are written in, quoted by psycopg.
    with psycopg.ClientCursor(driver) as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE month_page AS " + prepared.replace("%%", "%"))
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE month_page("
                       + ", ".join(f"%({n})s" for n in names) + ")", parameters)
        row = cursor.fetchone()
        cursor.execute("DEALLOCATE month_page")
    assert row is not None
    return dict(row[0][0]["Plan"])


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_later_page_of_a_month_scans_that_months_partition_with_a_generic_plan(
        backend: str, ws: Workspace) -> None:
    uows = ws.lad.unit_of_work()
    assert isinstance(uows, SqlUnitOfWorkFactory)
    statements: list[tuple[str, Any]] = []

    def seen(*args: Any) -> None:
        statements.append((args[2], dict(args[3])))

    with uows(ws.tenant_id) as uow:
        first = uow.calls.list(PageRequest(limit=1), since=FEBRUARY, until=MARCH)
        sa.event.listen(uows.engine, "before_cursor_execute", seen)
        try:
            second = uow.calls.list(PageRequest(limit=1, cursor=first.next_cursor),
                                    since=FEBRUARY, until=MARCH)
        finally:
            sa.event.remove(uows.engine, "before_cursor_execute", seen)
        plan = _generic_plan(uow.db.connection, *statements[-1])
    assert [c.created_at.day for c in [*first.items, *second.items]] == [4, 1]
    assert _scanned(plan) == ["voice_call_logs_p2034_02"] and _pruned_at_start(plan) >= 2
