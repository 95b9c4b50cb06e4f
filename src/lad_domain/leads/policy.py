"""Who may do what with leads and the pipeline."""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role

FEATURE = "leads"


class LeadPermission(enum.StrEnum):
    READ = "leads.read"
    WRITE = "leads.write"
    IMPORT = "leads.import"
    EXPORT = "leads.export"
    PIPELINE_MANAGE = "pipeline.manage"


#: Viewers read; members write, import and export (a viewer may be granted the capability);
#: admins shape the pipeline. Everything needs the tenant's "leads" feature.
RULES: dict[str, Rule] = {
    LeadPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    LeadPermission.WRITE: Rule(Role.MEMBER, feature=FEATURE, capability="leads.write"),
    LeadPermission.IMPORT: Rule(Role.MEMBER, feature=FEATURE, capability="leads.import"),
    LeadPermission.EXPORT: Rule(Role.MEMBER, feature=FEATURE, capability="leads.export"),
    LeadPermission.PIPELINE_MANAGE: Rule(Role.ADMIN, feature=FEATURE,
                                         capability="pipeline.manage"),
}
