"""The ``lad`` command: builds the CLI around a container factory; maps errors once."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import typer

from lad_adapters.sql.database import DatabaseUnavailable
from lad_domain.shared.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Expired,
    InsufficientFunds,
    NotFound,
    PermissionDenied,
    Unavailable,
    ValidationFailed,
)
from lad_entrypoints.cli import (
    billing,
    campaigns,
    db,
    education,
    enrichment,
    icp,
    leads,
    outreach,
    tenancy,
    voice,
)
from lad_entrypoints.cli.common import CliState, container
from lad_entrypoints.cli.output import emit_one, errors
from lad_entrypoints.container import Container, build_container
from lad_entrypoints.logs import configure_logging, uvicorn_log_config
from lad_entrypoints.serving import RowLevelSecurityBypassed, check_database_role
from lad_entrypoints.worker import embedded_worker

if TYPE_CHECKING:
    from fastapi import FastAPI

@dataclasses.dataclass(frozen=True)
class Serving:
    """Where and how ``lad serve`` listens."""

    host: str
    port: int
    #: Server processes; more than one: each builds its own container from the same
    #: ``LAD_*`` environment (``lad_entrypoints.http.app:app_from_environment``).
    workers: int = 1
    access_log: bool = True


#: Starts the HTTP server; ``create_cli`` takes another so that tests stop before uvicorn.
Server = Callable[["FastAPI", Serving], None]

#: Exit codes by error; documented in the README.
EXIT_CODES: dict[type[DomainError], int] = {
    ValidationFailed: 2,
    NotFound: 3,
    Conflict: 4,
    PermissionDenied: 5,
    AuthenticationFailed: 6,
    Expired: 7,
    InsufficientFunds: 8,
    DatabaseUnavailable: 69,
    Unavailable: 69,
    RowLevelSecurityBypassed: 78,
}

#: sysexits' EX_IOERR: a file named on the command line could not be read or written.
EXIT_IO = 74


def uvicorn_server(app: FastAPI, serving: Serving) -> None:
    """uvicorn with its fast event loop and HTTP parser (uvloop and httptools, from the
    ``standard`` extra) when they are installed."""
    import uvicorn

    # LAD's request line replaces uvicorn's access log; LAD's logging is already set up
    # (in each process of several: log_config, before the process answers health checks).
    options: dict[str, Any] = {"host": serving.host, "port": serving.port,
                               "access_log": False, "log_config": None}
    if serving.workers == 1:
        uvicorn.run(app, **options)
    else:
        uvicorn.run("lad_entrypoints.http.app:app_from_environment", factory=True,
                    workers=serving.workers, timeout_worker_healthcheck=30,
                    **{**options, "log_config": uvicorn_log_config(access_log=serving.access_log)})


def installed_version() -> str:
    """The installed distribution's version (its metadata; the source tree's pyproject)."""
    try:
        return importlib.metadata.version("lad")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(asked: bool) -> None:
    if asked:
        print(f"lad {installed_version()}")
        raise typer.Exit(0)


def create_cli(container_factory: Callable[[], Container], *,
               server: Server = uvicorn_server) -> typer.Typer:
    cli = typer.Typer(name="lad", help="LAD: the sales-outreach backend.",
                      no_args_is_help=True, pretty_exceptions_enable=False,
                      add_completion=True)

    @cli.callback()
    def root(ctx: typer.Context,
             version: Annotated[bool, typer.Option(
                 "--version", is_eager=True, callback=_print_version,
                 help="Print LAD's version and exit.")] = False,
             ) -> None:
        ctx.obj = CliState(container_factory)

    @cli.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
        port: Annotated[int | None, typer.Option(help="Port.")] = None,
        workers: Annotated[int, typer.Option(
            min=1, max=64, help="Server processes (each with its own connection pool); "
            "more than one builds each from the LAD_* environment.")] = 1,
        access_log: Annotated[bool, typer.Option(
            help="Log a line for every request.")] = True,
    ) -> None:
        """Serve the HTTP API (OpenAPI docs at /docs). On PostgreSQL, refuses a database
        role that row-level security does not bind (see LAD_ALLOW_RLS_BYPASS)."""
        try:
            from lad_entrypoints.http.app import create_app
        except ModuleNotFoundError as missing:
            raise Unavailable(f"lad serve needs the HTTP server ({missing.name} is not "
                              "installed): pip install 'lad[server]'") from None

        lad = container(ctx)
        configure_logging(lad.settings(), access_log=access_log)
        warning = check_database_role(lad)
        if warning is not None:
            errors.print(warning, highlight=False, markup=False, soft_wrap=True)
        settings = lad.settings()
        with embedded_worker(lad):
            server(create_app(lad), Serving(host or settings.host, port or settings.port,
                                            workers=workers, access_log=access_log))

    @cli.command()
    def worker(
        ctx: typer.Context,
        once: Annotated[bool, typer.Option(
            "--once", help="Run what is due now (and read the mailboxes once), then "
            "stop.")] = False,
        concurrency: Annotated[int, typer.Option(
            min=1, max=64, help="Steps run side by side.")] = 1,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")
                           ] = False,
    ) -> None:
        """Run the worker: campaign steps, call batches (dial, and settle calls whose final
        event never came), replies and bounces.
        SIGTERM or Ctrl-C stops it gracefully: the steps in hand finish, nothing new is
        claimed. Prints what it did when it stops."""
        from lad_entrypoints.worker import Worker, stop_on_signals

        lad = container(ctx)
        configure_logging(lad.settings())
        warning = check_database_role(lad)
        if warning is not None:
            errors.print(warning, highlight=False, markup=False, soft_wrap=True)
        runner = Worker.of(lad, concurrency=concurrency)
        if not once:
            stop_on_signals(runner)
        report = runner.run(once=once)
        emit_one({"steps": report.total, **{str(k): v for k, v in sorted(report.steps.items())},
                  "rounds": report.rounds, "mailboxes_read": len(report.mailboxes),
                  "mailbox_errors": sum(1 for m in report.mailboxes if m.error),
                  **{f"calls_{k}": v for k, v in sorted(report.calls.items())},
                  **{f"calls_{k}": v for k, v in sorted(report.swept.items())}},
                 as_json=as_json)

    cli.add_typer(db.app, name="db")
    cli.add_typer(tenancy.tenants, name="tenants")
    cli.add_typer(tenancy.users, name="users")
    cli.add_typer(tenancy.members, name="members")
    cli.add_typer(leads.app, name="leads")
    cli.add_typer(education.app, name="education")
    cli.add_typer(billing.app, name="billing")
    cli.add_typer(campaigns.app, name="campaigns")
    cli.add_typer(outreach.app, name="outreach")
    cli.add_typer(voice.app, name="voice")
    cli.add_typer(icp.app, name="icp")
    cli.add_typer(enrichment.app, name="enrichment")
    return cli


def exit_code(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def run(cli: typer.Typer, args: list[str] | None = None) -> int:
    """Run the CLI; a domain error is one line on stderr and a non-zero exit code.

    Usage errors (unknown option, bad choice) are Typer's own: a message and exit code 2.
    """
    try:
        _ensure_text(sys.argv[1:] if args is None else args)
        cli(args=args, prog_name="lad")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except DomainError as error:
        reason = getattr(error, "reason", "")
        line = f"error: {error.message}" + (f" ({reason})" if reason else "")
        errors.print(line, highlight=False, markup=False, soft_wrap=True)
        return exit_code(error)
    except OSError as error:
        # A file the command was told to read or write (a directory that does not exist, a
        # full disk, no permission): the operator's to fix, not a traceback.
        where = f" {error.filename}" if error.filename else ""
        errors.print(f"error: cannot use{where}: {error.strerror or error}", highlight=False,
                     markup=False, soft_wrap=True)
        return EXIT_IO
    except pydantic.ValidationError as error:
        for problem in error.errors():
            name = "LAD_" + "_".join(str(p) for p in problem["loc"]).upper()
            errors.print(f"error: invalid setting {name}: {problem['msg']}", highlight=False,
                         markup=False, soft_wrap=True)
        return EXIT_CODES[ValidationFailed]
    return 0


def _ensure_text(args: list[str]) -> None:
    """Arguments that were not UTF-8 reach Python as lone surrogates: refuse them here, at
    the edge, naming the argument, as the HTTP edge refuses such text naming the field."""
    for position, arg in enumerate(args, start=1):
        if not arg.isascii():
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")
                raise ValidationFailed.single(
                    f"argument {position} ({shown})", "is not valid UTF-8") from None
        if "\x00" in arg:
            raise ValidationFailed.single(f"argument {position}", "contains NUL")


def main() -> None:
    sys.exit(run(create_cli(build_container)))
