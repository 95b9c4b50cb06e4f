"""Keyset pagination over (created_at, id), newest first (``keyset``: oldest first too, or
keyed by a BIGINT): every page is an index seek.

Cursors are sealed and opened with the unit of work's ``Db.cursors`` (its tenant scope),
for the list the query selects: the table of ``created_at`` and the query's conditions
(the lead whose notes these are, the filters given). A cursor of another list, or of
another tenant, is refused; every list gets this without naming itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from lad_adapters.sql.database import Db
from lad_domain.shared.pagination import Cursor, Page, PageRequest

T = TypeVar("T")
R = TypeVar("R")


def paginate(
    db: Db,
    query: sa.Select[Any],
    *,
    created_at: sa.Column[Any],
    id_column: sa.Column[Any],
    page: PageRequest,
    to_item: Callable[[sa.Row[Any]], T],
) -> Page[T]:
    kind = _list_of(query, created_at)
    after = db.cursors.after(kind, page)
    if after is not None:
        query = query.where(
            sa.tuple_(created_at, id_column) < sa.tuple_(
                sa.literal(after.created_at, created_at.type),
                sa.literal(after.id, id_column.type),
            )
        )
    query = query.order_by(created_at.desc(), id_column.desc()).limit(page.limit + 1)
    return page_of(db, kind, page, db.execute(query).all(), to_item,
                   lambda row: Cursor(created_at=row._mapping[created_at],
                                      id=row._mapping[id_column]))


def keyset(db: Db, query: sa.Select[Any], *, kind: str,
           created_at: sa.Column[Any], id_column: sa.Column[Any], page: PageRequest,
           to_item: Callable[[sa.Row[Any]], T], oldest_first: bool = False,
           id_of: Callable[[Any], uuid.UUID] = lambda value: value,
           id_from: Callable[[uuid.UUID], Any] = lambda value: value) -> Page[T]:
    """Keyset pages over (created_at, id) with the unit of work's sealed cursors, for the
    lists ``paginate`` does not serve: oldest first, or keyed by a BIGINT (held in the
    cursor as the UUID of that number). ``kind`` names the list and its filters."""
    after = db.cursors.after(kind, page)
    if after is not None:
        position = sa.tuple_(created_at, id_column)
        bound = sa.tuple_(sa.literal(after.created_at, created_at.type),
                          sa.literal(id_from(after.id), id_column.type))
        query = query.where(position > bound if oldest_first else position < bound)
    order = (created_at.asc(), id_column.asc()) if oldest_first else (
        created_at.desc(), id_column.desc())
    rows = db.execute(query.order_by(*order).limit(page.limit + 1)).all()
    return page_of(db, kind, page, rows, to_item,
                   lambda row: Cursor(created_at=row._mapping[created_at],
                                      id=id_of(row._mapping[id_column])))


def page_of(db: Db, kind: str, page: PageRequest, rows: Sequence[R],
            to_item: Callable[[R], T], position: Callable[[R], Cursor]) -> Page[T]:
    """The page of the rows a keyset query fetched (one more than the page's limit: when
    that one came, the next cursor is sealed at the page's last row)."""
    items = [to_item(row) for row in rows[: page.limit]]
    next_cursor = None
    if len(rows) > page.limit:
        next_cursor = db.cursors.seal(kind, position(rows[page.limit - 1]))
    return Page(items=items, next_cursor=next_cursor)


#: The compiled conditions of each list's query, by its shape (values left out): compiling
#: them is most of a page's cost otherwise. Bounded: the shapes are the code's, a few dozen.
_COMPILED: dict[Any, sa.sql.compiler.Compiled] = {}
_COMPILED_MAX = 512


def _list_of(query: sa.Select[Any], created_at: sa.Column[Any]) -> str:
    """The list a query selects, as text: its table, its conditions and their values."""
    where = query.whereclause
    if where is None:
        return created_at.table.name
    key = where._generate_cache_key()
    compiled: sa.sql.compiler.Compiled
    if key is None:  # a condition SQLAlchemy cannot key: compiled each time
        compiled = where.compile()
        params = compiled.params
    else:
        compiled = _COMPILED.get(key.key) or _remember(key.key, where.compile(cache_key=key))
        params = compiled.construct_params(extracted_parameters=key.bindparams)
    values = sorted((name, str(value)) for name, value in params.items())
    return f"{created_at.table.name}\0{compiled}\0{values!r}"


def _remember(shape: Any, compiled: sa.sql.compiler.Compiled) -> sa.sql.compiler.Compiled:
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[shape] = compiled
    return compiled
