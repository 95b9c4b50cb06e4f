"""What every command shares: the container from the Typer context, and the operator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from lad_domain.shared.errors import ValidationFailed
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container

OPERATOR = Principal.operator()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=200, help="Rows per page.")]
CursorOption = Annotated[str | None, typer.Option("--cursor", help="Continue a listing.")]
#: Every command that addresses a tenant names it with this one option (its slug or id);
#: where a command may also run across every tenant, the option is optional and the
#: command's help says what leaving it out does.
TENANT_HELP = "The tenant: its slug or id."
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help=TENANT_HELP)]
AnyTenantOption = Annotated[str | None, typer.Option("--tenant", "-t", help=TENANT_HELP)]


class CliState:
    """Held in the root Typer context; builds the container on first use, so that
    ``lad --help`` and usage errors touch no database."""

    def __init__(self, factory: Callable[[], Container]) -> None:
        self._factory = factory
        self._container: Container | None = None

    @property
    def container(self) -> Container:
        if self._container is None:
            self._container = self._factory()
        return self._container


def container(ctx: typer.Context) -> Container:
    state: CliState = ctx.find_root().obj
    return state.container


def tenant_id(ctx: typer.Context, slug_or_id: str) -> uuid.UUID:
    """The tenant ``--tenant`` names, by slug or id (unknown: NotFound, exit code 3)."""
    return container(ctx).team().find_tenant(OPERATOR, slug_or_id).id


def tenant_id_or_every(ctx: typer.Context, slug_or_id: str | None) -> uuid.UUID | None:
    """The tenant an optional ``--tenant`` names, or None (every tenant) without it."""
    return None if slug_or_id is None else tenant_id(ctx, slug_or_id)


def page(limit: int, cursor: str | None) -> PageRequest:
    return PageRequest.parse(limit=limit, cursor=cursor)


def read_text_file(path: Path, option: str) -> str:
    """A text file named on the command line (``--file``, ``@FILE``), as UTF-8: another
    encoding is an error naming the option, not a traceback; an unreadable file is the
    OSError the CLI reports with exit code 74."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValidationFailed.single(
            option, f"{path} is not UTF-8 text (a bad byte at offset {error.start}); save it "
            "as UTF-8") from None
