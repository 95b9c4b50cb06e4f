"""Monthly partitions of voice_call_logs on PostgreSQL: created ahead idempotently, stray
rows moved out of the default partition, and date-range queries pruned to their months."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql import partitions
from tests.integration.schema import rows
from tests.integration.schema.conftest import Engines


def test_ensure_creates_the_coming_months_once(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        first = partitions.ensure(conn, today=date(2030, 12, 20), months_ahead=2)
        again = partitions.ensure(conn, today=date(2030, 12, 20), months_ahead=2)
    assert first == ["voice_call_logs_p2030_12", "voice_call_logs_p2031_01",
                     "voice_call_logs_p2031_02"]
    assert again == []


def test_rows_waiting_in_the_default_partition_move_to_their_month(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        call_id = rows.call_log(conn, rows.tenant(conn, "a"), datetime(2033, 5, 10, tzinfo=UTC))
        partitions.ensure(conn, today=date(2033, 5, 1), months_ahead=0)
        home = conn.execute(sa.text("SELECT tableoid::regclass::text FROM voice_call_logs "
                                    "WHERE id = :id"), {"id": call_id}).scalar()
    assert home == "voice_call_logs_p2033_05"


def _scanned(plan: Any) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _scanned(child)
    return found


def test_a_tenant_and_month_query_reads_only_that_months_partition(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        partitions.ensure(conn, today=date(2032, 1, 1), months_ahead=2)
        tenant_id = rows.tenant(conn, "a")
        for month in (1, 2, 3):
            rows.call_log(conn, tenant_id, datetime(2032, month, 15, tzinfo=UTC))
    with engines.app.begin() as conn:
        rows.scope(conn, tenant_id)
        plan = conn.execute(sa.text(
            "EXPLAIN (FORMAT JSON) SELECT id FROM voice_call_logs WHERE tenant_id = :t "
            "AND created_at >= :start AND created_at < :end"),
            {"t": tenant_id, "start": datetime(2032, 2, 1, tzinfo=UTC),
             "end": datetime(2032, 3, 1, tzinfo=UTC)}).scalar_one()
    document = plan if isinstance(plan, list) else json.loads(plan)
    assert _scanned(document[0]["Plan"]) == {"voice_call_logs_p2032_02"}
