"""The dialer's claim of due batch entries across tenants, and the webhook's tenant lookup,
on memory, SQLite and PostgreSQL: only running batches' due entries, held for the lease,
within each batch's concurrency, the per-tenant and the total limits, tenants in turn, and
never one entry to two claimers."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lad_adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from lad_adapters.memory.voice import InMemoryCallTenants, InMemoryDialWork
from lad_adapters.sql.dial_work import SqlCallTenants, SqlDialWork
from lad_domain.shared.errors import ValidationFailed
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchSettings,
    BatchStatus,
    Call,
    CallStatus,
    EntryStatus,
    PhoneNumber,
)
from lad_domain.voice.ports import CallTenants, DialClaim, DialWork, Limits
from lad_entrypoints.container import Container
from tests.conftest import APP_ROLE
from tests.unit.leads.workspace import Workspace

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
LEASE = timedelta(minutes=5)
WIDE = Limits(per_tenant=100, total=100)


def dial_work(lad: Container) -> DialWork:
    uows = lad.unit_of_work()
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryDialWork(uows.store)
    return SqlDialWork(uows.engine)


def call_tenants(lad: Container) -> CallTenants:
    uows = lad.unit_of_work()
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryCallTenants(uows.store)
    return SqlCallTenants(uows.engine)


def claim(lad: Container, limit: int = 50, *, limits: Limits = WIDE, now: datetime = NOW,
          token: uuid.UUID | None = None) -> list[DialClaim]:
    return list(dial_work(lad).claim(now, limit=limit, lease=LEASE,
                                     token=token or uuid.uuid4(), limits=limits))


def tenant(lad: Container, name: str = "Acme") -> Workspace:
    return Workspace.sign_up(lad, name)


def batch(ws: Workspace, due: Sequence[datetime | None], *, concurrency: int = 5,
          status: BatchStatus = BatchStatus.RUNNING,
          entry_status: EntryStatus = EntryStatus.PENDING) -> list[uuid.UUID]:
    """A batch of the tenant with an entry per ``due`` (its next_attempt_at)."""
    agent = Agent(tenant_id=ws.tenant_id, name="Ava", language="en", created_at=NOW,
                  updated_at=NOW)
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        uow.agents.add(agent)
        found = Batch(id=uuid.uuid4(), tenant_id=ws.tenant_id, agent_id=agent.number,
                      status=status, created_at=NOW, updated_at=NOW,
                      settings=BatchSettings(concurrency=concurrency))
        uow.call_batches.add(found)
        entries = [BatchEntry(id=uuid.uuid4(), tenant_id=ws.tenant_id, batch_id=found.id,
                              status=entry_status, created_at=NOW, updated_at=NOW,
                              phone=PhoneNumber("1", 2025550100 + k), next_attempt_at=at)
                   for k, at in enumerate(due)]
        uow.batch_entries.add_many(entries)
        uow.commit()
    return [e.id for e in entries]


def ago(*minutes: int) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def entries_of(ws: Workspace, ids: Sequence[uuid.UUID]) -> list[BatchEntry]:
    with ws.lad.unit_of_work()(ws.tenant_id) as uow:
        found = [uow.batch_entries.get(i) for i in ids]
    return [e for e in found if e is not None]


def test_due_entries_of_running_batches_are_claimed_and_held_for_the_lease(
        backend: str, lad: Container) -> None:
    ws = tenant(lad)
    due = batch(ws, [*ago(30, 1), NOW])
    batch(ws, [NOW + timedelta(days=1), None])
    batch(ws, ago(60), status=BatchStatus.PAUSED)
    token = uuid.uuid4()
    claimed = claim(lad, token=token)
    assert sorted(c.entry_id for c in claimed) == sorted(due)
    assert {(c.tenant_id, c.token) for c in claimed} == {(ws.tenant_id, token)}
    assert {(e.status, e.next_attempt_at, e.claim_token) for e in entries_of(ws, due)} == {
        (EntryStatus.QUEUED, NOW + LEASE, token)}
    assert claim(lad, now=NOW + LEASE - timedelta(seconds=1)) == []
    again = claim(lad, now=NOW + LEASE)  # their worker died: claimed again
    assert sorted(c.entry_id for c in again) == sorted(due)


def test_a_claim_takes_at_most_its_limit_most_overdue_first(
        backend: str, lad: Container) -> None:
    ids = batch(tenant(lad), ago(1, 2, 3, 4), concurrency=10)
    assert [c.entry_id for c in claim(lad, 3)] == ids[::-1][:3]
    assert [c.entry_id for c in claim(lad, 3)] == ids[:1]
    with pytest.raises(ValidationFailed):
        dial_work(lad).claim(NOW, limit=1, lease=timedelta(0), token=uuid.uuid4(),
                             limits=WIDE)


def test_a_batch_never_has_more_in_flight_than_its_concurrency(
        backend: str, lad: Container) -> None:
    ws = tenant(lad)
    busy = batch(ws, [None], concurrency=3, entry_status=EntryStatus.CALLING)
    assert len(busy) == 1
    small = batch(ws, ago(*range(1, 6)), concurrency=3)
    other = batch(ws, ago(*range(1, 6)), concurrency=2)
    claimed = Counter(c.batch_id for c in claim(lad))
    assert sorted(claimed.values()) == [2, 3]
    assert claim(lad) == []
    assert len(small) == len(other) == 5


def test_calls_in_flight_count_toward_the_tenant_limit_and_the_total(
        backend: str, lad: Container) -> None:
    first, second = tenant(lad, "First"), tenant(lad, "Second")
    batch(first, [None, None], entry_status=EntryStatus.CALLING)
    batch(first, ago(*range(1, 5)), concurrency=10)
    batch(second, ago(*range(1, 9)), concurrency=10)
    claimed = claim(lad, limits=Limits(per_tenant=3, total=6))
    by_tenant = Counter(c.tenant_id for c in claimed)
    assert by_tenant == {first.tenant_id: 1, second.tenant_id: 3}
    assert claim(lad, limits=Limits(per_tenant=10, total=6)) == claim(lad, 0) == []
    assert len(claim(lad, limits=Limits(per_tenant=10, total=9))) == 3


def test_tenants_take_turns_the_most_overdue_first(backend: str, lad: Container) -> None:
    large, small = tenant(lad, "Large"), tenant(lad, "Small")
    # The large tenant's entries are all more overdue: by age alone it would take them all.
    batch(large, ago(*range(100, 120)), concurrency=20)
    small_ids = batch(small, ago(1, 2), concurrency=20)
    claimed = claim(lad, 5)
    assert [c.tenant_id for c in claimed] == [large.tenant_id, small.tenant_id] * 2 + [
        large.tenant_id]
    assert {c.entry_id for c in claimed if c.tenant_id == small.tenant_id} == set(small_ids)


def test_concurrent_claimers_never_claim_the_same_entry(
        backend: str, lad: Container) -> None:
    for k in range(3):
        batch(tenant(lad, f"T{k}"), ago(*range(1, 31)), concurrency=30)
    results: list[list[DialClaim]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(4):
                results.append(claim(lad, 8, limits=Limits(per_tenant=25, total=70)))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [c.entry_id for found in results for c in found]
    assert len(ids) == len(set(ids)) == 70  # each once, and the total limit held
    assert max(Counter(c.tenant_id for found in results for c in found).values()) <= 25


def test_a_providers_call_id_names_its_tenant(backend: str, lad: Container) -> None:
    mine, theirs = tenant(lad, "Mine"), tenant(lad, "Theirs")
    for ws, call_id in ((mine, "call-a"), (theirs, "call-b")):
        with lad.unit_of_work()(ws.tenant_id) as uow:
            uow.calls.add(Call(id=uuid.uuid4(), tenant_id=ws.tenant_id, created_at=NOW,
                               updated_at=NOW, status=CallStatus.QUEUED,
                               to=PhoneNumber("1", 2025550100), provider="vapi",
                               provider_call_id=call_id))
            uow.commit()
    tenants = call_tenants(lad)
    assert [tenants.tenant_of("vapi", "call-a"), tenants.tenant_of("vapi", "call-b")] == [
        mine.tenant_id, theirs.tenant_id]
    assert tenants.tenant_of("retell", "call-a") is tenants.tenant_of("vapi", "x") is None


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_narrow_paths_run_as_their_owner_for_the_application_role_only(
        postgres_url: str, backend: str) -> None:
    owner = sa.create_engine(postgres_url)
    try:
        with owner.connect() as conn:
            found = conn.execute(sa.text(
                "SELECT p.proname, p.prosecdef, p.proconfig, "
                "has_function_privilege(:app, p.oid, 'EXECUTE') AS app, "
                "has_function_privilege('public', p.oid, 'EXECUTE') AS anyone "
                "FROM pg_proc p WHERE p.proname IN "
                "('voice_call_tenant', 'voice_claim_due') ORDER BY p.proname"),
                {"app": APP_ROLE}).all()
    finally:
        owner.dispose()
    assert [(f.proname, f.prosecdef, f.proconfig, f.app, f.anyone) for f in found] == [
        (name, True, ["search_path=pg_catalog, public"], True, False)
        for name in ("voice_call_tenant", "voice_claim_due")]
