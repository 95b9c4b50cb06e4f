"""The PostgreSQL functions deployed by the migrations are exactly the newest definitions in
the migration files: a migration that writes a new version of a function but does not
execute it, or a function deployed by none, fails here.

Each function's newest definition is found by scanning the migration files (oldest first)
for ``CREATE [OR REPLACE] FUNCTION <name>``; the statement itself is taken from that
module's constants (so text the module fills in, such as ``{usage_prefix}``, is filled in).
It is created again in a scratch schema, in a transaction that is rolled back, and
``pg_get_functiondef`` of both (signature, result, language, options and body) must agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import attrs
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from lad_adapters.sql.migrate import MIGRATIONS

DEFINES = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:public\.)?(\w+)\s*\(", re.I)
PROBE = "lad_probe"
#: Functions in the public schema that no extension owns.
DEPLOYED = sa.text("""
    SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND NOT EXISTS (
           SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""")
DEFINITION = sa.text("""
    SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = :schema AND p.proname = :name""")


@attrs.frozen
class Definition:
    revision: str
    statement: str | None  # None: the file names it, but none of its constants holds it


def _statements(module: ModuleType) -> Iterator[str]:
    """The module's string constants, and the strings in its list and tuple constants."""
    for value in vars(module).values():
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str):
                yield text


def newest_definitions() -> dict[str, Definition]:
    """Each function's definition in the newest migration file that creates it."""
    found: dict[str, Definition] = {}
    oldest_first = reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))
    for script in oldest_first:
        named = set(DEFINES.findall(Path(str(script.path)).read_text()))
        held = {m.group(1): s for s in _statements(script.module)
                for m in [DEFINES.search(s)] if m}
        for name in named:
            found[name] = Definition(script.revision, held.get(name))
    return found


def _definition(conn: sa.Connection, schema: str, name: str) -> str:
    [text] = conn.execute(DEFINITION, {"schema": schema, "name": name}).scalars()
    return str(text)


@pytest.fixture
def owner(postgres_url: str) -> Iterator[sa.Connection]:
    """The migrated database as its owner, in a transaction that is rolled back."""
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        yield conn
        conn.rollback()
    engine.dispose()


def test_every_deployed_function_is_defined_by_a_migration(owner: sa.Connection) -> None:
    deployed = set(owner.execute(DEPLOYED).scalars())
    assert {"billing_post_usage", "lad_round_half_even"} <= deployed
    assert deployed == set(newest_definitions())


@pytest.mark.parametrize("name", sorted(newest_definitions()))
def test_the_deployed_function_is_its_newest_definition(owner: sa.Connection, name: str) -> None:
    newest = newest_definitions()[name]
    assert newest.statement is not None, (
        f"{newest.revision} creates {name} outside its module constants")
    owner.execute(sa.text(f"CREATE SCHEMA {PROBE}"))
    owner.execute(sa.text(f"SET LOCAL search_path = {PROBE}, public"))
    # A migration that fills in the tables' schema as it runs (0301: the narrow paths'
    # search_path) is read with the schema the tests migrate into.
    statement = newest.statement.replace("{schema}", "public")
    owner.execute(sa.text(statement))  # as Alembic's op.execute runs it
    written = _definition(owner, PROBE, name).replace(f"{PROBE}.", "public.", 1)
    assert _definition(owner, "public", name) == written, f"{name} differs from {newest.revision}"
