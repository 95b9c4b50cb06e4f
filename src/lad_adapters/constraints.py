"""The unique keys a caller can run into, and what to tell them: shared by the SQL and the
in-memory adapters so both raise the same Conflict."""

from __future__ import annotations

from lad_domain.shared.errors import Conflict
from lad_domain.tenancy.model import SlugTaken

GENERIC = "this change conflicts with existing data"

CONSTRAINT_MESSAGES: dict[str, str] = {
    "uq_users_email_lower": "a user with this email already exists",
    "uq_tenants_slug_live": "this slug is taken",
    "tenants.slug": "this slug is taken",
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
    "uq_communication_templates_key_live": "a template with this key already exists",
    "uq_email_accounts_email_live": "a mailbox with this address is already connected",
    "uq_social_linkedin_accounts_unipile_live": "this LinkedIn account is already connected",
    "uq_campaign_lead_activities_attempt": "this attempt of the step is already recorded",
    "uq_campaign_leads_tenant_id_campaign_id_lead_id": "this lead is already in the campaign",
    "uq_outreach_suppressions_tenant_id_channel_address":
        "this address is already suppressed on this channel",
    "communication_templates.tenant_id, communication_templates.channel, "
    "communication_templates.template_key": "a template with this key already exists",
    "email_accounts.tenant_id, email_accounts.email":
        "a mailbox with this address is already connected",
    "social_linkedin_accounts.tenant_id, social_linkedin_accounts.unipile_account_id":
        "this LinkedIn account is already connected",
    "campaign_lead_activities.tenant_id, campaign_lead_activities.campaign_lead_id, "
    "campaign_lead_activities.step_id, campaign_lead_activities.attempt":
        "this attempt of the step is already recorded",
    "campaign_leads.tenant_id, campaign_leads.campaign_id, campaign_leads.lead_id":
        "this lead is already in the campaign",
    "outreach_suppressions.tenant_id, outreach_suppressions.channel, "
    "outreach_suppressions.address": "this address is already suppressed on this channel",
    "ck_billing_wallets_available": "insufficient funds: the wallet would go below its floor",
    "ck_billing_wallets_reserved_balance": "a wallet cannot hold less than nothing",
    "uq_billing_wallets_tenant_wallet": "this tenant already has a wallet",
    "uq_billing_wallets_tenant_id_user_id": "this member already has a wallet",
    "uq_billing_ledger_transactions_tenant_id_idempotency_key":
        "this idempotency key was already used",
    "uq_billing_usage_events_tenant_id_idempotency_key": "this idempotency key was already used",
    "uq_billing_reservations_tenant_id_idempotency_key": "this idempotency key was already used",
    "uq_billing_invoices_period": "this month is already invoiced",
    "uq_billing_invoices_tenant_id_invoice_number": "this invoice number is taken",
    "uq_billing_pricing_catalog_global": "a price from that time already exists",
    "uq_billing_pricing_catalog_tenant": "a price from that time already exists",
    "billing_ledger_transactions.tenant_id, billing_ledger_transactions.idempotency_key":
        "this idempotency key was already used",
    "billing_usage_events.tenant_id, billing_usage_events.idempotency_key":
        "this idempotency key was already used",
    "billing_reservations.tenant_id, billing_reservations.idempotency_key":
        "this idempotency key was already used",
    "billing_wallets.tenant_id, billing_wallets.user_id": "this member already has a wallet",
    "uq_voice_agent_voices_global": "this provider's voice is already in the catalog",
    "uq_voice_agent_voices_tenant": "this provider's voice is already in the catalog",
    "uq_voice_agent_numbers_number_live": "the tenant already has this number",
    "uq_voice_call_analysis_call": "this call already has an analysis",
    "voice_agent_voices.provider, voice_agent_voices.provider_voice_id":
        "this provider's voice is already in the catalog",
    "voice_agent_numbers.tenant_id, voice_agent_numbers.country_code, "
    "voice_agent_numbers.base_number": "the tenant already has this number",
    "voice_call_analysis.tenant_id, voice_call_analysis.call_log_id":
        "this call already has an analysis",
    "uq_ai_icp_profiles_name_live": "a profile with this name already exists",
    "ai_icp_profiles.tenant_id, ai_icp_profiles.name": "a profile with this name already exists",
    "uq_ai_keyword_expansions_keyword": "this keyword's expansion is already stored",
    "uq_ai_keyword_expansions_global": "this keyword's expansion is already stored",
    "ai_keyword_expansions.original_keyword, ai_keyword_expansions.context, "
    "ai_keyword_expansions.organization_id": "this keyword's expansion is already stored",
    "ai_keyword_expansions.original_keyword, ai_keyword_expansions.context":
        "this keyword's expansion is already stored",
}

#: Constraints whose conflict a use case handles by itself, with their own error class.
CONSTRAINT_ERRORS: dict[str, type[Conflict]] = {
    "uq_tenants_slug_live": SlugTaken,
    "tenants.slug": SlugTaken,
}


def conflict(constraint: str | None) -> Conflict:
    """The domain error for a violated constraint (by name, or SQLite's column list)."""
    if constraint is None:
        return Conflict(GENERIC)
    error_class = CONSTRAINT_ERRORS.get(constraint, Conflict)
    return error_class(CONSTRAINT_MESSAGES.get(constraint, GENERIC))
