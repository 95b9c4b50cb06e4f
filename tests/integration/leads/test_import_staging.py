"""An import stages its rows on a writer thread: on SQLite outside the single write lock
(another tenant writes meanwhile), and the importer's role is read again before the write."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.leads.services.importing import LeadImportService
from lad_domain.shared.errors import PermissionDenied
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from tests.unit.leads.workspace import Workspace

ROWS = "email\n" + "".join(f"lead{i}@x.io\n" for i in range(30))


def _import(ws: Workspace, principal: Principal, on_batch: Callable[[], None]) -> None:
    """Imports 30 rows in batches of 3; ``on_batch`` runs once four batches are handed over
    (the writer has then taken two of them from its queue two deep, so it is staging)."""
    def progress(_bytes: int, rows: int) -> None:
        if rows == 12:
            on_batch()
    service = LeadImportService(ws.lad.tenant_scope(), ws.lad.phone_numbers(), batch_rows=3)
    service.import_leads(principal, io.BytesIO(ROWS.encode()), progress=progress)


def _count(ws: Workspace) -> int:
    return len(ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=200)).items)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_another_tenant_writes_while_sqlite_stages(ws: Workspace, database_url: str) -> None:
    other = Workspace.sign_up(ws.lad, "Other")

    def write_elsewhere() -> None:
        probe = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
        probe.execute("BEGIN IMMEDIATE")  # "database is locked" if the import held the lock
        probe.rollback()
        probe.close()
        other.lead(email="meanwhile@y.io")
    _import(ws, ws.owner, write_elsewhere)
    assert (_count(ws), _count(other)) == (30, 1)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_member_removed_while_rows_stage_imports_nothing(ws: Workspace) -> None:
    member = ws.member(role="admin")
    assert member.user_id is not None
    user_id = member.user_id

    def remove() -> None:
        ws.lad.team().remove_member(ws.owner, user_id)
    with pytest.raises(PermissionDenied):
        _import(ws, member, remove)
    assert _count(ws) == 0
