"""Who may do what with campaigns."""

from __future__ import annotations

import enum

from lad_domain.outreach.policy import FEATURE
from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role


class CampaignPermission(enum.StrEnum):
    READ = "campaigns.read"
    RUN = "campaigns.run"
    #: Settling unknown sends (reconcile): admins.
    RECONCILE = "campaigns.reconcile"


#: Viewers read; members run campaigns; admins settle sends whose outcome is unknown.
RULES: dict[str, Rule] = {
    CampaignPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    CampaignPermission.RUN: Rule(Role.MEMBER, feature=FEATURE, capability="campaigns.run"),
    CampaignPermission.RECONCILE: Rule(Role.ADMIN, feature=FEATURE,
                                       capability="campaigns.reconcile"),
}
