"""Pipeline use cases: the tenant's stages (ordered) and statuses, and the default pipeline
a new tenant starts with."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic

import attrs

from lad_domain.leads.events import (
    EntryAdded,
    EntryRenamed,
    LeadStageChanged,
    StageAdded,
    StageDeleted,
    StageRenamed,
    StagesReordered,
    StatusAdded,
    StatusDeleted,
    StatusRenamed,
)
from lad_domain.leads.model import (
    DEFAULT_STAGES,
    DEFAULT_STATUSES,
    MAX_LABEL,
    Pipeline,
    Stage,
    StageChange,
)
from lad_domain.leads.model import Status as LeadStatus
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.ports import (
    Entry,
    LeadsUnitOfWork,
    PipelineEntryRepository,
    leads_unit_of_work,
)
from lad_domain.leads.services.leads import LeadsScope, pipeline_of
from lad_domain.shared.errors import Conflict, NotFound, ValidationFailed
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import tenant_of
from lad_domain.shared.validation import key, plain_text
from lad_domain.tenancy.ports import TenancyUnitOfWork


def seed_default_pipeline(uow: TenancyUnitOfWork, tenant_id: uuid.UUID, at: datetime) -> None:
    """Called when a tenant is created, inside that transaction (see TenancyService)."""
    leads_uow = leads_unit_of_work(uow)
    for order, (stage_key, label) in enumerate(DEFAULT_STAGES):
        leads_uow.lead_stages.add(Stage(key=stage_key, label=label, display_order=order,
                                        created_at=at, updated_at=at))
    for order, (status_key, label) in enumerate(DEFAULT_STATUSES):
        leads_uow.lead_statuses.add(LeadStatus(key=status_key, label=label, display_order=order,
                                               created_at=at, updated_at=at))


@attrs.define
class PipelineService:
    scope: LeadsScope

    def pipeline(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                 ) -> Pipeline:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            return pipeline_of(uow)

    # --- stages ---------------------------------------------------------------------------

    def add_stage(self, principal: Principal, *, key: str, label: str,
                  tenant_id: uuid.UUID | None = None) -> Stage:
        """A new stage at the end of the pipeline."""
        return self._add(principal, _STAGES, key, label, tenant_id)

    def rename_stage(self, principal: Principal, stage_key: str, label: str, *,
                     tenant_id: uuid.UUID | None = None) -> Stage:
        return self._rename(principal, _STAGES, stage_key, label, tenant_id)

    def reorder_stages(self, principal: Principal, keys: Sequence[str], *,
                       tenant_id: uuid.UUID | None = None) -> list[Stage]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.PIPELINE_MANAGE)
            stages = pipeline_of(uow).reordered(list(keys), self.scope.clock.now())
            for stage in stages:
                uow.lead_stages.update(stage)
            self.scope.record(uow, StagesReordered(aggregate_id=tenant_of(uow), keys=tuple(keys)))
            uow.commit()
        return stages

    def delete_stage(self, principal: Principal, stage_key: str, *,
                     move_to: str | None = None, tenant_id: uuid.UUID | None = None) -> int:
        """Delete a stage; its leads must move to ``move_to`` in the same step. Returns how
        many leads moved."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.PIPELINE_MANAGE)
            pipeline = pipeline_of(uow)
            stage = _entry("stage", pipeline.stages, stage_key)
            others = [s for s in pipeline.stages if s.key != stage.key]
            target = _move_target(
                "stage", stage.key, [o.key for o in others], move_to,
                waiting=lambda: uow.leads.count_live(stage=stage.key),
                find=lambda key: pipeline.stage(key, field="move_to").key)
            now = self.scope.clock.now()
            # Soft-deleted leads move too (a lead always has a stage) but are not reported.
            moved = uow.leads.count_live(stage=stage.key)
            changes = [_change(self.scope, lead_id, stage.key, target, now, principal)
                       for lead_id in uow.leads.ids_in_stage(stage.key)]
            uow.leads.move_stage(stage.key, target, now)
            uow.lead_history.add_many(changes)
            for change in changes:
                self.scope.record(uow, LeadStageChanged(aggregate_id=change.lead_id,
                                                        from_stage=stage.key, to_stage=target))
            uow.lead_stages.remove(stage.key)
            for order, other in enumerate(others):
                if other.display_order != order:
                    uow.lead_stages.update(attrs.evolve(other, display_order=order,
                                                        updated_at=now))
            self.scope.record(uow, StageDeleted(aggregate_id=tenant_of(uow), key=stage.key,
                                                moved_to=target, moved=moved))
            uow.commit()
        return moved

    # --- statuses -------------------------------------------------------------------------

    def add_status(self, principal: Principal, *, key: str, label: str,
                   tenant_id: uuid.UUID | None = None) -> LeadStatus:
        return self._add(principal, _STATUSES, key, label, tenant_id)

    def rename_status(self, principal: Principal, status_key: str, label: str, *,
                      tenant_id: uuid.UUID | None = None) -> LeadStatus:
        return self._rename(principal, _STATUSES, status_key, label, tenant_id)

    def delete_status(self, principal: Principal, status_key: str, *,
                      move_to: str | None = None, tenant_id: uuid.UUID | None = None) -> int:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.PIPELINE_MANAGE)
            pipeline = pipeline_of(uow)
            status = _entry("status", pipeline.statuses, status_key)
            others = [s for s in pipeline.statuses if s.key != status.key]
            target = _move_target(
                "status", status.key, [o.key for o in others], move_to,
                waiting=lambda: uow.leads.count_live(status=status.key),
                find=lambda key: pipeline.status(key, field="move_to").key)
            moved = uow.leads.count_live(status=status.key)
            uow.leads.move_status(status.key, target, self.scope.clock.now())
            uow.lead_statuses.remove(status.key)
            self.scope.record(uow, StatusDeleted(aggregate_id=tenant_of(uow), key=status.key,
                                                 moved_to=target, moved=moved))
            uow.commit()
        return moved

    # --- what stages and statuses share ---------------------------------------------------

    def _add(self, principal: Principal, kind: _Kind[Entry], entry_key: str, label: str,
             tenant_id: uuid.UUID | None) -> Entry:
        """A new stage or status after the last one; its key must be new."""
        entry_key, label = _key(entry_key), _label(label)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.PIPELINE_MANAGE)
            repository = kind.repository(uow)
            entries = repository.list()
            if any(e.key == entry_key for e in entries):
                raise Conflict(f"the {kind.name} {entry_key!r} already exists")
            order = max((e.display_order for e in entries), default=-1) + 1
            now = self.scope.clock.now()
            entry = kind.entry(key=entry_key, label=label, display_order=order, created_at=now,
                               updated_at=now)
            repository.add(entry)
            self.scope.record(uow, kind.added(aggregate_id=tenant_of(uow), key=entry_key))
            uow.commit()
        return entry

    def _rename(self, principal: Principal, kind: _Kind[Entry], entry_key: str, label: str,
                tenant_id: uuid.UUID | None) -> Entry:
        label = _label(label)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.PIPELINE_MANAGE)
            repository = kind.repository(uow)
            entry = attrs.evolve(_entry(kind.name, repository.list(), entry_key), label=label,
                                 updated_at=self.scope.clock.now())
            repository.update(entry)
            self.scope.record(uow, kind.renamed(aggregate_id=tenant_of(uow), key=entry.key,
                                                label=label))
            uow.commit()
        return entry


@attrs.frozen
class _Kind(Generic[Entry]):
    """Stages or statuses: where they are kept and the events that tell of them."""

    name: str
    entry: type[Entry]
    repository: Callable[[LeadsUnitOfWork], PipelineEntryRepository[Entry]]
    added: type[EntryAdded]
    renamed: type[EntryRenamed]


_STAGES = _Kind("stage", Stage, lambda uow: uow.lead_stages, StageAdded, StageRenamed)
_STATUSES = _Kind("status", LeadStatus, lambda uow: uow.lead_statuses, StatusAdded,
                  StatusRenamed)


def _move_target(kind: str, deleted: str, others: Sequence[str], move_to: str | None, *,
                 waiting: Callable[[], int], find: Callable[[str], str]) -> str:
    """Where the leads of a deleted stage or status go: ``move_to``, or, when no live lead
    is there, the first remaining one (soft-deleted leads still need a value)."""
    if not others:
        raise Conflict(f"the last {kind} of a pipeline cannot be deleted")
    if move_to is not None:
        if move_to == deleted:
            raise ValidationFailed.single("move_to", f"must be another {kind}")
        return find(move_to)
    live = waiting()
    if live:
        raise Conflict(f"{live} lead(s) have the {kind} {deleted!r}; give move_to, another "
                       f"{kind}, to move them in the same step")
    return others[0]


#: Words the API's paths use beside a stage's or status's key (``PUT .../stages/order``):
#: a key spelled so could be added but never renamed or deleted over HTTP.
RESERVED_KEYS = frozenset({"order"})


def _key(value: str) -> str:
    found = key(value, field="key")
    if found in RESERVED_KEYS:
        raise ValidationFailed.single("key", f"{found!r} is reserved; choose another key")
    return found


def _label(value: str) -> str:
    return plain_text(value, field="label", max_length=MAX_LABEL)


def _entry(kind: str, entries: Sequence[Entry], entry_key: str) -> Entry:
    for entry in entries:
        if entry.key == entry_key:
            return entry
    raise NotFound(f"no {kind} {entry_key!r}")


def _change(scope: LeadsScope, lead_id: uuid.UUID, from_stage: str, to_stage: str,
            at: datetime, principal: Principal) -> StageChange:
    return StageChange(id=scope.ids.new_id(), lead_id=lead_id, from_stage=from_stage,
                       to_stage=to_stage, changed_at=at, changed_by=principal.user_id)
