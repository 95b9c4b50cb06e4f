"""The send engine under concurrency on PostgreSQL: several worker PROCESSES (each
``tests.integration.campaigns.worker_process``: the container built from the environment,
as the application role under row-level security, its email channel a journal file every
process appends to), and a worker killed with SIGKILL and started again.

Time: a clock file every process reads (see ``worker_process``). It stands still while the
workers run; once every live worker has found nothing to claim at the current time, the
test moves it to the next time anything is due (the earliest ``next_run_at``). So a wait of
one minute costs no real minute, a mailbox's daily cap pushes sends to a real next UTC day,
and a killed worker's claim lease ends when the clock passes it, all without sleeping and
without depending on how fast the machine is: the result is the same on a slow CI runner.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from lad_adapters.catalog import default_catalog
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container
from tests.fakes.journal import read_journal
from tests.integration.campaigns import new_leads
from tests.integration.campaigns.worker_process import read_status, write_clock

#: One xdist worker runs both tests, one after the other, and (a group) starts them early:
#: each runs several worker processes, the longest tests of the suite.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("worker_processes")]

ROOT = Path(__file__).resolve().parents[3]
OPERATOR = Principal.operator()
#: Monday 2 March 2026, the start of a UTC day.
START = datetime(2026, 3, 2, tzinfo=UTC)
#: Every day, (almost) all day: what holds a send back here is a mailbox's daily cap.
WINDOW = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
          "end": "23:59"}
#: email, wait a day, email, wait a day, email. A day, not a minute: a mailbox at its cap
#: sends again the next UTC day, so a step that came due the same day would only be
#: claimed to be put off again (work that measures nothing, and costs the test time).
STEPS = [{"type": "email", "config": {"template_key": "s1"}},
         {"type": "wait", "config": {"days": 1}},
         {"type": "email", "config": {"template_key": "s2"}},
         {"type": "wait", "config": {"days": 1}},
         {"type": "email", "config": {"template_key": "s3"}}]
LEASE_SECONDS = 60
#: More clock moves than either test needs (a dozen or two): a step that keeps being put
#: off fails the test instead of hanging it.
MAX_MOVES = 100


@pytest.fixture
def clock_start() -> datetime:
    return START


@attrs.define
class Tenant:
    name: str
    id: uuid.UUID
    mailboxes: dict[uuid.UUID, int]
    enrollments: int


def open_tenant(lad: Container, name: str, *, enrollments: int, caps: list[int]) -> Tenant:
    """A funded tenant with mailboxes of the given daily caps (no spacing: time stands
    still while the workers run) and an active campaign of ``STEPS`` with ``enrollments``
    leads enrolled."""
    session = lad.tenancy().sign_up(tenant_name=name, email=f"owner@{name.lower()}.test",
                                    password="correct horse battery")
    owner = lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)
    lad.billing().top_up(OPERATOR, session.tenant_id, "100000", idempotency_key_="fund")
    outreach = lad.outreach()
    mailboxes = {}
    for n, cap in enumerate(caps):
        account, _ = outreach.add_email_account(owner, {
            "email": f"sales{n}@{name.lower()}.test", "smtp_host": "smtp.example.test",
            "smtp_port": 587, "daily_cap": cap, "min_spacing_seconds": 0,
            "jitter_seconds": 0}, verify=False)
        mailboxes[account.id] = cap
    for step in (1, 2, 3):
        outreach.save_template(owner, channel="email", key_=f"s{step}", subject=f"step {step}",
                               body=f"Hello, this is step {step}.\n{{{{ unsubscribe_url }}}}")
    campaigns = lad.campaigns()
    found = campaigns.create(owner, name=f"{name} spring", steps=STEPS, settings={
        "email_account_ids": [str(i) for i in mailboxes], "send_window": WINDOW,
        "timezone": "UTC"})
    uows = lad.unit_of_work()
    assert isinstance(uows, SqlUnitOfWorkFactory)
    leads = new_leads(uows, session.tenant_id, enrollments)
    campaigns.enroll(owner, found.id, lead_ids=leads)
    campaigns.activate(owner, found.id)
    return Tenant(name, session.tenant_id, mailboxes, enrollments)


@attrs.define
class Fleet:
    """Worker processes on one clock file and one journal; the test moves the clock."""

    directory: Path
    app_url: str
    owner: sa.Engine
    clock: FixedClock
    concurrency: int = 4
    send_delay: float = 0.0
    generation: int = 0
    workers: dict[str, subprocess.Popen[bytes]] = attrs.field(factory=dict)
    started: int = 0

    @property
    def clock_file(self) -> Path:
        return self.directory / "clock"

    @property
    def journal(self) -> Path:
        return self.directory / "journal.jsonl"

    def __attrs_post_init__(self) -> None:
        write_clock(self.clock_file, self.generation, self.clock.now())

    def start(self) -> str:
        self.started += 1
        name = f"worker{self.started}"
        env = os.environ | {
            "LAD_DATABASE_URL": self.app_url, "LAD_JWT_SECRET": "test-secret-" + "x" * 32,
            "LAD_STATE_DIR": str(self.directory / "state"), "LAD_WORKER_POLL_SECONDS": "0.02",
            "LAD_WORKER_LEASE_SECONDS": str(LEASE_SECONDS), "LAD_MAILBOX_POLL_SECONDS": "3600"}
        log = (self.directory / f"{name}.log").open("wb")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.campaigns.worker_process",
             "--clock", str(self.clock_file), "--journal", str(self.journal),
             "--status", str(self.status(name)), "--concurrency", str(self.concurrency),
             "--send-delay", str(self.send_delay)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return name

    def status(self, name: str) -> Path:
        return self.directory / f"{name}.status"

    def kill(self, name: str) -> int:
        worker = self.workers.pop(name)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        return worker.pid

    def alive(self) -> None:
        for name, worker in self.workers.items():
            if worker.poll() is not None:
                log = (self.directory / f"{name}.log").read_text()
                raise AssertionError(f"{name} exited with {worker.returncode}:\n{log}")

    def idle(self) -> bool:
        """Every live worker found nothing to claim at the current generation."""
        self.alive()
        return all(read_status(self.status(name)) >= self.generation for name in self.workers)

    def wait_idle(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.idle():
            assert time.monotonic() < deadline, "the workers did not run out of work"
            time.sleep(0.01)

    def next_due(self) -> datetime | None:
        with self.owner.connect() as conn:
            found: datetime | None = conn.execute(sa.text(
                "SELECT min(next_run_at) FROM campaign_leads WHERE next_run_at IS NOT NULL"
            )).scalar()
        return found

    def tick(self) -> bool:
        """Move the clock to the next thing due (or ask again at the same time, should
        something be due now); False when nothing is due at all."""
        due = self.next_due()
        if due is None:
            return False
        assert self.generation < MAX_MOVES, f"still due after {MAX_MOVES} moves: {due}"
        self.clock.set(max(due, self.clock.now()))
        self.generation += 1
        write_clock(self.clock_file, self.generation, self.clock.now())
        return True

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.send_signal(signal.SIGTERM)
        for name, worker in list(self.workers.items()):
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            assert worker.returncode == 0, (self.directory / f"{name}.log").read_text()
        self.workers.clear()


@pytest.fixture
def fleet(container: Container, clock: FixedClock, postgres_url: str, database_url: str,
          tmp_path: Path) -> Iterator[Fleet]:
    # The prices a send is held and billed at (the suite empties every table, the
    # migration's catalog rows too, after each test).
    container.billing_plans().load_pricing(OPERATOR, default_catalog())
    owner = sa.create_engine(postgres_url)
    running = Fleet(tmp_path, database_url, owner, clock)
    try:
        yield running
    finally:
        for worker in running.workers.values():
            worker.kill()
            worker.wait()
        owner.dispose()


def ledger(owner: sa.Engine) -> list[Any]:
    """Every send ledger row, with its tenant, as the owner sees them (no RLS)."""
    with owner.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT a.tenant_id, a.campaign_lead_id AS enrollment_id, a.step_order, a.status,"
            " a.sender_id, a.message_key, a.recipient, a.created_at"
            " FROM campaign_lead_activities a ORDER BY a.created_at")))


def enrollment_states(owner: sa.Engine) -> list[Any]:
    with owner.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT tenant_id, id, status, step_order, next_run_at FROM campaign_leads")))


@pytest.mark.parametrize("backend", ["postgres"])
def test_four_worker_processes_send_every_step_once_within_caps_and_fairly(
        fleet: Fleet, container: Container, backend: str) -> None:
    """2,000 enrollments of three emails a minute apart, over three tenants (1,500, 490 and
    10 enrollments) and six mailboxes whose daily caps hold the big tenants back for days,
    run by four worker processes of four threads each."""
    for _ in range(4):
        fleet.start()
    tenants = [open_tenant(container, "Alpha", enrollments=1500, caps=[700, 700]),
               open_tenant(container, "Beta", enrollments=10, caps=[100, 100]),
               open_tenant(container, "Gamma", enrollments=490, caps=[200, 200])]
    by_id = {t.id: t for t in tenants}
    phases = 0
    begun = time.monotonic()
    while fleet.tick():
        fleet.wait_idle()
        phases += 1
    elapsed = time.monotonic() - begun
    fleet.stop()

    journal = read_journal(fleet.journal)
    rows = ledger(fleet.owner)
    # Every step executed exactly once: by the provider, and in the ledger.
    assert len(journal) == 3 * 2000
    assert Counter((j["to"], j["subject"]) for j in journal).most_common(1)[0][1] == 1
    assert len({j["message_id"] for j in journal}) == len(journal)
    assert Counter(r.status for r in rows) == {"sent": 6000}
    assert Counter((r.enrollment_id, r.step_order) for r in rows).most_common(1)[0][1] == 1
    assert {r.message_key for r in rows} == {j["message_id"] for j in journal}
    assert {(s.status, s.next_run_at) for s in enrollment_states(fleet.owner)} == {
        ("completed", None)}
    # No mailbox over its cap on any UTC day; the caps did bind (and pushed sends to later
    # days, which a single day could not hold).
    per_day = Counter((r.tenant_id, r.sender_id, r.created_at.astimezone(UTC).date())
                      for r in rows)
    caps = {box: cap for t in tenants for box, cap in t.mailboxes.items()}
    over = {key: n for key, n in per_day.items() if n > caps[key[1]]}
    assert not over, over
    assert any(n == caps[key[1]] for key, n in per_day.items())
    days = {by_id[t].name: len({d for (tt, _, d) in per_day if tt == t}) for t in by_id}
    assert days["Alpha"] >= 4 and days["Gamma"] >= 4 and days["Beta"] == 3, days
    # No tenant starved: the small tenant was done on the third day, as soon as its
    # waits allowed, while the big one still had hundreds of sends to go...
    alpha, beta = tenants[0].id, tenants[1].id
    beta_done = max(r.created_at for r in rows if r.tenant_id == beta)
    assert beta_done == START + timedelta(days=2)
    assert sum(1 for r in rows if r.tenant_id == alpha and r.created_at > beta_done) >= 300
    # ... and at every moment, each tenant that sent then got its first send in the first
    # claims of the workers: claims share the limit between the tenants with work due.
    sent_at = {r.message_key: (r.created_at, r.tenant_id) for r in rows}
    first: dict[datetime, dict[uuid.UUID, int]] = defaultdict(dict)
    position: Counter[datetime] = Counter()
    for line in journal:
        at, tenant = sent_at[line["message_id"]]
        first[at].setdefault(tenant, position[at])
        position[at] += 1
    for at, firsts in first.items():
        late = {by_id[t].name: n for t, n in firsts.items() if n >= 4 * 4 * 4 * 2}
        assert not late, (at, position[at], late)
    assert len({t for firsts in first.values() for t in firsts}) == 3
    print(f"{phases} clock moves, {len(rows)} sends: {elapsed:.1f} s")


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_worker_killed_at_random_points_never_sends_twice(
        fleet: Fleet, container: Container, backend: str) -> None:
    """Two worker processes; one of them killed with SIGKILL six times, while it sends,
    and started again. Sends in flight at a kill end ``unknown``: never settled as sent
    by anyone else, never sent again; the others go on to the end."""
    rng = random.Random(11)
    fleet.send_delay = 0.004
    names = [fleet.start(), fleet.start()]
    tenants = [open_tenant(container, "Kappa", enrollments=100, caps=[1000]),
               open_tenant(container, "Lambda", enrollments=50, caps=[1000])]
    kills: list[tuple[int, set[str]]] = []
    while fleet.tick():
        if len(kills) < 6:
            # Let the victim get going (a random number of sends into the moment), then
            # kill it, note what was in flight, and start another in its place.
            victim = rng.choice(names)
            target = len(read_journal(fleet.journal)) + rng.randint(5, 60)
            # A guard against a hang only: a worker started in the victim's place imports
            # the application first, which takes long on a busy machine (the suite runs
            # on every core).
            deadline = time.monotonic() + 120
            while len(read_journal(fleet.journal)) < target and not fleet.idle():
                assert time.monotonic() < deadline
                time.sleep(0.002)
            pid = fleet.kill(victim)
            with fleet.owner.connect() as conn:
                sending = set(conn.execute(sa.text(
                    "SELECT message_key FROM campaign_lead_activities "
                    "WHERE status = 'sending'")).scalars())
            kills.append((pid, sending))
            names[names.index(victim)] = fleet.start()
        fleet.wait_idle()
    fleet.stop()

    journal = read_journal(fleet.journal)
    rows = ledger(fleet.owner)
    status = {r.message_key: r.status for r in rows}
    sent_by = {j["message_id"]: j["pid"] for j in journal}
    # Nothing sent twice.
    assert len(sent_by) == len(journal)
    assert Counter((j["to"], j["subject"]) for j in journal).most_common(1)[0][1] == 1
    assert Counter((r.enrollment_id, r.step_order) for r in rows).most_common(1)[0][1] == 1
    # Every row settled: sent, or unknown where a kill left it in flight.
    assert set(status.values()) <= {"sent", "unknown"}
    unknown = {key for key, s in status.items() if s == "unknown"}
    assert len(unknown) >= 1, "no kill landed between a send and its settlement"
    # The journal holds every ledger `sent`; a journal line not `sent` is `unknown`.
    assert {key for key, s in status.items() if s == "sent"} <= set(sent_by)
    assert all(status[key] in ("sent", "unknown") for key in sent_by)
    # What a killed worker had in flight is unknown: never settled as sent by another,
    # never sent again; a send in flight at a kill that a live worker made is sent.
    in_flight = set().union(*(sending for _, sending in kills))
    assert unknown <= in_flight
    for pid, sending in kills:
        for key in sending:
            if sent_by.get(key, pid) == pid:
                assert status[key] == "unknown", key
            else:
                assert status[key] == "sent", key
    # An unknown send stops its enrollment (waiting for reconcile); the rest completed.
    states = {s.id: s for s in enrollment_states(fleet.owner)}
    stuck = {r.enrollment_id: r.step_order for r in rows if r.status == "unknown"}
    for enrollment_id, step in stuck.items():
        state = states[enrollment_id]
        assert (state.status, state.step_order, state.next_run_at) == ("waiting", step, None)
    assert all(s.status == "completed" for i, s in states.items() if i not in stuck)
    # Emails are steps 1, 3 and 5 (2 and 4 wait): one ledger row each up to where it is.
    per_enrollment = Counter(r.enrollment_id for r in rows)
    short = {i: (s.status, s.step_order, per_enrollment[i]) for i, s in states.items()
             if per_enrollment[i] != ((stuck[i] + 1) // 2 if i in stuck else 3)}
    assert not short, short
    assert sum(t.enrollments for t in tenants) == len(states)
