"""The cursor key comes from the settings: another server of the same database (or the same
one restarted) continues a listing; a server with another secret refuses its cursors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.container import build_container, close
from tests.conftest import fast_settings
from tests.unit.leads.workspace import Workspace


def test_a_cursor_continues_on_another_server_with_the_same_secret(
        sqlite_template: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{shutil.copy(sqlite_template, tmp_path / 'lad.sqlite3')}"
    first, second = build_container(fast_settings(url)), build_container(fast_settings(url))
    other = build_container(fast_settings(url, cursor_secret="another-secret-" + "y" * 32))
    try:
        ws = Workspace.sign_up(first)
        made = [ws.lead(first_name=name).id for name in ("Ada", "Bo")]
        page = first.leads().list_leads(ws.owner, LeadFilter(), PageRequest(limit=1))
        rest = PageRequest.parse(limit=1, cursor=page.next_cursor)
        assert [x.id for x in second.leads().list_leads(ws.owner, LeadFilter(), rest).items
                ] == made[:1]
        with pytest.raises(ValidationFailed, match="cursor: is invalid"):
            other.leads().list_leads(ws.owner, LeadFilter(), rest)
    finally:
        for lad in (first, second, other):
            close(lad)
