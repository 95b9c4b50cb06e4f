"""The in-memory unit of work: the same repositories as the SQL one, over InMemoryStore."""

from __future__ import annotations

import uuid

from lad_adapters.memory import (
    billing,
    campaigns,
    education,
    enrichment,
    icp,
    leads,
    outreach,
    tenancy,
    voice,
)
from lad_adapters.memory.store import InMemoryStore, InMemoryUnitOfWorkBase
from lad_domain.billing.posting import RepositoryUsagePostings


class InMemoryUnitOfWork(InMemoryUnitOfWorkBase):
    def _build_repositories(self) -> None:
        tx, t = self.tx, self.tenant_id
        self.tenants = tenancy.InMemoryTenantRepository(tx, t)
        self.users = tenancy.InMemoryUserRepository(tx, t)
        self.identities = tenancy.InMemoryIdentityRepository(tx, t)
        self.memberships = tenancy.InMemoryMembershipRepository(tx, t)
        self.features = tenancy.InMemoryFeatureRepository(tx, t)
        self.capabilities = tenancy.InMemoryCapabilityRepository(tx, t)
        self.invitations = tenancy.InMemoryInvitationRepository(tx, t)
        self.api_keys = tenancy.InMemoryApiKeyRepository(tx, t)
        self.flags = tenancy.InMemoryFeatureFlagRepository(tx, t)
        self.events = tenancy.InMemoryEventRepository(tx, t)
        self.wallets = billing.InMemoryWalletRepository(tx, t)
        self.ledger = billing.InMemoryLedgerRepository(tx, t)
        self.usage_events = billing.InMemoryUsageEventRepository(tx, t)
        self.prices = billing.InMemoryPriceRepository(tx, t)
        self.entitlements = billing.InMemoryEntitlementRepository(tx, t)
        self.reservations = billing.InMemoryReservationRepository(tx, t)
        self.invoices = billing.InMemoryInvoiceRepository(tx, t)
        self.legacy_credits = billing.InMemoryLegacyCreditRepository(tx, t)
        self.usage_postings = RepositoryUsagePostings(self)
        self.lead_stages = leads.InMemoryStageRepository(tx, t)
        self.lead_statuses = leads.InMemoryStatusRepository(tx, t)
        self.leads = leads.InMemoryLeadRepository(tx, t)
        self.lead_history = leads.InMemoryStageHistoryRepository(tx, t)
        self.lead_notes = leads.InMemoryNoteRepository(tx, t)
        self.lead_attachments = leads.InMemoryAttachmentRepository(tx, t)
        self.lead_social = leads.InMemorySocialRepository(tx, t)
        self.lead_bookings = leads.InMemoryBookingRepository(tx, t)
        self.lead_import = lambda: leads.InMemoryLeadImportStaging(tx, t)
        self.education_students = education.InMemoryStudentRepository(tx, t)
        self.education_counsellors = education.InMemoryCounsellorRepository(tx, t)
        self.templates = outreach.InMemoryTemplateRepository(tx, t)
        self.email_accounts = outreach.InMemoryEmailAccountRepository(tx, t)
        self.linkedin_accounts = outreach.InMemoryLinkedInAccountRepository(tx, t)
        self.suppressions = outreach.InMemorySuppressionRepository(tx, t)
        self.webhook_receipts = outreach.InMemoryWebhookReceiptRepository(tx, t)
        self.campaigns = campaigns.InMemoryCampaignRepository(tx, t)
        self.enrollments = campaigns.InMemoryEnrollmentRepository(tx, t)
        self.activities = campaigns.InMemoryActivityRepository(tx, t)
        self.voices = voice.InMemoryVoiceCatalog(tx, t)
        self.agents = voice.InMemoryAgentRepository(tx, t)
        self.numbers = voice.InMemoryNumberRepository(tx, t)
        self.voice_profiles = voice.InMemoryUserProfileRepository(tx, t)
        self.voice_permissions = voice.InMemoryPermissionRepository(tx, t)
        self.call_batches = voice.InMemoryBatchRepository(tx, t)
        self.batch_entries = voice.InMemoryEntryRepository(tx, t)
        self.calls = voice.InMemoryCallRepository(tx, t)
        self.call_analyses = voice.InMemoryAnalysisRepository(tx, t)
        self.conversations = icp.InMemoryConversationRepository(tx, t)
        self.icp_messages = icp.InMemoryMessageRepository(tx, t)
        self.icp_profiles = icp.InMemoryProfileRepository(tx, t)
        self.keyword_expansions = icp.InMemoryKeywordExpansionRepository(tx, t)
        self.search_cache = enrichment.InMemorySearchCache(tx, t)
        self.people_cache = enrichment.InMemoryPeopleCache(tx, t)
        self.company_cache = enrichment.InMemoryCompanyCache(tx, t)

    def _store_events(self) -> None:
        self.events.add_many(self.outbox.drain())


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self, tenant_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None,
                 reading: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, tenant_id, user_id=user_id)
