"""Education vertical tables: students (a lead with a school profile) and counsellors."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables.base import (
    LIVE,
    deleted_at,
    id_key,
    table,
    tenant_key,
    tenant_ref,
    timestamps,
    user_ref,
    where,
)
from lad_adapters.sql.types import UtcDateTime

education_counsellors = table(
    "education_counsellors", "education", "tenant",
    tenant_key(),
    id_key(),
    user_ref("user_id", nullable=False, comment="The member who counsels"),
    sa.Column("counselor_code", sa.String(32), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=True),
    *timestamps(),
    deleted_at(),
    sa.Index("uq_education_counsellors_code_live", "tenant_id", "counselor_code", unique=True,
             **where(LIVE)),
    sa.Index("uq_education_counsellors_user_live", "tenant_id", "user_id", unique=True,
             **where(LIVE)),
    comment="Members who counsel students; counselor_code unique per tenant.",
)

education_students = table(
    "education_students", "education", "tenant",
    tenant_key(),
    id_key(),
    sa.Column("lead_id", sa.Uuid(), nullable=False),
    sa.Column("student_parent_name", sa.String(200), nullable=True),
    sa.Column("grade", sa.String(32), nullable=True),
    sa.Column("intended_programme", sa.String(200), nullable=True),
    sa.Column("country", sa.String(64), nullable=True),
    sa.Column("counsellor_id", sa.Uuid(), nullable=True),
    sa.Column("counsellor_assigned_at", UtcDateTime(), nullable=True),
    user_ref("created_by"),
    *timestamps(),
    deleted_at(),
    tenant_ref(["lead_id"], "leads", name="fk_education_students_lead", ondelete="CASCADE"),
    tenant_ref(["counsellor_id"], "education_counsellors",
               name="fk_education_students_counsellor"),
    sa.Index("uq_education_students_lead_live", "tenant_id", "lead_id", unique=True,
             **where(LIVE)),
    sa.Index("ix_education_students_caseload", "tenant_id", "counsellor_id", **where(LIVE)),
    comment="A lead's student profile: one per lead, optionally assigned to a counsellor.",
)
