"""Who may search and enrich: viewers read what was found before (the caches); members
search, import and enrich, which spends credits."""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role

FEATURE = "enrichment"


class EnrichmentPermission(enum.StrEnum):
    READ = "enrichment.read"
    SEARCH = "enrichment.search"


RULES: dict[str, Rule] = {
    EnrichmentPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    EnrichmentPermission.SEARCH: Rule(Role.MEMBER, feature=FEATURE,
                                      capability="enrichment.search"),
}
