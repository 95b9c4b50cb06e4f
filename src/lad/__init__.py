"""LAD embedded in your program: ``lad.connect(url)`` builds the same use cases the HTTP
API and the ``lad`` command line call, on SQLite, PostgreSQL or in memory.

```python
import lad

with lad.connect("sqlite:///acme/lad.sqlite3") as app:   # migrates; state in acme/
    session = app.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                    password="correct horse battery")
    ada = app.tenancy().principal_for(user_id=session.user_id,
                                      tenant_id=session.tenant_id)
    lead = app.leads().create_lead(ada, {"email": "grace@example.com"})
```

Each use case is a provider of the container, called to get its service:
``app.tenancy()``, ``app.team()``, ``app.leads()``, ``app.pipeline()``, ``app.billing()``,
``app.campaigns()``, ``app.outreach()``, ``app.calling()``, ``app.icp_assistant()``,
``app.enrichment()`` and the others of ``lad_entrypoints.container.Container``. Every use
case takes the acting ``Principal`` first and is held to the same access policy as an
HTTP client; its errors are the domain's (``lad.NotFound``, ``lad.Conflict``, ...).

What it writes: nothing outside the state directory (see ``connect``) and the database
file you name; ``memory://`` writes nothing at all. It reads no ``LAD_*`` environment
variable: the settings are the keyword arguments you pass.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

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
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints import container as composition
from lad_entrypoints.settings import MEMORY_URL, Settings

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "DomainError",
    "Expired",
    "InsufficientFunds",
    "Lad",
    "NotFound",
    "Page",
    "PageRequest",
    "PermissionDenied",
    "Principal",
    "Role",
    "Unavailable",
    "ValidationFailed",
    "__version__",
    "connect",
]


def _version() -> str:
    """The installed distribution's version; in a source tree that was never installed,
    the one ``pyproject.toml`` declares."""
    try:
        return metadata.version("lad")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            declared: str = tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"
        return declared


__version__: str = _version()
"""The version of LAD (``"0.1.0"``): the installed distribution's."""


class EmbeddedSettings(Settings):
    """The settings ``connect`` was given, and the defaults: no ``LAD_*`` environment
    variable is read (an embedding program's environment is not its configuration)."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class Lad:
    """A connected LAD: the container of its use cases, its settings, and ``close()``.

    Attribute access reaches the container's providers: ``app.leads()`` is the lead
    service, ``app.leads.override(...)`` swaps it (dependency-injector's providers).
    Use it as a context manager, or call ``close()``: that stops the simulated Apollo and
    the local call service if a use case started them, and closes the database engine's
    connections. ``close()`` may be called more than once.
    """

    def __init__(self, container: composition.Container) -> None:
        self.container = container
        self.settings: Settings = container.settings()

    @property
    def state_dir(self) -> Path | None:
        """Where the generated secrets and attachments are kept; None for ``memory://``,
        which keeps everything in memory."""
        return None if self.settings.is_memory else self.settings.state_dir

    def upgrade(self, revision: str = "head") -> None:
        """Apply the schema migrations up to ``revision`` (a no-op for ``memory://``). On
        PostgreSQL this runs as ``migration_database_url`` when given (the tables' owner)."""
        composition.upgrade_database(self.container, revision)

    def close(self) -> None:
        """Stop what the use cases started on loopback and close the engine's connections."""
        composition.close(self.container)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.container.providers[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} has no use case or port "
                                 f"{name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.container.providers})

    def __repr__(self) -> str:
        kind = "memory" if self.settings.is_memory else self.settings.database_url.split(
            ":", 1)[0].split("+", 1)[0]
        return f"<Lad {kind} state_dir={str(self.state_dir)!r}>"


def connect(database_url: str = MEMORY_URL, *, state_dir: str | os.PathLike[str] | None = None,
            migrate: bool | None = None, **settings: Any) -> Lad:
    """Connect to a LAD database and build its use cases.

    Args:
        database_url: ``memory://`` (the in-memory adapters: nothing persisted, nothing
            written), ``sqlite:///PATH`` (relative to the working directory, or
            ``sqlite:////absolute/path``) or ``postgresql+psycopg://USER@HOST/DB`` (the
            ``postgres`` extra).
        state_dir: Where the generated JWT secret (``jwt_secret``), the key sealing
            mailbox passwords (``secret_key``) and lead attachments (``attachments/``) are
            kept. Unset, it is the SQLite database file's directory; PostgreSQL needs it
            named; ``memory://`` keeps them in memory. Nothing else is written anywhere.
        migrate: Apply the schema migrations first. Unset: yes on SQLite (an embedded
            database just works), no on PostgreSQL (migrate as the tables' owner, with
            ``lad db upgrade`` or ``Lad.upgrade()``, so that row-level security binds the
            application's role).
        **settings: Any other setting of ``lad_entrypoints.settings.Settings`` by its
            field name (``jwt_secret=...``, ``argon2_time_cost=1``,
            ``apollo_local=False``). The ``LAD_*`` environment variables are not read.

    Returns:
        The connected ``Lad``; close it (or use it as a context manager).

    Raises:
        TypeError: A setting's name is unknown.
        ValueError: A setting's value is refused (the message names the setting), or
            PostgreSQL without ``state_dir``.
        lad.Unavailable: PostgreSQL without its driver (``pip install 'lad[postgres]'``).
    """
    unknown = sorted(name for name in settings if name not in Settings.model_fields)
    if unknown:
        raise TypeError(f"connect() got unknown settings: {', '.join(unknown)} (see "
                        "lad_entrypoints.settings.Settings)")
    # Validated first, with a state directory nothing can be written into; then the real one.
    given = EmbeddedSettings(database_url=database_url, state_dir=Path(os.devnull), **settings)
    given = given.model_copy(update={"state_dir": _state_dir(given.database_url, state_dir)})
    app = Lad(composition.build_container(given))
    app.engine()  # PostgreSQL's driver is needed now, not at the first use case
    if migrate is None:
        migrate = given.database_url.startswith("sqlite:")
    if migrate:
        try:
            app.upgrade()
        except BaseException:
            app.close()
            raise
    return app


def _state_dir(database_url: str, named: str | os.PathLike[str] | None) -> Path:
    """The state directory, absolute (a later chdir does not move it)."""
    if named is not None:
        return Path(named).absolute()
    if database_url == MEMORY_URL:
        return Path(os.devnull)  # memory:// keeps its secrets and attachments in memory
    if database_url.startswith("sqlite:///"):
        database = database_url.removeprefix("sqlite:///")
        if database.startswith(":memory:") or not database:
            raise ValueError("database_url: an in-memory database is memory://, not "
                             "sqlite:///:memory:")
        return Path(database).absolute().parent
    raise ValueError("state_dir: name the directory for the generated secrets and "
                     "attachments (only a SQLite database has a default: its directory)")
