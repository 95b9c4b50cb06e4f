"""Backends for the tests: memory, SQLite (a copy of a migrated template file) and
PostgreSQL (one migrated database per session, emptied after each test)."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from dependency_injector import providers

from lad_adapters.sql import migrate, roles
from lad_adapters.sql.tables import metadata
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import Container, build_container, close
from lad_entrypoints.settings import Settings
from tests.examples import load_profile

POSTGRES_ADMIN_URL = os.environ.get(
    "LAD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("LAD_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true"
BACKENDS = ["memory", "sqlite", "postgres"]
#: The application connects as this role (not the owner, not a superuser), so the whole
#: suite runs under row-level security; migrations and cleaning run as the owner.
APP_ROLE = "lad_app"
HYPOTHESIS_PROFILE = load_profile()


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs `lad serve` or `lad worker` in this process configures logging for
    the whole process (configure_logging); put it back, so that later tests on this worker
    see the CLI's output without log lines."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger(), *(logger for logger in manager.loggerDict.values()
                                     if isinstance(logger, logging.Logger))]
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate)
             for logger in loggers]
    structlog_config = structlog.get_config()
    capturing = logging._warnings_showwarning is not None  # type: ignore[attr-defined]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.configure(**structlog_config)
    logging.captureWarnings(capturing)


def fast_settings(database_url: str, **extra: object) -> Settings:
    """argon2id with the cheapest parameters: the same code path, a fraction of the time."""
    return Settings(database_url=database_url, jwt_secret="test-secret-" + "x" * 32,
                    argon2_time_cost=1, argon2_memory_kib=1024, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session, dropped at the end."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        postgres_unreachable = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}"
        if REQUIRE_POSTGRES:
            pytest.fail(postgres_unreachable)
        pytest.skip(postgres_unreachable)
    name = f"lad_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    try:
        migrate.upgrade(url)
        _grant_app_role(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def app_role_url(owner_url: str) -> str:
    """The same database, reached as the application role."""
    return sa.make_url(owner_url).set(username=APP_ROLE, password=APP_ROLE
                                      ).render_as_string(False)


def _grant_app_role(url: str) -> None:
    """Roles are cluster-wide and test sessions (xdist workers) run side by side: the role
    is changed under an advisory lock taken in the admin database, which every session
    shares (an advisory lock is per database: one taken in the session's own database would
    not keep two sessions apart)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    engine = sa.create_engine(url)
    try:
        with admin.connect() as guard:
            guard.execute(sa.text("SELECT pg_advisory_lock(4242)"))
            try:
                with engine.begin() as conn:
                    roles.ensure_app_role(conn, APP_ROLE, password=APP_ROLE)
            finally:
                guard.execute(sa.text("SELECT pg_advisory_unlock(4242)"))
    finally:
        engine.dispose()
        admin.dispose()


def _empty_postgres(url: str) -> None:
    """Delete the rows of the tables that have any: a TRUNCATE of the whole schema costs
    a third of a second, this a few milliseconds. Triggers and foreign-key checks are off
    for it (replica mode), so the order does not matter and the append-only ledger empties."""
    engine = sa.create_engine(url)
    probe = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"
                               for t in metadata.sorted_tables)
    with engine.begin() as conn:
        filled = list(conn.execute(sa.text(probe)).scalars())
        if filled:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in filled:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))
            conn.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('voice_agents', 'id'), 1, false)"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Ask for ``backend`` (directly or through ``container``) to run on all three."""
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """memory:// unless the test asks for ``backend``."""
    backend = request.getfixturevalue("backend") if "backend" in request.fixturenames else "memory"
    if backend == "memory":
        yield "memory://"
    elif backend == "sqlite":
        path = tmp_path / "lad.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        yield app_role_url(url)
        _empty_postgres(url)


@pytest.fixture
def container(request: pytest.FixtureRequest, database_url: str) -> Iterator[Container]:
    extra = {}
    if database_url.startswith("postgresql"):
        extra["migration_database_url"] = request.getfixturevalue("postgres_url")
    lad = build_container(fast_settings(database_url, **extra))
    yield lad
    close(lad)


@pytest.fixture
def clock_start() -> datetime:
    """When the fixed clock starts; a context whose rules follow the calendar (billing
    periods) overrides this fixture, not ``clock``."""
    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock(container: Container, clock_start: datetime) -> FixedClock:
    """The container's clock, fixed before anything is built."""
    fixed = FixedClock(clock_start)
    container.clock.override(providers.Object(fixed))
    return fixed


@pytest.fixture
def lad(container: Container, clock: FixedClock) -> Container:
    """The container of the test's backend (memory:// unless it asks for ``backend``),
    its clock fixed."""
    return container


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (tests/examples.py)"
