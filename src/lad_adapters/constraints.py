"""The unique keys a caller can run into, and what to tell them: shared by the SQL and the
in-memory adapters so both raise the same Conflict."""

from __future__ import annotations

CONSTRAINT_MESSAGES: dict[str, str] = {
    "uq_users_email_lower": "a user with this email already exists",
    "uq_tenants_slug_live": "this slug is taken",
    "uq_memberships_one_owner": "a tenant has exactly one owner",
    "pk_memberships": "this user is already a member",
    "uq_user_identities_provider_provider_user_id": "this identity is linked to another user",
}
