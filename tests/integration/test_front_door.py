"""The library's front door: ``import lad``; ``lad.connect(url)`` builds the use cases,
writes nothing outside the state directory, embeds on SQLite without the web server or the
PostgreSQL driver, and closes what it opened."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import tomllib
import urllib.parse
from importlib import metadata
from pathlib import Path

import pytest

import lad
from lad_domain.shared.pagination import PageRequest
from tests.conftest import _empty_postgres, app_role_url

ROOT = Path(__file__).resolve().parents[2]
FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}

#: Signs up a tenant and adds a lead through the services, then prints what it saw as JSON.
#: ``{url}``, ``{state_dir}`` and ``{extra}`` (more statements inside the block) are filled in.
TOUR = """
import json, lad
with lad.connect({url!r}, state_dir={state_dir!r}, argon2_time_cost=1,
                 argon2_memory_kib=1024) as app:
    session = app.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                    password="correct horse battery")
    ada = app.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    lead = app.leads().create_lead(ada, {{"email": "grace@example.com", "first_name": "Grace"}})
    seen = {{"lead": app.leads().get_lead(ada, lead.id).email, "state_dir": str(app.state_dir)}}
{extra}
print(json.dumps(seen))
"""

#: Refuses the server's and the PostgreSQL driver's packages, as if not installed.
BLOCKER = """
import importlib.abc, sys
REFUSED = {"fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "psycopg",
           "psycopg_binary", "opentelemetry", "limits", "redis"}
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"No module named {name!r} (refused)", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
"""


def _run(script: str, cwd: Path, home: Path) -> dict[str, object]:
    """Run ``script`` in a fresh interpreter in ``cwd``, with its own empty home and
    temporary directory and no LAD_* variable; answer the JSON it printed last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAD_")}
    env.update(HOME=str(home), TMPDIR=str(home / "tmp"), PYTHONDONTWRITEBYTECODE="1")
    (home / "tmp").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """An empty working directory, an empty home, and a folder for the database."""
    found = {name: tmp_path / name for name in ("cwd", "home", "data")}
    for path in found.values():
        path.mkdir()
    return found


def test_connect_writes_only_into_the_state_directory(places: dict[str, Path],
                                                      sqlite_template: Path,
                                                      tmp_path: Path) -> None:
    # A migrated copy: connect finds it at the head (the tests below migrate afresh).
    shutil.copyfile(sqlite_template, places["data"] / "lad.sqlite3")
    state = tmp_path / "state"
    extra = textwrap.indent(textwrap.dedent("""
        app.lead_activity().add_attachment(ada, lead.id, file_name="brief.txt",
                                           content_type="text/plain", content=b"hello")
        app.outreach().add_email_account(ada, {
            "email": "sales@acme.test", "smtp_host": "smtp.acme.test", "smtp_port": 587,
            "smtp_security": "starttls", "smtp_username": "sales@acme.test",
            "smtp_password": "mailbox secret"}, verify=False)
    """), "    ")
    seen = _run(TOUR.format(url=f"sqlite:///{places['data'] / 'lad.sqlite3'}",
                            state_dir=str(state), extra=extra), places["cwd"], places["home"])
    assert seen == {"lead": "grace@example.com", "state_dir": str(state)}
    assert _tree(places["cwd"]) == []
    assert _tree(places["home"]) == ["tmp"]
    assert _tree(places["data"]) == ["lad.sqlite3"]
    written = _tree(state)
    assert {"jwt_secret", "secret_key", "attachments"} <= set(written)
    assert [(state / name).read_bytes() for name in written
            if name.startswith("attachments/") and (state / name).is_file()] == [b"hello"]
    assert (state / "jwt_secret").stat().st_mode & 0o077 == 0


def _readme_example() -> str:
    """The Python block of the README's "Library use" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Library use\n"):]
    return section[section.index("```python\n") + 10:section.index("```\n", 10)]


def test_the_readme_example_keeps_its_state_beside_the_database(
        places: dict[str, Path]) -> None:
    """The README's example as written: its state directory defaults to the directory of
    its SQLite file (acme/), and nothing else is written."""
    example = _readme_example()
    assert 'lad.connect("sqlite:///acme/lad.sqlite3")' in example
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAD_")}
    env.update(HOME=str(places["home"]), TMPDIR=str(places["home"]))
    done = subprocess.run([sys.executable, "-c", example], cwd=places["cwd"], env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert (done.returncode, done.stdout) == (0, "ada@acme.test owner\n"), done.stderr
    assert _tree(places["cwd"]) == ["acme", "acme/jwt_secret", "acme/lad.sqlite3"]
    assert _tree(places["home"]) == []


def test_memory_writes_nothing(places: dict[str, Path]) -> None:
    extra = textwrap.indent(textwrap.dedent("""
        app.lead_activity().add_attachment(ada, lead.id, file_name="brief.txt",
                                           content_type="text/plain", content=b"hello")
    """), "    ")
    seen = _run(TOUR.format(url="memory://", state_dir=None, extra=extra), places["cwd"],
                places["home"])
    assert seen == {"lead": "grace@example.com", "state_dir": "None"}
    assert _tree(places["cwd"]) == []
    assert _tree(places["home"]) == ["tmp"]


def test_embedding_on_sqlite_needs_neither_the_server_nor_the_postgresql_driver(
        places: dict[str, Path], tmp_path: Path) -> None:
    extra = textwrap.indent(textwrap.dedent("""
        seen["loaded"] = sorted({name.partition(".")[0] for name in sys.modules} & REFUSED)
        try:
            import fastapi
        except ModuleNotFoundError:
            seen["fastapi"] = "refused"
    """), "    ")
    script = BLOCKER + TOUR.format(url=f"sqlite:///{places['data'] / 'lad.sqlite3'}",
                                   state_dir=str(tmp_path / "state"), extra=extra)
    seen = _run(script, places["cwd"], places["home"])
    assert seen["lead"] == "grace@example.com"
    assert seen["loaded"] == []
    assert seen["fastapi"] == "refused"  # the blocker was in force


@pytest.mark.parametrize(("args", "url", "message"), [
    (["serve"], "memory://", "lad serve needs the HTTP server (fastapi is not installed): "
     "pip install 'lad[server]'"),
    (["db", "upgrade"], "postgresql://postgres@127.0.0.1/lad", "PostgreSQL needs its driver, "
     "psycopg, which is not installed: pip install 'lad[postgres]'"),
])
def test_the_command_line_names_the_extra_it_misses(args: list[str], url: str, message: str,
                                                    tmp_path: Path) -> None:
    script = BLOCKER + f"import sys\nsys.argv = ['lad', *{args!r}]\n" + (
        "from lad_entrypoints.cli.main import main\nmain()\n")
    env = {**os.environ, "LAD_DATABASE_URL": url, "LAD_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stderr.strip()) == (69, f"error: {message}")


def test_connecting_to_postgresql_without_its_driver_names_the_extra(
        places: dict[str, Path], tmp_path: Path) -> None:
    script = BLOCKER + textwrap.dedent(f"""
        import json, lad
        try:
            lad.connect("postgresql://postgres@127.0.0.1/lad", state_dir={str(tmp_path)!r})
        except lad.Unavailable as error:
            print(json.dumps({{"refused": str(error)}}))
    """)
    assert _run(script, places["cwd"], places["home"]) == {
        "refused": "PostgreSQL needs its driver, psycopg, which is not installed: "
                   "pip install 'lad[postgres]'"}


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def _open_files(path: Path) -> list[str]:
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd (Linux)")
def test_closing_stops_the_loopback_servers_and_releases_the_database(
        sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "lad.sqlite3"
    shutil.copyfile(sqlite_template, database)
    with lad.connect(f"sqlite:///{database}", migrate=False, **FAST) as app:
        session = app.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                        password="correct horse battery")
        apollo = app.apollo()
        apollo.get()  # the simulated Apollo starts on first use
        assert apollo.service is not None
        apollo_port = urllib.parse.urlsplit(apollo.service.url).port
        calls = app.voice_providers()
        calls.get("local")  # so does the local call service
        calls_port = urllib.parse.urlsplit(calls._services[0].url).port
        assert not _refused(apollo_port) and not _refused(calls_port)
        assert _open_files(database)
        engine = app.engine()
    assert _refused(apollo_port) and _refused(calls_port)
    assert engine.pool.checkedout() == 0
    assert _open_files(database) == []
    # The file is whole: a second connection reads what the first wrote.
    with lad.connect(f"sqlite:///{database}", **FAST) as again:
        owner = again.tenancy().principal_for(user_id=session.user_id,
                                              tenant_id=session.tenant_id)
        members = again.team().list_members(owner, PageRequest()).items
        assert [m.email for m in members] == ["ada@acme.test"]
        again.close()  # closing twice is harmless


@pytest.mark.postgres
def test_connecting_to_postgresql_keeps_its_state_in_the_named_directory(
        postgres_url: str, tmp_path: Path) -> None:
    """As the application role (row-level security binds it), migrating as the owner;
    nothing migrates unasked."""
    state = tmp_path / "state"
    try:
        with lad.connect(app_role_url(postgres_url), state_dir=state,
                         migration_database_url=postgres_url, **FAST) as app:
            app.upgrade()  # as the owner: the session's database is at the head already
            session = app.tenancy().sign_up(tenant_name="Acme", email="ada@acme.test",
                                            password="correct horse battery")
            ada = app.tenancy().principal_for(user_id=session.user_id,
                                              tenant_id=session.tenant_id)
            lead = app.leads().create_lead(ada, {"email": "grace@example.com"})
            assert app.leads().get_lead(ada, lead.id).email == "grace@example.com"
            assert app.state_dir == state
            engine = app.engine()
        assert engine.pool.checkedout() == 0
        assert _tree(state) == ["jwt_secret"]
    finally:
        _empty_postgres(postgres_url)


def test_connect_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAD_TOKEN_TTL_MINUTES", "5")
    monkeypatch.setenv("LAD_DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    with lad.connect(token_ttl_minutes=30) as app:
        assert app.settings.database_url == "memory://"
        assert app.settings.token_ttl_minutes == 30
        assert app.state_dir is None
        with lad.connect() as default:
            assert default.settings.token_ttl_minutes == 720


@pytest.mark.parametrize(("url", "settings", "error", "message"), [
    ("memory://", {"token_ttl": 5}, TypeError, "unknown settings: token_ttl"),
    ("memory://", {"token_ttl_minutes": 0}, ValueError, "token_ttl_minutes"),
    ("mysql://db", {}, ValueError, "database_url"),
    ("sqlite:///:memory:", {}, ValueError, "memory://"),
    ("postgresql://postgres@127.0.0.1/lad", {}, ValueError, "state_dir"),
])
def test_connect_refuses_what_it_cannot_use(url: str, settings: dict[str, object],
                                           error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        lad.connect(url, **settings)


def test_the_use_cases_are_the_containers_providers() -> None:
    with lad.connect() as app:
        assert {"tenancy", "team", "leads", "campaigns", "billing", "enrichment"} <= set(dir(app))
        with pytest.raises(AttributeError, match="no use case or port 'lead'"):
            app.lead  # noqa: B018
        assert repr(app) == "<Lad memory state_dir='None'>"


def test_version_is_the_distributions() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert lad.__version__ == metadata.version("lad") == declared
