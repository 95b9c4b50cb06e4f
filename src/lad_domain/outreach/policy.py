"""Who may do what in outreach and campaigns."""

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
    CAMPAIGNS_READ = "campaigns.read"
    CAMPAIGNS_RUN = "campaigns.run"


#: Viewers read; members write templates and run campaigns; admins manage the accounts
#: mail leaves from and the suppression list. Everything needs the "campaigns" feature.
RULES: dict[str, Rule] = {
    OutreachPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    OutreachPermission.TEMPLATES: Rule(Role.MEMBER, feature=FEATURE,
                                       capability="templates.write"),
    OutreachPermission.MANAGE: Rule(Role.ADMIN, feature=FEATURE, capability="outreach.manage"),
    OutreachPermission.CAMPAIGNS_READ: Rule(Role.VIEWER, feature=FEATURE),
    OutreachPermission.CAMPAIGNS_RUN: Rule(Role.MEMBER, feature=FEATURE,
                                           capability="campaigns.run"),
}
