"""Lead use cases: create, read, update, soft-delete, restore, move stage, assign owner, list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import attrs

from lad_domain.leads.events import (
    LeadCreated,
    LeadDeleted,
    LeadOwnerAssigned,
    LeadRestored,
    LeadStageChanged,
    LeadUpdated,
)
from lad_domain.leads.field_check import clean_lead_fields, ensure_identifiable
from lad_domain.leads.model import Lead, LeadFilter, Pipeline, StageChange
from lad_domain.leads.policy import LeadPermission
from lad_domain.leads.ports import LeadRepository, LeadsUnitOfWork, PhoneNumberParser
from lad_domain.shared.access import ensure_member
from lad_domain.shared.errors import Conflict, NotFound, ValidationFailed
from lad_domain.shared.events import DomainEvent
from lad_domain.shared.pagination import MAX_LIMIT, Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of

LeadsScope = TenantScope[LeadsUnitOfWork]


def pipeline_of(uow: LeadsUnitOfWork) -> Pipeline:
    return Pipeline(stages=list(uow.lead_stages.list()),
                    statuses=list(uow.lead_statuses.list()))


def live_lead(uow: LeadsUnitOfWork, lead_id: uuid.UUID) -> Lead:
    lead = uow.leads.get(lead_id)
    if lead is None or not lead.is_live:
        raise NotFound("lead not found")
    return lead


def matching_leads(leads: LeadRepository, lead_filter: LeadFilter, *, at_most: int
                   ) -> tuple[list[Lead], bool]:
    """The leads a filter of the leads list matches, read page by page until ``at_most``
    are read: those read, and whether more match (campaign enrollment, call batches)."""
    found: list[Lead] = []
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        result = leads.list(lead_filter, page)
        found.extend(result.items)
        if result.next_cursor is None:
            return found, False
        if len(found) >= at_most:
            return found, True
        page = PageRequest.parse(limit=MAX_LIMIT, cursor=result.next_cursor)


def member_emails(uow: LeadsUnitOfWork) -> dict[str, uuid.UUID]:
    """The tenant's members by (lower-cased) email: owners are named by email in CSV files."""
    found: dict[str, uuid.UUID] = {}
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        members = uow.memberships.list(page)
        for membership in members.items:
            user = uow.users.get(membership.user_id)
            if user is not None:
                found[user.email.lower()] = user.id
        if members.next_cursor is None:
            return found
        page = PageRequest.parse(limit=MAX_LIMIT, cursor=members.next_cursor)


@attrs.define
class LeadService:
    scope: LeadsScope
    phones: PhoneNumberParser

    def create_lead(self, principal: Principal, fields: Mapping[str, object], *,
                    tenant_id: uuid.UUID | None = None) -> Lead:
        clean = clean_lead_fields(fields, self.phones)
        ensure_identifiable(clean)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            pipeline = pipeline_of(uow)
            stage = pipeline.stage(clean["stage"]).key if clean.get("stage") else (
                pipeline.default_stage)
            status = pipeline.status(clean["status"]).key if clean.get("status") else (
                pipeline.default_status)
            ensure_member(uow, clean.get("owner_id"), "owner_id")
            self._ensure_email_free(uow, clean.get("email"), None)
            lead = Lead(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow), stage=stage,
                        status=status, created_at=now, updated_at=now,
                        first_name=clean.get("first_name"), last_name=clean.get("last_name"),
                        email=clean.get("email"), phone=clean.get("phone"),
                        company=clean.get("company"), title=clean.get("title"),
                        owner_id=clean.get("owner_id"), source=clean.get("source"),
                        custom_fields=clean.get("custom_fields") or {},
                        created_by=principal.user_id)
            uow.leads.add(lead)
            self.scope.record(uow, LeadCreated(aggregate_id=lead.id, stage=stage,
                                               status=status))
            uow.commit()
        return lead

    def get_lead(self, principal: Principal, lead_id: uuid.UUID, *,
                 tenant_id: uuid.UUID | None = None) -> Lead:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            return live_lead(uow, lead_id)

    def update_lead(self, principal: Principal, lead_id: uuid.UUID,
                    changes: Mapping[str, object], *,
                    tenant_id: uuid.UUID | None = None) -> Lead:
        """Change the given fields (a null clears one); a new stage is recorded as a move."""
        clean = clean_lead_fields(changes, self.phones)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = live_lead(uow, lead_id)
            pipeline = pipeline_of(uow)
            stage, status = clean.pop("stage", None), clean.pop("status", None)
            if "status" in changes:
                lead.status = pipeline.status(status or "").key
            if "owner_id" in clean:
                ensure_member(uow, clean["owner_id"], "owner_id")
            if "email" in clean:
                self._ensure_email_free(uow, clean["email"], lead.id)
            for name, value in clean.items():
                setattr(lead, name, {} if name == "custom_fields" and value is None else value)
            ensure_identifiable(attrs.asdict(lead))
            lead.updated_at = now
            if "stage" in changes:
                self._move(uow, principal, lead, pipeline.stage(stage or "").key)
            uow.leads.update(lead)
            self.scope.record(uow, LeadUpdated(
                aggregate_id=lead.id,
                fields=tuple(sorted(k for k in changes if k != "phone_region"))))
            uow.commit()
        return lead

    def move_stage(self, principal: Principal, lead_id: uuid.UUID, stage: str, *,
                   tenant_id: uuid.UUID | None = None) -> Lead:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = live_lead(uow, lead_id)
            self._move(uow, principal, lead, pipeline_of(uow).stage(stage).key)
            uow.leads.update(lead)
            uow.commit()
        return lead

    def assign_owner(self, principal: Principal, lead_id: uuid.UUID,
                     owner_id: uuid.UUID | None, *, tenant_id: uuid.UUID | None = None
                     ) -> Lead:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = live_lead(uow, lead_id)
            ensure_member(uow, owner_id, "owner_id")
            lead.assign(owner_id, self.scope.clock.now())
            uow.leads.update(lead)
            self.scope.record(uow, LeadOwnerAssigned(aggregate_id=lead.id, owner_id=owner_id))
            uow.commit()
        return lead

    def delete_lead(self, principal: Principal, lead_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None) -> Lead:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = live_lead(uow, lead_id)
            lead.soft_delete(self.scope.clock.now())
            uow.leads.update(lead)
            self.scope.record(uow, LeadDeleted(aggregate_id=lead.id))
            uow.commit()
        return lead

    def restore_lead(self, principal: Principal, lead_id: uuid.UUID, *,
                     tenant_id: uuid.UUID | None = None) -> Lead:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.WRITE)
            lead = uow.leads.get(lead_id)
            if lead is None:
                raise NotFound("lead not found")
            if lead.is_live:
                raise Conflict("this lead is not deleted")
            self._ensure_email_free(uow, lead.email, lead.id)
            lead.restore(self.scope.clock.now())
            uow.leads.update(lead)
            self.scope.record(uow, LeadRestored(aggregate_id=lead.id))
            uow.commit()
        return lead

    def list_leads(self, principal: Principal, filter: LeadFilter, page: PageRequest, *,
                   tenant_id: uuid.UUID | None = None) -> Page[Lead]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            return uow.leads.list(filter, page)

    def stage_history(self, principal: Principal, lead_id: uuid.UUID, *,
                      tenant_id: uuid.UUID | None = None) -> Sequence[StageChange]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            return uow.lead_history.list_for(lead_id)

    def events(self, principal: Principal, lead_id: uuid.UUID, *, limit: int = 50,
               tenant_id: uuid.UUID | None = None) -> Sequence[DomainEvent]:
        """The lead's history as recorded by every context, newest first: its calls
        (``lead.call``), a do-not-call request, ... (the events whose aggregate is the
        lead)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed.single("limit", f"must be between 1 and {MAX_LIMIT}")
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, LeadPermission.READ)
            live_lead(uow, lead_id)
            return uow.events.list(aggregate=("lead", str(lead_id)), limit=limit)

    def _move(self, uow: LeadsUnitOfWork, principal: Principal, lead: Lead, stage: str
              ) -> None:
        before = lead.stage
        change = lead.move_to(stage, self.scope.clock.now(), principal.user_id,
                              self.scope.ids.new_id())
        if change is not None:
            uow.lead_history.add_many([change])
            self.scope.record(uow, LeadStageChanged(aggregate_id=lead.id, from_stage=before,
                                                    to_stage=stage))

    @staticmethod
    def _ensure_email_free(uow: LeadsUnitOfWork, email: str | None,
                           lead_id: uuid.UUID | None) -> None:
        if email is None:
            return
        other = uow.leads.find_live_by_email(email)
        if other is not None and other.id != lead_id:
            raise Conflict(f"a lead with the email {email} already exists")
