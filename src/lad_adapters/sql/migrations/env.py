"""Alembic environment: runs on the URL or connection that ``sql.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from lad_adapters.sql.drift import OPTIONS
from lad_adapters.sql.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        user_module_prefix="lad_types.",
        **OPTIONS,  # the same comparison as ``drift.differences``
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run lad db upgrade")
run_migrations_online()
