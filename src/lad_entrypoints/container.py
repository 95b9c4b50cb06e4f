"""The composition root: one container, built from settings, for HTTP, CLI and library use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

from lad_adapters.apollo import ConfiguredApollo
from lad_adapters.llm import configured_extractor
from lad_adapters.mail.imap import ImapMailboxReader
from lad_adapters.mail.smtp import SmtpEmailChannel
from lad_adapters.memory.campaigns import InMemoryDueWork
from lad_adapters.memory.idempotency import InMemoryIdempotencyRecords
from lad_adapters.memory.outreach import InMemoryLinkedInAccountTenants
from lad_adapters.memory.store import InMemoryStore
from lad_adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from lad_adapters.memory.voice import InMemoryCallTenants, InMemoryDialWork
from lad_adapters.phones import LibPhoneNumberParser, LibPhoneNumberPlan
from lad_adapters.security.passwords import Argon2PasswordHasher
from lad_adapters.security.secret_box import AesGcmSecretBox
from lad_adapters.security.tokens import JwtTokenIssuer
from lad_adapters.sql import migrate
from lad_adapters.sql.billing.usage_ledger import PostgresUsageLedger
from lad_adapters.sql.database import create_engine
from lad_adapters.sql.dial_work import SqlCallTenants, SqlDialWork
from lad_adapters.sql.due_work import SqlDueWork, SqlLinkedInAccountTenants
from lad_adapters.sql.idempotency import SqlIdempotencyRecords
from lad_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from lad_adapters.sql.voice_events import PostgresCallEventApplier
from lad_adapters.storage import InMemoryFileStorage, LocalFileStorage
from lad_adapters.templates import JinjaTemplateRenderer
from lad_adapters.unipile import UnconfiguredLinkedIn, UnipileClient
from lad_adapters.voice.registry import ConfiguredVoiceProviders, configured, local_secret
from lad_domain.access_rules import access_policy
from lad_domain.billing.ports import UsageLedger
from lad_domain.billing.scope import BillingScope
from lad_domain.billing.services import (
    BillingService,
    InvoiceService,
    PlanService,
    Reconciliation,
    ReservationService,
)
from lad_domain.billing.usage_ledger import ScopedUsageLedger
from lad_domain.campaigns.ports import DueWork
from lad_domain.campaigns.services.campaigns import CampaignService
from lad_domain.campaigns.services.engine import SendEngine
from lad_domain.campaigns.services.inbound import InboundService
from lad_domain.campaigns.services.reconcile import SendReconciliation
from lad_domain.education.services import EducationService, release_counsellor
from lad_domain.enrichment.services.search import EnrichmentService
from lad_domain.icp.ports import IcpExtractor
from lad_domain.icp.services.assistant import IcpAssistant
from lad_domain.icp.services.profiles import IcpProfiles
from lad_domain.leads.services.activity import ActivityService
from lad_domain.leads.services.exporting import LeadExportService
from lad_domain.leads.services.importing import DEFAULT_MAX_IMPORT_BYTES, LeadImportService
from lad_domain.leads.services.leads import LeadService
from lad_domain.leads.services.pipeline import PipelineService, seed_default_pipeline
from lad_domain.outreach.channels import LinkedInChannel
from lad_domain.outreach.links import LinkSeal
from lad_domain.outreach.ports import LinkedInAccountTenants
from lad_domain.outreach.public_links import PublicLinks
from lad_domain.outreach.services import OutreachService
from lad_domain.shared.clock import SystemClock
from lad_domain.shared.errors import Unavailable
from lad_domain.shared.ids import Uuid7Generator
from lad_domain.shared.pagination import CursorSeal
from lad_domain.shared.scope import TenantScope
from lad_domain.tenancy.services import TeamService, TenancyService
from lad_domain.voice.ports import CallEventApplier, CallTenants, DialWork, Limits
from lad_domain.voice.services.calling import CallingService
from lad_domain.voice.services.campaign_calls import CampaignCalls
from lad_domain.voice.services.dialer import Dialer
from lad_domain.voice.services.events import CallEvents
from lad_domain.voice.services.setup import VoiceSetupService
from lad_entrypoints.metrics import WebhookLagObserved
from lad_entrypoints.settings import Settings, revealed


def _engine(settings: Settings) -> Engine | None:
    if settings.is_memory:
        return None
    if settings.database_url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401  # the `postgres` extra
        except ModuleNotFoundError:
            raise Unavailable("PostgreSQL needs its driver, psycopg, which is not "
                              "installed: pip install 'lad[postgres]'") from None
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True)
    return create_engine(settings.database_url)


def _unit_of_work(settings: Settings, engine: Engine | None
                  ) -> InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory:
    """One factory for every context: its unit of work satisfies every context's port."""
    cursors = _cursor_seal(settings)
    if engine is None:
        return InMemoryUnitOfWorkFactory(InMemoryStore(cursors))
    return SqlUnitOfWorkFactory(engine, cursors=cursors)


def _idempotency_records(engine: Engine | None
                         ) -> InMemoryIdempotencyRecords | SqlIdempotencyRecords:
    """The Idempotency-Key records of HTTP requests: in the database, or in memory."""
    return InMemoryIdempotencyRecords() if engine is None else SqlIdempotencyRecords(engine)


def _usage_ledger(scope: BillingScope) -> UsageLedger:
    """One usage event in one call to PostgreSQL; elsewhere (and under a unit-of-work port
    that is not ours) through the scope's unit of work."""
    ordinary = ScopedUsageLedger(scope)
    uows = scope.uow
    if isinstance(uows, SqlUnitOfWorkFactory) and uows.engine.dialect.name == "postgresql":
        return PostgresUsageLedger(uows.engine, scope.access, ordinary)
    return ordinary


def _cursor_seal(settings: Settings) -> CursorSeal:
    """Pagination cursors are signed with a key of their own, derived from
    LAD_CURSOR_SECRET or else the JWT secret: no setting to add for ``make run``."""
    return CursorSeal.from_secret(revealed(settings.cursor_secret)
                                  or settings.resolved_jwt_secret())


def _file_storage(settings: Settings) -> LocalFileStorage | InMemoryFileStorage:
    """Attachments: files under the state directory; memory:// keeps them in memory."""
    if settings.is_memory:
        return InMemoryFileStorage()
    return LocalFileStorage(settings.state_dir / "attachments")


def _tokens(settings: Settings, clock: SystemClock) -> JwtTokenIssuer:
    return JwtTokenIssuer(settings.resolved_jwt_secret(), clock,
                          ttl=timedelta(minutes=settings.token_ttl_minutes),
                          previous_secrets=settings.previous_jwt_secrets())


def _secret_box(settings: Settings) -> AesGcmSecretBox:
    return AesGcmSecretBox.from_settings_value(settings.resolved_secret_keys())


def _link_seal(settings: Settings) -> LinkSeal:
    """Unsubscribe and open links: a key of their own, derived from the JWT secret; links
    sealed under a previous JWT secret (LAD_JWT_PREVIOUS_SECRETS) still open."""
    return LinkSeal.derived(settings.resolved_jwt_secret(), "email-links",
                            settings.previous_jwt_secrets())


def _linkedin(settings: Settings) -> LinkedInChannel:
    if settings.unipile_url and settings.unipile_api_key:
        return UnipileClient(settings.unipile_url, settings.unipile_api_key.get_secret_value())
    return UnconfiguredLinkedIn()


def _due_work(uows: InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory) -> DueWork:
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryDueWork(uows.store)
    return SqlDueWork(uows.engine)


def _linkedin_tenants(uows: InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory
                      ) -> LinkedInAccountTenants:
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryLinkedInAccountTenants(uows.store)
    return SqlLinkedInAccountTenants(uows.engine)


def _voice_providers(settings: Settings) -> ConfiguredVoiceProviders:
    return configured(
        vapi=(settings.vapi_url, revealed(settings.vapi_api_key),
              revealed(settings.vapi_webhook_secret), settings.vapi_phone_number_id),
        retell=(settings.retell_url, revealed(settings.retell_api_key),
                revealed(settings.retell_webhook_secret), settings.retell_from_number),
        local_url=settings.voice_local_url,
        local_secret_=local_secret(revealed(settings.voice_local_secret),
                                   settings.resolved_jwt_secret()),
        local_webhook_url=settings.public_url.rstrip("/") + "/v1/webhooks/voice/local",
        local_speed=settings.voice_local_speed)


def _dial_work(uows: InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory) -> DialWork:
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryDialWork(uows.store)
    return SqlDialWork(uows.engine)


def _call_tenants(uows: InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory) -> CallTenants:
    if isinstance(uows, InMemoryUnitOfWorkFactory):
        return InMemoryCallTenants(uows.store)
    return SqlCallTenants(uows.engine)


def _call_event_applier(uows: InMemoryUnitOfWorkFactory | SqlUnitOfWorkFactory
                        ) -> CallEventApplier | None:
    """A call event in one call to PostgreSQL; elsewhere the rule alone."""
    if isinstance(uows, SqlUnitOfWorkFactory) and uows.engine.dialect.name == "postgresql":
        return PostgresCallEventApplier(uows.engine)
    return None


def _limits(settings: Settings) -> Limits:
    return Limits(per_tenant=settings.voice_tenant_concurrency,
                  total=settings.voice_total_concurrency)


def _mail_ca(settings: Settings) -> str | None:
    return str(settings.mail_ca_file) if settings.mail_ca_file else None



def _lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.worker_lease_seconds)


#: Where an OpenAI-compatible model is reached when LAD_LLM_BASE_URL is unset.
OPENAI_URL = "https://api.openai.com/v1"


def _icp_extractor(settings: Settings) -> IcpExtractor:
    """The offline rules, or an OpenAI-compatible model; one not configured raises
    ModelError (NOT_CONFIGURED, naming the setting) when asked, not at start."""
    return configured_extractor(settings.icp_model, settings.llm_base_url or OPENAI_URL,
                                revealed(settings.llm_api_key), settings.llm_model)


def _apollo(settings: Settings) -> ConfiguredApollo:
    """Apollo with a key; without one, the simulated Apollo on loopback when allowed (it
    starts on first use); else every search answers 503 naming LAD_APOLLO_API_KEY."""
    return ConfiguredApollo(revealed(settings.apollo_api_key), settings.apollo_url,
                            local=settings.apollo_local)


def _enrichment_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.enrichment_cache_ttl_hours)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(Uuid7Generator)
    engine = providers.Singleton(_engine, settings)
    unit_of_work = providers.Singleton(_unit_of_work, settings, engine)
    password_hasher = providers.Singleton(
        Argon2PasswordHasher,
        time_cost=settings.provided.argon2_time_cost,
        memory_cost=settings.provided.argon2_memory_kib,
        concurrency=settings.provided.argon2_concurrency,
        wait_seconds=settings.provided.argon2_wait_seconds,
    )
    tokens = providers.Singleton(_tokens, settings, clock)

    tenant_seeders = providers.List(providers.Object(seed_default_pipeline))
    member_departures = providers.List(providers.Object(release_counsellor))
    access = providers.Singleton(access_policy)
    #: The one tenant scope every context's services start from.
    tenant_scope = providers.Singleton(TenantScope, uow=unit_of_work, clock=clock, ids=ids,
                                       access=access)
    tenancy = providers.Singleton(TenancyService, scope=tenant_scope, hasher=password_hasher,
                                  tokens=tokens, tenant_seeders=tenant_seeders)
    team = providers.Singleton(TeamService, scope=tenant_scope,
                               member_departures=member_departures)

    phone_numbers = providers.Singleton(LibPhoneNumberParser)
    file_storage = providers.Singleton(_file_storage, settings)
    import_max_bytes = providers.Object(DEFAULT_MAX_IMPORT_BYTES)
    leads = providers.Singleton(LeadService, scope=tenant_scope, phones=phone_numbers)
    pipeline = providers.Singleton(PipelineService, scope=tenant_scope)
    lead_activity = providers.Singleton(ActivityService, scope=tenant_scope, storage=file_storage)
    lead_import = providers.Singleton(LeadImportService, scope=tenant_scope, phones=phone_numbers,
                                      max_bytes=import_max_bytes)
    lead_export = providers.Singleton(LeadExportService, scope=tenant_scope)
    education = providers.Singleton(EducationService, scope=tenant_scope)
    usage_ledger = providers.Singleton(_usage_ledger, tenant_scope)
    billing = providers.Singleton(BillingService, scope=tenant_scope,
                                  usage_ledger=usage_ledger)
    billing_plans = providers.Singleton(PlanService, scope=tenant_scope)
    billing_reservations = providers.Singleton(ReservationService, scope=tenant_scope)
    billing_invoices = providers.Singleton(InvoiceService, scope=tenant_scope)
    billing_reconciliation = providers.Singleton(Reconciliation, scope=tenant_scope)

    # Outreach and campaigns: the ports first, then the services.
    template_renderer = providers.Singleton(JinjaTemplateRenderer)
    secret_box = providers.Singleton(_secret_box, settings)
    idempotency_records = providers.Singleton(_idempotency_records, engine)
    link_seal = providers.Singleton(_link_seal, settings)
    public_links = providers.Singleton(PublicLinks, seal=link_seal,
                                       base_url=settings.provided.public_url)
    mail_ca_file = providers.Callable(_mail_ca, settings)
    email_channel = providers.Singleton(SmtpEmailChannel, ca_file=mail_ca_file)
    mailbox_reader = providers.Singleton(ImapMailboxReader, ca_file=mail_ca_file)
    linkedin_channel = providers.Singleton(_linkedin, settings)
    due_work = providers.Singleton(_due_work, unit_of_work)
    linkedin_tenants = providers.Singleton(_linkedin_tenants, unit_of_work)
    claim_lease = providers.Callable(_lease, settings)
    outreach = providers.Singleton(OutreachService, scope=tenant_scope,
                                   renderer=template_renderer, secrets=secret_box,
                                   email=email_channel, links=public_links)
    phone_plan = providers.Singleton(LibPhoneNumberPlan)
    campaign_calls = providers.Singleton(CampaignCalls, scope=tenant_scope, phones=phone_plan)
    campaigns = providers.Singleton(CampaignService, scope=tenant_scope, voice=campaign_calls)
    send_engine = providers.Singleton(SendEngine, scope=tenant_scope, due=due_work,
                                      email=email_channel, linkedin=linkedin_channel,
                                      renderer=template_renderer, secrets=secret_box,
                                      links=public_links, lease=claim_lease,
                                      voice=campaign_calls)
    inbound = providers.Singleton(InboundService, scope=tenant_scope, mailboxes=mailbox_reader,
                                  secrets=secret_box, links=link_seal,
                                  linkedin_tenants=linkedin_tenants)
    campaign_reconciliation = providers.Singleton(SendReconciliation, scope=tenant_scope,
                                                  mailboxes=mailbox_reader, secrets=secret_box,
                                                  lease=claim_lease)

    # Voice (the phone plan and the campaign hand-off are above, with campaigns).
    voice_setup = providers.Singleton(VoiceSetupService, scope=tenant_scope, phones=phone_plan)
    voice_providers = providers.Singleton(_voice_providers, settings)
    dial_work = providers.Singleton(_dial_work, unit_of_work)
    call_tenants = providers.Singleton(_call_tenants, unit_of_work)
    calling = providers.Singleton(CallingService, scope=tenant_scope, phones=phone_plan)
    call_event_applier = providers.Singleton(_call_event_applier, unit_of_work)
    call_events = providers.Singleton(CallEvents, scope=tenant_scope,
                                      providers=providers.Factory(WebhookLagObserved,
                                                                  voice_providers),
                                      tenants=call_tenants,
                                      applier=call_event_applier)
    dialer = providers.Singleton(Dialer, scope=tenant_scope, work=dial_work,
                                 providers=voice_providers, phones=phone_plan,
                                 events=call_events, limits=providers.Callable(_limits, settings))

    # The ICP assistant and enrichment (Apollo).
    icp_extractor = providers.Singleton(_icp_extractor, settings)
    apollo = providers.Singleton(_apollo, settings)
    icp_assistant = providers.Singleton(IcpAssistant, scope=tenant_scope,
                                        extractor=icp_extractor)
    icp_profiles = providers.Singleton(IcpProfiles, scope=tenant_scope)
    enrichment = providers.Singleton(EnrichmentService, scope=tenant_scope, apollo=apollo,
                                     leads=lead_import, phones=phone_numbers,
                                     ttl=providers.Callable(_enrichment_ttl, settings))


def build_container(settings: Settings | None = None, **overrides: Any) -> Container:
    """A container for the given settings (default: from the environment). Keyword
    arguments override single settings, e.g. ``build_container(database_url="memory://")``."""
    if settings is None:
        settings = Settings(**overrides)
    elif overrides:
        # Validated like the environment's values (a secret given as text becomes a
        # SecretStr), not merely copied in.
        settings = Settings.model_validate({**dict(settings), **overrides})
    return Container(settings=settings)


def upgrade_database(container: Container, revision: str = "head") -> None:
    """Apply migrations (a no-op for the in-memory adapters)."""
    settings: Settings = container.settings()
    if not settings.is_memory:
        _engine(settings)  # creates the SQLite file's directory
        migrate.upgrade(settings.migration_url, revision)


def close(container: Container) -> None:
    # Stops the local call service if one was started (building the registry is cheap).
    voice = container.voice_providers()
    close_voice = getattr(voice, "close", None)
    if callable(close_voice):
        close_voice()
    # Stops the simulated Apollo if one was started, and closes Apollo's client (a test's
    # stand-in may have nothing to close).
    close_apollo = getattr(container.apollo(), "close", None)
    if callable(close_apollo):
        close_apollo()
    engine = container.engine()
    if engine is not None:
        engine.dispose()
