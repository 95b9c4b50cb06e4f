"""A campaign worker in a process of its own, for the tests that run several side by side
on PostgreSQL and kill some of them:

    python -m tests.integration.campaigns.worker_process --clock FILE --journal FILE \\
        --status FILE [--concurrency 4] [--send-delay 0.004]

The settings come from the environment (``LAD_DATABASE_URL`` and the rest), the container
is built from them as ``lad worker`` builds it, and two things are replaced: the email
channel is a journal (``tests.fakes.journal``: one line per send, in a file every process
appends to), and the clock is the test's.

The clock is a file the test writes, ``<generation> <ISO time>``: time stands still until
the test moves it, the same for every process. The worker reads it at the start of each
round (never in the middle of one: the steps in hand all see one time), and when a round
claims nothing it writes the generation it read to its status file: "at this time nothing
I can claim is due, and everything I claimed is settled". Once every live worker has said
so for the current generation, the test may move time on to the next thing due.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import attrs
from dependency_injector import providers

from lad_domain.billing.scope import each_tenant
from lad_domain.shared.clock import FixedClock
from lad_entrypoints.container import build_container, close
from lad_entrypoints.worker import Worker, stop_on_signals
from tests.fakes.journal import JournalEmail


def read_clock(path: Path) -> tuple[int, datetime]:
    """The test's clock: (generation, time)."""
    generation, at = path.read_text().split()
    return int(generation), datetime.fromisoformat(at)


def write_clock(path: Path, generation: int, at: datetime) -> None:
    """Move the test's clock (atomically: a reader sees the old line or the new one)."""
    _replace(path, f"{generation} {at.isoformat()}\n")


def read_status(path: Path) -> int:
    """The last generation at which the worker found nothing to do (-1: none yet)."""
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return -1


def _replace(path: Path, text: str) -> None:
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(text)
    os.replace(part, path)


@attrs.define
class PacedWorker(Worker):
    """A worker whose time is the test's clock file, saying when it has run out of work."""

    clock: FixedClock = attrs.field(kw_only=True)
    clock_file: Path = attrs.field(kw_only=True)
    status_file: Path = attrs.field(kw_only=True)
    #: The test that started it: should it die, the worker stops too.
    parent: int = attrs.field(kw_only=True, factory=os.getppid)

    def round(self, steps: ThreadPoolExecutor) -> int:
        if os.getppid() != self.parent:
            self.stop()
            return 0
        generation, at = read_clock(self.clock_file)
        self.clock.set(at)
        done = super().round(steps)
        if done == 0:
            _replace(self.status_file, f"{generation} {os.getpid()}\n")
        return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clock", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--send-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    lad = build_container()
    _, start = read_clock(args.clock)
    clock = FixedClock(start)
    lad.clock.override(providers.Object(clock))
    journal = JournalEmail(args.journal, delay=args.send_delay)
    lad.email_channel.override(providers.Object(journal))
    settings = lad.settings()
    scope = lad.tenant_scope()
    worker = PacedWorker(engine=lad.send_engine(), inbound=lad.inbound(),
                         tenants=lambda: list(each_tenant(scope)),
                         concurrency=args.concurrency,
                         poll_seconds=settings.worker_poll_seconds,
                         mailbox_every=float(settings.mailbox_poll_seconds),
                         clock=clock, clock_file=args.clock, status_file=args.status)
    stop_on_signals(worker)
    try:
        report = worker.run()
    finally:
        journal.close()
        close(lad)
    print(dict(report.steps), flush=True)
    return 1 if report.steps.get("error") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
