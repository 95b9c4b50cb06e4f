"""What scripts rely on in every ``lad`` command: one JSON envelope for every list (on one
page and on many), the tenant named by one ``--tenant`` option, a help text for every
command and group, and shell completion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from lad_entrypoints.cli.common import TENANT_HELP
from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import Container
from tests.integration.cli_calls import cli, lad_json
from tests.unit.leads.workspace import Workspace

Capture = pytest.CaptureFixture[str]


def _no_container() -> Container:
    raise AssertionError("help, completion and the command tree need no container")


def _commands() -> Iterator[tuple[str, Any]]:
    """Every group and command of ``lad``, by its full name."""
    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(create_cli(_no_container)), "lad")


COMMANDS = dict(_commands())


# --- one envelope for every list -----------------------------------------------------------

def test_a_list_is_one_envelope_on_one_page_and_on_many(lad: Container, capsys: Capture
                                                        ) -> None:
    ws = Workspace.sign_up(lad)
    tenant = str(ws.tenant_id)
    emails = [f"lead{n}@acme.test" for n in range(5)]
    for email in emails:
        ws.lead(email=email)
    whole = lad_json(lad, capsys, "leads", "list", "--tenant", tenant)
    assert list(whole) == ["items", "next_cursor"] and whole["next_cursor"] is None
    assert len(whole["items"]) == 5
    pages = [lad_json(lad, capsys, "leads", "list", "--tenant", tenant, "--limit", "2")]
    while pages[-1]["next_cursor"] is not None:
        assert list(pages[-1]) == ["items", "next_cursor"]
        assert isinstance(pages[-1]["next_cursor"], str)
        pages.append(lad_json(lad, capsys, "leads", "list", "--tenant", tenant, "--limit",
                              "2", "--cursor", pages[-1]["next_cursor"]))
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert list(pages[-1]) == ["items", "next_cursor"]
    assert [x["email"] for p in pages for x in p["items"]] == [x["email"] for x in
                                                               whole["items"]]
    assert sorted(x["email"] for x in whole["items"]) == emails


def test_an_empty_list_and_an_unpaged_list_are_the_same_envelope(lad: Container,
                                                                 capsys: Capture) -> None:
    ws = Workspace.sign_up(lad)
    assert lad_json(lad, capsys, "leads", "list", "--tenant", str(ws.tenant_id)) == {
        "items": [], "next_cursor": None}
    wallets = lad_json(lad, capsys, "billing", "balance", "--tenant", str(ws.tenant_id))
    assert list(wallets) == ["items", "next_cursor"] and wallets["next_cursor"] is None
    assert [w["wallet"] for w in wallets["items"]] == ["tenant"]


def test_a_single_resource_stays_a_plain_object(lad: Container, capsys: Capture) -> None:
    ws = Workspace.sign_up(lad)
    shown = lad_json(lad, capsys, "tenants", "show", "--tenant", str(ws.tenant_id))
    assert shown["id"] == str(ws.tenant_id) and "items" not in shown


# --- the tenant, named one way -------------------------------------------------------------

def test_no_command_takes_the_tenant_as_a_positional_argument() -> None:
    positional = [f"{path}: {p.name}" for path, command in COMMANDS.items()
                  for p in command.params
                  if p.param_type_name == "argument" and p.name.startswith("tenant")]
    assert positional == []


def test_every_tenant_option_is_the_one_definition() -> None:
    options = {path: p for path, command in COMMANDS.items() for p in command.params
               if p.param_type_name == "option" and "--tenant" in p.opts}
    assert len(options) > 50  # the walk reached the commands
    assert {(tuple(p.opts), p.help) for p in options.values()} == {
        (("--tenant", "-t"), TENANT_HELP)}
    assert {p.name for p in options.values()} == {"tenant"}
    for path in ("lad billing top-up", "lad billing balance", "lad billing ledger",
                 "lad billing invoices list", "lad billing entitlements list",
                 "lad tenants show", "lad leads import", "lad members list"):
        assert options[path].required, path
    for path in ("lad billing reconcile", "lad billing reservations sweep",
                 "lad voice sweep"):
        assert not options[path].required, path


def test_billing_takes_the_tenant_by_option_slug_or_id(lad: Container, capsys: Capture
                                                       ) -> None:
    ws = Workspace.sign_up(lad)
    slug = lad.team().get_tenant(ws.owner).slug
    entry = lad_json(lad, capsys, "billing", "top-up", "--tenant", slug, "5",
                     "--idempotency-key", "k1")
    assert entry["balance_after"] == "5.000000"
    [row] = lad_json(lad, capsys, "billing", "ledger", "-t", str(ws.tenant_id))["items"]
    assert row["amount"] == "5.000000"


@pytest.mark.parametrize("args", [
    ("billing", "balance"),
    ("billing", "top-up", "5", "--idempotency-key", "k"),
    ("tenants", "show"),
])
def test_a_missing_tenant_is_a_usage_error_naming_the_option(capsys: Capture,
                                                              args: tuple[str, ...]) -> None:
    assert run(create_cli(_no_container), list(args)) == 2
    err = capsys.readouterr().err
    assert "Missing option" in err and "--tenant" in err


def test_an_unknown_tenant_is_one_line_and_exit_3(lad: Container, capsys: Capture) -> None:
    code, out, err = cli(lad, capsys, "billing", "balance", "--tenant", "nobody")
    assert (code, out, err.count("\n")) == (3, "", 1) and "nobody" in err


# --- help texts ----------------------------------------------------------------------------

def test_every_command_and_group_says_what_it_does() -> None:
    missing = []
    for path, command in COMMANDS.items():
        text = " ".join((command.help or "").split())
        name = path.rsplit(" ", 1)[-1]
        if len(text) < 12 or text.lower().rstrip(".") in {name, name.replace("-", " ")}:
            missing.append(path)
    assert missing == []
    assert len(COMMANDS) > 100


def test_every_argument_and_option_has_a_help_text() -> None:
    missing = [f"{path}: {p.name}" for path, command in COMMANDS.items()
               for p in command.params
               if p.name not in ("help", "install_completion", "show_completion")
               and not getattr(p, "help", None)]
    assert missing == []


def test_the_help_of_a_command_prints_its_text(capsys: Capture) -> None:
    assert run(create_cli(_no_container), ["billing", "invoices", "list", "--help"]) == 0
    out = capsys.readouterr().out
    assert "The tenant's invoices, newest first." in out and "--tenant" in out


# --- shell completion ----------------------------------------------------------------------

def test_show_completion_prints_a_bash_script(capsys: Capture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Typer detects the shell from the parent process; a test names it instead.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    assert run(create_cli(_no_container), ["--show-completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "_lad_completion()" in script and "_LAD_COMPLETE=complete_bash" in script
    assert "complete -o default -F _lad_completion lad" in script


@pytest.mark.parametrize(("words", "expected"), [
    ("lad bil", "billing"),
    ("lad leads list --ten", "--tenant"),
    ("lad billing invoices l", "list"),
])
def test_the_completion_protocol_completes_commands_and_options(
        capsys: Capture, monkeypatch: pytest.MonkeyPatch, words: str, expected: str) -> None:
    """What the installed script asks: ``_LAD_COMPLETE`` with the words typed so far."""
    monkeypatch.setenv("_LAD_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - 1))
    assert run(create_cli(_no_container), []) == 0
    assert expected in capsys.readouterr().out.split()
