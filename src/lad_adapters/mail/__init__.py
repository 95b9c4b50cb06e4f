"""Email adapters of outreach: SMTP sending (``smtp``), IMAP reading and classification of
replies and bounces (``imap``), and the MIME message both build on (``message``)."""

from lad_adapters.mail.imap import ImapMailboxReader, MailboxUnavailable, classify
from lad_adapters.mail.message import build_email, normalise_message_id
from lad_adapters.mail.smtp import SmtpEmailChannel

__all__ = ["ImapMailboxReader", "MailboxUnavailable", "SmtpEmailChannel", "build_email",
           "classify", "normalise_message_id"]
