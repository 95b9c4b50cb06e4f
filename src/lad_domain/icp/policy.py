"""Who may use the ICP assistant: viewers read conversations and profiles; members talk to
the assistant (which spends tokens) and save profiles; admins delete any profile."""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role

FEATURE = "icp"


class IcpPermission(enum.StrEnum):
    READ = "icp.read"
    USE = "icp.use"
    MANAGE = "icp.manage"


RULES: dict[str, Rule] = {
    IcpPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    IcpPermission.USE: Rule(Role.MEMBER, feature=FEATURE, capability="icp.use"),
    IcpPermission.MANAGE: Rule(Role.ADMIN, feature=FEATURE, capability="icp.manage"),
}
