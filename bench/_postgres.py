"""A fresh PostgreSQL database for a benchmark, as the owner and as an application role."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import sqlalchemy as sa

from lad_adapters.sql import migrate
from lad_adapters.sql.roles import ensure_app_role

ADMIN_URL = os.environ.get("LAD_BENCH_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def postgres_database(prefix: str, app_role: str = "lad_bench_app"
                      ) -> Iterator[tuple[str, str]]:
    """A fresh database migrated to head: (owner URL, application-role URL). The
    application role is neither superuser nor owner, so row-level security binds it."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    owner_url = sa.make_url(ADMIN_URL).set(database=name)
    try:
        migrate.upgrade(owner_url.render_as_string(False))
        engine = sa.create_engine(owner_url)
        with engine.begin() as conn:
            ensure_app_role(conn, app_role)
        engine.dispose()
        app_url = owner_url.set(username=app_role, password=None)
        yield owner_url.render_as_string(False), app_url.render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{app_role}"'))
        admin.dispose()
