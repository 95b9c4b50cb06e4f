"""The one access-rule table: every context's rules, joined once when the application is
composed. A new context adds its ``policy.RULES`` here."""

from __future__ import annotations

from lad_domain.billing import policy as billing
from lad_domain.campaigns import policy as campaigns
from lad_domain.education import policy as education
from lad_domain.enrichment import policy as enrichment
from lad_domain.icp import policy as icp
from lad_domain.leads import policy as leads
from lad_domain.outreach import policy as outreach
from lad_domain.shared.access import AccessPolicy
from lad_domain.tenancy import policy as tenancy
from lad_domain.voice import policy as voice


def access_policy() -> AccessPolicy:
    return AccessPolicy.of(tenancy.RULES, leads.RULES, education.RULES, billing.RULES,
                           outreach.RULES, campaigns.RULES, voice.RULES, icp.RULES,
                           enrichment.RULES)
