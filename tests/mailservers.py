"""Real mail servers on loopback for the mail adapter tests: an aiosmtpd SMTP server whose
answers depend on the recipient, and a Dovecot IMAP server started as a child process with
its own configuration, users and maildirs in a temporary directory."""

from __future__ import annotations

import asyncio
import errno
import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from lad_domain.outreach.channels import MailLogin, Security

HOST = "127.0.0.1"
QUEUE_ID = "4QUEUE7X1"


#: How often a server is started on another free port when its first one was taken.
PORT_ATTEMPTS = 5


def free_port() -> int:
    """A port free right now. Another process (a test worker running beside this one, a
    client connection's ephemeral port) may take it before the server binds it: the
    servers below start again on another port when that happens."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _started(controller_on: Callable[[int], Controller], port: int | None = None
             ) -> Controller:
    """An aiosmtpd controller started on ``port``, or on a free port (another one should
    the first be taken in the meantime)."""
    for attempt in range(1 if port else PORT_ATTEMPTS):
        controller = controller_on(port or free_port())
        try:
            controller.start()
        except OSError as error:
            if port or error.errno != errno.EADDRINUSE or attempt == PORT_ATTEMPTS - 1:
                raise
            continue
        return controller
    raise AssertionError("unreachable")


# --- certificates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificates:
    """A test CA and a server certificate for 127.0.0.1 / localhost, as PEM files."""

    ca_file: str
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    issued = authority.issue_cert(HOST, "localhost")
    paths = Certificates(ca_file=str(directory / "ca.pem"),
                         cert_file=str(directory / "server.pem"),
                         key_file=str(directory / "server.key"))
    authority.cert_pem.write_to_path(paths.ca_file)
    issued.cert_chain_pems[0].write_to_path(paths.cert_file)
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(paths.cert_file, append=True)
    issued.private_key_pem.write_to_path(paths.key_file)
    for path in (directory, *map(Path, (paths.ca_file, paths.cert_file, paths.key_file))):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return paths


# --- SMTP ------------------------------------------------------------------------------------

#: What the server answers to RCPT TO:<local@...>.
RCPT_ANSWERS = {
    "busy": "450 4.2.1 Mailbox busy, try again later",
    "throttled": "421 4.7.0 Too many messages, slow down",
    "nobody": "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown",
    "moved": "551 User not local; please try <elsewhere@example.test>",
    "blocked": "550 5.7.1 Message refused by policy",
    "quota": "552 5.2.2 Mailbox full",
}
#: Recipients whose DATA goes wrong (the connection is closed, the reply is late, refused)
#: or is accepted without a queue id in the reply.
DROP, SLOW, SPAM, NO_QUEUE_ID = "drop", "slow", "spam", "noqueue"
USERNAME, PASSWORD = "sender@example.test", "s3cret-pass"


@dataclass
class SmtpBehaviour:
    """The aiosmtpd handler: answers by the recipient's local part; keeps what it accepts."""

    slow_seconds: float = 3.0
    received: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        answer = RCPT_ANSWERS.get(address.partition("@")[0])
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        local = envelope.rcpt_tos[0].partition("@")[0]
        if local == DROP:
            assert server.transport is not None
            server.transport.abort()
            return "250 never read"
        if local == SLOW:
            await asyncio.sleep(self.slow_seconds)
        if local == SPAM:
            return "554 5.7.1 Message content rejected"
        self.received.append(envelope)
        if local == NO_QUEUE_ID:
            return "250 OK"
        return f"250 2.0.0 Ok: queued as {QUEUE_ID}"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    good = (isinstance(auth_data, LoginPassword)
            and auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode())
    return AuthResult(success=good, handled=False)  # aiosmtpd answers 235 or 535


@dataclass
class SmtpServers:
    """One handler behind two listeners: STARTTLS offered on ``port``, implicit TLS on
    ``tls_port``; AUTH only once the connection is encrypted."""

    behaviour: SmtpBehaviour
    certificates: Certificates
    port: int
    tls_port: int

    def login(self, security: Security = Security.NONE, *, username: str | None = None,
              password: str | None = None, trusted: bool = True,
              timeout: float = 5.0) -> MailLogin:
        port = self.tls_port if security is Security.TLS else self.port
        return MailLogin(host=HOST, port=port, security=security, username=username,
                         password=password, timeout=timeout,
                         ca_file=self.certificates.ca_file if trusted else None)


@contextmanager
def smtp_servers(directory: Path) -> Iterator[SmtpServers]:
    certificates = make_certificates(directory / "certs")
    behaviour = SmtpBehaviour()
    common: dict[str, Any] = {"hostname": HOST, "server_hostname": "mx.example.test",
                              "authenticator": _authenticate, "auth_require_tls": True}
    starttls = _started(lambda port: Controller(
        behaviour, port=port, tls_context=certificates.server_context(), **common))
    try:
        # aiosmtpd does not see that a connection wrapped from the start is encrypted.
        implicit = _started(lambda port: Controller(
            behaviour, port=port, ssl_context=certificates.server_context(),
            **{**common, "auth_require_tls": False}))
        try:
            yield SmtpServers(behaviour, certificates, starttls.port, implicit.port)
        finally:
            implicit.stop()
    finally:
        starttls.stop()


@dataclass
class ScriptedSmtpBehaviour(SmtpBehaviour):
    """The same answers, and before them what a test scripts for a recipient's next
    attempts: ``rcpt_next[address]`` answered to RCPT TO (one answer an attempt, then the
    usual ones), ``drop_next`` recipients whose next DATA is read and then dropped without a
    reply (the message may have gone)."""

    rcpt_next: dict[str, list[str]] = field(default_factory=dict)
    drop_next: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        scripted = self.rcpt_next.get(address)
        if scripted:
            return scripted.pop(0)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.rcpt_tos and envelope.rcpt_tos[0] in self.drop_next:
            self.drop_next.discard(envelope.rcpt_tos[0])
            assert server.transport is not None
            server.transport.abort()
            return "250 never read"
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def starttls_server(behaviour: SmtpBehaviour, certificates: Certificates,
                    port: int | None = None) -> Iterator[int]:
    """One STARTTLS listener (AUTH once encrypted) on ``port``, a free one when None; its
    port. Leaving the block stops it, and another can listen on the same port later (a
    server that goes down and comes back)."""
    controller = _started(lambda free: Controller(
        behaviour, port=free, hostname=HOST, server_hostname="mx.example.test",
        authenticator=_authenticate, auth_require_tls=True,
        tls_context=certificates.server_context()), port)
    try:
        yield controller.port
    finally:
        controller.stop()


@contextmanager
def greeting_only(greeting: str) -> Iterator[int]:
    """A port whose server answers every connection with ``greeting`` and closes it (a
    server that refuses service: "421 ...", "554 ...")."""
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.1)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(greeting.encode() + b"\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stopping.set()
        thread.join()
        listener.close()


# --- Dovecot ---------------------------------------------------------------------------------

def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot",) if os.access(path, os.X_OK)), None)


def require_dovecot() -> str:
    """The IMAP tests need a real Dovecot: without one they fail, saying how to install it
    (a skipped test proves nothing; `.ci/run` installs it)."""
    binary = dovecot_binary()
    if binary is None:
        pytest.fail("dovecot is not installed: apt-get install -y dovecot-imapd")
    return binary


_DOVECOT_CONF = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = lad-test-{port}
log_path = {root}/dovecot.log
{users}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Gesendet {{
    special_use = \\Sent
  }}
}}
service imap-login {{
  {chroot}
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  {chroot}
}}
"""


@dataclass
class Dovecot:
    """A Dovecot process of this test session. As root the mail processes run as ``nobody``
    (Dovecot serves no mail as root); otherwise everything runs as the current user."""

    binary: str
    root: Path
    certificates: Certificates
    passwords: dict[str, str]
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def _identity(self) -> tuple[dict[str, str], int, int]:
        """The configuration's users and the mail uid/gid: as root, Dovecot's own users and
        ``nobody`` for the mail; otherwise the current user for everything, and no chroot
        (only root may chroot)."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return {"users": "", "chroot": ""}, nobody.pw_uid, nobody.pw_gid
        name = getpass.getuser()
        group = grp.getgrgid(os.getegid()).gr_name
        users = (f"default_internal_user = {name}\ndefault_login_user = {name}\n"
                 f"default_internal_group = {group}")
        return {"users": users, "chroot": "chroot ="}, os.geteuid(), os.getegid()

    def start(self) -> None:
        settings, uid, gid = self._identity()
        (self.root / "home").mkdir()
        os.chown(self.root / "home", uid, gid)
        (self.root / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{password}::::::\n"
                    for user, password in self.passwords.items()))
        for attempt in range(PORT_ATTEMPTS):
            if self._started(settings, uid, gid):
                return
            self.stop()
            if "in use" not in self.log() or attempt == PORT_ATTEMPTS - 1:
                break
            self.port, self.tls_port = free_port(), free_port()  # taken since: others
        raise RuntimeError(f"dovecot did not start:\n{self.log()}")

    def _started(self, settings: dict[str, str], uid: int, gid: int) -> bool:
        """Start Dovecot on ``port`` and ``tls_port``; whether it answers (False when it
        exited: see ``log``, e.g. a port in use)."""
        for previous in (self.root / "dovecot.out", self.root / "dovecot.log"):
            previous.unlink(missing_ok=True)
        config = self.root / "dovecot.conf"
        config.write_text(_DOVECOT_CONF.format(
            host=HOST, root=self.root, port=self.port, tls_port=self.tls_port, uid=uid,
            gid=gid, **settings, cert=self.certificates.cert_file,
            key=self.certificates.key_file))
        with (self.root / "dovecot.out").open("wb") as output:
            self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)],
                                            stdout=output, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with suppress(OSError), socket.create_connection((HOST, self.port), timeout=1
                                                             ) as probe:
                if probe.recv(64).startswith(b"* OK"):
                    # Ours, not a server that held the port first (ours would have exited).
                    return self.process.poll() is None
            time.sleep(0.05)
        return False

    def log(self) -> str:
        return "\n".join(path.read_text(errors="replace")
                         for path in (self.root / "dovecot.out", self.root / "dovecot.log")
                         if path.exists())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def login(self, user: str, security: Security = Security.NONE, *,
              password: str | None = None, trusted: bool = True) -> MailLogin:
        return MailLogin(host=HOST, port=self.tls_port if security is Security.TLS else self.port,
                         security=security, username=user,
                         password=self.passwords[user] if password is None else password,
                         timeout=5.0, ca_file=self.certificates.ca_file if trusted else None)

    @contextmanager
    def session(self, user: str) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(HOST, self.port, timeout=5)
        try:
            imap.login(user, self.passwords[user])
            yield imap
        finally:
            imap.logout()

    def append(self, user: str, raw: bytes, *, folder: str = "INBOX") -> int:
        """Store ``raw`` in ``folder`` (created when missing); its UID."""
        with self.session(user) as imap:
            quoted = f'"{folder}"'
            imap.create(quoted)  # NO when it exists: fine
            typ, data = imap.append(quoted, None, None, raw)
            assert typ == "OK", data
            answer = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            # "[APPENDUID <uidvalidity> <uid>] Append completed."
            return int(answer.split("]")[0].split()[-1])

    def empty(self, user: str, *folders: str) -> None:
        """Expunge every message of these folders of ``user`` (those that exist); their
        UIDs go on from where they were."""
        with self.session(user) as imap:
            for folder in folders:
                typ, data = imap.select(f'"{folder}"')
                if typ != "OK":
                    continue
                if data[0] not in (b"0", None):
                    imap.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                    imap.expunge()
                imap.close()

    def create(self, user: str, folder: str) -> None:
        with self.session(user) as imap:
            typ, data = imap.create(f'"{folder}"')
            assert typ == "OK", data

    def delete(self, user: str, folder: str) -> None:
        with self.session(user) as imap:
            typ, data = imap.delete(f'"{folder}"')
            assert typ == "OK", data


@contextmanager
def dovecot(passwords: dict[str, str]) -> Iterator[Dovecot]:
    """A running Dovecot with these users; its directory is readable by the mail user (a
    0755 directory of its own under the system temp dir, not pytest's 0700 one)."""
    binary = require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="lad-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(binary=binary, root=root, certificates=make_certificates(root / "certs"),
                     passwords=passwords)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
