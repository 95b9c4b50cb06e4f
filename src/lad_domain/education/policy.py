"""Who may do what with students and counsellors."""

from __future__ import annotations

import enum

from lad_domain.shared.access import Rule
from lad_domain.shared.principal import Role

FEATURE = "education"


class EducationPermission(enum.StrEnum):
    READ = "education.read"
    WRITE = "education.write"
    MANAGE = "education.manage"


#: Viewers read; members enrol students and assign counsellors; admins manage counsellors.
RULES: dict[str, Rule] = {
    EducationPermission.READ: Rule(Role.VIEWER, feature=FEATURE),
    EducationPermission.WRITE: Rule(Role.MEMBER, feature=FEATURE, capability="students.write"),
    EducationPermission.MANAGE: Rule(Role.ADMIN, feature=FEATURE,
                                     capability="counsellors.manage"),
}
