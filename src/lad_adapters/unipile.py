"""LAD's LinkedIn channel through Unipile's HTTP API (v1), and its webhooks.

``UnipileClient`` implements ``lad_domain.outreach.channels.LinkedInChannel``;
``webhook_is_authentic`` and ``parse_webhook`` turn a webhook delivery into a
``LinkedInEvent``.

The shapes used, from developer.unipile.com (v1):

- every call carries the header ``X-API-KEY``;
- ``GET /api/v1/users/{identifier}?account_id=`` answers a ``UserProfile`` whose
  ``provider_id`` is the person's LinkedIn id (``identifier``: a public identifier or a
  provider id);
- ``POST /api/v1/users/invite`` (JSON ``provider_id``, ``account_id``, ``message``; the
  message is at most 300 characters) answers ``{"object": "UserInvitationSent",
  "invitation_id": ...}``;
- ``POST /api/v1/chats/{chat_id}/messages`` (multipart form, ``text``) answers
  ``{"object": "MessageSent", "message_id": ...}``; ``POST /api/v1/chats`` (multipart form
  ``account_id``, ``attendees_ids``, ``text``) answers ``{"object": "ChatStarted",
  "chat_id": ..., "message_id": ...}``;
- ``GET /api/v1/accounts/{id}`` answers an ``Account`` whose ``sources`` each have a
  ``status`` (``OK``, ``CREDENTIALS``, ``ERROR``, ``STOPPED``, ``CONNECTING``...);
- errors are RFC 7807 documents ``{"type": "errors/...", "status", "title", "detail"}``;
  a disconnected account answers 401 ``errors/disconnected_account``.

Where the documentation is silent we chose, and say so here:

- the type of "an invitation is already pending": we read any 4xx whose type or detail says
  ``already_invited`` / ``invitation_pending`` / "already pending" as that (Unipile's
  ``errors/already_invited_recently`` is the one we expect);
- an answer of 401/403 that names neither a disconnection nor credentials is our API key
  refused: DEFERRED (nothing was sent, and the next lead would fail the same way), code
  ``"401"``/``"403"``;
- Unipile has no idempotency key, so ``client_key`` is not sent: duplicates are avoided by
  never resending a POST that may have reached the server (see below);
- a value that already looks like a LinkedIn provider id (``ACoA...``, ``ACwA...``,
  ``ADoA...``, ``AEA...``) is used as is, without asking ``/users``.

Retries (tenacity, exponential backoff with jitter) happen only where they cannot send
twice: GETs after a 5xx, a timeout or a connection failure; POSTs only when the request
never left (``httpx.ConnectError``, ``ConnectTimeout``, ``PoolTimeout``: no connection
carried it). A POST that timed out after it was sent, lost its connection, or got a 5xx
is UNKNOWN: it may have happened, and the engine settles it, never resending blindly.

Webhooks: Unipile lets a webhook carry custom headers; ours carries ``Unipile-Auth:
<secret>``, compared in constant time. ``message_received`` (LinkedIn sends our own
messages too: ``sender.attendee_provider_id == account_info.user_id`` is ignored),
``new_relation`` (an accepted invitation; LinkedIn reports it up to hours late, and it has
no timestamp) and the account-status webhook ``{"AccountStatus": {"account_id",
"message"}}`` (``CREDENTIALS`` or a status naming a disconnection) are normalised. The
account-status webhook documents no timestamp: when it has none, the event id uses the
time it was received, so that a later disconnection of the same account is not taken for
a repeat of this one (a repeated disconnection is harmless, a lost one is not).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

import httpx
import tenacity

from lad_adapters.http_client import ClosesItsClient, answer_object
from lad_adapters.http_client import retry_after as seconds_to_wait
from lad_domain.outreach.channels import (
    AccountState,
    Delivery,
    LinkedInEvent,
    LinkedInEventKind,
    Outcome,
)

log = logging.getLogger(__name__)

#: LinkedIn's limit on the note of an invitation.
NOTE_LIMIT: Final = 300
#: The header our webhook carries (set on the webhook at Unipile).
WEBHOOK_AUTH_HEADER: Final = "Unipile-Auth"

_PROVIDER_ID = re.compile(r"^(ACo|ACw|ADo|AE)A[A-Za-z0-9_-]{10,}$")
_PENDING_MARKERS = ("already_invited", "invitation_pending", "already pending",
                    "pending invitation", "invitation is pending")
_DISCONNECTED_MARKERS = ("disconnected", "credentials", "invalid_authorization")
_DISCONNECTED_STATUSES = frozenset({"CREDENTIALS", "DISCONNECTED"})


class UnipileUnavailable(Exception):
    """Unipile could not tell (unreachable, 5xx or throttled after the retries): raised
    only by ``account_state``, whose port has no "unknown" answer."""


class _Retryable(Exception):
    """A GET answered with a 5xx: worth another try."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _NotReached(Exception):
    """The request never reached the server (no connection carried it)."""


_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class UnipileClient(ClosesItsClient[httpx.Client]):
    """The LinkedIn channel over Unipile. One ``httpx.Client`` (a connection pool) per
    instance; ``close()`` it, or use it as a context manager."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0,
                 retries: int = 3, transport: httpx.BaseTransport | None = None,
                 backoff: float = 0.5) -> None:
        if not api_key:
            raise ValueError("a Unipile API key is required")
        self._api_key = api_key
        self._retries = max(0, retries)
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"X-API-KEY": api_key, "Accept": "application/json"})

    # -- LinkedInChannel ---------------------------------------------------------------

    def invite(self, account_id: str, profile: str, note: str | None, *,
               client_key: str) -> Delivery:
        if note is not None and len(note) > NOTE_LIMIT:
            return Delivery(Outcome.FAILED, code="note_too_long",
                            reason=f"the invitation note has {len(note)} characters; "
                                   f"LinkedIn allows {NOTE_LIMIT}")
        resolved = self._provider_id(account_id, profile)
        if isinstance(resolved, Delivery):
            return resolved
        body: dict[str, str] = {"provider_id": resolved, "account_id": account_id}
        if note:
            body["message"] = note
        sent = self._post("/api/v1/users/invite", json=body)
        if isinstance(sent, Delivery):
            return sent
        if sent.is_success:
            return Delivery(Outcome.SENT, provider_id=_field(sent, "invitation_id"),
                            code=str(sent.status_code))
        problem = _Problem.of(sent)
        if sent.status_code < 500 and problem.mentions(_PENDING_MARKERS):
            return Delivery(Outcome.SENT, code=problem.type or str(sent.status_code),
                            reason="LinkedIn refused a new invitation because one to this "
                                   "person is already pending: the invitation exists, so "
                                   "this step is done"
                                   + self._clean(problem.suffix()))
        return self._refused(sent, problem, what="the invitation")

    def message(self, account_id: str, profile: str, text: str, *, chat_id: str | None,
                client_key: str) -> Delivery:
        if chat_id:
            sent = self._post(f"/api/v1/chats/{quote(chat_id, safe='')}/messages",
                              files=[("text", (None, text))])
            if isinstance(sent, Delivery):
                return sent
            if sent.is_success:
                return Delivery(Outcome.SENT, provider_id=_field(sent, "message_id"),
                                code=str(sent.status_code), chat_id=chat_id)
            return self._refused(sent, _Problem.of(sent), what="the message")
        resolved = self._provider_id(account_id, profile)
        if isinstance(resolved, Delivery):
            return resolved
        sent = self._post("/api/v1/chats", files=[
            ("account_id", (None, account_id)),
            ("attendees_ids", (None, resolved)),
            ("text", (None, text)),
        ])
        if isinstance(sent, Delivery):
            return sent
        if sent.is_success:
            new_chat = _field(sent, "chat_id")
            return Delivery(Outcome.SENT,
                            provider_id=_field(sent, "message_id") or new_chat,
                            code=str(sent.status_code), chat_id=new_chat)
        return self._refused(sent, _Problem.of(sent), what="the message")

    def account_state(self, account_id: str) -> AccountState:
        answer = self._get(f"/api/v1/accounts/{quote(account_id, safe='')}")
        if isinstance(answer, str):
            raise UnipileUnavailable(f"the state of account {account_id} is unknown: {answer}")
        if answer.is_success:
            sources = answer_object(answer).get("sources")
            statuses = [str(s.get("status", "")).upper() for s in sources
                        if isinstance(s, dict)] if isinstance(sources, list) else []
            if statuses and all(status == "OK" for status in statuses):
                return AccountState.CONNECTED
            return AccountState.DISCONNECTED
        problem = _Problem.of(answer)
        if answer.status_code in (401, 403) and problem.mentions(_DISCONNECTED_MARKERS):
            return AccountState.DISCONNECTED
        if answer.status_code == 404:
            return AccountState.DISCONNECTED
        raise UnipileUnavailable(f"the state of account {account_id} is unknown: Unipile "
                                 f"answered {answer.status_code}"
                                 + self._clean(problem.suffix()))

    # -- the profile -------------------------------------------------------------------

    def _provider_id(self, account_id: str, profile: str) -> str | Delivery:
        """The person's provider id, or the Delivery that says why there is none (nothing
        was sent)."""
        identifier = profile_identifier(profile)
        if identifier is None:
            return Delivery(Outcome.FAILED, code="invalid_profile",
                            reason=f"not a LinkedIn profile: {profile!r}")
        if _PROVIDER_ID.match(identifier):
            return identifier
        answer = self._get(f"/api/v1/users/{quote(identifier, safe='')}",
                           params={"account_id": account_id})
        if isinstance(answer, str):
            return Delivery(Outcome.DEFERRED, code="unreachable",
                            reason=f"the profile {identifier!r} could not be read: {answer}")
        if answer.is_success:
            provider_id = _field(answer, "provider_id")
            if provider_id:
                return provider_id
            return Delivery(Outcome.DEFERRED, code=str(answer.status_code),
                            reason=f"Unipile's profile of {identifier!r} has no provider_id")
        problem = _Problem.of(answer)
        if answer.status_code >= 500:
            return Delivery(Outcome.DEFERRED, code=str(answer.status_code),
                            reason=f"the profile {identifier!r} could not be read: Unipile "
                                   f"answered {answer.status_code}"
                                   + self._clean(problem.suffix()))
        delivery = self._refused(answer, problem, what=f"the profile {identifier!r}")
        if delivery.outcome is Outcome.FAILED:
            return Delivery(Outcome.FAILED, code=delivery.code,
                            reason=f"the LinkedIn profile {identifier!r} could not be "
                                   f"found: Unipile answered {answer.status_code}"
                                   + self._clean(problem.suffix()))
        return delivery

    # -- outcomes ----------------------------------------------------------------------

    def _refused(self, answer: httpx.Response, problem: _Problem, *, what: str) -> Delivery:
        """The Delivery of a non-2xx answer (a POST's 5xx is UNKNOWN: it may have gone)."""
        status = answer.status_code
        detail = self._clean(problem.suffix())
        if status == 429:
            return Delivery(Outcome.DEFERRED, code="429",
                            retry_after=retry_after(answer.headers.get("Retry-After")),
                            reason=f"Unipile throttled {what} (429){detail}")
        if status in (401, 403):
            if problem.mentions(_DISCONNECTED_MARKERS):
                return Delivery(Outcome.DEFERRED, code="disconnected",
                                reason=f"the LinkedIn account is disconnected; {what} was "
                                       f"not sent{detail}")
            return Delivery(Outcome.DEFERRED, code=str(status),
                            reason=f"Unipile refused our API key ({status}); {what} was not "
                                   f"sent{detail}")
        if status >= 500:
            return Delivery(Outcome.UNKNOWN, code=str(status),
                            reason=f"Unipile answered {status} to {what}: it may or may not "
                                   f"have gone{detail}")
        return Delivery(Outcome.FAILED, code=problem.type or str(status),
                        reason=f"Unipile refused {what} ({status}){detail}")

    def _clean(self, text: str) -> str:
        """Never let the API key into a reason, even if a server echoes it."""
        return text.replace(self._api_key, "***")

    # -- HTTP ----------------------------------------------------------------------------

    def _retrying(self, retry_on: tuple[type[BaseException], ...]) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retries + 1),
            # Exponential backoff plus up to one backoff of jitter (wait_exponential_jitter
            # renamed its parameters across tenacity versions; these two never did).
            wait=(tenacity.wait_exponential(multiplier=self._backoff, max=self._backoff * 16)
                  + tenacity.wait_random(0, self._backoff)),
            retry=tenacity.retry_if_exception_type(retry_on),
            before_sleep=_log_retry,
            reraise=True,
        )

    def _get(self, path: str, *, params: Mapping[str, str] | None = None
             ) -> httpx.Response | str:
        """A GET, retried after a 5xx, a timeout or a connection failure; the answer, or
        why there is none (a string)."""
        def attempt() -> httpx.Response:
            response = self._http.get(path, params=params)
            if response.status_code >= 500:
                raise _Retryable(response)
            return response
        try:
            return self._retrying((_Retryable, httpx.TransportError))(attempt)
        except _Retryable as last:
            return last.response
        except httpx.TransportError as error:
            return self._clean(f"{type(error).__name__} after {self._retries + 1} attempts")

    def _post(self, path: str, **body: Any) -> httpx.Response | Delivery:
        """A POST, retried only while it never reached the server; UNKNOWN once it may
        have."""
        def attempt() -> httpx.Response:
            try:
                return self._http.post(path, **body)
            except _NEVER_SENT as error:
                raise _NotReached(type(error).__name__) from error
        try:
            return self._retrying((_NotReached,))(attempt)
        except _NotReached as error:
            return Delivery(Outcome.DEFERRED, code="unreachable",
                            reason=f"Unipile could not be reached ({error} after "
                                   f"{self._retries + 1} attempts); nothing was sent")
        except httpx.TransportError as error:
            return Delivery(Outcome.UNKNOWN, code=type(error).__name__,
                            reason=f"{type(error).__name__} after the request was sent: it "
                                   f"may or may not have gone")


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.info("unipile: retrying after %s (attempt %d)", type(error).__name__,
             state.attempt_number)


class _Problem:
    """An RFC 7807 error document, as far as it was one."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.type = _text(document.get("type"))
        self.title = _text(document.get("title"))
        self.detail = _text(document.get("detail"))

    @classmethod
    def of(cls, response: httpx.Response) -> _Problem:
        return cls(answer_object(response))

    def mentions(self, markers: tuple[str, ...]) -> bool:
        words = " ".join(part.lower() for part in (self.type, self.title, self.detail)
                         if part)
        return any(marker in words for marker in markers)

    def suffix(self) -> str:
        parts = [part for part in (self.type, self.detail or self.title) if part]
        return (": " + " - ".join(parts))[:300] if parts else ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _field(response: httpx.Response, name: str) -> str | None:
    return _text(answer_object(response).get(name))


def retry_after(value: str | None, *, now: Callable[[], datetime] | None = None
                ) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a duration; None when absent
    or unreadable."""
    seconds = seconds_to_wait(value, now() if now else datetime.now(UTC))
    return None if seconds is None else timedelta(seconds=seconds)


def profile_identifier(profile: str) -> str | None:
    """The identifier in a LinkedIn profile URL (``https://www.linkedin.com/in/jane-doe/``
    -> ``jane-doe``), or the public identifier / provider id given as is; None when it is
    a URL that is no profile."""
    profile = profile.strip()
    if not profile:
        return None
    if "://" not in profile and not profile.lower().startswith(("linkedin.com/", "www.")):
        return profile if "/" not in profile else None
    parts = urlsplit(profile if "://" in profile else "https://" + profile)
    host = (parts.hostname or "").lower()
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[0] == "in" and segments[1]:
        return segments[1]
    return None


# -- webhooks ------------------------------------------------------------------------------


def webhook_is_authentic(headers: Mapping[str, str], secret: str) -> bool:
    """Whether a webhook delivery carries our secret in ``Unipile-Auth`` (constant-time)."""
    if not secret:
        return False
    wanted = WEBHOOK_AUTH_HEADER.lower()
    given = next((value for name, value in headers.items() if name.lower() == wanted), None)
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def parse_webhook(raw: bytes, *, received_at: datetime | None = None) -> LinkedInEvent | None:
    """A Unipile webhook as a ``LinkedInEvent``; None for an event we ignore (our own
    message, a read receipt, an account back to OK...). Raises ValueError when the body is
    no Unipile webhook (not JSON, not an object, a known event missing its ids)."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the Unipile webhook is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError("the Unipile webhook is not a JSON object")
    status = document.get("AccountStatus")
    if status is not None:
        if not isinstance(status, dict):
            raise ValueError("the Unipile account-status webhook's AccountStatus is not an "
                             "object")
        return _account_status(status, received_at)
    event = document.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("the Unipile webhook names no event (no 'event', no "
                         "'AccountStatus')")
    if event == "message_received":
        return _message_received(document)
    if event == "new_relation":
        return _new_relation(document)
    return None


def _required(document: Mapping[str, Any], name: str, event: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the Unipile {event} webhook has no {name}")
    return value


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _public_id(url: object) -> str | None:
    """The public identifier in a profile URL; None when the URL carries a provider id."""
    if not isinstance(url, str):
        return None
    identifier = profile_identifier(url) if "/" in url else None
    if identifier is None or _PROVIDER_ID.match(identifier):
        return None
    return identifier


def _message_received(document: Mapping[str, Any]) -> LinkedInEvent | None:
    event = "message_received"
    message_id = _required(document, "message_id", event)
    account_id = _required(document, "account_id", event)
    chat_id = _required(document, "chat_id", event)
    sender = document.get("sender")
    if not isinstance(sender, dict):
        raise ValueError("the Unipile message_received webhook has no sender")
    sender_id = _text(sender.get("attendee_provider_id"))
    info = document.get("account_info")
    own_id = _text(info.get("user_id")) if isinstance(info, dict) else None
    if sender_id is not None and own_id is not None and sender_id == own_id:
        return None
    return LinkedInEvent(kind=LinkedInEventKind.MESSAGE_RECEIVED, event_id=message_id,
                         account_id=account_id, person_provider_id=sender_id,
                         person_public_id=_public_id(sender.get("attendee_profile_url")),
                         chat_id=chat_id, occurred_at=_timestamp(document.get("timestamp")))


def _new_relation(document: Mapping[str, Any]) -> LinkedInEvent:
    event = "new_relation"
    account_id = _required(document, "account_id", event)
    provider_id = _required(document, "user_provider_id", event)
    public_id = (_text(document.get("user_public_identifier"))
                 or _public_id(document.get("user_profile_url")))
    return LinkedInEvent(kind=LinkedInEventKind.NEW_RELATION,
                         event_id=f"{account_id}:{provider_id}", account_id=account_id,
                         person_provider_id=provider_id, person_public_id=public_id,
                         chat_id=None, occurred_at=_timestamp(document.get("timestamp")))


def _account_status(status: Mapping[str, Any], received_at: datetime | None
                    ) -> LinkedInEvent | None:
    event = "account-status"
    account_id = _required(status, "account_id", event)
    message = _required(status, "message", event).upper()
    if message not in _DISCONNECTED_STATUSES and "DISCONNECT" not in message \
            and "CREDENTIAL" not in message:
        return None
    occurred_at = _timestamp(status.get("timestamp"))
    moment = occurred_at or received_at or datetime.now(UTC)
    return LinkedInEvent(kind=LinkedInEventKind.ACCOUNT_DISCONNECTED,
                         event_id=f"{account_id}:{message}:{moment.isoformat()}",
                         account_id=account_id, person_provider_id=None,
                         person_public_id=None, chat_id=None, occurred_at=occurred_at)


class UnconfiguredLinkedIn:
    """The LinkedIn channel when Unipile is not set up (LAD_UNIPILE_URL and
    LAD_UNIPILE_API_KEY unset): every action is deferred, an hour at a time, saying so; nothing
    is sent, failed or counted."""

    REASON = "Unipile is not configured: set LAD_UNIPILE_URL and LAD_UNIPILE_API_KEY"

    def invite(self, account_id: str, profile: str, note: str | None, *,
               client_key: str) -> Delivery:
        return self._deferred()

    def message(self, account_id: str, profile: str, text: str, *, chat_id: str | None,
                client_key: str) -> Delivery:
        return self._deferred()

    def account_state(self, account_id: str) -> AccountState:
        raise UnipileUnavailable(self.REASON)

    def _deferred(self) -> Delivery:
        return Delivery(outcome=Outcome.DEFERRED, code="unconfigured", reason=self.REASON,
                        retry_after=timedelta(hours=1))
