"""Who may do what with voice: the role rules (on the tenant's ``voice`` feature), then
the resource permissions: which member may call from which number with which voice. One
chain, asked by every use case, so HTTP, the CLI and library callers are held alike."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from lad_domain.shared.access import Rule
from lad_domain.shared.errors import PermissionDenied
from lad_domain.shared.principal import Principal, PrincipalKind, Role
from lad_domain.voice.model import Permission

FEATURE = "voice"


class VoicePermission(enum.StrEnum):
    READ = "voice.read"
    #: Place calls and run batches (members, within their number and voice grants).
    CALL = "voice.call"
    #: Agents, numbers, the tenant's voices, members' profiles and grants: admins.
    MANAGE = "voice.manage"


RULES: dict[str, Rule] = {
    VoicePermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    VoicePermission.CALL: Rule(Role.MEMBER, feature=FEATURE, capability="voice.call"),
    VoicePermission.MANAGE: Rule(Role.ADMIN, feature=FEATURE, capability="voice.manage"),
}


def require_grant(principal: Principal, role: Role | None, grants: Sequence[Permission],
                  number_id: uuid.UUID | None, voice_id: uuid.UUID | None) -> None:
    """The last link of the chain: admins (and the operator, and admin API keys) call with
    any number and voice; anyone else needs an active grant covering both."""
    if role is None or role.rank >= Role.ADMIN.rank:
        return
    if principal.kind is PrincipalKind.API_KEY:
        raise PermissionDenied("calls from an API key need the admin role: grants are "
                               "given to members")
    if any(grant.covers(number_id, voice_id) for grant in grants):
        return
    what = []
    if number_id is not None:
        what.append(f"number {number_id}")
    if voice_id is not None:
        what.append(f"voice {voice_id}")
    raise PermissionDenied("you have no grant to call with " + (" and ".join(what) or
                                                                  "this agent"))


class _CallScope(Protocol):
    def require(self, uow: Any, principal: Principal, permission: str) -> Role | None: ...


class _Grants(Protocol):
    def for_user(self, user_id: uuid.UUID) -> Sequence[Permission]: ...


class _GrantRecords(Protocol):
    @property
    def voice_permissions(self) -> _Grants: ...


def require_call(scope: _CallScope, uow: _GrantRecords, principal: Principal,
                 number_id: uuid.UUID | None, voice_id: uuid.UUID | None) -> Role | None:
    """The whole chain for a call: the role (or capability) and the tenant's ``voice``
    feature, then the member's grants for the number and the voice."""
    role = scope.require(uow, principal, VoicePermission.CALL)
    grants = (uow.voice_permissions.for_user(principal.user_id)
              if principal.user_id is not None else ())
    require_grant(principal, role, grants, number_id, voice_id)
    return role
