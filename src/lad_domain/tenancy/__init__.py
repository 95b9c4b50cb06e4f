"""Tenancy: tenants, users, memberships, access control, invitations, flags and API keys."""
