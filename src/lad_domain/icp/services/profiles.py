"""Saved ICP profiles: an ICP document under a name, saved from a conversation or typed,
edited, reused for searches (each use counted), deleted softly (the name is free again)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import attrs

from lad_domain.icp.events import ProfileChanged
from lad_domain.icp.model import IcpDocument, IcpProfile
from lad_domain.icp.policy import IcpPermission
from lad_domain.icp.ports import IcpUnitOfWork
from lad_domain.shared.errors import NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import plain_text, required_text

PROFILE_FIELDS = ("name", "description", "icp", "conversation_id")
MAX_DESCRIPTION = 2000


@attrs.define
class IcpProfiles:
    scope: TenantScope[IcpUnitOfWork]

    def save(self, principal: Principal, fields: Mapping[str, object], *,
             tenant_id: uuid.UUID | None = None) -> IcpProfile:
        """A new profile: its ``icp`` typed, or taken from ``conversation_id``'s document."""
        _known(fields)
        name = required_text(fields.get("name"), field="name", max_length=200)
        description = _description(fields.get("description"))
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.USE)
            icp, source = self._document(uow, fields)
            if icp.is_empty:
                raise ValidationFailed.single("icp", "is empty: describe at least one of "
                                              "titles, seniorities, headcounts, locations, "
                                              "industries, keywords or domains")
            profile = IcpProfile(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                                 name=name, icp=icp, created_at=now, updated_at=now,
                                 user_id=principal.user_id, description=description,
                                 source_conversation_id=source)
            uow.icp_profiles.add(profile)
            self.scope.record(uow, ProfileChanged(aggregate_id=profile.id, change="saved"))
            uow.commit()
        return profile

    def get(self, principal: Principal, profile_id: uuid.UUID, *,
            tenant_id: uuid.UUID | None = None) -> IcpProfile:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            return profile_of(uow, profile_id)

    def list(self, principal: Principal, page: PageRequest, *,
             tenant_id: uuid.UUID | None = None) -> Page[IcpProfile]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, IcpPermission.READ)
            return uow.icp_profiles.list(page)

    def update(self, principal: Principal, profile_id: uuid.UUID,
               fields: Mapping[str, object], *, tenant_id: uuid.UUID | None = None
               ) -> IcpProfile:
        _known(fields, allowed=("name", "description", "icp"))
        with self.scope.open(principal, tenant_id) as uow:
            role = self.scope.require(uow, principal, IcpPermission.USE)
            profile = profile_of(uow, profile_id, lock=True)
            _may_change(principal, role, profile)
            if "name" in fields:
                profile.name = required_text(fields["name"], field="name", max_length=200)
            if "description" in fields:
                profile.description = _description(fields["description"])
            if "icp" in fields:
                icp = IcpDocument.from_json(fields["icp"])
                if icp.is_empty:
                    raise ValidationFailed.single("icp", "is empty")
                profile.icp = icp
            profile.updated_at = self.scope.clock.now()
            uow.icp_profiles.update(profile)
            self.scope.record(uow, ProfileChanged(aggregate_id=profile.id, change="updated"))
            uow.commit()
        return profile

    def delete(self, principal: Principal, profile_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            role = self.scope.require(uow, principal, IcpPermission.USE)
            profile = profile_of(uow, profile_id, lock=True)
            _may_change(principal, role, profile)
            now = self.scope.clock.now()
            profile.deleted_at = now
            profile.updated_at = now
            uow.icp_profiles.update(profile)
            self.scope.record(uow, ProfileChanged(aggregate_id=profile.id, change="deleted"))
            uow.commit()

    def _document(self, uow: IcpUnitOfWork, fields: Mapping[str, object]
                  ) -> tuple[IcpDocument, uuid.UUID | None]:
        conversation_id = fields.get("conversation_id")
        if conversation_id is not None and "icp" in fields:
            raise ValidationFailed.single("icp", "give either icp or conversation_id, not "
                                                 "both")
        if conversation_id is None:
            if "icp" not in fields:
                raise ValidationFailed.single("icp", "is required (or conversation_id)")
            return IcpDocument.from_json(fields["icp"]), None
        try:
            wanted = uuid.UUID(str(conversation_id))
        except ValueError:
            raise ValidationFailed.single("conversation_id", "must be a UUID") from None
        conversation = uow.conversations.get(wanted)
        if conversation is None:
            raise NotFound("conversation not found")
        return conversation.icp, conversation.id


def profile_of(uow: IcpUnitOfWork, profile_id: uuid.UUID, *, lock: bool = False
               ) -> IcpProfile:
    found = uow.icp_profiles.get(profile_id, lock=lock)
    if found is None:
        raise NotFound("ICP profile not found")
    return found


def _known(fields: Mapping[str, object], allowed: tuple[str, ...] = PROFILE_FIELDS) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationFailed.single(unknown[0], "is not a field of a profile; known: "
                                      + ", ".join(allowed))


def _description(value: object) -> str | None:
    if value is None:
        return None
    return plain_text(value, field="description", max_length=MAX_DESCRIPTION) or None


def _may_change(principal: Principal, role: Role | None, profile: IcpProfile) -> None:
    """Whoever saved a profile changes it; admins change any."""
    if role is None or role.rank >= Role.ADMIN.rank:
        return
    if profile.user_id is not None and profile.user_id != principal.user_id:
        raise PermissionDenied("this profile was saved by another member: an admin may "
                               "change it")
