"""Who may do what in outreach: templates, sending accounts, suppressions."""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role

FEATURE = "campaigns"


class OutreachPermission(enum.StrEnum):
    READ = "outreach.read"
    #: Templates: members write them.
    TEMPLATES = "outreach.templates"
    #: Sending accounts and the suppression list: admins.
    MANAGE = "outreach.manage"


#: Viewers read; members write templates; admins manage the accounts
#: mail leaves from and the suppression list. Everything needs the "campaigns" feature.
RULES: dict[str, Rule] = {
    OutreachPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    OutreachPermission.TEMPLATES: Rule(Role.MEMBER, feature=FEATURE,
                                       capability="templates.write"),
    OutreachPermission.MANAGE: Rule(Role.ADMIN, feature=FEATURE, capability="outreach.manage"),
}
