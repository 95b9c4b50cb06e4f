"""docs/schema.md and the statements in docs/scaling.md are what ``lad db docs`` writes
from the current metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from lad_adapters.sql import schema_docs
from lad_adapters.sql.schema_docs import CITUS_BEGIN, CITUS_END
from lad_adapters.sql.tables import metadata
from lad_entrypoints.cli.main import create_cli, run
from lad_entrypoints.container import build_container
from tests.conftest import fast_settings

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_the_committed_schema_doc_is_current() -> None:
    assert (DOCS / "schema.md").read_text(encoding="utf-8") == schema_docs.render(), (
        "docs/schema.md is stale: run `lad db docs`")


def test_the_committed_citus_statements_are_current() -> None:
    scaling = (DOCS / "scaling.md").read_text(encoding="utf-8")
    assert scaling == schema_docs.with_citus_statements(scaling), (
        "docs/scaling.md is stale: run `lad db docs`")


def test_the_schema_doc_names_every_table_and_column() -> None:
    text = schema_docs.render()
    missing = [f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
               if f"### {t.name}\n" not in text or f"| `{c.name}` |" not in text]
    assert missing == []


def test_each_context_has_an_er_diagram() -> None:
    text = schema_docs.render()
    assert text.count("```mermaid\nerDiagram") == len(schema_docs.CONTEXTS)


def test_lad_db_docs_writes_then_finds_nothing_stale(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "scaling.md").write_text(f"{CITUS_BEGIN}\n{CITUS_END}\n", encoding="utf-8")
    cli = create_cli(lambda: build_container(fast_settings("memory://")))
    assert run(cli, ["db", "docs", "--out", str(tmp_path), "--check"]) == 1
    assert run(cli, ["db", "docs", "--out", str(tmp_path)]) == 0
    assert run(cli, ["db", "docs", "--out", str(tmp_path), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
