"""A list's kind (what its cursors are bound to) is the same text whether its conditions
were compiled now or taken from the compiled shapes; values still tell lists apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from lad_adapters.sql import pagination
from lad_adapters.sql.tables.leads import leads


def _query(tenant: uuid.UUID, stage: str | None, since: datetime | None) -> sa.Select[tuple[int]]:
    where = [leads.c.tenant_id == tenant, leads.c.deleted_at.is_(None)]
    if stage is not None:
        where.append(leads.c.stage == stage)
    if since is not None:
        where.append(leads.c.created_at >= since)
    return sa.select(leads.c.id).where(*where)


def _compiled_now(query: sa.Select[tuple[int]]) -> str:
    compiled = query.whereclause.compile()  # type: ignore[union-attr]  # every query here has one
    values = sorted((name, str(value)) for name, value in compiled.params.items())
    return f"leads\0{compiled}\0{values!r}"


def test_a_kind_is_the_text_of_its_conditions_and_values() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    since = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = set()
    for _ in range(2):  # the second time from the compiled shapes
        for tenant in (a, b):
            for stage in (None, "new", "won"):
                for start in (None, since):
                    query = _query(tenant, stage, start)
                    kind = pagination._list_of(query, leads.c.created_at)
                    assert kind == _compiled_now(query)
                    kinds.add(kind)
    assert len(kinds) == 2 * 3 * 2
