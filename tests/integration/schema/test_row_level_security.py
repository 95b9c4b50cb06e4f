"""Row-level security on PostgreSQL: the application role sees and writes only the rows of
the tenant its transaction is scoped to."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lad_adapters.sql.tables import metadata
from lad_adapters.sql.tables.base import SCOPE
from lad_adapters.sql.tables.leads import leads
from lad_entrypoints.container import Container
from tests.conftest import APP_ROLE
from tests.integration.schema import rows
from tests.integration.schema.conftest import Engines

SCOPED = [t.name for t in metadata.sorted_tables if t.info[SCOPE] in ("tenant", "mixed")]


def test_every_tenant_and_mixed_table_forces_a_policy(engines: Engines) -> None:
    with engines.owner.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c WHERE c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)")).scalars()
        assert set(SCOPED) <= set(found)


def test_the_application_role_is_neither_superuser_nor_owner(engines: Engines) -> None:
    with engines.app.connect() as conn:
        role = conn.execute(sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles "
                                    "WHERE rolname = current_user")).one()
        owned = conn.execute(sa.text("SELECT count(*) FROM pg_tables "
                                     "WHERE tableowner = current_user")).scalar_one()
    assert (role.rolsuper, role.rolbypassrls, owned) == (False, False, 0)


def test_without_a_tenant_setting_no_row_is_visible(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        tenant_id = rows.tenant(conn, "acme")
        rows.lead(conn, tenant_id, "ada@acme.test")
        rows.call_log(conn, tenant_id, rows.NOW)
        rows.ledger_entry(conn, tenant_id)
    with engines.app.begin() as conn:
        counts = {name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                  for name in SCOPED}
    assert set(counts.values()) == {0}


def test_a_tenant_sees_only_its_own_rows(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a, b = rows.tenant(conn, "a"), rows.tenant(conn, "b")
        rows.lead(conn, a, "ada@a.test")
        rows.lead(conn, b, "bob@b.test")
    with engines.app.begin() as conn:
        rows.scope(conn, a)
        assert list(conn.execute(sa.select(leads.c.email)).scalars()) == ["ada@a.test"]


def test_a_tenant_cannot_insert_a_row_of_another(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a, b = rows.tenant(conn, "a"), rows.tenant(conn, "b")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            engines.app.begin() as conn:
        rows.scope(conn, a)
        rows.lead(conn, b, "intruder@a.test")


def test_a_tenant_cannot_update_a_row_of_another(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a, b = rows.tenant(conn, "a"), rows.tenant(conn, "b")
        theirs = rows.lead(conn, b, "bob@b.test")
    with engines.app.begin() as conn:
        rows.scope(conn, a)
        changed = conn.execute(leads.update().where(leads.c.id == theirs)
                               .values(first_name="Mallory")).rowcount
    with engines.owner.connect() as conn:
        name = conn.execute(sa.select(leads.c.first_name).where(leads.c.id == theirs)).scalar()
    assert (changed, name) == (0, None)


def test_a_tenant_cannot_move_its_row_to_another(engines: Engines) -> None:
    with engines.owner.begin() as conn:
        a, b = rows.tenant(conn, "a"), rows.tenant(conn, "b")
        mine = rows.lead(conn, a, "ada@a.test")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            engines.app.begin() as conn:
        rows.scope(conn, a)
        conn.execute(leads.update().where(leads.c.id == mine).values(tenant_id=b))


def test_partitions_are_not_reachable_around_the_policy(engines: Engines) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            engines.app.begin() as conn:
        conn.execute(sa.text("SELECT count(*) FROM voice_call_logs_default"))


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_test_suite_runs_the_application_as_that_role(backend: str,
                                                          container: Container) -> None:
    with container.engine().connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == APP_ROLE
