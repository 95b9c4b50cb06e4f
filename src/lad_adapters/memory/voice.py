"""In-memory repositories of the voice context, and its two cross-tenant paths: the claim
of due batch entries (fair across tenants, within the concurrency limits) and whose call a
provider's call id is; the same rules as SQL."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from lad_adapters.memory.store import (
    InMemoryRepository,
    InMemoryStore,
    InMemoryTenantKeyedRepository,
    conflict_message,
)
from lad_domain.shared.errors import Conflict, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.voice.model import (
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallAnalysis,
    EntryStatus,
    Number,
    Permission,
    PhoneNumber,
    UserProfile,
    Voice,
)
from lad_domain.voice.ports import DialClaim, Limits

T = TypeVar("T")
ENTRIES = "voice_call_batch_entries"
BATCHES = "voice_call_batches"
CALLS = "voice_call_logs"


class InMemoryVoiceCatalog(InMemoryRepository):
    """Global voices and the scope's own; a unit of work with no tenant sees and writes the
    global ones only."""

    table_name = "voice_agent_voices"

    def add(self, voice: Voice) -> None:
        if self.find(voice.provider, voice.provider_voice_id,
                     global_only=voice.tenant_id is None, scope=voice.tenant_id) is not None:
            raise Conflict(conflict_message("uq_voice_agent_voices_global"))
        self._insert(voice.id, voice, "pk_voice_agent_voices")

    def get(self, voice_id: uuid.UUID) -> Voice | None:
        found: Voice | None = self._get(voice_id)
        if found is None or not found.is_live or found.tenant_id not in (None,
                                                                          self._tenant_id):
            return None
        return found

    def find(self, provider: str, provider_voice_id: str, *, global_only: bool = False,
             scope: uuid.UUID | None = None) -> Voice | None:
        owners = {None} if global_only else {None, scope or self._tenant_id}
        found = [v for v in self.rows.values()
                 if v.is_live and v.provider == provider
                 and v.provider_voice_id == provider_voice_id and v.tenant_id in owners]
        if not found:
            return None
        return copy.deepcopy(min(found, key=lambda v: (v.created_at, v.id)))  # type: ignore[no-any-return]  # rows are Any

    def update(self, voice: Voice) -> None:
        stored = self.rows.get(voice.id)
        if stored is not None and stored.tenant_id == self._tenant_id:
            self._put(voice.id, voice)

    def list(self, provider: str | None, page: PageRequest) -> Page[Voice]:
        found = [copy.deepcopy(v) for v in self.rows.values()
                 if v.is_live and v.tenant_id in (None, self._tenant_id)
                 and provider in (None, v.provider)]
        return self._paginate(found, page, lambda v: (v.created_at, v.id), within=provider)


class InMemoryAgentRepository(InMemoryTenantKeyedRepository):
    table_name = "voice_agents"

    def add(self, agent: Agent) -> None:
        # The identity is global, as a PostgreSQL sequence is.
        counter = self._tx.table("voice_agents_identity")
        agent.id = counter.get("next", 0) + 1
        counter["next"] = agent.id
        self._insert((self.tenant_id, agent.id), agent, "pk_voice_agents")

    def get(self, agent_id: int) -> Agent | None:
        found: Agent | None = self._own(agent_id)
        return found if found is not None and found.is_live else None

    def update(self, agent: Agent) -> None:
        self._put((self.tenant_id, agent.id), agent)

    def list(self, page: PageRequest) -> Page[Agent]:
        return self._paginate(self._mine(lambda a: a.is_live), page,
                              lambda a: (a.created_at, uuid.UUID(int=a.id)))


class InMemoryNumberRepository(InMemoryTenantKeyedRepository):
    table_name = "voice_agent_numbers"

    def add(self, number: Number) -> None:
        if self.find(number.phone) is not None:
            raise Conflict(conflict_message("uq_voice_agent_numbers_number_live"))
        self._insert((self.tenant_id, number.id), number, "pk_voice_agent_numbers")

    def get(self, number_id: uuid.UUID) -> Number | None:
        found: Number | None = self._own(number_id)
        return found if found is not None and found.is_live else None

    def find(self, phone: PhoneNumber) -> Number | None:
        found = self._mine(lambda n: n.is_live and n.phone == phone)
        return found[0] if found else None

    def update(self, number: Number) -> None:
        self._put((self.tenant_id, number.id), number)

    def list(self, page: PageRequest) -> Page[Number]:
        return self._paginate(self._mine(lambda n: n.is_live), page,
                              lambda n: (n.created_at, n.id))


class InMemoryUserProfileRepository(InMemoryTenantKeyedRepository):
    table_name = "voice_user_profiles"

    def get(self, user_id: uuid.UUID) -> UserProfile | None:
        found: UserProfile | None = self._own(user_id)
        return found

    def put(self, profile: UserProfile) -> None:
        self._references("memberships", (self.tenant_id, profile.user_id))
        self._put((self.tenant_id, profile.user_id), profile)


class InMemoryPermissionRepository(InMemoryTenantKeyedRepository):
    table_name = "voice_permissions"

    def add(self, permission: Permission) -> None:
        self._references("memberships", (self.tenant_id, permission.user_id))
        self._insert((self.tenant_id, permission.id), permission, "pk_voice_permissions")

    def get(self, permission_id: uuid.UUID) -> Permission | None:
        found: Permission | None = self._own(permission_id)
        return found

    def update(self, permission: Permission) -> None:
        self._put((self.tenant_id, permission.id), permission)

    def for_user(self, user_id: uuid.UUID) -> Sequence[Permission]:
        return sorted(self._mine(lambda p: p.user_id == user_id),
                      key=lambda p: (p.created_at, p.id))

    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Permission]:
        return self._paginate(self._mine(lambda p: user_id in (None, p.user_id)), page,
                              lambda p: (p.created_at, p.id), within=user_id)


class InMemoryBatchRepository(InMemoryTenantKeyedRepository):
    table_name = BATCHES

    def add(self, batch: Batch) -> None:
        self._references("voice_agents", (self.tenant_id, batch.agent_id))
        self._insert((self.tenant_id, batch.id), batch, "pk_voice_call_batches")

    def get(self, batch_id: uuid.UUID, *, lock: bool = False) -> Batch | None:
        found: Batch | None = self._own(batch_id)
        return found

    def update(self, batch: Batch) -> None:
        self._put((self.tenant_id, batch.id), batch)

    def list(self, status: BatchStatus | None, page: PageRequest) -> Page[Batch]:
        return self._paginate(self._mine(lambda b: status in (None, b.status)), page,
                              lambda b: (b.created_at, b.id), within=status)

    def open_for_campaign(self, campaign_id: uuid.UUID, name: str) -> Batch | None:
        found = sorted(self._mine(lambda b: b.campaign_id == campaign_id and b.name == name
                                  and b.status is BatchStatus.RUNNING),
                       key=lambda b: (b.created_at, b.id))
        return found[-1] if found else None


class InMemoryEntryRepository(InMemoryTenantKeyedRepository):
    table_name = ENTRIES

    def add_many(self, entries: Sequence[BatchEntry]) -> None:
        for entry in entries:
            self._references(BATCHES, (self.tenant_id, entry.batch_id))
            self._insert((self.tenant_id, entry.id), entry, "pk_voice_call_batch_entries")

    def get(self, entry_id: uuid.UUID, *, lock: bool = False) -> BatchEntry | None:
        found: BatchEntry | None = self._own(entry_id)
        return found

    def update(self, entry: BatchEntry) -> None:
        self._put((self.tenant_id, entry.id), entry)

    def list(self, batch_id: uuid.UUID, status: EntryStatus | None, page: PageRequest
             ) -> Page[BatchEntry]:
        return self._paginate(self._mine(lambda e: e.batch_id == batch_id
                                         and status in (None, e.status)),
                              page, lambda e: (e.created_at, e.id), within=(batch_id, status),
                              oldest_first=True)

    def counts(self, batch_id: uuid.UUID) -> dict[EntryStatus, int]:
        found = Counter(e.status for k, e in self.rows.items()
                        if k[0] == self.tenant_id and e.batch_id == batch_id)
        return {status: found.get(status, 0) for status in EntryStatus}

    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[BatchEntry]:
        return self._mine(lambda e: e.lead_id == lead_id and e.status.is_open)

    def cancel_open(self, batch_id: uuid.UUID, reason: str, at: datetime) -> int:
        cancelled = 0
        for key, entry in list(self.rows.items()):
            if (key[0] == self.tenant_id and entry.batch_id == batch_id
                    and entry.status is EntryStatus.PENDING):
                moved = copy.deepcopy(entry)
                moved.cancel(reason, at)
                self.rows[key] = moved
                cancelled += 1
        return cancelled


class InMemoryCallRepository(InMemoryTenantKeyedRepository):
    table_name = CALLS

    def add(self, call: Call) -> None:
        self._insert((self.tenant_id, call.id), call, "pk_voice_call_logs")

    def get(self, call_id: uuid.UUID, *, lock: bool = False) -> Call | None:
        found: Call | None = self._own(call_id)
        return found

    def get_by_provider(self, provider: str, provider_call_id: str, *, lock: bool = False
                        ) -> Call | None:
        found = self._mine(lambda c: c.provider == provider
                           and c.provider_call_id == provider_call_id)
        return found[0] if found else None

    def update(self, call: Call) -> None:
        self._put((self.tenant_id, call.id), call)

    def list(self, page: PageRequest, *, lead_id: uuid.UUID | None = None,
             batch_id: uuid.UUID | None = None, since: datetime | None = None,
             until: datetime | None = None) -> Page[Call]:
        found = self._mine(lambda c: lead_id in (None, c.lead_id)
                           and batch_id in (None, c.batch_id)
                           and (since is None or c.created_at >= since)
                           and (until is None or c.created_at < until))
        return self._paginate(found, page, lambda c: (c.created_at, c.id),
                              within=(lead_id, batch_id, since, until))

    def placed_since(self, lead_id: uuid.UUID, since: datetime) -> int:
        return len(self._mine(lambda c: c.lead_id == lead_id and c.created_at >= since))

    def overdue(self, before: datetime, limit: int) -> Sequence[Call]:
        found = self._mine(lambda c: not c.status.is_final and c.created_at < before)
        return sorted(found, key=lambda c: (c.created_at, c.id))[:limit]


class InMemoryAnalysisRepository(InMemoryTenantKeyedRepository):
    table_name = "voice_call_analysis"

    def put(self, analysis: CallAnalysis) -> None:
        self._references(CALLS, (self.tenant_id, analysis.call_id))
        existing = self.get_for(analysis.call_id)
        if existing is not None:
            analysis.id = existing.id
            analysis.created_at = existing.created_at
        self._put((self.tenant_id, analysis.call_id), analysis)

    def get_for(self, call_id: uuid.UUID) -> CallAnalysis | None:
        found: CallAnalysis | None = self._own(call_id)
        return found


class InMemoryDialWork:
    """Claims due entries across tenants from the committed store, under its lock (one
    writer, as on SQLite): fair (tenants take turns, oldest due first within each), within
    each batch's concurrency, the per-tenant limit and the total limit."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def claim(self, now: datetime, *, limit: int, lease: timedelta, token: uuid.UUID,
              limits: Limits) -> Sequence[DialClaim]:
        if lease <= timedelta(0):
            raise ValidationFailed.single("lease", "must be longer than 0")
        with self.store.lock:
            entries = self.store.tables.get(ENTRIES, {})
            batches = self.store.tables.get(BATCHES, {})
            busy_batch: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
            busy_tenant: Counter[uuid.UUID] = Counter()
            due: dict[uuid.UUID, list[tuple[datetime, uuid.UUID, uuid.UUID]]] = {}
            for (tenant_id, entry_id), e in entries.items():
                if e.status.in_flight and not (e.status is EntryStatus.QUEUED
                                               and e.next_attempt_at is not None
                                               and e.next_attempt_at <= now):
                    busy_batch[(tenant_id, e.batch_id)] += 1
                    busy_tenant[tenant_id] += 1
                    continue
                batch = batches.get((tenant_id, e.batch_id))
                if (batch is not None and batch.status is BatchStatus.RUNNING
                        and e.status in (EntryStatus.PENDING, EntryStatus.QUEUED)
                        and e.next_attempt_at is not None and e.next_attempt_at <= now):
                    due.setdefault(tenant_id, []).append((e.next_attempt_at, entry_id,
                                                          e.batch_id))
            total = sum(busy_tenant.values())
            queues = [(t, sorted(items, reverse=True)) for t, items in
                      sorted(due.items(), key=lambda item: (min(item[1])[0], item[0]))]
            chosen: list[DialClaim] = []
            while queues and len(chosen) < limit and total < limits.total:
                for tenant_id, items in queues:
                    while items:
                        _, entry_id, batch_id = items.pop()
                        batch = batches[(tenant_id, batch_id)]
                        if (busy_tenant[tenant_id] >= limits.per_tenant
                                or busy_batch[(tenant_id, batch_id)]
                                >= batch.settings.concurrency):
                            continue
                        if len(chosen) >= limit or total >= limits.total:
                            break
                        chosen.append(DialClaim(tenant_id=tenant_id, entry_id=entry_id,
                                                batch_id=batch_id, token=token))
                        busy_tenant[tenant_id] += 1
                        busy_batch[(tenant_id, batch_id)] += 1
                        total += 1
                        break
                queues = [(t, items) for t, items in queues
                          if items and busy_tenant[t] < limits.per_tenant]
            table = dict(entries)
            for claim in chosen:
                held = copy.deepcopy(table[(claim.tenant_id, claim.entry_id)])
                held.status = EntryStatus.QUEUED
                held.next_attempt_at = now + lease
                held.claim_token = token
                table[(claim.tenant_id, claim.entry_id)] = held
            self.store.tables[ENTRIES] = table
            return chosen


class InMemoryCallTenants:
    """Whose call a provider's call id is, across tenants (the store's committed rows)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def tenant_of(self, provider: str, provider_call_id: str) -> uuid.UUID | None:
        with self.store.lock:
            for (tenant_id, _), call in self.store.tables.get(CALLS, {}).items():
                if call.provider == provider and call.provider_call_id == provider_call_id:
                    return tenant_id  # type: ignore[no-any-return]  # rows are Any
        return None
