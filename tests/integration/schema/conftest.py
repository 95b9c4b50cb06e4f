"""Schema test fixtures: PostgreSQL engines as the tables' owner and as the application
role, cleaned after each test, and a fresh database for tests that need an empty one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import attrs
import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL, _empty_postgres, app_role_url


@attrs.frozen
class Engines:
    owner: sa.Engine  # a superuser: row-level security never hides a row from it
    app: sa.Engine  # the application role: every query goes through the policies


@pytest.fixture
def engines(postgres_url: str) -> Iterator[Engines]:
    pair = Engines(sa.create_engine(postgres_url), sa.create_engine(app_role_url(postgres_url)))
    yield pair
    pair.owner.dispose()
    pair.app.dispose()
    _empty_postgres(postgres_url)


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database (the session one proves the server answers)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lad_schema_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
