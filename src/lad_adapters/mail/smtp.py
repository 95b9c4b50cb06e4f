"""Sending one email over SMTP (stdlib ``smtplib``), each server answer mapped to a
``Delivery``. The conversation is driven command by command (MAIL, RCPT, DATA, the content,
the final reply) so that a failure is known by its stage: only a connection lost between the
content and the final reply leaves the outcome UNKNOWN."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.policy import SMTP as SMTP_POLICY

import attrs

from lad_adapters.mail.message import build_email, envelope_address
from lad_domain.outreach.channels import (
    Delivery,
    MailLogin,
    Outcome,
    OutgoingEmail,
    Security,
    VerifyReport,
    VerifyStage,
)

#: Codes that say the mailbox's own login is wrong or missing (535 bad credentials,
#: 534 the provider wants another mechanism / an app password, 530 authentication required).
AUTH_CODES = frozenset({530, 534, 535})
#: RCPT answers that say the recipient does not exist, when no enhanced code says otherwise.
NO_SUCH_RECIPIENT = frozenset({550, 551, 553})
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
#: Queue ids in a 250 reply: Postfix "queued as 4Xyz", Exim "id=1abc-...", "Ok <id>".
_QUEUE_ID = (re.compile(r"queued as\s+<?([^\s>]+)", re.IGNORECASE),
             re.compile(r"\bid=<?([^\s>]+)", re.IGNORECASE),
             re.compile(r"^(?:2\.\d{1,3}\.\d{1,3}\s+)?ok:?\s+<?([\w.@-]{6,})>?$", re.IGNORECASE))


class StageFailed(Exception):
    """Opening the session stopped at ``stage``; ``smtp_code`` when the server said it."""

    def __init__(self, stage: VerifyStage, detail: str, smtp_code: int | None = None) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail
        self.smtp_code = smtp_code


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def enhanced_code(text: str) -> str | None:
    """The RFC 3463 status at the start of a reply text ("5.1.1 No such user" -> "5.1.1")."""
    found = _ENHANCED.match(text.strip())
    return found.group(0) if found else None


def queue_id(text: str) -> str | None:
    for pattern in _QUEUE_ID:
        found = pattern.search(text.strip())
        if found:
            return found.group(1).rstrip(".,;")
    return None


def answer_delivery(stage: str, code: int, reply: bytes | str) -> Delivery:
    """What a refusal at ``stage`` (mail, rcpt, data, ...) means for this send."""
    text = _text(reply)
    reason = f"{stage}: {code} {text}".rstrip()
    enhanced = enhanced_code(text)
    if code in AUTH_CODES:
        return Delivery(Outcome.DEFERRED, reason=reason, code="auth")
    if 400 <= code < 500:
        return Delivery(Outcome.DEFERRED, reason=reason, code=str(code))
    if 500 <= code < 600:
        if enhanced is not None:
            hard = enhanced.startswith("5.1.") and stage in ("rcpt", "data")
        else:
            hard = stage == "rcpt" and code in NO_SUCH_RECIPIENT
        return Delivery(Outcome.FAILED, reason=reason, code=str(code), hard_bounce=hard)
    # A reply that is neither success nor refusal (a broken server): nothing was accepted.
    return Delivery(Outcome.DEFERRED, reason=reason, code=str(code))


def _failure_delivery(failure: StageFailed) -> Delivery:
    """A session that could not be opened says nothing of this message: DEFERRED, whatever
    the code (a login refused, 5xx included, is the mailbox's: code "auth")."""
    code = failure.smtp_code
    words = f"{code} {failure.detail}" if code is not None else failure.detail
    reason = f"{failure.stage}: {words}"
    if failure.stage is VerifyStage.AUTH and (code is None or code >= 500):
        return Delivery(Outcome.DEFERRED, reason=reason, code="auth")
    return Delivery(Outcome.DEFERRED, reason=reason, code=None if code is None else str(code))


def _wire(content: bytes) -> bytes:
    """The DATA content: CRLF lines, leading dots doubled (RFC 5321 4.5.2), the final dot."""
    content = re.sub(rb"\r\n|\r|\n", b"\r\n", content)
    content = re.sub(rb"(?m)^\.", b"..", content)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content + b".\r\n"


def _os_words(error: BaseException) -> str:
    if isinstance(error, socket.gaierror | ssl.SSLError) or not isinstance(error, OSError):
        return str(error) or type(error).__name__
    return error.strerror or str(error) or type(error).__name__


def trusting(login: MailLogin, ca_file: str | None) -> MailLogin:
    """The login, trusting ``ca_file`` too when it names no CA file of its own."""
    return login if login.ca_file or not ca_file else attrs.evolve(login, ca_file=ca_file)


def tls_context(login: MailLogin) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``login.ca_file`` when given; hostnames checked."""
    context = ssl.create_default_context()
    if login.ca_file:
        try:
            context.load_verify_locations(cafile=login.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise StageFailed(VerifyStage.TLS,
                              f"cannot load ca_file {login.ca_file}: {_os_words(error)}"
                              ) from error
    return context


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


class SmtpEmailChannel:
    """``EmailChannel`` over SMTP. ``helo_name``: the name given in EHLO (None: this
    host's fully qualified name); ``ca_file``: extra trusted CAs for every login that names
    none (LAD_MAIL_CA_FILE)."""

    def __init__(self, *, helo_name: str | None = None, ca_file: str | None = None) -> None:
        self.helo_name = helo_name
        self.ca_file = ca_file

    def open(self, login: MailLogin) -> smtplib.SMTP:
        """A session ready for MAIL FROM: resolved, connected, secured, logged in."""
        login = trusting(login, self.ca_file)
        try:
            socket.getaddrinfo(login.host, login.port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise StageFailed(VerifyStage.DNS, f"{login.host}: {_os_words(error)}") from error
        context = tls_context(login) if login.security is not Security.NONE else None
        client = self._connect(login, context)
        try:
            self._secure(client, login, context)
            self._login(client, login)
        except BaseException:
            client.close()
            raise
        return client

    def _connect(self, login: MailLogin, context: ssl.SSLContext | None) -> smtplib.SMTP:
        """Connected (TLS from the first byte for ``Security.TLS``), greeted, EHLO said."""
        try:
            if login.security is Security.TLS:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    login.host, login.port, local_hostname=self.helo_name,
                    timeout=login.timeout, context=context)
            else:
                client = smtplib.SMTP(login.host, login.port, local_hostname=self.helo_name,
                                      timeout=login.timeout)
        except smtplib.SMTPConnectError as error:  # a greeting other than 220
            raise StageFailed(VerifyStage.CONNECT, _text(error.smtp_error),
                              error.smtp_code) from error
        except ssl.SSLError as error:
            raise StageFailed(VerifyStage.TLS, _os_words(error)) from error
        except socket.gaierror as error:
            raise StageFailed(VerifyStage.DNS, f"{login.host}: {_os_words(error)}") from error
        except OSError as error:  # refused, unreachable, timed out, closed at once
            raise StageFailed(VerifyStage.CONNECT,
                              f"{login.host}:{login.port}: {_os_words(error)}") from error
        try:
            client.ehlo_or_helo_if_needed()
        except smtplib.SMTPHeloError as error:
            client.close()
            raise StageFailed(VerifyStage.CONNECT, _text(error.smtp_error),
                              error.smtp_code) from error
        except OSError as error:
            client.close()
            raise StageFailed(VerifyStage.CONNECT, f"EHLO: {_os_words(error)}") from error
        return client

    @staticmethod
    def _secure(client: smtplib.SMTP, login: MailLogin, context: ssl.SSLContext | None) -> None:
        if login.security is not Security.STARTTLS:
            return
        if not client.has_extn("starttls"):
            raise StageFailed(VerifyStage.TLS, "the server does not offer STARTTLS")
        try:
            client.starttls(context=context)
            client.ehlo()
        except smtplib.SMTPResponseException as error:
            raise StageFailed(VerifyStage.TLS, _text(error.smtp_error),
                              error.smtp_code) from error
        except OSError as error:  # ssl.SSLError included
            raise StageFailed(VerifyStage.TLS, _os_words(error)) from error

    @staticmethod
    def _login(client: smtplib.SMTP, login: MailLogin) -> None:
        if login.username is None:
            return
        if not client.has_extn("auth"):
            raise StageFailed(VerifyStage.AUTH, "the server offers no AUTH here")
        offered = client.esmtp_features["auth"].upper().split()
        # One attempt with PLAIN (else LOGIN): smtplib's login() would try every mechanism
        # in turn, each failure one more bad-password strike against the mailbox.
        mechanism = next((name for name in ("PLAIN", "LOGIN") if name in offered), None)
        try:
            if mechanism is None:
                client.login(login.username, login.password or "")
            else:
                client.user, client.password = login.username, login.password or ""
                client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        except smtplib.SMTPResponseException as error:
            raise StageFailed(VerifyStage.AUTH, _text(error.smtp_error),
                              error.smtp_code) from error
        except smtplib.SMTPException as error:  # no mechanism in common
            raise StageFailed(VerifyStage.AUTH, str(error)) from error
        except OSError as error:
            raise StageFailed(VerifyStage.AUTH, _os_words(error)) from error

    def send(self, login: MailLogin, email: OutgoingEmail) -> Delivery:
        international = not (envelope_address(email.from_address)
                             + envelope_address(email.to_address)).isascii()
        policy = SMTP_POLICY.clone(utf8=True) if international else SMTP_POLICY
        content = _wire(build_email(email).as_bytes(policy=policy))
        try:
            client = self.open(login)
        except StageFailed as failure:
            return _failure_delivery(failure)
        try:
            return self._transmit(client, email, content)
        finally:
            _quit(client)

    @staticmethod
    def _transmit(client: smtplib.SMTP, email: OutgoingEmail, content: bytes) -> Delivery:
        stage = "mail"
        sender, recipient = envelope_address(email.from_address), envelope_address(
            email.to_address)
        options: list[str] = []
        if not (sender + recipient).isascii():  # a local part beyond ASCII (RFC 6531)
            if not client.has_extn("smtputf8"):
                return Delivery(Outcome.FAILED, code="smtputf8", reason=(
                    "mail: the server does not offer SMTPUTF8, which an address with "
                    "characters beyond ASCII needs"))
            client.command_encoding = "utf-8"
            options.append("SMTPUTF8")
        try:
            code, reply = client.mail(sender, options)
            if code != 250:
                return answer_delivery(stage, code, reply)
            stage = "rcpt"
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                return answer_delivery(stage, code, reply)
            stage = "data"
            code, reply = client.docmd("DATA")
            if code != 354:
                return answer_delivery(stage, code, reply)
            client.send(content)
        except smtplib.SMTPServerDisconnected as error:
            return Delivery(Outcome.DEFERRED, reason=f"{stage}: {error}")
        try:
            code, reply = client.getreply()
        except smtplib.SMTPServerDisconnected as error:
            return Delivery(Outcome.UNKNOWN,
                            reason=f"data: no reply after the message was sent: {error}")
        if code == 250:
            return Delivery(Outcome.SENT, provider_id=queue_id(_text(reply)) or email.message_id)
        return answer_delivery(stage, code, reply)

    def verify(self, login: MailLogin) -> VerifyReport:
        try:
            client = self.open(login)
        except StageFailed as failure:
            detail = (f"{failure.smtp_code} {failure.detail}" if failure.smtp_code is not None
                      else failure.detail)
            return VerifyReport(failure.stage, detail)
        _quit(client)
        who = f"logged in as {login.username}" if login.username else "no login asked"
        return VerifyReport(VerifyStage.OK, f"{login.host}:{login.port} {login.security}; {who}")

