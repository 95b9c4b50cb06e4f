"""The metadata against the production inventory (docs/seed/, a copy of ../shared/seed/):
every table it names, with every column it names, the types it gives, and its unique keys."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from lad_adapters.sql.tables import metadata
from lad_adapters.sql.types import JsonDocument

REPO = Path(__file__).resolve().parents[3]
SEED_NAME = "000_6dab9ea484df001b.txt"
SEED = REPO / "docs" / "seed" / SEED_NAME
SHARED_SEED = REPO.parent / "shared" / "seed" / SEED_NAME
TABLE_LINE = re.compile(r"^- \*\*([A-Z_]+)\*\* - [^(]*\(([^)]*)\)", re.M)
KEY = re.compile(r"([A-Z_]+)\(([^)]*)\)( WHERE [^+\n]*)?")
SEED_TYPES = {"JSONB": JsonDocument, "BIGINT": sa.BigInteger}


def _seed() -> str:
    text = SEED.read_text(encoding="utf-8")
    if SHARED_SEED.exists():  # beside the repository on developer machines and in CI
        assert text == SHARED_SEED.read_text(encoding="utf-8"), "docs/seed/ is out of date"
    return text


def _seed_tables() -> dict[str, list[list[str]]]:
    return {name.lower(): [c.split() for c in columns.split(",")]
            for name, columns in TABLE_LINE.findall(_seed())}


def test_the_seed_is_read_whole() -> None:
    """Guards the parser: the inventory's 49 tables and 5 unique keys are all found."""
    assert (len(_seed_tables()), len(KEY.findall(_key_section()))) == (49, 5)


def test_every_seed_table_exists_with_every_column_it_names() -> None:
    missing = [f"{table}.{column[0]}" for table, columns in _seed_tables().items()
               for column in columns
               if table not in metadata.tables or column[0] not in metadata.tables[table].c]
    assert missing == []


def test_the_types_the_seed_gives_are_kept() -> None:
    wrong = [f"{table}.{name}" for table, columns in _seed_tables().items()
             for name, *kind in columns if kind
             and not isinstance(metadata.tables[table].c[name].type, SEED_TYPES[kind[0]])]
    assert wrong == []


def _unique_keys(table: sa.Table) -> list[tuple[set[str], str]]:
    keys = [({c.name for c in u.columns}, "") for u in table.constraints
            if isinstance(u, sa.UniqueConstraint)]
    for index in table.indexes:
        if index.unique:
            where = index.dialect_options["postgresql"]["where"]
            keys.append(({str(getattr(e, "name", e)) for e in index.expressions},
                         "" if where is None else str(where)))
    return keys


def _key_section() -> str:
    return _seed().split("### 6.")[1].split("### 7.")[0]


def test_every_unique_key_the_seed_names_exists() -> None:
    missing = []
    for name, columns, where in KEY.findall(_key_section()):
        wanted = {c.strip() for c in columns.split(",")}
        predicate = where.removeprefix(" WHERE ").replace("'", "").replace(" ", "")
        found = [w.replace("'", "").replace(" ", "") for cols, w in
                 _unique_keys(metadata.tables[name.lower()]) if cols == wanted]
        if predicate not in found:
            missing.append(f"{name}({columns}){where}")
    assert missing == []
