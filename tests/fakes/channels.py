"""Channels that send nothing: they record what the engine hands them and answer what a
test scripts (sent, deferred, failed, unknown, or raise). Shared by the unit tests, the
integration tests and the benchmark."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import attrs

from lad_domain.outreach.channels import (
    AccountState,
    Delivery,
    MailLogin,
    Outcome,
    OutgoingEmail,
    VerifyReport,
    VerifyStage,
)

Answer = Delivery | Callable[[], Delivery] | BaseException


@attrs.define
class SentEmail:
    login: MailLogin
    email: OutgoingEmail


@attrs.define
class LinkedInAction:
    kind: str
    account_id: str
    profile: str
    text: str | None
    chat_id: str | None
    client_key: str


class _Script:
    def __init__(self) -> None:
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()

    def then(self, *answers: Answer) -> None:
        """The next answers, in order; after them every send is SENT."""
        with self._lock:
            self._answers.extend(answers)

    def next(self, sent: Delivery) -> Delivery:
        with self._lock:
            answer = self._answers.popleft() if self._answers else sent
        if isinstance(answer, BaseException):
            raise answer
        return answer() if callable(answer) else answer


class RecordingEmail:
    """An EmailChannel: records every send; SENT unless scripted otherwise."""

    def __init__(self) -> None:
        self.sent: list[SentEmail] = []
        self.script = _Script()
        self.verify_report = VerifyReport(VerifyStage.OK, "logged in")
        self._lock = threading.Lock()

    def send(self, login: MailLogin, email: OutgoingEmail) -> Delivery:
        answer = self.script.next(Delivery(outcome=Outcome.SENT, provider_id=email.message_id))
        if answer.outcome in (Outcome.SENT, Outcome.UNKNOWN):
            with self._lock:
                self.sent.append(SentEmail(login, email))
        return answer

    def verify(self, login: MailLogin) -> VerifyReport:
        return self.verify_report

    def to(self, address: str) -> list[OutgoingEmail]:
        return [s.email for s in self.sent if s.email.to_address == address]


class RecordingLinkedIn:
    """A LinkedInChannel: records every action; SENT unless scripted otherwise."""

    def __init__(self) -> None:
        self.actions: list[LinkedInAction] = []
        self.script = _Script()
        self.state = AccountState.CONNECTED
        self._lock = threading.Lock()

    def invite(self, account_id: str, profile: str, note: str | None, *,
               client_key: str) -> Delivery:
        return self._record(LinkedInAction("invite", account_id, profile, note, None,
                                           client_key))

    def message(self, account_id: str, profile: str, text: str, *, chat_id: str | None,
                client_key: str) -> Delivery:
        return self._record(LinkedInAction("message", account_id, profile, text, chat_id,
                                           client_key),
                            chat_id=chat_id or f"chat-{profile}")

    def account_state(self, account_id: str) -> AccountState:
        return self.state

    def _record(self, action: LinkedInAction, chat_id: str | None = None) -> Delivery:
        answer = self.script.next(Delivery(outcome=Outcome.SENT,
                                           provider_id=f"li-{action.client_key}",
                                           chat_id=chat_id))
        if answer.outcome in (Outcome.SENT, Outcome.UNKNOWN):
            with self._lock:
                self.actions.append(action)
        return answer
