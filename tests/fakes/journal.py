"""An email channel whose record survives its process: each send appends one JSON line to a
file, so that a test can count what several worker processes (some killed with SIGKILL)
really handed to the provider.

A line is written with one ``write`` on a descriptor opened with ``O_APPEND``: the lines of
processes writing side by side never interleave, and a write that returned is in the file
even when its process is killed the next instant (``fsync`` is only for power loss)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from lad_domain.outreach.channels import (
    Delivery,
    MailLogin,
    Outcome,
    OutgoingEmail,
    VerifyReport,
    VerifyStage,
)


class JournalEmail:
    """An EmailChannel: every send is one journal line, then SENT. ``delay`` seconds are
    spent around the write (half before, half after), which widens the window in which a
    killed worker leaves its send in ``sending``: killed before the line, nothing left;
    after it, the email left but its outcome was never recorded."""

    def __init__(self, path: Path, *, delay: float = 0.0, fsync: bool = False) -> None:
        self.path = path
        self.delay = delay
        self.fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def send(self, login: MailLogin, email: OutgoingEmail) -> Delivery:
        if self.delay:
            time.sleep(self.delay / 2)
        line = json.dumps({"message_id": email.message_id, "from": email.from_address,
                           "to": email.to_address, "subject": email.subject,
                           "pid": os.getpid()}, sort_keys=True) + "\n"
        os.write(self._fd, line.encode())
        if self.fsync:
            os.fsync(self._fd)
        if self.delay:
            time.sleep(self.delay / 2)
        return Delivery(outcome=Outcome.SENT, provider_id=email.message_id)

    def verify(self, login: MailLogin) -> VerifyReport:
        return VerifyReport(VerifyStage.OK, "the journal takes everything")

    def close(self) -> None:
        os.close(self._fd)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's lines in the order they were written (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
