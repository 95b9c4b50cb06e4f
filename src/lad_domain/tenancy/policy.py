"""Who may do what with tenants, members, invitations, features, flags and API keys.

The rules are a table; ``lad_domain.access_rules`` joins every context's table into the one
access policy (``lad_domain.shared.access``).
"""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role


class Permission(enum.StrEnum):
    TENANT_READ = "tenant.read"
    TENANT_UPDATE = "tenant.update"
    TENANT_DELETE = "tenant.delete"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    OWNERSHIP_TRANSFER = "ownership.transfer"
    INVITATIONS_MANAGE = "invitations.manage"
    FEATURES_READ = "features.read"
    FEATURES_MANAGE = "features.manage"
    CAPABILITIES_MANAGE = "capabilities.manage"
    FLAGS_READ = "flags.read"
    API_KEYS_MANAGE = "api_keys.manage"


RULES: dict[str, Rule] = {
    Permission.TENANT_READ: Rule(Role.VIEWER),
    Permission.TENANT_UPDATE: Rule(Role.ADMIN),
    Permission.TENANT_DELETE: Rule(Role.OWNER),
    Permission.MEMBERS_READ: Rule(Role.VIEWER),
    Permission.MEMBERS_MANAGE: Rule(Role.ADMIN, capability="members.manage"),
    Permission.OWNERSHIP_TRANSFER: Rule(Role.OWNER),
    Permission.INVITATIONS_MANAGE: Rule(Role.ADMIN, capability="invitations.manage"),
    Permission.FEATURES_READ: Rule(Role.VIEWER),
    Permission.FEATURES_MANAGE: Rule(Role.OWNER),
    Permission.CAPABILITIES_MANAGE: Rule(Role.ADMIN, people_only=True),
    Permission.FLAGS_READ: Rule(Role.VIEWER),
    Permission.API_KEYS_MANAGE: Rule(Role.ADMIN, people_only=True),
}
