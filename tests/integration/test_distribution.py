"""The distribution as installed: what `pip install lad` requires (the server and the
PostgreSQL driver only in extras), its licence metadata, and an environment that is
exactly requirements.lock."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
#: What embedding on SQLite must not install.
SERVER_AND_DRIVER = {"fastapi", "starlette", "uvicorn", "python-multipart", "limits", "redis",
                     "psycopg", "opentelemetry-api", "opentelemetry-sdk"}


def _requirements(extra: str | None) -> set[str]:
    """The names lad requires with ``extra`` (None: without any)."""
    found = set()
    for line in metadata.requires("lad") or []:
        requirement = Requirement(line)
        wanted = requirement.marker is None if extra is None else (
            requirement.marker is not None
            and requirement.marker.evaluate({**default_environment(), "extra": extra}))
        if wanted:
            found.add(canonicalize_name(requirement.name))
    return found


def test_embedding_installs_neither_the_server_nor_the_postgresql_driver() -> None:
    core = _requirements(None)
    assert {"sqlalchemy", "alembic", "dependency-injector", "attrs"} <= core
    assert core & SERVER_AND_DRIVER == set()
    assert {"fastapi", "starlette", "uvicorn", "python-multipart"} <= _requirements("server")
    assert _requirements("postgres") == {"psycopg"}
    assert _requirements("all") == {"lad"}  # lad[server,postgres]


def test_the_licence_is_declared_and_shipped() -> None:
    found = metadata.metadata("lad")
    assert found["License-Expression"] == "Apache-2.0"
    assert sorted(found.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator and version, f"requirements.lock: not a pin: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _closure(name: str, extras: frozenset[str], seen: set[tuple[str, frozenset[str]]]
             ) -> Iterator[str]:
    """Every distribution ``name[extras]`` needs here, itself included."""
    if (name, extras) in seen:
        return
    seen.add((name, extras))
    yield name
    for line in metadata.requires(name) or []:
        requirement = Requirement(line)
        applies = requirement.marker is None or any(
            requirement.marker.evaluate({**default_environment(), "extra": extra})
            for extra in extras | {""})
        if applies:
            yield from _closure(canonicalize_name(requirement.name),
                                frozenset(requirement.extras), seen)


def test_the_environment_is_the_lock() -> None:
    """Every package of lad[dev], and the venv's pip and setuptools, is pinned and installed
    at its pin (`make lock` after a change to the dependencies)."""
    pins = _locked()
    needed = set(_closure("lad", frozenset({"dev"}), set())) - {"lad"} | {"pip", "setuptools"}
    assert sorted(needed - set(pins)) == [], "not in requirements.lock: run `make lock`"
    installed = {name: metadata.version(name) for name in needed}
    assert {name: pins[name] for name in needed} == installed
