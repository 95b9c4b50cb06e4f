"""The unique keys a caller can run into, and what to tell them: shared by the SQL and the
in-memory adapters so both raise the same Conflict."""

from __future__ import annotations

CONSTRAINT_MESSAGES: dict[str, str] = {
    "uq_users_email_lower": "a user with this email already exists",
    "uq_tenants_slug_live": "this slug is taken",
    "uq_memberships_one_owner": "a tenant has exactly one owner",
    "pk_memberships": "this user is already a member",
    "uq_user_identities_provider_provider_user_id": "this identity is linked to another user",
    "billing_ledger_transactions_append_only": "ledger entries are never changed or deleted",
    "uq_leads_email_live": "a lead with this email already exists",
    "pk_lead_stages": "this stage already exists",
    "pk_lead_statuses": "this status already exists",
    "uq_education_counsellors_code_live": "this counselor code is taken",
    "uq_education_counsellors_user_live": "this member is already a counsellor",
    "uq_education_students_lead_live": "this lead is already a student",
    # SQLite names a unique index on plain columns by its columns, not by its name.
    "leads.tenant_id, leads.email": "a lead with this email already exists",
    "lead_stages.tenant_id, lead_stages.key": "this stage already exists",
    "lead_statuses.tenant_id, lead_statuses.key": "this status already exists",
    "education_counsellors.tenant_id, education_counsellors.counselor_code":
        "this counselor code is taken",
    "education_counsellors.tenant_id, education_counsellors.user_id":
        "this member is already a counsellor",
    "education_students.tenant_id, education_students.lead_id":
        "this lead is already a student",
}
