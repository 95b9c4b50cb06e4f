"""Voice setup use cases: the voice catalog (global voices from a data file, a tenant's own),
agents, phone numbers, members' defaults and call grants; and ``require_call``, the one
chain every dialing use case asks (role and feature, then the member's grants)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from lad_domain.shared.access import ensure_member, require_operator
from lad_domain.shared.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from lad_domain.shared.pagination import MAX_LIMIT, Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import choice, plain_text, required_text
from lad_domain.voice.events import VoiceSetupChanged
from lad_domain.voice.model import (
    Agent,
    Capability,
    Gender,
    Number,
    Permission,
    UserProfile,
    Voice,
    agent_settings,
)
from lad_domain.voice.policy import VoicePermission, require_call
from lad_domain.voice.ports import InvalidPhone, PhonePlan, VoiceUnitOfWork

#: BCP 47 as voices and agents use it: language, optional script, optional region, variants.
_BCP47 = re.compile(r"^([A-Za-z]{2,3})(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
                    r"((?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)$")
_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_PROMPT = 20_000
VOICE_FIELDS = ("provider", "provider_voice_id", "name", "gender", "language", "preview_url")
AGENT_FIELDS = ("name", "voice_id", "language", "system_prompt", "first_message", "config")
NUMBER_FIELDS = ("phone", "provider", "provider_number_id", "agent_id", "label",
                 "capabilities")


@attrs.frozen
class CatalogReport:
    """What loading a catalog file did, by voice."""

    added: int
    updated: int
    unchanged: int


def language(value: object, *, field: str = "language") -> str:
    """A BCP 47 tag in its canonical case (``en-US``, ``zh-Hant-TW``)."""
    match = _BCP47.match(value) if isinstance(value, str) and len(value) <= 16 else None
    if match is None:
        raise ValidationFailed.single(field, "must be a BCP 47 language tag, e.g. en-US")
    lang, script, region, rest = match.groups()
    return (lang.lower() + (script.title() if script else "")
            + (region.upper() if region else "") + rest.lower())


def provider_name(value: object, *, field: str = "provider") -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _PROVIDER.match(text):
        raise ValidationFailed.single(field, "must be a provider name (a-z, 0-9, '_', '-', "
                                      "at most 32 characters)")
    return text


def preview_url(value: object, *, field: str = "preview_url") -> str | None:
    if value is None:
        return None
    text = plain_text(value, field=field, max_length=2048)
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationFailed.single(field, "must be an https:// URL")
    return text


@attrs.define
class VoiceSetupService:
    scope: TenantScope[VoiceUnitOfWork]
    phones: PhonePlan

    # --- voices ---------------------------------------------------------------------------

    def list_voices(self, principal: Principal, provider: object, page: PageRequest, *,
                    tenant_id: uuid.UUID | None = None) -> Page[Voice]:
        """The global catalog and the tenant's own voices, live ones."""
        wanted = provider_name(provider) if provider is not None else None
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return uow.voices.list(wanted, page)

    def get_voice(self, principal: Principal, voice_id: uuid.UUID, *,
                  tenant_id: uuid.UUID | None = None) -> Voice:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return _voice(uow, voice_id)

    def add_voice(self, principal: Principal, fields: Mapping[str, object], *,
                  tenant_id: uuid.UUID | None = None) -> Voice:
        """A voice of the tenant's own (a cloned voice, a provider's voice not in the
        global catalog)."""
        clean = _voice_fields(fields, creating=True)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            voice = Voice(id=self.scope.ids.new_id(), created_at=now, updated_at=now,
                          tenant_id=tenant_of(uow), **clean)
            uow.voices.add(voice)
            self._changed(uow, voice.id, "voice", "added")
            uow.commit()
        return voice

    def update_voice(self, principal: Principal, voice_id: uuid.UUID,
                     fields: Mapping[str, object], *, tenant_id: uuid.UUID | None = None
                     ) -> Voice:
        clean = _voice_fields(fields, creating=False)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            voice = _own_voice(uow, voice_id)
            for name, value in clean.items():
                setattr(voice, name, value)
            voice.updated_at = self.scope.clock.now()
            uow.voices.update(voice)
            self._changed(uow, voice.id, "voice", "updated")
            uow.commit()
        return voice

    def remove_voice(self, principal: Principal, voice_id: uuid.UUID, *,
                     tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            voice = _own_voice(uow, voice_id)
            voice.deleted_at = voice.updated_at = self.scope.clock.now()
            uow.voices.update(voice)
            self._changed(uow, voice.id, "voice", "removed")
            uow.commit()

    def load_catalog(self, principal: Principal, document: object) -> CatalogReport:
        """The operator loads the global voices from ``{"voices": [...]}``: each is added,
        updated (matched on provider and provider_voice_id) or left as it is. Every row is
        checked first; one bad row and nothing is written (the errors name its index)."""
        require_operator(principal)
        rows = document.get("voices") if isinstance(document, Mapping) else None
        if not isinstance(rows, list) or not rows:
            raise ValidationFailed.single("voices", "must be a non-empty list of voices")
        errors: list[FieldError] = []
        clean: list[dict[str, Any]] = []
        seen: dict[tuple[str, str], int] = {}
        for index, row in enumerate(rows):
            where = f"voices[{index}]"
            if not isinstance(row, Mapping):
                errors.append(FieldError(where, "must be an object"))
                continue
            try:
                fields = _voice_fields(row, creating=True, prefix=f"{where}.")
            except ValidationFailed as failed:
                errors.extend(failed.errors)
                continue
            same = seen.setdefault((fields["provider"], fields["provider_voice_id"]), index)
            if same != index:
                errors.append(FieldError(f"{where}.provider_voice_id",
                                         f"repeats voices[{same}]"))
            clean.append(fields)
        if errors:
            raise ValidationFailed(errors)
        added = updated = unchanged = 0
        now = self.scope.clock.now()
        with self.scope.uow(None) as uow:
            for fields in clean:
                found = uow.voices.find(fields["provider"], fields["provider_voice_id"],
                                        global_only=True)
                if found is None:
                    uow.voices.add(Voice(id=self.scope.ids.new_id(), created_at=now,
                                         updated_at=now, **fields))
                    added += 1
                elif all(getattr(found, k) == v for k, v in fields.items()):
                    unchanged += 1
                else:
                    for name, value in fields.items():
                        setattr(found, name, value)
                    found.updated_at = now
                    uow.voices.update(found)
                    updated += 1
            uow.commit()
        return CatalogReport(added=added, updated=updated, unchanged=unchanged)

    # --- agents ---------------------------------------------------------------------------

    def create_agent(self, principal: Principal, fields: Mapping[str, object], *,
                     tenant_id: uuid.UUID | None = None) -> Agent:
        clean = _agent_fields(fields, creating=True)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            _visible_voice(uow, clean.get("voice_id"))
            agent = Agent(tenant_id=tenant_of(uow), created_at=now, updated_at=now,
                          created_by=principal.user_id, **clean)
            uow.agents.add(agent)
            self._changed(uow, agent.number, "agent", "created")
            uow.commit()
        return agent

    def get_agent(self, principal: Principal, agent_id: int, *,
                  tenant_id: uuid.UUID | None = None) -> Agent:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return _agent(uow, agent_id)

    def list_agents(self, principal: Principal, page: PageRequest, *,
                    tenant_id: uuid.UUID | None = None) -> Page[Agent]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return uow.agents.list(page)

    def update_agent(self, principal: Principal, agent_id: int, fields: Mapping[str, object],
                     *, tenant_id: uuid.UUID | None = None) -> Agent:
        """A partial change: absent fields are kept; null clears the optional ones."""
        clean = _agent_fields(fields, creating=False)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            agent = _agent(uow, agent_id)
            _visible_voice(uow, clean.get("voice_id"))
            for name, value in clean.items():
                setattr(agent, name, value)
            agent.updated_at = self.scope.clock.now()
            uow.agents.update(agent)
            self._changed(uow, agent.number, "agent", "updated")
            uow.commit()
        return agent

    def remove_agent(self, principal: Principal, agent_id: int, *,
                     tenant_id: uuid.UUID | None = None) -> None:
        """Soft delete; the numbers it answered keep no agent."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            agent = _agent(uow, agent_id)
            now = self.scope.clock.now()
            agent.deleted_at = agent.updated_at = now
            uow.agents.update(agent)
            for number in _all_numbers(uow):
                if number.agent_id == agent.id:
                    number.agent_id, number.updated_at = None, now
                    uow.numbers.update(number)
            self._changed(uow, agent.number, "agent", "removed")
            uow.commit()

    # --- numbers --------------------------------------------------------------------------

    def add_number(self, principal: Principal, fields: Mapping[str, object], *,
                   tenant_id: uuid.UUID | None = None) -> Number:
        clean = _number_fields(fields, self.phones, creating=True)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            _live_agent_field(uow, clean.get("agent_id"), "agent_id")
            number = Number(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                            created_at=now, updated_at=now, **clean)
            uow.numbers.add(number)
            self._changed(uow, number.id, "number", "added")
            uow.commit()
        return number

    def get_number(self, principal: Principal, number_id: uuid.UUID, *,
                   tenant_id: uuid.UUID | None = None) -> Number:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return _number(uow, number_id)

    def list_numbers(self, principal: Principal, page: PageRequest, *,
                     tenant_id: uuid.UUID | None = None) -> Page[Number]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return uow.numbers.list(page)

    def update_number(self, principal: Principal, number_id: uuid.UUID,
                      fields: Mapping[str, object], *, tenant_id: uuid.UUID | None = None
                      ) -> Number:
        """The agent answering it, its label and capabilities (the number itself and its
        provider stay: remove it and add the new one)."""
        unknown = [k for k in fields if k not in ("agent_id", "label", "capabilities")]
        if unknown:
            raise ValidationFailed([FieldError(k, "cannot be changed") for k in unknown])
        clean = _number_fields(fields, self.phones, creating=False)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            number = _number(uow, number_id)
            _live_agent_field(uow, clean.get("agent_id"), "agent_id")
            for name, value in clean.items():
                setattr(number, name, value)
            number.updated_at = self.scope.clock.now()
            uow.numbers.update(number)
            self._changed(uow, number.id, "number", "updated")
            uow.commit()
        return number

    def remove_number(self, principal: Principal, number_id: uuid.UUID, *,
                      tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            number = _number(uow, number_id)
            number.deleted_at = number.updated_at = self.scope.clock.now()
            uow.numbers.update(number)
            self._changed(uow, number.id, "number", "removed")
            uow.commit()

    # --- members' defaults ----------------------------------------------------------------

    def get_profile(self, principal: Principal, user_id: uuid.UUID, *,
                    tenant_id: uuid.UUID | None = None) -> UserProfile:
        """A member's defaults (empty ones when none were set)."""
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return self._profile(uow, user_id)

    def put_profile(self, principal: Principal, user_id: uuid.UUID,
                    fields: Mapping[str, object], *, tenant_id: uuid.UUID | None = None
                    ) -> UserProfile:
        """Set a member's defaults: their own (members who may call), anyone's (admins).
        The default agent and number must be the tenant's, live."""
        unknown = [k for k in fields if k not in ("default_agent_id", "default_number_id",
                                                  "preferences")]
        if unknown:
            raise ValidationFailed([FieldError(k, "is not a profile field") for k in unknown])
        preferences = fields.get("preferences", None)
        if preferences is not None and not isinstance(preferences, Mapping):
            raise ValidationFailed.single("preferences", "must be an object")
        with self.scope.open(principal, tenant_id) as uow:
            own = principal.user_id is not None and principal.user_id == user_id
            self.scope.require(uow, principal, VoicePermission.CALL if own
                               else VoicePermission.MANAGE)
            profile = self._profile(uow, user_id)
            if "default_agent_id" in fields:
                agent_id = fields["default_agent_id"]
                _live_agent_field(uow, agent_id, "default_agent_id")
                profile.default_agent_id = agent_id if isinstance(agent_id, int) else None
            if "default_number_id" in fields:
                number_id = _optional_id(fields["default_number_id"], "default_number_id")
                if number_id is not None and uow.numbers.get(number_id) is None:
                    raise ValidationFailed.single("default_number_id",
                                                  "is not a number of this tenant")
                profile.default_number_id = number_id
            if preferences is not None:
                profile.preferences = dict(preferences)
            profile.updated_at = self.scope.clock.now()
            uow.voice_profiles.put(profile)
            self._changed(uow, user_id, "profile", "saved")
            uow.commit()
        return profile

    def _profile(self, uow: VoiceUnitOfWork, user_id: uuid.UUID) -> UserProfile:
        if uow.memberships.get(user_id) is None:
            raise NotFound("member not found")
        found = uow.voice_profiles.get(user_id)
        if found is not None:
            return found
        now = self.scope.clock.now()
        return UserProfile(tenant_id=tenant_of(uow), user_id=user_id, created_at=now,
                           updated_at=now)

    # --- grants ---------------------------------------------------------------------------

    def grant(self, principal: Principal, user_id: object, *, number_id: object = None,
              voice_id: object = None, tenant_id: uuid.UUID | None = None) -> Permission:
        """Let a member call from a number (any voice), with a voice (any number), or
        both together."""
        member = _optional_id(user_id, "user_id")
        number = _optional_id(number_id, "number_id")
        voice = _optional_id(voice_id, "voice_id")
        if member is None:
            raise ValidationFailed.single("user_id", "is required")
        if number is None and voice is None:
            raise ValidationFailed.single("number_id", "a grant names a number, a voice or "
                                          "both")
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            ensure_member(uow, member, "user_id")
            if number is not None and uow.numbers.get(number) is None:
                raise ValidationFailed.single("number_id", "is not a number of this tenant")
            _visible_voice(uow, voice)
            permission = Permission(id=self.scope.ids.new_id(), tenant_id=tenant_of(uow),
                                    user_id=member, created_at=now, updated_at=now,
                                    number_id=number, voice_id=voice,
                                    granted_by=principal.user_id)
            uow.voice_permissions.add(permission)
            self._changed(uow, permission.id, "permission", "granted")
            uow.commit()
        return permission

    def list_permissions(self, principal: Principal, user_id: uuid.UUID | None,
                         page: PageRequest, *, tenant_id: uuid.UUID | None = None
                         ) -> Page[Permission]:
        """Grants, revoked ones too (``is_active`` false), newest first."""
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.READ)
            return uow.voice_permissions.list(user_id, page)

    def revoke(self, principal: Principal, permission_id: uuid.UUID, *,
               tenant_id: uuid.UUID | None = None) -> Permission:
        """The grant stays, inactive (who granted it and when remain to be read); revoking
        it again changes nothing."""
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, VoicePermission.MANAGE)
            permission = uow.voice_permissions.get(permission_id)
            if permission is None:
                raise NotFound("permission not found")
            if permission.is_active:
                permission.is_active = False
                permission.updated_at = self.scope.clock.now()
                uow.voice_permissions.update(permission)
                self._changed(uow, permission.id, "permission", "revoked")
                uow.commit()
        return permission

    def check_call(self, principal: Principal, number_id: uuid.UUID | None,
                   voice_id: uuid.UUID | None, *, tenant_id: uuid.UUID | None = None) -> None:
        """Whether the principal may call from the number with the voice: returns, or
        raises PermissionDenied saying what is missing."""
        with self.scope.read(principal, tenant_id) as uow:
            require_call(self.scope, uow, principal, number_id, voice_id)

    def _changed(self, uow: VoiceUnitOfWork, aggregate_id: uuid.UUID | int, what: str,
                 change: str) -> None:
        self.scope.record(uow, VoiceSetupChanged(aggregate_id=aggregate_id, what=what,
                                                 change=change))


# --- reads ----------------------------------------------------------------------------------

def _voice(uow: VoiceUnitOfWork, voice_id: uuid.UUID) -> Voice:
    found = uow.voices.get(voice_id)
    if found is None:
        raise NotFound("voice not found")
    return found


def _own_voice(uow: VoiceUnitOfWork, voice_id: uuid.UUID) -> Voice:
    voice = _voice(uow, voice_id)
    if voice.tenant_id is None:
        raise PermissionDenied("a catalog voice is the platform's: only the operator "
                               "changes it (lad voice voices load)")
    return voice


def _visible_voice(uow: VoiceUnitOfWork, voice_id: object) -> None:
    if isinstance(voice_id, uuid.UUID) and uow.voices.get(voice_id) is None:
        raise ValidationFailed.single("voice_id", "is not a voice of the catalog or of "
                                      "this tenant")


def _agent(uow: VoiceUnitOfWork, agent_id: int) -> Agent:
    found = uow.agents.get(agent_id)
    if found is None:
        raise NotFound("agent not found")
    return found


def _live_agent_field(uow: VoiceUnitOfWork, agent_id: object, field: str) -> None:
    if agent_id is None:
        return
    if not isinstance(agent_id, int) or isinstance(agent_id, bool):
        raise ValidationFailed.single(field, "must be an agent's id (a whole number)")
    if uow.agents.get(agent_id) is None:
        raise ValidationFailed.single(field, "is not an agent of this tenant")


def _number(uow: VoiceUnitOfWork, number_id: uuid.UUID) -> Number:
    found = uow.numbers.get(number_id)
    if found is None:
        raise NotFound("number not found")
    return found


def _all_numbers(uow: VoiceUnitOfWork) -> list[Number]:
    found: list[Number] = []
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        listed = uow.numbers.list(page)
        found.extend(listed.items)
        if listed.next_cursor is None:
            return found
        page = PageRequest.parse(limit=MAX_LIMIT, cursor=listed.next_cursor)


def _optional_id(value: object, field: str) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "must be an id (a UUID)") from None


# --- fields ---------------------------------------------------------------------------------

def _collect(values: Mapping[str, object], known: Sequence[str], required: Sequence[str],
             checks: Mapping[str, Any], *, creating: bool, prefix: str = ""
             ) -> dict[str, Any]:
    """Every field checked, every error kept (each named ``prefix`` + field)."""
    errors = [FieldError(prefix + k, "is not a known field") for k in values
              if k not in known]
    clean: dict[str, Any] = {}
    for name in known:
        if name not in values:
            if creating and name in required:
                errors.append(FieldError(prefix + name, "is required"))
            continue
        try:
            clean[name] = checks[name](values[name], prefix + name)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _optional(check: Any) -> Any:
    return lambda value, field: None if value is None else check(value, field)


_VOICE_CHECKS: dict[str, Any] = {
    "provider": lambda v, f: provider_name(v, field=f),
    "provider_voice_id": lambda v, f: plain_text(v, field=f, max_length=128),
    "name": lambda v, f: plain_text(v, field=f, max_length=200),
    "gender": _optional(lambda v, f: choice(Gender, v, field=f)),
    "language": _optional(lambda v, f: language(v, field=f)),
    "preview_url": lambda v, f: preview_url(v, field=f),
}


def _voice_fields(values: Mapping[str, object], *, creating: bool, prefix: str = ""
                  ) -> dict[str, Any]:
    return _collect(values, VOICE_FIELDS, ("provider", "provider_voice_id", "name"),
                    _VOICE_CHECKS, creating=creating, prefix=prefix)


def _prompt(value: object, field: str) -> str:
    return required_text(value, field=field, max_length=MAX_PROMPT)


_AGENT_CHECKS: dict[str, Any] = {
    "name": lambda v, f: plain_text(v, field=f, max_length=200),
    "voice_id": lambda v, f: _optional_id(v, f),
    "language": lambda v, f: language(v, field=f),
    "system_prompt": _optional(_prompt),
    "first_message": _optional(_prompt),
    "config": lambda v, f: agent_settings(v, field=f),
}


def _agent_fields(values: Mapping[str, object], *, creating: bool) -> dict[str, Any]:
    clean = _collect(values, AGENT_FIELDS, ("name",), _AGENT_CHECKS, creating=creating)
    if "config" in clean:
        clean["settings"] = clean.pop("config")
    if creating:
        clean.setdefault("language", "en")
    return clean


def _capabilities(value: object, field: str) -> frozenset[Capability]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not value:
        raise ValidationFailed.single(field, "must be a non-empty list of voice, sms")
    return frozenset(choice(Capability, item, field=field) for item in value)


def _number_fields(values: Mapping[str, object], phones: PhonePlan, *, creating: bool
                   ) -> dict[str, Any]:
    def phone(value: object, field: str) -> Any:
        text = plain_text(value, field=field, max_length=64)
        try:
            return phones.parse(text)
        except InvalidPhone as invalid:
            raise ValidationFailed.single(field, str(invalid)) from None

    def agent(value: object, field: str) -> int | None:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValidationFailed.single(field, "must be an agent's id (a whole number)")
        return value

    checks: dict[str, Any] = {
        "phone": phone, "provider": lambda v, f: provider_name(v, field=f),
        "provider_number_id": _optional(lambda v, f: plain_text(v, field=f, max_length=128)),
        "agent_id": agent, "label": _optional(lambda v, f: plain_text(v, field=f,
                                                                      max_length=100)),
        "capabilities": _capabilities,
    }
    return _collect(values, NUMBER_FIELDS, ("phone", "provider"), checks, creating=creating)
