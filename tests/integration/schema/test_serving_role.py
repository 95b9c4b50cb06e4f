"""``lad serve`` refuses a PostgreSQL role that row-level security does not bind (a
superuser, a BYPASSRLS role, the tables' owner), unless LAD_ALLOW_RLS_BYPASS is set, in
which case it warns. The server itself is a fake: the check runs before it starts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lad_adapters.sql import roles
from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import build_container, close
from lad_entrypoints.http.app import create_app
from tests.conftest import app_role_url, fast_settings

Capture = pytest.CaptureFixture[str]


def serve(url: str, capsys: Capture, **settings: Any) -> tuple[int, str, list[int]]:
    """Run ``lad serve``; answers the exit code, stderr and the ports a server started on."""
    started: list[int] = []
    lad = build_container(fast_settings(url, **settings))
    try:
        cli = create_cli(lambda: lad, server=lambda app, serving: started.append(serving.port))
        code = run(cli, ["serve", "--port", "8123"])
    finally:
        close(lad)
    # The CLI's own messages; its log lines (JSON, standard error is not a terminal) apart.
    err = capsys.readouterr().err.splitlines(keepends=True)
    return code, "".join(line for line in err if not line.startswith("{")), started


def test_the_owner_is_refused_with_the_commands_that_fix_it(postgres_url: str,
                                                           capsys: Capture) -> None:
    code, err, started = serve(postgres_url, capsys)
    assert (code, started) == (78, [])
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "is a superuser" in err and "lad db app-role" in err
    assert "LAD_MIGRATION_DATABASE_URL" in err and "LAD_ALLOW_RLS_BYPASS" in err


def test_the_application_role_is_served(postgres_url: str, capsys: Capture) -> None:
    code, err, started = serve(app_role_url(postgres_url), capsys,
                               migration_database_url=postgres_url)
    assert (code, err, started) == (0, "", [8123])


def test_the_setting_serves_the_owner_with_a_warning(postgres_url: str, capsys: Capture) -> None:
    code, err, started = serve(postgres_url, capsys, allow_rls_bypass=True)
    assert (code, started) == (0, [8123])
    assert err.startswith("warning: the database role bypasses row-level security")


def healthz(url: str, **settings: Any) -> tuple[int, dict[str, Any]]:
    lad = build_container(fast_settings(url, **settings))
    try:
        response = TestClient(create_app(lad)).get("/healthz")
    finally:
        close(lad)
    return response.status_code, response.json()


def test_healthz_is_503_for_the_owner_and_says_when_bypass_is_allowed(postgres_url: str
                                                                      ) -> None:
    status, body = healthz(postgres_url)
    assert (status, body["code"]) == (503, "row_level_security_bypassed")
    assert "superuser" not in body["detail"] and "lad db app-role" in body["detail"]
    status, body = healthz(postgres_url, allow_rls_bypass=True)
    assert (status, body["row_level_security"]) == (200, "bypassed")
    status, body = healthz(app_role_url(postgres_url), migration_database_url=postgres_url)
    assert status == 200 and "row_level_security" not in body


def test_sqlite_has_no_row_level_security_to_check(tmp_path: Any, capsys: Capture) -> None:
    assert serve(f"sqlite:///{tmp_path / 'lad.sqlite3'}", capsys) == (0, "", [8123])


def test_an_owner_that_is_not_a_superuser_bypasses(postgres_url: str) -> None:
    """Inside one rolled-back transaction: a plain role owning a tenant table."""
    role, engine = f"lad_owner_{uuid.uuid4().hex[:8]}", sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn, conn.begin():
            for statement in (f"CREATE ROLE {role} NOSUPERUSER",
                              f"CREATE SCHEMA {role} AUTHORIZATION {role}",
                              f"CREATE TABLE {role}.leads (tenant_id uuid)",
                              f"ALTER TABLE {role}.leads ENABLE ROW LEVEL SECURITY",
                              f"ALTER TABLE {role}.leads OWNER TO {role}",
                              f"SET LOCAL search_path TO {role}", f"SET LOCAL ROLE {role}"):
                conn.exec_driver_sql(statement)
            assert roles.bypass_reasons(conn) == [
                f"{role} owns 1 tenant tables (e.g. leads), 1 without FORCE ROW LEVEL SECURITY"]
            conn.rollback()
    finally:
        engine.dispose()
