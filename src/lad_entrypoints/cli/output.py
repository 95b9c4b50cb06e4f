"""Human tables by default, JSON for scripts; one place for both."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def emit(rows: Sequence[Mapping[str, Any]], *, as_json: bool, title: str | None = None,
         next_cursor: str | None = None) -> None:
    """A list: a table, or with ``as_json`` always one envelope,
    ``{"items": [...], "next_cursor": null | "..."}`` (the HTTP API's page shape), on one page
    or many; the last page's ``next_cursor`` is null."""
    if as_json:
        print(json.dumps({"items": [_plain(r) for r in rows], "next_cursor": next_cursor},
                         indent=2))
        return
    if not rows:
        console.print("(none)")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column, overflow="fold")  # never elide a figure with "…"
    for row in rows:
        table.add_row(*("" if v is None else str(_plain(v)) for v in row.values()))
    console.print(table)
    if next_cursor:
        console.print(f"more: --cursor {next_cursor}")


def emit_one(row: Mapping[str, Any], *, as_json: bool) -> None:
    """One resource: a two-column table, or with ``as_json`` a plain JSON object."""
    if as_json:
        print(json.dumps(_plain(row), indent=2))
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in row.items():
        table.add_row(key, "" if value is None else str(_plain(value)))
    console.print(table)
