"""The migrations through ``lad db``: up, down to base and up again on empty PostgreSQL and
SQLite databases, with nothing left behind and no drift from the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import build_container, close
from tests.conftest import APP_ROLE, fast_settings

Capture = pytest.CaptureFixture[str]


def lad(url: str, capsys: Capture, *args: str) -> tuple[int, str]:
    container = build_container(fast_settings(url))
    try:
        code = run(create_cli(lambda: container), ["db", *args])
    finally:
        close(container)
    out, err = capsys.readouterr()
    return code, out + err


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _round_trip(url: str, capsys: Capture, *upgrade_options: str) -> None:
    assert lad(url, capsys, "upgrade", *upgrade_options)[0] == 0
    assert lad(url, capsys, "downgrade", "base")[0] == 0
    assert _tables(url) == {"alembic_version"}
    assert lad(url, capsys, "upgrade", *upgrade_options)[0] == 0
    code, out = lad(url, capsys, "diff")
    assert (code, out.strip().splitlines()[-1]) == (0, "0 difference(s)")


def test_sqlite_goes_up_down_and_up_cleanly(tmp_path: Path, capsys: Capture) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'lad.sqlite3'}", capsys)


def test_postgres_goes_up_down_and_up_cleanly(empty_postgres_url: str, capsys: Capture) -> None:
    _round_trip(empty_postgres_url, capsys, "--app-role", APP_ROLE)


def test_upgrade_prepares_the_coming_months(empty_postgres_url: str, capsys: Capture) -> None:
    lad(empty_postgres_url, capsys, "upgrade")
    code, out = lad(empty_postgres_url, capsys, "partitions", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert listed["next_cursor"] is None
    voice = {p["partition"] for p in listed["items"] if p["table"] == "voice_call_logs"}
    monthly = {p for p in voice if p.startswith("voice_call_logs_p")}
    assert len(monthly) == 4 and voice - monthly == {"voice_call_logs_default"}  # this month
    # and three ahead, and the default


def test_the_application_role_may_not_be_a_superuser(postgres_url: str, capsys: Capture) -> None:
    code, out = lad(postgres_url, capsys, "app-role", "postgres")
    assert (code, "superuser" in out) == (2, True)


def test_partitions_ensure_is_idempotent(postgres_url: str, capsys: Capture) -> None:
    lad(postgres_url, capsys, "partitions", "ensure", "--months-ahead", "1")
    code, out = lad(postgres_url, capsys, "partitions", "ensure", "--months-ahead", "1")
    assert (code, out.strip()) == (0, "partitions: nothing to create")
