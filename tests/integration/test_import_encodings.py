"""Files as spreadsheets save them, imported through the CLI and over HTTP: a semicolon
CSV in cp1252 (Excel in Western Europe), UTF-16 and UTF-8 with a byte-order mark; the
encoding detected and reported, the names intact; a given encoding still wins, and a byte
it cannot decode is named by its line."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from tests.integration.tenancy.api import Account, sign_up

Capture = pytest.CaptureFixture[str]

#: What Excel saves as "CSV" where the comma is the decimal mark.
TEXT = "Vorname;Nachname;E-Mail;Firma\r\nJürgen;Groß;j@x.io;Müller & Söhne\r\n" \
       "Zoë;Ørsted;z@x.io;Café Crème\r\n"
NAMES = {("Jürgen", "Groß", "Müller & Söhne"), ("Zoë", "Ørsted", "Café Crème")}
MAPPING = {"Vorname": "first_name", "Nachname": "last_name", "E-Mail": "email",
           "Firma": "company"}
FILES = {
    "cp1252": TEXT.encode("cp1252"),
    "utf-16-le": TEXT.encode("utf-16"),  # with its byte-order mark, little-endian here
    "utf-16-be": codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    "utf-8": TEXT.encode("utf-8-sig"),  # with a byte-order mark, as Excel writes UTF-8
}


@pytest.fixture
def client(lad: Container) -> Iterator[TestClient]:
    with TestClient(create_app(lad)) as client:
        yield client


def _cli(lad: Container, capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = run(create_cli(lambda: lad), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _upload(client: TestClient, owner: Account, content: bytes, **form: str
            ) -> httpx.Response:
    return client.post("/v1/leads/import", files={"file": ("leads.csv", content, "text/csv")},
                       data=form, headers=owner.auth)


def _names(client: TestClient, owner: Account) -> set[tuple[Any, Any, Any]]:
    found = client.get("/v1/leads", headers=owner.auth).json()["items"]
    return {(x["first_name"], x["last_name"], x["company"]) for x in found}


def _column_map() -> list[str]:
    return ["--column-map", json.dumps(MAPPING)]


@pytest.mark.parametrize("encoding", list(FILES))
def test_the_cli_imports_a_spreadsheet_file_with_its_names_intact(
        encoding: str, lad: Container, client: TestClient, capsys: Capture,
        tmp_path: Path) -> None:
    owner = sign_up(client)
    path = tmp_path / "leads.csv"
    path.write_bytes(FILES[encoding])
    code, out, err = _cli(lad, capsys, "leads", "import", str(path), "--tenant",
                          str(owner.tenant_id), *_column_map(), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["encoding"], report["delimiter"], report["created"],
            report["rejected_rows"]) == (encoding, ";", 2, 0)
    assert [c["column"] for c in report["columns"]] == list(MAPPING)
    assert _names(client, owner) == NAMES


@pytest.mark.parametrize("encoding", list(FILES))
def test_an_upload_imports_a_spreadsheet_file_with_its_names_intact(
        encoding: str, client: TestClient) -> None:
    owner = sign_up(client)
    response = _upload(client, owner, FILES[encoding], column_map=json.dumps(MAPPING))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["encoding"], report["delimiter"], report["created"]) == (encoding, ";", 2)
    assert [c["column"] for c in report["columns"]] == list(MAPPING)  # no BOM in "Vorname"
    assert _names(client, owner) == NAMES


def test_the_cli_table_names_the_encoding(lad: Container, client: TestClient,
                                          capsys: Capture, tmp_path: Path) -> None:
    owner = sign_up(client)
    path = tmp_path / "leads.csv"
    path.write_bytes(FILES["cp1252"])
    code, out, _ = _cli(lad, capsys, "leads", "import", str(path), "--tenant",
                        str(owner.tenant_id), *_column_map(), "--dry-run")
    assert code == 0 and "cp1252" in out and "Vorname" in out


def test_a_given_encoding_wins_and_a_bad_byte_is_named_by_its_line(
        lad: Container, client: TestClient, capsys: Capture, tmp_path: Path) -> None:
    owner = sign_up(client)
    path = tmp_path / "leads.csv"
    path.write_bytes(FILES["cp1252"])
    code, _, err = _cli(lad, capsys, "leads", "import", str(path), "--tenant",
                        str(owner.tenant_id), "--encoding", "utf-8")
    assert code == 2 and "Traceback" not in err
    assert " ".join(err.split()) == ("error: file: is not valid utf-8 text (a bad byte at line "
                                     "2); save it as UTF-8 or give its encoding")
    body = _upload(client, owner, FILES["cp1252"], encoding="utf-8")
    assert body.status_code == 422
    assert body.json()["errors"][0]["field"] == "file"
    assert "is not valid utf-8 text (a bad byte at line 2)" in body.json()["detail"]
    # Latin-1 reads the same bytes: given, it is used (and reported by its codec's name).
    latin = _upload(client, owner, FILES["cp1252"], encoding="latin-1",
                    column_map=json.dumps(MAPPING)).json()
    assert (latin["encoding"], latin["created"]) == ("iso8859-1", 2)
    assert _names(client, owner) == NAMES


def test_a_detected_cp1252_file_with_an_undecodable_byte_names_its_line(
        client: TestClient) -> None:
    owner = sign_up(client)
    content = FILES["cp1252"] + b"Ada;Lo\x81;a@x.io;Acme\r\n"
    body = _upload(client, owner, content)
    assert body.status_code == 422
    assert "is not valid cp1252 text (a bad byte at line 4)" in body.json()["detail"]
    assert _names(client, owner) == set()
