"""SQL repositories of the voice context: the catalog (voices, agents, numbers), members'
defaults and permissions, call batches and their entries, calls and their analysis."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from lad_adapters.constraints import conflict
from lad_adapters.sql.outreach import OutreachRepository
from lad_adapters.sql.pagination import keyset, paginate
from lad_adapters.sql.tables.voice import (
    voice_agent_numbers,
    voice_agent_voices,
    voice_agents,
    voice_call_analysis,
    voice_call_batch_entries,
    voice_call_batches,
    voice_call_logs,
    voice_permissions,
    voice_user_profiles,
)
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.voice.model import (
    LIVE_CALL_STATUSES,
    Agent,
    Batch,
    BatchEntry,
    BatchStatus,
    Call,
    CallAnalysis,
    CallStatus,
    Capability,
    EntryStatus,
    Gender,
    Number,
    Permission,
    PhoneNumber,
    UserProfile,
    Voice,
    agent_settings,
    batch_settings,
    decision_from,
)

T = TypeVar("T")
v = voice_agent_voices
ag = voice_agents
n = voice_agent_numbers
up = voice_user_profiles
p = voice_permissions
b = voice_call_batches
e = voice_call_batch_entries
cl = voice_call_logs
an = voice_call_analysis


# --- the catalog --------------------------------------------------------------------------


def _row_to_voice(row: sa.Row[Any]) -> Voice:
    return Voice(id=row.id, provider=row.provider, provider_voice_id=row.provider_voice_id,
                 name=row.name, created_at=row.created_at, updated_at=row.updated_at,
                 tenant_id=row.tenant_id, gender=Gender(row.gender) if row.gender else None,
                 language=row.language, preview_url=row.preview_url,
                 metadata=dict(row.metadata or {}), deleted_at=row.deleted_at)


#: Agents' ids are a BIGINT identity: a number past it names no agent.
MAX_BIGINT = 2**63 - 1


class SqlVoiceCatalog(OutreachRepository):
    """Global voices (tenant_id NULL) and the scope's own; a unit of work with no tenant
    sees and writes the global ones only."""

    def _visible(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        owners: sa.ColumnElement[bool] = v.c.tenant_id.is_(None)
        if self._tenant_id is not None:
            owners = sa.or_(owners, v.c.tenant_id == self._tenant_id)
        return [owners, v.c.deleted_at.is_(None), *where]

    def add(self, voice: Voice) -> None:
        # A tenant's voice may not repeat a global one either (the unique keys cover each
        # scope alone).
        if voice.tenant_id is not None and self._find(
                voice.provider, voice.provider_voice_id, global_only=True) is not None:
            raise conflict("uq_voice_agent_voices_global")
        self._db.execute(v.insert().values(
            id=voice.id, tenant_id=voice.tenant_id, provider=voice.provider,
            provider_voice_id=voice.provider_voice_id, created_at=voice.created_at,
            **self._values(voice)))

    def get(self, voice_id: uuid.UUID) -> Voice | None:
        row = self._one(sa.select(v).where(*self._visible(v.c.id == voice_id)))
        return _row_to_voice(row) if row else None

    def find(self, provider: str, provider_voice_id: str, *, global_only: bool = False
             ) -> Voice | None:
        return self._find(provider, provider_voice_id, global_only=global_only)

    def update(self, voice: Voice) -> None:
        self._db.execute(v.update().where(
            v.c.id == voice.id, v.c.tenant_id.is_(None) if self._tenant_id is None
            else v.c.tenant_id == self._tenant_id).values(self._values(voice)))

    def list(self, provider: str | None, page: PageRequest) -> Page[Voice]:
        where = self._visible()
        if provider is not None:
            where.append(v.c.provider == provider)
        return paginate(self._db, sa.select(v).where(*where), created_at=v.c.created_at,
                        id_column=v.c.id, page=page, to_item=_row_to_voice)

    def _find(self, provider: str, provider_voice_id: str, *, global_only: bool
              ) -> Voice | None:
        where = self._visible(v.c.provider == provider,
                              v.c.provider_voice_id == provider_voice_id)
        if global_only:
            where.append(v.c.tenant_id.is_(None))
        row = self._one(sa.select(v).where(*where).order_by(v.c.created_at, v.c.id).limit(1))
        return _row_to_voice(row) if row else None

    @staticmethod
    def _values(voice: Voice) -> dict[str, Any]:
        return {"name": voice.name, "gender": str(voice.gender) if voice.gender else None,
                "language": voice.language, "preview_url": voice.preview_url,
                "metadata": dict(voice.metadata), "updated_at": voice.updated_at,
                "deleted_at": voice.deleted_at}


def _row_to_agent(row: sa.Row[Any]) -> Agent:
    return Agent(tenant_id=row.tenant_id, id=row.id, name=row.name, language=row.language,
                 created_at=row.created_at, updated_at=row.updated_at, voice_id=row.voice_id,
                 system_prompt=row.system_prompt, first_message=row.first_message,
                 settings=agent_settings(row.config), created_by=row.created_by,
                 deleted_at=row.deleted_at)


class SqlAgentRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [ag.c.tenant_id == self.tenant_id, ag.c.deleted_at.is_(None), *where]

    def add(self, agent: Agent) -> None:
        values = {"tenant_id": self.tenant_id, "created_by": agent.created_by,
                  "created_at": agent.created_at, **self._values(agent)}
        if self._db.dialect == "postgresql":
            agent.id = int(self._db.execute(
                ag.insert().values(values).returning(ag.c.id)).scalar_one())
        else:
            # SQLite has no identity inside a composite key: the next number, global like
            # a sequence, taken under the write lock this transaction began with.
            agent.id = int(self._db.execute(
                sa.select(sa.func.coalesce(sa.func.max(ag.c.id), 0) + 1)).scalar_one())
            self._db.execute(ag.insert().values(id=agent.id, **values))

    def get(self, agent_id: int) -> Agent | None:
        if not 0 < agent_id <= MAX_BIGINT:
            return None  # no agent has it (and the driver could not even send it)
        row = self._one(sa.select(ag).where(*self._live(ag.c.id == agent_id)))
        return _row_to_agent(row) if row else None

    def update(self, agent: Agent) -> None:
        self._db.execute(ag.update().where(ag.c.tenant_id == self.tenant_id,
                                           ag.c.id == agent.id).values(self._values(agent)))

    def list(self, page: PageRequest) -> Page[Agent]:
        return keyset(self._db, sa.select(ag).where(*self._live()), kind=ag.name,
                       created_at=ag.c.created_at, id_column=ag.c.id, page=page,
                       to_item=_row_to_agent, id_of=lambda i: uuid.UUID(int=i),
                       id_from=lambda u: u.int)

    @staticmethod
    def _values(agent: Agent) -> dict[str, Any]:
        return {"name": agent.name, "voice_id": agent.voice_id, "language": agent.language,
                "system_prompt": agent.system_prompt, "first_message": agent.first_message,
                "config": agent.settings.document(), "updated_at": agent.updated_at,
                "deleted_at": agent.deleted_at}


def _row_to_number(row: sa.Row[Any]) -> Number:
    return Number(id=row.id, tenant_id=row.tenant_id,
                  phone=PhoneNumber(country_code=row.country_code,
                                    base_number=row.base_number),
                  provider=row.provider, created_at=row.created_at, updated_at=row.updated_at,
                  provider_number_id=row.provider_number_id, agent_id=row.agent_id,
                  label=row.label,
                  capabilities=frozenset(Capability(c) for c in row.capabilities or ()),
                  deleted_at=row.deleted_at)


class SqlNumberRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [n.c.tenant_id == self.tenant_id, n.c.deleted_at.is_(None), *where]

    def add(self, number: Number) -> None:
        self._db.execute(n.insert().values(tenant_id=self.tenant_id, id=number.id,
                                           created_at=number.created_at,
                                           **self._values(number)))

    def get(self, number_id: uuid.UUID) -> Number | None:
        return self._find(n.c.id == number_id)

    def find(self, phone: PhoneNumber) -> Number | None:
        return self._find(n.c.country_code == phone.country_code,
                          n.c.base_number == phone.base_number)

    def update(self, number: Number) -> None:
        self._db.execute(n.update().where(n.c.tenant_id == self.tenant_id,
                                          n.c.id == number.id).values(self._values(number)))

    def list(self, page: PageRequest) -> Page[Number]:
        return paginate(self._db, sa.select(n).where(*self._live()), created_at=n.c.created_at,
                        id_column=n.c.id, page=page, to_item=_row_to_number)

    def _find(self, *where: sa.ColumnElement[bool]) -> Number | None:
        row = self._one(sa.select(n).where(*self._live(*where)))
        return _row_to_number(row) if row else None

    @staticmethod
    def _values(number: Number) -> dict[str, Any]:
        return {"country_code": number.phone.country_code,
                "base_number": number.phone.base_number, "provider": number.provider,
                "provider_number_id": number.provider_number_id, "agent_id": number.agent_id,
                "label": number.label, "capabilities": sorted(str(c) for c in
                                                             number.capabilities),
                "updated_at": number.updated_at, "deleted_at": number.deleted_at}


# --- members' defaults and permissions ----------------------------------------------------


def _row_to_profile(row: sa.Row[Any]) -> UserProfile:
    return UserProfile(tenant_id=row.tenant_id, user_id=row.user_id,
                       created_at=row.created_at, updated_at=row.updated_at,
                       default_agent_id=row.default_agent_id,
                       default_number_id=row.default_number_id,
                       preferences=dict(row.preferences or {}))


class SqlUserProfileRepository(OutreachRepository):
    def get(self, user_id: uuid.UUID) -> UserProfile | None:
        row = self._one(sa.select(up).where(up.c.tenant_id == self.tenant_id,
                                            up.c.user_id == user_id))
        return _row_to_profile(row) if row else None

    def put(self, profile: UserProfile) -> None:
        values = {"default_agent_id": profile.default_agent_id,
                  "default_number_id": profile.default_number_id,
                  "preferences": dict(profile.preferences), "created_at": profile.created_at,
                  "updated_at": profile.updated_at}
        self._db.execute(self._insert(up).values(
            tenant_id=self.tenant_id, user_id=profile.user_id, **values
        ).on_conflict_do_update(index_elements=["tenant_id", "user_id"], set_=values))


def _row_to_permission(row: sa.Row[Any]) -> Permission:
    return Permission(id=row.id, tenant_id=row.tenant_id, user_id=row.user_id,
                      created_at=row.created_at, updated_at=row.updated_at,
                      number_id=row.number_id, voice_id=row.voice_id,
                      is_active=row.is_active, granted_by=row.granted_by)


class SqlPermissionRepository(OutreachRepository):
    def add(self, permission: Permission) -> None:
        self._db.execute(p.insert().values(
            tenant_id=self.tenant_id, id=permission.id, user_id=permission.user_id,
            granted_by=permission.granted_by, created_at=permission.created_at,
            **self._values(permission)))

    def get(self, permission_id: uuid.UUID) -> Permission | None:
        row = self._one(sa.select(p).where(p.c.tenant_id == self.tenant_id,
                                           p.c.id == permission_id))
        return _row_to_permission(row) if row else None

    def update(self, permission: Permission) -> None:
        self._db.execute(p.update().where(p.c.tenant_id == self.tenant_id,
                                          p.c.id == permission.id)
                         .values(self._values(permission)))

    def for_user(self, user_id: uuid.UUID) -> Sequence[Permission]:
        rows = self._db.execute(sa.select(p).where(
            p.c.tenant_id == self.tenant_id, p.c.user_id == user_id)
            .order_by(p.c.created_at, p.c.id)).all()
        return [_row_to_permission(row) for row in rows]

    def list(self, user_id: uuid.UUID | None, page: PageRequest) -> Page[Permission]:
        where = [p.c.tenant_id == self.tenant_id]
        if user_id is not None:
            where.append(p.c.user_id == user_id)
        return paginate(self._db, sa.select(p).where(*where), created_at=p.c.created_at,
                        id_column=p.c.id, page=page, to_item=_row_to_permission)

    @staticmethod
    def _values(permission: Permission) -> dict[str, Any]:
        return {"number_id": permission.number_id, "voice_id": permission.voice_id,
                "is_active": permission.is_active, "updated_at": permission.updated_at}


# --- batches and their entries ------------------------------------------------------------


def _row_to_batch(row: sa.Row[Any]) -> Batch:
    return Batch(id=row.id, tenant_id=row.tenant_id, agent_id=row.agent_id,
                 status=BatchStatus(row.status), created_at=row.created_at,
                 updated_at=row.updated_at, number_id=row.number_id,
                 campaign_id=row.campaign_id, name=row.name,
                 settings=batch_settings(row.settings),
                 total_calls=row.total_calls, completed_calls=row.completed_calls,
                 failed_calls=row.failed_calls, scheduled_at=row.scheduled_at,
                 started_at=row.started_at, finished_at=row.finished_at,
                 created_by=row.created_by)


class SqlBatchRepository(OutreachRepository):
    def add(self, batch: Batch) -> None:
        self._db.execute(b.insert().values(
            tenant_id=self.tenant_id, id=batch.id, agent_id=batch.agent_id,
            created_by=batch.created_by, created_at=batch.created_at,
            **self._values(batch)))

    def get(self, batch_id: uuid.UUID, *, lock: bool = False) -> Batch | None:
        query = sa.select(b).where(b.c.tenant_id == self.tenant_id, b.c.id == batch_id)
        row = self._one(self._locked(query, lock))
        return _row_to_batch(row) if row else None

    def update(self, batch: Batch) -> None:
        self._db.execute(b.update().where(b.c.tenant_id == self.tenant_id,
                                          b.c.id == batch.id).values(self._values(batch)))

    def list(self, status: BatchStatus | None, page: PageRequest) -> Page[Batch]:
        where = [b.c.tenant_id == self.tenant_id]
        if status is not None:
            where.append(b.c.status == str(status))
        return paginate(self._db, sa.select(b).where(*where), created_at=b.c.created_at,
                        id_column=b.c.id, page=page, to_item=_row_to_batch)

    def open_for_campaign(self, campaign_id: uuid.UUID, name: str) -> Batch | None:
        row = self._one(sa.select(b).where(
            b.c.tenant_id == self.tenant_id, b.c.campaign_id == campaign_id, b.c.name == name,
            b.c.status == str(BatchStatus.RUNNING)).order_by(b.c.created_at.desc(),
                                                             b.c.id.desc()).limit(1))
        return _row_to_batch(row) if row else None

    @staticmethod
    def _values(batch: Batch) -> dict[str, Any]:
        return {"number_id": batch.number_id, "campaign_id": batch.campaign_id,
                "name": batch.name, "settings": batch.settings.document(),
                "status": str(batch.status), "total_calls": batch.total_calls,
                "completed_calls": batch.completed_calls, "failed_calls": batch.failed_calls,
                "scheduled_at": batch.scheduled_at, "started_at": batch.started_at,
                "finished_at": batch.finished_at, "updated_at": batch.updated_at}


def _row_to_entry(row: sa.Row[Any]) -> BatchEntry:
    phone = (PhoneNumber(country_code=row.to_country_code, base_number=row.to_base_number)
             if row.to_country_code is not None and row.to_base_number is not None else None)
    return BatchEntry(id=row.id, tenant_id=row.tenant_id, batch_id=row.batch_id,
                      status=EntryStatus(row.status), created_at=row.created_at,
                      updated_at=row.updated_at, lead_id=row.lead_id, phone=phone,
                      attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                      last_error=row.last_error,
                      decision=decision_from(row.decision),
                      last_call_id=row.last_call_id, last_outcome=row.last_outcome,
                      claim_token=row.claim_token)


_OPEN_ENTRY = e.c.status.in_([str(s) for s in EntryStatus if s.is_open])
#: Multi-row INSERTs stay under SQLite's bound-parameter limit.
INSERT_CHUNK = 500


class SqlEntryRepository(OutreachRepository):
    def add_many(self, entries: Sequence[BatchEntry]) -> None:
        rows = [{"tenant_id": self.tenant_id, "id": entry.id, "batch_id": entry.batch_id,
                 "lead_id": entry.lead_id, "created_at": entry.created_at,
                 **self._values(entry)} for entry in entries]
        for start in range(0, len(rows), INSERT_CHUNK):
            self._db.execute(e.insert(), rows[start:start + INSERT_CHUNK])

    def get(self, entry_id: uuid.UUID, *, lock: bool = False) -> BatchEntry | None:
        query = sa.select(e).where(e.c.tenant_id == self.tenant_id, e.c.id == entry_id)
        row = self._one(self._locked(query, lock))
        return _row_to_entry(row) if row else None

    def update(self, entry: BatchEntry) -> None:
        self._db.execute(e.update().where(e.c.tenant_id == self.tenant_id,
                                          e.c.id == entry.id).values(self._values(entry)))

    def list(self, batch_id: uuid.UUID, status: EntryStatus | None, page: PageRequest
             ) -> Page[BatchEntry]:
        where = [e.c.tenant_id == self.tenant_id, e.c.batch_id == batch_id]
        if status is not None:
            where.append(e.c.status == str(status))
        return keyset(self._db, sa.select(e).where(*where), kind=f"{e.name}\0{batch_id}\0{status}",
                       created_at=e.c.created_at, id_column=e.c.id, page=page,
                       to_item=_row_to_entry, oldest_first=True)

    def counts(self, batch_id: uuid.UUID) -> dict[EntryStatus, int]:
        found = {EntryStatus(row.status): int(row.n) for row in self._db.execute(
            sa.select(e.c.status, sa.func.count().label("n"))
            .where(e.c.tenant_id == self.tenant_id, e.c.batch_id == batch_id)
            .group_by(e.c.status))}
        return {status: found.get(status, 0) for status in EntryStatus}

    def open_for_lead(self, lead_id: uuid.UUID) -> Sequence[BatchEntry]:
        rows = self._db.execute(sa.select(e).where(
            e.c.tenant_id == self.tenant_id, e.c.lead_id == lead_id, _OPEN_ENTRY)
            .order_by(e.c.created_at, e.c.id)).all()
        return [_row_to_entry(row) for row in rows]

    def cancel_open(self, batch_id: uuid.UUID, reason: str, at: datetime) -> int:
        return int(self._db.execute(e.update().where(
            e.c.tenant_id == self.tenant_id, e.c.batch_id == batch_id,
            e.c.status == str(EntryStatus.PENDING)
        ).values(status=str(EntryStatus.CANCELLED), last_error=reason, next_attempt_at=None,
                 claim_token=None, updated_at=at)).rowcount)

    @staticmethod
    def _values(entry: BatchEntry) -> dict[str, Any]:
        return {"to_country_code": entry.phone.country_code if entry.phone else None,
                "to_base_number": entry.phone.base_number if entry.phone else None,
                "status": str(entry.status), "attempts": entry.attempts,
                "next_attempt_at": entry.next_attempt_at, "last_error": entry.last_error,
                "decision": entry.decision.document() if entry.decision else None,
                "last_call_id": entry.last_call_id, "last_outcome": entry.last_outcome,
                "claim_token": entry.claim_token, "updated_at": entry.updated_at}


# --- calls and their analysis -------------------------------------------------------------


def _row_to_call(row: sa.Row[Any]) -> Call:
    return Call(id=row.id, tenant_id=row.tenant_id, created_at=row.created_at,
                updated_at=row.updated_at, status=CallStatus(row.status),
                to=PhoneNumber(country_code=row.to_country_code,
                               base_number=row.to_base_number),
                agent_id=row.agent_id, number_id=row.number_id, lead_id=row.lead_id,
                campaign_id=row.campaign_id, batch_id=row.batch_id,
                batch_entry_id=row.batch_entry_id,
                initiated_by_user_id=row.initiated_by_user_id, direction=row.direction,
                provider=row.provider, provider_call_id=row.provider_call_id,
                started_at=row.started_at, ended_at=row.ended_at,
                duration_seconds=row.duration_seconds, cost=row.cost,
                cost_breakdown=dict(row.cost_breakdown or {}),
                reservation_id=row.billing_reservation_id, recording_url=row.recording_url,
                transcription=row.transcription, metadata=dict(row.metadata or {}))


_LIVE_CALL = cl.c.status.in_([str(s) for s in LIVE_CALL_STATUSES])


class SqlCallRepository(OutreachRepository):
    def add(self, call: Call) -> None:
        self._db.execute(cl.insert().values(
            tenant_id=self.tenant_id, id=call.id, created_at=call.created_at,
            agent_id=call.agent_id, number_id=call.number_id, lead_id=call.lead_id,
            campaign_id=call.campaign_id, batch_id=call.batch_id,
            batch_entry_id=call.batch_entry_id,
            initiated_by_user_id=call.initiated_by_user_id, direction=call.direction,
            to_country_code=call.to.country_code, to_base_number=call.to.base_number,
            **self._values(call)))

    def get(self, call_id: uuid.UUID, *, lock: bool = False) -> Call | None:
        return self._find(lock, cl.c.id == call_id)

    def get_by_provider(self, provider: str, provider_call_id: str, *, lock: bool = False
                        ) -> Call | None:
        return self._find(lock, cl.c.provider == provider,
                          cl.c.provider_call_id == provider_call_id)

    def update(self, call: Call) -> None:
        # The partition key too: PostgreSQL then touches the call's month alone.
        self._db.execute(cl.update().where(cl.c.tenant_id == self.tenant_id,
                                           cl.c.id == call.id,
                                           cl.c.created_at == call.created_at)
                         .values(self._values(call)))

    def list(self, page: PageRequest, *, lead_id: uuid.UUID | None = None,
             batch_id: uuid.UUID | None = None, since: datetime | None = None,
             until: datetime | None = None) -> Page[Call]:
        where = [cl.c.tenant_id == self.tenant_id]
        if lead_id is not None:
            where.append(cl.c.lead_id == lead_id)
        if batch_id is not None:
            where.append(cl.c.batch_id == batch_id)
        if since is not None:
            where.append(cl.c.created_at >= since)
        if until is not None:
            where.append(cl.c.created_at < until)
        return paginate(self._db, sa.select(cl).where(*where), created_at=cl.c.created_at,
                        id_column=cl.c.id, page=page, to_item=_row_to_call)

    def placed_since(self, lead_id: uuid.UUID, since: datetime) -> int:
        return int(self._db.execute(sa.select(sa.func.count()).select_from(cl).where(
            cl.c.tenant_id == self.tenant_id, cl.c.lead_id == lead_id,
            cl.c.created_at >= since)).scalar_one())

    def overdue(self, before: datetime, limit: int) -> Sequence[Call]:
        rows = self._db.execute(sa.select(cl).where(
            cl.c.tenant_id == self.tenant_id, _LIVE_CALL, cl.c.created_at < before)
            .order_by(cl.c.created_at, cl.c.id).limit(limit)).all()
        return [_row_to_call(row) for row in rows]

    def _find(self, lock: bool, *where: sa.ColumnElement[bool]) -> Call | None:
        query = sa.select(cl).where(cl.c.tenant_id == self.tenant_id, *where)
        row = self._one(self._locked(query.order_by(cl.c.created_at, cl.c.id).limit(1), lock))
        return _row_to_call(row) if row else None

    @staticmethod
    def _values(call: Call) -> dict[str, Any]:
        return {"status": str(call.status), "provider": call.provider,
                "provider_call_id": call.provider_call_id, "started_at": call.started_at,
                "ended_at": call.ended_at, "duration_seconds": call.duration_seconds,
                "cost": call.cost, "cost_breakdown": dict(call.cost_breakdown),
                "billing_reservation_id": call.reservation_id,
                "recording_url": call.recording_url, "transcription": call.transcription,
                "metadata": dict(call.metadata), "updated_at": call.updated_at}


def _row_to_analysis(row: sa.Row[Any]) -> CallAnalysis:
    return CallAnalysis(id=row.id, tenant_id=row.tenant_id, call_id=row.call_log_id,
                        call_created_at=row.call_created_at, created_at=row.created_at,
                        updated_at=row.updated_at, sentiment=row.sentiment,
                        lead_category=row.lead_category, summary=row.summary,
                        extraction=dict(row.extraction or {}), model=row.model)


class SqlAnalysisRepository(OutreachRepository):
    def put(self, analysis: CallAnalysis) -> None:
        """One statement: inserted, or the call's analysis replaced (its id and creation
        time kept, and given back on ``analysis``)."""
        values = {"call_created_at": analysis.call_created_at,
                  "sentiment": analysis.sentiment, "lead_category": analysis.lead_category,
                  "summary": analysis.summary, "extraction": dict(analysis.extraction),
                  "model": analysis.model, "updated_at": analysis.updated_at}
        kept = self._db.execute(self._insert(an).values(
            tenant_id=self.tenant_id, id=analysis.id, call_log_id=analysis.call_id,
            created_at=analysis.created_at, **values
        ).on_conflict_do_update(index_elements=["tenant_id", "call_log_id"], set_=values)
            .returning(an.c.id, an.c.created_at)).one()
        analysis.id, analysis.created_at = kept.id, kept.created_at

    def get_for(self, call_id: uuid.UUID) -> CallAnalysis | None:
        row = self._one(sa.select(an).where(an.c.tenant_id == self.tenant_id,
                                            an.c.call_log_id == call_id))
        return _row_to_analysis(row) if row else None
