"""Schema migrations: Alembic, configured in code so an installed package can migrate."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.exc import SAWarning

from lad_adapters.sql.database import translate_errors
from lad_domain.shared.errors import ValidationFailed

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _migrating() -> Iterator[None]:
    """Driver errors as domain errors; an unknown revision names the argument."""
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (lower(email)); nothing to act on.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        try:
            with translate_errors():
                yield
        except CommandError as error:
            raise ValidationFailed.single("revision", str(error)) from error


def upgrade(url: str, revision: str = "head") -> None:
    with _migrating():
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    with _migrating():
        command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    engine = _engine(url)
    try:
        return revision_of(engine)
    finally:
        engine.dispose()


def revision_of(engine: Engine) -> str | None:
    """The revision the database is at (None: nothing applied)."""
    with _migrating(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=pool.NullPool)
