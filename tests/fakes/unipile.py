"""A fake Unipile: a real HTTP server on 127.0.0.1 (a thread running
``http.server.ThreadingHTTPServer``) with the v1 endpoints LAD's LinkedIn channel calls,
their state (accounts, users, chats, invitations), a log of every request, and a script
of answers to give instead (throttles, outages, slow answers, refusals).

    with FakeUnipile() as fake:
        fake.add_account("acc-1", user_provider_id="ACoAAOwn...")
        jane = fake.add_user("jane-doe")
        fake.script(status=429, retry_after="7", method="POST", path="/api/v1/users/invite")
        client = UnipileClient(fake.url, fake.api_key)
        ...
        assert len(fake.requests_to("POST", "/api/v1/users/invite")) == 1

Endpoints: ``GET /api/v1/users/{identifier}?account_id=``, ``POST /api/v1/users/invite``
(JSON), ``POST /api/v1/chats`` and ``POST /api/v1/chats/{id}/messages`` (multipart or
urlencoded form), ``GET /api/v1/accounts/{id}``. Errors are RFC 7807 documents like
Unipile's (``{"object": "Error", "type": "errors/...", "status", "title", "detail"}``).
A second invitation from an account to the same person while the first is pending is
refused with 422 ``errors/already_invited_recently``; a disconnected account answers 401
``errors/disconnected_account`` to everything but ``GET /accounts/{id}`` (whose sources
then say ``CREDENTIALS``).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from tests.fakes.loopback import (
    Answer,
    JsonHandler,
    LoopbackFake,
    RecordedRequest,
    Scripted,
)
from tests.fakes.loopback import running as running_fake

_DEFAULT_TYPES = {
    400: "errors/invalid_parameters",
    401: "errors/disconnected_account",
    403: "errors/insufficient_permissions",
    404: "errors/resource_not_found",
    422: "errors/invalid_recipient",
    429: "errors/too_many_requests",
    500: "errors/unexpected_error",
    503: "errors/provider_unreachable",
}


@dataclass
class FakeAccount:
    id: str
    user_provider_id: str
    status: str = "OK"


@dataclass
class FakeUser:
    provider_id: str
    public_identifier: str
    first_name: str = "Jane"
    last_name: str = "Doe"


@dataclass
class FakeInvitation:
    id: str
    account_id: str
    provider_id: str
    message: str | None
    status: str = "PENDING"


@dataclass
class FakeChat:
    id: str
    account_id: str
    attendees: list[str]
    messages: list[tuple[str, str]] = field(default_factory=list)  # (message id, text)


def problem(status: int, error_type: str | None = None, detail: str = "") -> Answer:
    kind = error_type or _DEFAULT_TYPES.get(status, f"errors/http_{status}")
    return Answer(status, {"object": "Error", "status": status, "type": kind,
                            "title": kind.rsplit("/", 1)[-1].replace("_", " ").capitalize(),
                            "detail": detail or kind})


def _provider_id() -> str:
    return "ACoAA" + uuid.uuid4().hex[:20].upper()


class FakeUnipile(LoopbackFake):
    """The fake server. ``start()`` / ``stop()`` (or ``with``), ``url``, ``api_key``,
    ``requests``, ``script(...)``; the state is in ``accounts``, ``users``,
    ``invitations``, ``chats``."""

    name = "fake Unipile"

    def __init__(self, api_key: str = "fake-unipile-key") -> None:
        super().__init__(api_key)
        self.accounts: dict[str, FakeAccount] = {}
        self.users: dict[str, FakeUser] = {}  # by provider id
        self.invitations: list[FakeInvitation] = []
        self.chats: dict[str, FakeChat] = {}

    # -- life --------------------------------------------------------------------------

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            owner = fake

        return Handler

    # -- state -------------------------------------------------------------------------

    def add_account(self, account_id: str, *, user_provider_id: str | None = None,
                    status: str = "OK") -> FakeAccount:
        account = FakeAccount(account_id, user_provider_id or _provider_id(), status)
        with self._lock:
            self.accounts[account_id] = account
        return account

    def disconnect(self, account_id: str, status: str = "CREDENTIALS") -> None:
        with self._lock:
            self.accounts[account_id].status = status

    def add_user(self, public_identifier: str, provider_id: str | None = None) -> FakeUser:
        user = FakeUser(provider_id or _provider_id(), public_identifier)
        with self._lock:
            self.users[user.provider_id] = user
        return user

    def pending_invitation(self, account_id: str, provider_id: str) -> FakeInvitation:
        """An invitation already pending (sent outside LAD, or earlier)."""
        invitation = FakeInvitation("inv_" + uuid.uuid4().hex[:16], account_id, provider_id,
                                    None)
        with self._lock:
            self.invitations.append(invitation)
        return invitation

    # -- the script and the log --------------------------------------------------------

    def script(self, *, status: int | None = None, error_type: str | None = None,
               retry_after: str | None = None, delay: float = 0.0,
               body: dict[str, Any] | None = None, times: int = 1, method: str | None = None,
               path: str | None = None) -> None:
        """The next ``times`` requests matching ``method`` and ``path`` (a prefix; None:
        any) get this answer instead of the normal one: ``status`` with an error document
        of ``error_type`` (or ``body``), a ``Retry-After`` header when given; after
        ``delay`` seconds. ``status=None`` with a delay: the normal answer, late (the
        request still takes effect, as on a real server)."""
        with self._lock:
            self._script.append(Scripted(status=status, error_type=error_type,
                                         retry_after=retry_after, delay=delay, body=body,
                                         method=method, path=path, times=times))

    # -- serving (called on the server's threads) --------------------------------------

    def serve(self, request: RecordedRequest) -> Answer:
        scripted = self._record(request)
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            if scripted.status is not None:
                headers = {"Retry-After": scripted.retry_after} if scripted.retry_after else {}
                if scripted.body is not None:
                    return Answer(scripted.status, scripted.body, headers)
                answer = problem(scripted.status, scripted.error_type)
                answer.headers.update(headers)
                return answer
        if request.headers.get("x-api-key") != self.api_key:
            return problem(401, "errors/invalid_api_key", "wrong or missing X-API-KEY")
        try:
            with self._lock:
                return self._route(request)
        except Answer as answer:
            return answer

    def _route(self, request: RecordedRequest) -> Answer:
        parts = [unquote(p) for p in request.path.split("/") if p]
        if parts[:2] != ["api", "v1"]:
            raise problem(404, detail=f"no route {request.path}")
        route = parts[2:]
        if request.method == "GET" and len(route) == 2 and route[0] == "accounts":
            return self._get_account(route[1])
        if request.method == "GET" and len(route) == 2 and route[0] == "users":
            return self._get_user(route[1], request)
        if request.method == "POST" and route == ["users", "invite"]:
            return self._invite(request)
        if request.method == "POST" and route == ["chats"]:
            return self._start_chat(request)
        if request.method == "POST" and len(route) == 3 and route[0] == "chats" \
                and route[2] == "messages":
            return self._send_message(route[1], request)
        raise problem(404, detail=f"no route {request.method} {request.path}")

    def _connected(self, account_id: str | None) -> FakeAccount:
        account = self.accounts.get(account_id or "")
        if account is None:
            raise problem(404, detail=f"no account {account_id!r}")
        if account.status != "OK":
            raise problem(401, "errors/disconnected_account",
                          "The account appears to be disconnected from the provider service.")
        return account

    def _get_account(self, account_id: str) -> Answer:
        account = self.accounts.get(account_id)
        if account is None:
            raise problem(404, detail=f"no account {account_id!r}")
        return Answer(200, {
            "object": "Account", "id": account.id, "type": "LINKEDIN", "name": account.id,
            "created_at": "2026-01-01T00:00:00.000Z",
            "connection_params": {"im": {"id": account.user_provider_id}},
            "sources": [{"id": f"{account.id}_MESSAGING", "status": account.status}],
        })

    def _find_user(self, identifier: str) -> FakeUser:
        user = self.users.get(identifier) or next(
            (u for u in self.users.values() if u.public_identifier == identifier), None)
        if user is None:
            raise problem(422, "errors/invalid_recipient", "Recipient cannot be reached.")
        return user

    def _get_user(self, identifier: str, request: RecordedRequest) -> Answer:
        self._connected(_first(request.query.get("account_id")))
        user = self._find_user(identifier)
        return Answer(200, {
            "object": "UserProfile", "provider": "LINKEDIN", "provider_id": user.provider_id,
            "public_identifier": user.public_identifier, "first_name": user.first_name,
            "last_name": user.last_name,
        })

    def _invite(self, request: RecordedRequest) -> Answer:
        body = request.json if isinstance(request.json, dict) else {}
        account = self._connected(body.get("account_id"))
        user = self._find_user(str(body.get("provider_id", "")))
        message = body.get("message")
        if isinstance(message, str) and len(message) > 300:
            raise problem(400, "errors/too_many_characters",
                          "The provided content exceeds the character limit.")
        if any(i.account_id == account.id and i.provider_id == user.provider_id
               and i.status == "PENDING" for i in self.invitations):
            raise problem(422, "errors/already_invited_recently",
                          "An invitation has already been sent recently to this recipient.")
        invitation = FakeInvitation("inv_" + uuid.uuid4().hex[:16], account.id,
                                    user.provider_id, message if isinstance(message, str)
                                    else None)
        self.invitations.append(invitation)
        return Answer(201, {"object": "UserInvitationSent", "invitation_id": invitation.id})

    def _start_chat(self, request: RecordedRequest) -> Answer:
        account = self._connected(_first(request.form.get("account_id")))
        attendees = request.form.get("attendees_ids") or []
        if not attendees:
            raise problem(400, detail="attendees_ids is required")
        for attendee in attendees:
            self._find_user(attendee)
        chat = FakeChat(uuid.uuid4().hex[:22], account.id, list(attendees))
        message_id = uuid.uuid4().hex[:22]
        chat.messages.append((message_id, _first(request.form.get("text")) or ""))
        self.chats[chat.id] = chat
        return Answer(201, {"object": "ChatStarted", "chat_id": chat.id,
                             "message_id": message_id})

    def _send_message(self, chat_id: str, request: RecordedRequest) -> Answer:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise problem(404, detail=f"no chat {chat_id!r}")
        self._connected(chat.account_id)
        message_id = uuid.uuid4().hex[:22]
        chat.messages.append((message_id, _first(request.form.get("text")) or ""))
        return Answer(201, {"object": "MessageSent", "message_id": message_id})


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _form(content_type: str, body: bytes) -> dict[str, list[str]]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode(), keep_blank_values=True)
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    form: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            form.setdefault(name, []).append(payload.decode())
    return form


class _Handler(JsonHandler):
    owner: FakeUnipile

    def received(self, body: bytes) -> RecordedRequest:
        parts = urlsplit(self.path)
        content_type = self.headers.get("Content-Type", "")
        document: Any = None
        if content_type.startswith("application/json") and body:
            try:
                document = json.loads(body)
            except ValueError:
                document = None
        return RecordedRequest(
            method=self.command, path=parts.path, query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()}, body=body,
            json=document, form=_form(content_type, body))


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RefusingFirst(httpx.BaseTransport):
    """A transport whose first ``refusals`` requests go to a port that refuses the
    connection (a real ``httpx.ConnectError``: the request never left), the next ones to
    their real address. ``attempts`` counts them all."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.attempts = 0
        self._dead_port = refused_port()
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.refusals:
            request.url = request.url.copy_with(port=self._dead_port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def running() -> Iterator[FakeUnipile]:
    """A started fake, stopped afterwards (the body of a pytest fixture)."""
    yield from running_fake(FakeUnipile())
