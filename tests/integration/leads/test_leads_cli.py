"""The CLI: ``lad leads import|export|list`` as the operator; reports, --json, and one-line
errors with the documented exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from lad_domain.leads.model import LeadFilter
from lad_domain.shared.pagination import PageRequest
from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import Container
from tests.unit.leads.workspace import Workspace

FILE = b"First Name,E-mail,Phone\nAda,ada@x.io,+44 20 7946 0958\nBo,bad,\nCy,ADA@x.io,\n"


def lad(container: Container, capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, str, str]:
    code = run(create_cli(lambda: container), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _csv(tmp_path: Path, content: bytes = FILE) -> str:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    return str(path)


def test_import_prints_a_summary_and_the_rejected_rows(
        ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant",
                       str(ws.tenant_id))
    assert code == 0
    assert "created" in out and "rejected rows" in out and "is not a valid email" in out


def test_fail_on_rejects_exits_65_after_importing_the_valid_rows(
        ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ("leads", "import", _csv(tmp_path), "--tenant", str(ws.tenant_id), "--json")
    code, out, _ = lad(ws.lad, capsys, *args, "--fail-on-rejects")
    assert code == 65 and json.loads(out)["rejected_rows"] == 1
    code, out, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path, b"email\nz@x.io\n"),
                       "--tenant", str(ws.tenant_id), "--fail-on-rejects")
    assert code == 0


def test_import_json_report(ws: Workspace, capsys: pytest.CaptureFixture[str],
                            tmp_path: Path) -> None:
    code, out, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant",
                       str(ws.tenant_id), "--json")
    report: dict[str, Any] = json.loads(out)
    assert code == 0 and (report["created"], report["skipped"], report["rejected_rows"]) == (
        1, 1, 1)
    assert set(report["seconds"]) == {"read", "validate", "dedupe", "write"}


def test_a_dry_run_writes_nothing(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path) -> None:
    lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant", str(ws.tenant_id),
        "--dry-run", "--on-duplicate", "update")
    code, out, _ = lad(ws.lad, capsys, "leads", "list", "--tenant", str(ws.tenant_id),
                       "--json")
    assert code == 0 and json.loads(out) == {"items": [], "next_cursor": None}


def test_export_then_list(ws: Workspace, capsys: pytest.CaptureFixture[str],
                          tmp_path: Path) -> None:
    lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant", str(ws.tenant_id))
    target = tmp_path / "out.csv"
    code, _, _ = lad(ws.lad, capsys, "leads", "export", "--tenant", str(ws.tenant_id),
                     "--output", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert code == 0 and [r["email"] for r in rows] == ["ada@x.io"]
    code, out, _ = lad(ws.lad, capsys, "leads", "list", "--tenant", str(ws.tenant_id),
                       "--json")
    assert [x["email"] for x in json.loads(out)["items"]] == ["ada@x.io"]


def test_an_export_to_a_missing_directory_is_one_line_and_exit_74(
        ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.csv"
    code, _, err = lad(ws.lad, capsys, "leads", "export", "--tenant", str(ws.tenant_id),
                       "--output", str(target))
    assert (code, err) == (74, f"error: cannot use {target}: No such file or directory\n")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "error: file: is empty"),
    (b"colour\nred\n", "none of its columns is known"),
    (b"email\nZo\x81@x.io\n", "is not valid cp1252 text (a bad byte at line 2)"),
])
def test_a_bad_file_is_one_line_and_exit_2(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path, content: bytes, message: str) -> None:
    code, _, err = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path, content), "--tenant",
                       str(ws.tenant_id))
    # One message (rich wraps it at the console's width), never a traceback.
    assert code == 2 and message in " ".join(err.split()) and "Traceback" not in err
    assert err.startswith("error: file:")


def test_usage_errors_are_exit_2(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.csv")
    assert lad(ws.lad, capsys, "leads", "import", missing, "--tenant", str(ws.tenant_id))[0] == 2
    code, _, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant",
                     str(ws.tenant_id), "--on-duplicate", "merge")
    assert code == 2


def test_an_unknown_tenant_is_exit_3(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    code, _, err = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path), "--tenant", "nope")
    assert code == 3 and err.startswith("error: no tenant")


MAPPED = b"E-mail,Private Email,Tier\nwork@x.io,me@x.io,gold\n"


@pytest.mark.parametrize("column_map", [
    ["--column-map", "Private Email=email", "--column-map", "E-mail=",
     "--column-map", "tier=custom.tier"],
    ["--column-map", '{"Private Email": "email", "E-mail": null, "Tier": "custom.tier"}'],
])
def test_a_column_map_places_columns(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path, column_map: list[str]) -> None:
    code, out, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path, MAPPED), "--tenant",
                       str(ws.tenant_id), "--json", *column_map)
    report: dict[str, Any] = json.loads(out)
    assert code == 0 and report["columns"] == [{"column": "Private Email", "field": "email"},
                                               {"column": "Tier", "field": "custom.tier"}]
    assert ws.lad.leads().list_leads(ws.owner, LeadFilter(), PageRequest()).items[0].email == (
        "me@x.io")


def test_the_text_summary_shows_the_mapping(ws: Workspace, capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, out, _ = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path, MAPPED), "--tenant",
                       str(ws.tenant_id), "--dry-run")
    assert code == 0 and "columns" in out and "E-mail" in out and "Private Email" in out


@pytest.mark.parametrize(("entry", "message"), [
    ("Nope=email", "error: column_map: 'Nope' is not a column of the file"),
    ("Tier=tier", "error: column_map: 'Tier': 'tier' is not a lead field"),
    ("Tier", "error: column_map: 'Tier' is not COLUMN=field"),
    ("{not json", "error: column_map: must be a JSON object"),
])
def test_a_bad_column_map_is_one_line_and_exit_2(
        ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path, entry: str,
        message: str) -> None:
    code, _, err = lad(ws.lad, capsys, "leads", "import", _csv(tmp_path, MAPPED), "--tenant",
                       str(ws.tenant_id), "--column-map", entry)
    assert code == 2 and " ".join(err.split()).startswith(message)
