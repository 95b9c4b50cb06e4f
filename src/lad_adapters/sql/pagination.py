"""Keyset pagination over (created_at, id), newest first: every page is an index seek."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from lad_adapters.sql.database import Db
from lad_domain.shared.pagination import Cursor, Page, PageRequest

T = TypeVar("T")


def paginate(
    db: Db,
    query: sa.Select[Any],
    *,
    created_at: sa.ColumnElement[Any],
    id_column: sa.ColumnElement[Any],
    page: PageRequest,
    to_item: Callable[[sa.Row[Any]], T],
) -> Page[T]:
    if page.after is not None:
        query = query.where(
            sa.tuple_(created_at, id_column) < sa.tuple_(
                sa.literal(page.after.created_at, created_at.type),
                sa.literal(page.after.id, id_column.type),
            )
        )
    query = query.order_by(created_at.desc(), id_column.desc()).limit(page.limit + 1)
    rows = db.execute(query).all()
    items = [to_item(row) for row in rows[: page.limit]]
    next_cursor = None
    if len(rows) > page.limit:
        last = rows[page.limit - 1]._mapping
        next_cursor = Cursor(created_at=last[created_at], id=last[id_column]).encode()
    return Page(items=items, next_cursor=next_cursor)
