"""The CLI: tenants, users and members as the operator; tables, --json, one-line errors
with the exit codes of ``cli/main.py``; and the database commands."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest

from lad_adapters.sql import migrate
from lad_domain.shared.errors import Conflict, DomainError, NotFound, ValidationFailed
from lad_domain.shared.principal import Principal
from lad_entrypoints.cli.main import EXIT_CODES, create_cli, run
from lad_entrypoints.container import Container, build_container, close
from tests.conftest import fast_settings

PASSWORD = "correct horse battery"


def lad(container: Container, capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, str, str]:
    code = run(create_cli(lambda: container), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lad_json(container: Container, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = lad(container, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def _acme(container: Container, capsys: pytest.CaptureFixture[str]) -> Any:
    return lad_json(container, capsys, "tenants", "create", "Acme Ltd", "--owner-email",
                    "ada@acme.test", "--password", PASSWORD)


def test_tenants_create_list_and_show(container: Container,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    created = _acme(container, capsys)
    assert (created["slug"], created["name"], created["status"]) == ("acme-ltd", "Acme Ltd",
                                                                     "active")
    listed = lad_json(container, capsys, "tenants", "list")
    assert listed == {"items": listed["items"], "next_cursor": None}
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    shown = lad_json(container, capsys, "tenants", "show", "--tenant", created["id"])
    assert shown["slug"] == "acme-ltd" and shown["metadata"] == {}


def test_tables_are_printed_without_json(container: Container,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _acme(container, capsys)
    code, out, _ = lad(container, capsys, "tenants", "list")
    assert code == 0 and "acme-ltd" in out and not out.lstrip().startswith("[")


def test_users_create_and_list(container: Container, capsys: pytest.CaptureFixture[str]
                               ) -> None:
    created = lad_json(container, capsys, "users", "create", "Bo@Acme.test", "--password",
                       PASSWORD)
    assert created["email"] == "bo@acme.test"
    listed = lad_json(container, capsys, "users", "list")
    assert [u["id"] for u in listed["items"]] == [created["id"]]


def test_members_add_and_list(container: Container, capsys: pytest.CaptureFixture[str]) -> None:
    _acme(container, capsys)
    bo = lad_json(container, capsys, "users", "create", "bo@acme.test", "--password", PASSWORD)
    added = lad_json(container, capsys, "members", "add", "bo@acme.test", "--tenant",
                     "acme-ltd", "--role", "admin")
    assert (added["user_id"], added["role"]) == (bo["id"], "admin")
    members = lad_json(container, capsys, "members", "list", "--tenant", "acme-ltd")
    assert {(m["email"], m["role"]) for m in members["items"]} == {("ada@acme.test", "owner"),
                                                          ("bo@acme.test", "admin")}


def test_lists_page_with_a_cursor(container: Container, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    for n in range(3):
        lad_json(container, capsys, "users", "create", f"u{n}@acme.test", "--password",
                 PASSWORD)
    first = lad_json(container, capsys, "users", "list", "--limit", "2")
    rest = lad_json(container, capsys, "users", "list", "--limit", "2", "--cursor",
                    first["next_cursor"])
    assert rest["next_cursor"] is None
    assert [u["email"] for u in first["items"] + rest["items"]] == [
        "u2@acme.test", "u1@acme.test", "u0@acme.test"]


@pytest.mark.parametrize(("args", "error"), [
    (("tenants", "show", "--tenant", "nowhere"), NotFound),
    (("billing", "balance", "--tenant", "nowhere"), NotFound),
    (("users", "create", "ada@acme.test", "--password", PASSWORD), Conflict),
    (("users", "create", "not-an-email", "--password", PASSWORD), ValidationFailed),
    (("members", "add", "ghost@acme.test", "--tenant", "acme-ltd"), NotFound),
    (("members", "add", "ada@acme.test", "--tenant", "acme-ltd"), Conflict),
    (("members", "list", "--tenant", "acme-ltd", "--cursor", "junk"), ValidationFailed),
])
def test_a_domain_error_is_one_line_and_its_exit_code(
        container: Container, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
        error: type[DomainError]) -> None:
    _acme(container, capsys)
    code, out, err = lad(container, capsys, *args)
    assert code == EXIT_CODES[error] and code != 0
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_usage_error_exits_2_without_a_container(capsys: pytest.CaptureFixture[str]) -> None:
    def no_container() -> Container:
        raise AssertionError("usage errors touch no database")

    assert run(create_cli(no_container), ["members", "add", "x@acme.test"]) == 2
    assert "--tenant" in capsys.readouterr().err


def test_version_prints_the_installed_version_without_a_container(
        capsys: pytest.CaptureFixture[str]) -> None:
    def no_container() -> Container:
        raise AssertionError("--version needs no container")

    assert run(create_cli(no_container), ["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lad {importlib.metadata.version('lad')}"


def test_the_cli_works_on_every_backend(backend: str, container: Container,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    created = _acme(container, capsys)
    members = lad_json(container, capsys, "members", "list", "--tenant", created["id"])
    assert [m["email"] for m in members["items"]] == ["ada@acme.test"]


def test_db_upgrade_and_current_on_a_new_sqlite_file(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    lad_db = build_container(fast_settings(f"sqlite:///{tmp_path / 'new.sqlite3'}"))
    try:
        assert lad(lad_db, capsys, "db", "current")[1].splitlines()[0] == "current: base"
        code, out, _ = lad(lad_db, capsys, "db", "upgrade")
        assert code == 0 and f"database at {migrate.head()}" in out
        _, out, _ = lad(lad_db, capsys, "db", "current")
        assert out.splitlines() == [f"current: {migrate.head()}", f"head:    {migrate.head()}"]
    finally:
        close(lad_db)


def test_db_commands_refuse_the_memory_backend(container: Container,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lad(container, capsys, "db", "current")
    assert code == 2 and "in-memory" in err


def test_an_argument_that_is_not_utf8_is_refused_naming_it(
        container: Container, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lad(container, capsys, "tenants", "show", "\udcff")
    assert (code, err) == (EXIT_CODES[ValidationFailed],
                           "error: argument 3 (\\udcff): is not valid UTF-8\n")


def test_a_library_caller_s_lone_surrogate_is_an_error_never_a_crash(
        backend: str, container: Container) -> None:
    """SQL cannot store a lone surrogate: the adapter names it (memory finds nothing)."""
    expected = NotFound if backend == "memory" else ValidationFailed
    with pytest.raises(expected):
        container.team().find_tenant(Principal.operator(), "a\udcffb")
