"""The background worker: claims due campaign steps and runs them, claims due call-batch
entries and dials them, sweeps calls whose final event never came, and reads replies and
bounces from the mailboxes. ``lad worker`` runs one; on SQLite and in memory ``lad serve``
runs one on a thread beside the HTTP server (one writer, as SQLite wants).

Stopping (SIGTERM, SIGINT, ``stop()``) is graceful: the steps in hand are finished and
settled, nothing new is claimed.

Every log line written while a job runs names it (structlog's context variables): a
campaign step its tenant, enrollment, campaign and step; a dial its tenant, batch and
entry; a sweep or a mailbox read its tenant."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import attrs
from structlog.contextvars import bound_contextvars

from lad_domain.billing.scope import each_tenant
from lad_domain.campaigns.model import Claim
from lad_domain.campaigns.services.engine import SendEngine, StepResult
from lad_domain.campaigns.services.inbound import InboundService, MailboxPoll
from lad_domain.voice.ports import DialClaim
from lad_domain.voice.services.dialer import Dialer
from lad_entrypoints.container import Container
from lad_entrypoints.metrics import count_worker_step

log = logging.getLogger("lad.worker")


@attrs.define
class WorkerReport:
    steps: Counter[str] = attrs.field(factory=Counter)
    calls: Counter[str] = attrs.field(factory=Counter)
    rounds: int = 0
    mailboxes: list[MailboxPoll] = attrs.field(factory=list)
    #: Calls the sweep settled from the provider, and gave up as unknown.
    swept: Counter[str] = attrs.field(factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.steps.values())


@attrs.define
class Worker:
    engine: SendEngine
    inbound: InboundService
    tenants: Callable[[], list[uuid.UUID]]
    dialer: Dialer | None = None
    concurrency: int = 1
    poll_seconds: float = 1.0
    mailbox_every: float = 120.0
    sweep_every: float = 60.0
    stop_event: threading.Event = attrs.field(factory=threading.Event)
    report: WorkerReport = attrs.field(factory=WorkerReport)
    _last_mail: float = 0.0
    _last_sweep: float = 0.0

    @classmethod
    def of(cls, lad: Container, *, concurrency: int = 1) -> Worker:
        settings = lad.settings()
        scope = lad.tenant_scope()
        return cls(engine=lad.send_engine(), inbound=lad.inbound(),
                   tenants=lambda: list(each_tenant(scope)), dialer=lad.dialer(),
                   concurrency=concurrency,
                   poll_seconds=settings.worker_poll_seconds,
                   mailbox_every=float(settings.mailbox_poll_seconds))

    def stop(self) -> None:
        self.stop_event.set()

    def run(self, *, once: bool = False) -> WorkerReport:
        """Work until stopped; ``once``: until nothing is due now (and the mailboxes have
        been read once), then return."""
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="lad-step") as steps:
            while not self.stop_event.is_set():
                try:
                    if once or time.monotonic() - self._last_mail >= self.mailbox_every:
                        self.read_mailboxes()
                    if once or time.monotonic() - self._last_sweep >= self.sweep_every:
                        self.sweep_calls()
                    done = self.round(steps) + self.dial_round(steps)
                except Exception:
                    # The database went away, say: nothing was half-written (each step is
                    # its own transactions); wait and look again.
                    log.exception("the worker's round failed; retrying")
                    if once:
                        raise
                    done = 0
                if once and done == 0:
                    break
                if done == 0:
                    self.stop_event.wait(self.poll_seconds)
        return self.report

    def round(self, steps: ThreadPoolExecutor) -> int:
        """Claim as many due enrollments as there are free hands, and run them; the claim
        is made only while the worker is not stopping, so a stop loses nothing."""
        claims = self.engine.claim(self.concurrency * 4)
        if not claims:
            return 0
        self.report.rounds += 1
        for result in steps.map(self._run_one, claims):
            self.report.steps[result] += 1
            count_worker_step("campaign_step", result)
        return len(claims)

    def dial_round(self, calls: ThreadPoolExecutor) -> int:
        """Claim due call-batch entries for the free hands (within the concurrency limits
        the claim applies) and dial them."""
        if self.dialer is None:
            return 0
        claims = self.dialer.claim(self.concurrency * 4)
        for result in calls.map(self._dial_one, claims):
            self.report.calls[result] += 1
            count_worker_step("call", result)
        return len(claims)

    def _dial_one(self, claim: DialClaim) -> str:
        assert self.dialer is not None
        with bound_contextvars(tenant_id=str(claim.tenant_id), batch_id=str(claim.batch_id),
                               entry_id=str(claim.entry_id)):
            try:
                result = str(self.dialer.run(claim))
            except Exception:
                # The dial's transaction rolled back: its lease ends and it is claimed
                # again (a call written as queued is settled by its events or the sweep).
                log.exception("dialing a batch entry failed")
                return "error"
            log.info("batch entry dialed: %s", result, extra={"result": result})
            return result

    def sweep_calls(self) -> None:
        """Calls with no final event by their timeout: fetched, else given up as unknown."""
        self._last_sweep = time.monotonic()
        if self.dialer is None:
            return
        for tenant_id in self.tenants():
            with bound_contextvars(tenant_id=str(tenant_id)):
                try:
                    swept = self.dialer.sweep(tenant_id)
                except Exception:
                    log.exception("sweeping the calls of tenant %s failed", tenant_id)
                    continue
                if any(swept.values()):
                    log.info("overdue calls swept", extra={"swept": dict(swept)})
                self.report.swept.update(swept)

    def _run_one(self, claim: Claim) -> str:
        with bound_contextvars(tenant_id=str(claim.tenant_id),
                               enrollment_id=str(claim.enrollment_id),
                               **self._step_context(claim)):
            try:
                result = self.engine.run(claim)
            except Exception:
                # The step's transaction rolled back; its claim lease ends and the next
                # claim sees what was written (an unknown send is never resent).
                log.exception("a campaign step failed")
                return "error"
            if result is not StepResult.SKIPPED:
                log.info("campaign step ran: %s", result.value, extra={"result": result.value})
            return str(result)

    def _step_context(self, claim: Claim) -> dict[str, object]:
        """The claimed enrollment's campaign and step, for the step's log lines (the claim
        itself carries ids only): one read in the tenant's scope. Nothing when it cannot
        be read: the step itself then fails, and is logged, with the ids it has."""
        try:
            with self.engine.scope.uow(claim.tenant_id, reading=True) as uow:
                enrollment = uow.enrollments.get(claim.enrollment_id)
        except Exception:
            return {}
        if enrollment is None:
            return {}
        return {"campaign_id": str(enrollment.campaign_id), "step": enrollment.step_order}

    def read_mailboxes(self) -> None:
        self._last_mail = time.monotonic()
        for tenant_id in self.tenants():
            with bound_contextvars(tenant_id=str(tenant_id)):
                try:
                    polls = self.inbound.poll_mailboxes(tenant_id)
                except Exception:
                    log.exception("reading the mailboxes of tenant %s failed", tenant_id)
                    continue
                for poll in polls:
                    if poll.error:
                        log.warning("mailbox %s: %s", poll.account_id, poll.error,
                                    extra={"account_id": str(poll.account_id)})
                self.report.mailboxes.extend(polls)


def stop_on_signals(worker: Worker) -> None:
    """SIGTERM and SIGINT stop the worker gracefully (main thread only)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the steps in hand, claiming nothing new", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)



@contextlib.contextmanager
def embedded_worker(lad: Container) -> Iterator[Worker | None]:
    """A worker on a thread beside ``lad serve``, for SQLite and memory:// (one process,
    one writer), unless LAD_EMBEDDED_WORKER says otherwise; stopped gracefully when the
    server stops."""
    settings = lad.settings()
    wanted = settings.embedded_worker
    if wanted is None:
        wanted = not settings.database_url.startswith("postgresql")
    if not wanted:
        yield None
        return
    worker = Worker.of(lad)
    thread = threading.Thread(target=worker.run, name="lad-worker", daemon=True)
    thread.start()
    log.info("campaign worker running beside the server")
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=settings.worker_lease_seconds)
