"""``lad db``: migrations, the application role, partitions, schema docs and drift."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Connection

from lad_adapters.sql import drift, migrate, partitions, roles, schema_docs
from lad_adapters.sql.database import create_engine, translate_errors
from lad_entrypoints.cli.common import container
from lad_entrypoints.cli.output import console, emit
from lad_entrypoints.container import upgrade_database
from lad_entrypoints.settings import Settings

app = typer.Typer(help="The database schema: migrations, roles, partitions, docs.",
                  no_args_is_help=True)
partitions_app = typer.Typer(help="Monthly partitions (PostgreSQL).", no_args_is_help=True)
app.add_typer(partitions_app, name="partitions")

MonthsAhead = Annotated[int, typer.Option("--months-ahead", min=0, max=120,
                                          help="Months after the current one to prepare.")]
AppRole = Annotated[str | None, typer.Option(
    "--app-role", help="Grant this existing role what the application needs (PostgreSQL).")]


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = container(ctx).settings()
    if settings.is_memory:
        raise typer.BadParameter("the in-memory database has no migrations",
                                 param_hint="LAD_DATABASE_URL")
    return settings


@app.command()
def upgrade(ctx: typer.Context,
            revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
            months_ahead: MonthsAhead = 3, app_role: AppRole = None) -> None:
    """Apply migrations up to REVISION (default: head); on PostgreSQL also create the
    coming months' partitions and, with --app-role, grant the application role."""
    settings = _settings(ctx)
    if app_role is not None:
        _postgres_only(ctx, "application roles")
    upgrade_database(container(ctx), revision)
    console.print(f"database at {migrate.current(settings.migration_url) or 'base'}")
    if settings.migration_url.startswith("postgresql") and revision == "head":
        _print_created(_ensure_partitions(ctx, months_ahead))
        if app_role is not None:
            _grant(ctx, app_role, password=None, create=False)


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


@app.command("app-role")
def app_role(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="The role the application connects as.")],
    password: Annotated[str | None, typer.Option(
        envvar="LAD_APP_ROLE_PASSWORD", show_envvar=True,
        help="Set this login password (prefer the environment variable).")] = None,
    create: Annotated[bool, typer.Option(help="Create the role when it is missing.")] = True,
) -> None:
    """Create the application's PostgreSQL role if missing and grant it the tables, as the
    owner (LAD_MIGRATION_DATABASE_URL). Idempotent: run it after every upgrade."""
    _grant(ctx, role, password=password, create=create)


@app.command()
def diff(ctx: typer.Context) -> None:
    """List what differs between the database and the code's tables; exit 1 if anything."""
    found = drift.differences(_settings(ctx).migration_url)
    for difference in found:
        console.print(str(difference), markup=False, highlight=False)
    console.print(f"{len(found)} difference(s)")
    if found:
        raise typer.Exit(1)


#: The checkout's docs folder (src/lad_entrypoints/cli/db.py -> the repository root).
REPOSITORY = Path(__file__).resolve().parents[3]


@app.command()
def docs(
    out: Annotated[Path | None, typer.Option(
        help="The docs directory (default: the checkout's docs/).")] = None,
    check: Annotated[bool, typer.Option(help="Only check; exit 1 if a file is stale.")] = False,
) -> None:
    """Write docs/schema.md from the tables, and the Citus statements in docs/scaling.md."""
    if out is None:
        if not (REPOSITORY / "pyproject.toml").exists():
            raise typer.BadParameter("not run from a checkout; name the docs folder",
                                     param_hint="--out")
        out = REPOSITORY / "docs"
    schema, scaling = out / "schema.md", out / "scaling.md"
    wanted = {schema: schema_docs.render(),
              scaling: schema_docs.with_citus_statements(_read(scaling))}
    stale = [path for path, text in wanted.items() if _read(path) != text]
    for path in stale:
        if check:
            console.print(f"stale: {path} (run lad db docs)")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path], encoding="utf-8")
            console.print(f"wrote {path}")
    if not stale:
        console.print("docs are up to date")
    if check and stale:
        raise typer.Exit(1)


@partitions_app.command("ensure")
def ensure_partitions(ctx: typer.Context, months_ahead: MonthsAhead = 3) -> None:
    """Create this month's and the next N months' partitions that are missing."""
    _postgres_only(ctx, "partitions")
    _print_created(_ensure_partitions(ctx, months_ahead))


@partitions_app.command("list")
def list_partitions(ctx: typer.Context, as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON for scripts.")] = False) -> None:
    """The partitions of each partitioned table."""
    with _owner_connection(_postgres_only(ctx, "partitions")) as conn:
        found = partitions.existing(conn)
    emit([{"table": parent, "partition": child} for parent, children in found.items()
          for child in children], as_json=as_json)


def _postgres_only(ctx: typer.Context, what: str) -> str:
    url = _settings(ctx).migration_url
    if not url.startswith("postgresql"):
        raise typer.BadParameter(f"{what} exist on PostgreSQL only",
                                 param_hint="LAD_DATABASE_URL")
    return url


@contextmanager
def _owner_connection(url: str) -> Iterator[Connection]:
    """One transaction as the table owner; driver errors become domain errors."""
    engine = create_engine(url)
    try:
        with translate_errors(), engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _ensure_partitions(ctx: typer.Context, months_ahead: int) -> list[str]:
    today = container(ctx).clock().now().date()
    with _owner_connection(_settings(ctx).migration_url) as conn:
        return partitions.ensure(conn, today=today, months_ahead=months_ahead)


def _print_created(created: list[str]) -> None:
    console.print(f"created partitions: {', '.join(created)}" if created
                  else "partitions: nothing to create")


def _grant(ctx: typer.Context, role: str, *, password: str | None, create: bool) -> None:
    with _owner_connection(_postgres_only(ctx, "application roles")) as conn:
        granted = roles.ensure_app_role(conn, role, password=password, create=create)
    console.print(f"role {role}: granted {len(granted)} tables")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
