"""What the repository contract tests share (on memory, SQLite and PostgreSQL): work done
in a committed unit of work of a workspace's tenant, and every page of a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace


def run(ws: Workspace | None, work: Callable[[Any], Any], lad: Container | None = None) -> Any:
    """``work`` in a unit of work of the workspace's tenant (None: no tenant, in ``lad``),
    committed."""
    container = lad or (ws.lad if ws else None)
    assert container is not None
    with container.unit_of_work()(ws.tenant_id if ws else None) as uow:
        result = work(uow)
        uow.commit()
    return result


def pages(list_page: Callable[[PageRequest], Any], limit: int = 2) -> list[list[Any]]:
    """Every page of a list, following its cursors."""
    found, cursor = [], None
    while True:
        page = list_page(PageRequest(limit=limit, cursor=cursor))
        found.append(list(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return found
