"""The ledger is append-only in the database itself: a trigger refuses UPDATE and DELETE on
both dialects, and the application role may only read and insert on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from lad_adapters.sql.database import Db, create_engine
from lad_adapters.sql.tables.billing import billing_ledger_transactions as ledger
from lad_domain.shared.errors import Conflict
from tests.integration.schema import rows
from tests.integration.schema.conftest import Engines


def _sqlite_with_entry(template: Path, tmp_path: Path) -> sa.Engine:
    path = tmp_path / "lad.sqlite3"
    path.write_bytes(template.read_bytes())
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        rows.ledger_entry(conn, rows.tenant(conn, "a"))
    return engine


@pytest.mark.parametrize("change", [ledger.update().values(amount=0), ledger.delete()])
def test_sqlite_refuses_to_change_a_ledger_row(sqlite_template: Path, tmp_path: Path,
                                               change: sa.Executable) -> None:
    engine = _sqlite_with_entry(sqlite_template, tmp_path)
    with pytest.raises(Conflict, match="never changed"), engine.begin() as conn:
        Db(conn).execute(change)
    engine.dispose()


@pytest.mark.parametrize("change", [ledger.update().values(amount=0), ledger.delete()])
def test_postgres_refuses_to_change_a_ledger_row(engines: Engines,
                                                 change: sa.Executable) -> None:
    with engines.owner.begin() as conn:
        rows.ledger_entry(conn, rows.tenant(conn, "a"))
    with pytest.raises(Conflict, match="never changed"), engines.owner.begin() as conn:
        Db(conn).execute(change)


def test_the_application_role_may_not_even_try(engines: Engines) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            engines.app.begin() as conn:
        conn.execute(ledger.delete())
