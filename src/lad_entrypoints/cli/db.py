"""``lad db``: migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from lad_adapters.sql import migrate
from lad_entrypoints.cli.common import container
from lad_entrypoints.cli.output import console
from lad_entrypoints.container import upgrade_database
from lad_entrypoints.settings import Settings

app = typer.Typer(help="The database schema: migrations.", no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = container(ctx).settings()
    if settings.is_memory:
        raise typer.BadParameter("the in-memory database has no migrations",
                                 param_hint="LAD_DATABASE_URL")
    return settings


@app.command()
def upgrade(ctx: typer.Context,
            revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    _settings(ctx)
    upgrade_database(container(ctx), revision)
    console.print(f"database at {migrate.current(_settings(ctx).migration_url) or 'base'}")


@app.command()
def downgrade(ctx: typer.Context,
              revision: Annotated[str, typer.Argument(help="Target revision: base, -1, …")]
              ) -> None:
    """Revert migrations down to REVISION."""
    settings = _settings(ctx)
    migrate.downgrade(settings.migration_url, revision)
    console.print(f"database at {migrate.current(settings.migration_url) or 'base'}")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the database's revision and the code's head."""
    settings = _settings(ctx)
    console.print(f"current: {migrate.current(settings.migration_url) or 'base'}")
    console.print(f"head:    {migrate.head()}")
