"""The MIME message of an ``OutgoingEmail``, and Message-ID normalisation shared by the
sending and reading sides."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from lad_domain.outreach.channels import OutgoingEmail
from lad_domain.shared.validation import mail_address

_MESSAGE_IDS = re.compile(r"<[^<>]*>")


def normalise_message_id(value: str) -> str:
    """``" <abc@x>\\r\\n"`` -> ``"<abc@x>"``: the first bracketed id (brackets kept), or the
    stripped value when it has none."""
    found = _MESSAGE_IDS.search(value)
    return found.group(0).strip() if found else value.strip()


def message_ids(value: str) -> list[str]:
    """Every bracketed id of a References / In-Reply-To value, in order (a value without
    brackets is one id)."""
    found = [match.strip() for match in _MESSAGE_IDS.findall(value)]
    if found:
        return found
    stripped = value.strip()
    return [stripped] if stripped else []


def _text_encoding(text: str) -> str | None:
    """Quoted-printable for non-ASCII text: the message then passes servers without
    8BITMIME; ASCII text is left to the email package (7bit)."""
    return None if text.isascii() else "quoted-printable"


def envelope_address(address: str) -> str:
    """An address as SMTP carries it: the domain IDNA-encoded (``a@müller.de`` ->
    ``a@xn--mller-kva.de``); a local part beyond ASCII stays, and needs SMTPUTF8."""
    return mail_address(address)


def build_email(email: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """The message as it is sent: headers (display names RFC 2047-encoded when non-ASCII,
    domains IDNA-encoded), then text/plain alone, or multipart/alternative text/plain +
    text/html; UTF-8."""
    message = EmailMessage()
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["From"] = Address(display_name=email.from_name or "",
                              addr_spec=envelope_address(email.from_address))
    message["To"] = envelope_address(email.to_address)
    message["Subject"] = email.subject
    if email.in_reply_to:
        message["In-Reply-To"] = email.in_reply_to
    if email.references:
        message["References"] = " ".join(email.references)
    for name, value in email.headers.items():
        del message[name]  # an extra header replaces one of ours of the same name
        message[name] = value
    message.set_content(email.text, charset="utf-8", cte=_text_encoding(email.text))
    if email.html is not None:
        message.add_alternative(email.html, subtype="html", charset="utf-8",
                                cte=_text_encoding(email.html))
    return message
