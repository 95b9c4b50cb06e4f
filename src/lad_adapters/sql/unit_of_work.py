"""The SQL unit of work: one connection and transaction, scoped to one tenant.

On PostgreSQL the scope is also set in the database (``lad.tenant_id``, ``lad.user_id``) so
that row-level-security policies are a second wall: on the transaction for a unit of work
that writes, on the session for one that only reads (see ``_ScopeRead``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine, RootTransaction

from lad_adapters.sql import campaigns as campaign_records
from lad_adapters.sql import (
    education,
    enrichment,
    icp,
    outreach,
    tenancy,
    voice,
)
from lad_adapters.sql.billing import catalog as billing_catalog
from lad_adapters.sql.billing import ledger as billing_ledger
from lad_adapters.sql.billing import posting as billing_posting
from lad_adapters.sql.billing import records as billing_records
from lad_adapters.sql.database import STALE_SCOPE, Db, scoping_checkout, translate_errors
from lad_adapters.sql.leads import activity as lead_activity
from lad_adapters.sql.leads import importing as lead_import
from lad_adapters.sql.leads import leads as lead_records
from lad_adapters.sql.tables.tenancy import memberships, tenant_features, tenants, users
from lad_domain.billing.ports import UsagePostings
from lad_domain.shared.events import Outbox
from lad_domain.shared.pagination import CursorSeal

if TYPE_CHECKING:
    import psycopg  # the PostgreSQL driver (the `postgres` extra): imported where used


class _ScopeRead:
    """The first round trip of a unit of work on PostgreSQL: one message of plain
    statements (the simple query protocol, so that the server runs them in order and
    answers once). The scope first, alone, so that row-level security binds every statement
    after it; then what the access policy reads first: the tenant's row, the acting user's
    membership (their role, read now, not trusted from a token), the user's row and the
    tenant's features. The values are UUIDs, written as literals.

    A unit of work that writes sends BEGIN READ WRITE first and scopes its transaction
    (``set_config(..., true)``, the function form of ``SET LOCAL``). A read sends no BEGIN:
    the message is one implicit transaction, and the scope is set for the session
    (``set_config(..., false)``) so that it outlives the message and binds the read's data
    statement, the next round trip; with it ``default_transaction_read_only``, so that a
    read cannot write. The connection is then marked: the engine clears a marked
    connection's scope when something that is not a unit of work checks it out
    (``database.clear_stale_scope``), and every unit of work sets its own first."""

    def __init__(self, tenant_id: uuid.UUID | None, user_id: uuid.UUID | None, *,
                 reading: bool) -> None:
        t, u = _literal(tenant_id), _literal(user_id)
        statements = (
            [f"SELECT set_config('lad.tenant_id', {t}, false), "
             f"set_config('lad.user_id', {u}, false), "
             "set_config('default_transaction_read_only', 'on', false)"] if reading else
            ["BEGIN READ WRITE",
             f"SELECT set_config('lad.tenant_id', {t}, true), "
             f"set_config('lad.user_id', {u}, true)"])
        self.reads: list[sa.Table] = []
        if tenant_id is not None:
            statements.append(f"SELECT {_names(tenants)} FROM tenants WHERE id = {t}")
            self.reads.append(tenants)
            if user_id is not None:
                statements.append(f"SELECT {_names(memberships)} FROM memberships "
                                  f"WHERE tenant_id = {t} AND user_id = {u}")
                self.reads.append(memberships)
        if user_id is not None:
            statements.append(f"SELECT {_names(users)} FROM users WHERE id = {u}")
            self.reads.append(users)
        if tenant_id is not None:
            statements.append(f"SELECT {_names(tenant_features)} FROM tenant_features "
                              f"WHERE tenant_id = {t}")
            self.reads.append(tenant_features)
        self.sql = "; ".join(statements).encode()

    def run(self, connection: Connection) -> dict[str, list[dict[str, Any]]]:
        """Send it (the driver adds no BEGIN of its own), and answer each table's rows as
        column name -> value."""
        driver = _driver(connection)
        driver.autocommit = True
        with driver.cursor() as cursor:
            cursor.execute(self.sql)
            if self.sql.startswith(b"BEGIN"):
                cursor.nextset()  # the scope
            found = {}
            for table in self.reads:
                cursor.nextset()
                found[table.name] = [_values(table, row, connection.dialect)
                                     for row in cursor.fetchall()]
        return found


def _literal(value: uuid.UUID | None) -> str:
    return "''" if value is None else f"'{uuid.UUID(str(value))}'"


def _names(table: sa.Table) -> str:
    return ", ".join(column.name for column in table.c)


_PROCESSORS: dict[tuple[int, str], list[tuple[str, Callable[[Any], Any] | None]]] = {}


def _values(table: sa.Table, row: Sequence[Any], dialect: Dialect) -> dict[str, Any]:
    """A driver row as the table's column types read it (UTC datetimes, ...)."""
    key = (id(dialect), table.name)
    processors = _PROCESSORS.get(key)
    if processors is None:
        processors = _PROCESSORS[key] = [
            (column.name, column.type.result_processor(dialect, None)) for column in table.c]
    return {name: value if process is None or value is None else process(value)
            for (name, process), value in zip(processors, row, strict=True)}


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    return cast("psycopg.Connection[Any]", connection.connection.driver_connection)


def _roll_back_sound(connection: Connection) -> None:
    """Roll back a transaction that is still sound (a write left uncommitted) by sending
    ROLLBACK ourselves: the driver's rollback() also forgets its prepared statements (it
    cannot know whether one was lost with a failed transaction), so that every connection
    would prepare its statements afresh. A failed transaction goes through the driver's
    rollback()."""
    from psycopg.pq import TransactionStatus

    driver = _driver(connection)
    if driver.info.transaction_status == TransactionStatus.INTRANS:
        driver.execute(b"ROLLBACK", prepare=False)


def _driver_transactions(connection: Connection) -> None:
    """Hand the connection back as the pool lent it: the driver begins transactions."""
    from psycopg.pq import TransactionStatus

    driver = _driver(connection)
    if driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE:
        driver.autocommit = False


class SqlUnitOfWork:
    def __init__(self, engine: Engine, tenant_id: uuid.UUID | None, *,
                 user_id: uuid.UUID | None = None, cursors: CursorSeal | None = None,
                 reading: bool = False) -> None:
        self._engine = engine
        self.tenant_id = tenant_id
        self.user_id = user_id
        self.reading = reading
        self._cursors = (cursors or CursorSeal.ephemeral()).scoped(tenant_id)
        self.outbox = Outbox()
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._scoped: dict[str, list[dict[str, Any]]] = {}

    def __enter__(self) -> Self:
        with translate_errors(), scoping_checkout():
            self._connection = self._engine.connect()
        self.db = Db(self._connection, self._cursors)
        try:
            with translate_errors():
                self._transaction = self._connection.begin()
                if self.db.dialect == "postgresql":
                    if self.reading:
                        self._connection.info[STALE_SCOPE] = True
                    self._scoped = _ScopeRead(self.tenant_id, self.user_id,
                                              reading=self.reading).run(self._connection)
        except BaseException:
            self.__exit__(None, None, None)  # never leak the connection
            raise
        return self

    def expire_reads(self) -> None:
        """The repositories that answer from the first round trip are built again, without
        it: their next read goes to the database."""
        self._scoped = {}
        for name in ("tenants", "users", "memberships", "features"):
            self.__dict__.pop(name, None)

    # Repositories are built when a use case first asks for one: a request uses a few of
    # the thirty. Each reads the unit of work's connection and tenant scope.

    @cached_property
    def tenants(self) -> tenancy.SqlTenantRepository:
        found = tenancy.SqlTenantRepository(self.db, self.tenant_id)
        for row in self._scoped.get("tenants", []):
            found.prefetched(row)
        return found

    @cached_property
    def users(self) -> tenancy.SqlUserRepository:
        found = tenancy.SqlUserRepository(self.db, self.tenant_id)
        if "users" in self._scoped and self.user_id is not None:
            rows = self._scoped["users"]
            found.prefetched(self.user_id, rows[0] if rows else None)
        return found

    @cached_property
    def memberships(self) -> tenancy.SqlMembershipRepository:
        found = tenancy.SqlMembershipRepository(self.db, self.tenant_id)
        if "memberships" in self._scoped and self.user_id is not None:
            rows = self._scoped["memberships"]
            found.prefetched(self.user_id, rows[0] if rows else None)
        return found

    @cached_property
    def features(self) -> tenancy.SqlFeatureRepository:
        found = tenancy.SqlFeatureRepository(self.db, self.tenant_id)
        if "tenant_features" in self._scoped:
            found.prefetched(self._scoped["tenant_features"])
        return found

    @cached_property
    def identities(self) -> tenancy.SqlIdentityRepository:
        return tenancy.SqlIdentityRepository(self.db, self.tenant_id)

    @cached_property
    def capabilities(self) -> tenancy.SqlCapabilityRepository:
        return tenancy.SqlCapabilityRepository(self.db, self.tenant_id)

    @cached_property
    def invitations(self) -> tenancy.SqlInvitationRepository:
        return tenancy.SqlInvitationRepository(self.db, self.tenant_id)

    @cached_property
    def api_keys(self) -> tenancy.SqlApiKeyRepository:
        return tenancy.SqlApiKeyRepository(self.db, self.tenant_id)

    @cached_property
    def flags(self) -> tenancy.SqlFeatureFlagRepository:
        return tenancy.SqlFeatureFlagRepository(self.db, self.tenant_id)

    @cached_property
    def events(self) -> tenancy.SqlEventRepository:
        return tenancy.SqlEventRepository(self.db, self.tenant_id)

    @cached_property
    def lead_stages(self) -> lead_records.SqlStageRepository:
        return lead_records.SqlStageRepository(self.db, self.tenant_id)

    @cached_property
    def lead_statuses(self) -> lead_records.SqlStatusRepository:
        return lead_records.SqlStatusRepository(self.db, self.tenant_id)

    @cached_property
    def leads(self) -> lead_records.SqlLeadRepository:
        return lead_records.SqlLeadRepository(self.db, self.tenant_id)

    @cached_property
    def lead_history(self) -> lead_records.SqlStageHistoryRepository:
        return lead_records.SqlStageHistoryRepository(self.db, self.tenant_id)

    @cached_property
    def lead_notes(self) -> lead_activity.SqlNoteRepository:
        return lead_activity.SqlNoteRepository(self.db, self.tenant_id)

    @cached_property
    def lead_attachments(self) -> lead_activity.SqlAttachmentRepository:
        return lead_activity.SqlAttachmentRepository(self.db, self.tenant_id)

    @cached_property
    def lead_social(self) -> lead_activity.SqlSocialRepository:
        return lead_activity.SqlSocialRepository(self.db, self.tenant_id)

    @cached_property
    def lead_bookings(self) -> lead_activity.SqlBookingRepository:
        return lead_activity.SqlBookingRepository(self.db, self.tenant_id)

    def lead_import(self) -> lead_import.SqlLeadImportStaging:
        return lead_import.SqlLeadImportStaging(self.db, self.tenant_id)

    @cached_property
    def education_students(self) -> education.SqlStudentRepository:
        return education.SqlStudentRepository(self.db, self.tenant_id)

    @cached_property
    def education_counsellors(self) -> education.SqlCounsellorRepository:
        return education.SqlCounsellorRepository(self.db, self.tenant_id)

    @cached_property
    def templates(self) -> outreach.SqlTemplateRepository:
        return outreach.SqlTemplateRepository(self.db, self.tenant_id)

    @cached_property
    def email_accounts(self) -> outreach.SqlEmailAccountRepository:
        return outreach.SqlEmailAccountRepository(self.db, self.tenant_id)

    @cached_property
    def linkedin_accounts(self) -> outreach.SqlLinkedInAccountRepository:
        return outreach.SqlLinkedInAccountRepository(self.db, self.tenant_id)

    @cached_property
    def suppressions(self) -> outreach.SqlSuppressionRepository:
        return outreach.SqlSuppressionRepository(self.db, self.tenant_id)

    @cached_property
    def webhook_receipts(self) -> outreach.SqlWebhookReceiptRepository:
        return outreach.SqlWebhookReceiptRepository(self.db, self.tenant_id)

    @cached_property
    def campaigns(self) -> campaign_records.SqlCampaignRepository:
        return campaign_records.SqlCampaignRepository(self.db, self.tenant_id)

    @cached_property
    def enrollments(self) -> campaign_records.SqlEnrollmentRepository:
        return campaign_records.SqlEnrollmentRepository(self.db, self.tenant_id)

    @cached_property
    def activities(self) -> campaign_records.SqlActivityRepository:
        return campaign_records.SqlActivityRepository(self.db, self.tenant_id)

    @cached_property
    def voices(self) -> voice.SqlVoiceCatalog:
        return voice.SqlVoiceCatalog(self.db, self.tenant_id)

    @cached_property
    def agents(self) -> voice.SqlAgentRepository:
        return voice.SqlAgentRepository(self.db, self.tenant_id)

    @cached_property
    def numbers(self) -> voice.SqlNumberRepository:
        return voice.SqlNumberRepository(self.db, self.tenant_id)

    @cached_property
    def voice_profiles(self) -> voice.SqlUserProfileRepository:
        return voice.SqlUserProfileRepository(self.db, self.tenant_id)

    @cached_property
    def voice_permissions(self) -> voice.SqlPermissionRepository:
        return voice.SqlPermissionRepository(self.db, self.tenant_id)

    @cached_property
    def call_batches(self) -> voice.SqlBatchRepository:
        return voice.SqlBatchRepository(self.db, self.tenant_id)

    @cached_property
    def batch_entries(self) -> voice.SqlEntryRepository:
        return voice.SqlEntryRepository(self.db, self.tenant_id)

    @cached_property
    def calls(self) -> voice.SqlCallRepository:
        return voice.SqlCallRepository(self.db, self.tenant_id)

    @cached_property
    def call_analyses(self) -> voice.SqlAnalysisRepository:
        return voice.SqlAnalysisRepository(self.db, self.tenant_id)

    @cached_property
    def conversations(self) -> icp.SqlConversationRepository:
        return icp.SqlConversationRepository(self.db, self.tenant_id)

    @cached_property
    def icp_messages(self) -> icp.SqlMessageRepository:
        return icp.SqlMessageRepository(self.db, self.tenant_id)

    @cached_property
    def icp_profiles(self) -> icp.SqlProfileRepository:
        return icp.SqlProfileRepository(self.db, self.tenant_id)

    @cached_property
    def keyword_expansions(self) -> icp.SqlKeywordExpansionRepository:
        return icp.SqlKeywordExpansionRepository(self.db, self.tenant_id)

    @cached_property
    def search_cache(self) -> enrichment.SqlSearchCache:
        return enrichment.SqlSearchCache(self.db, self.tenant_id)

    @cached_property
    def people_cache(self) -> enrichment.SqlPeopleCache:
        return enrichment.SqlPeopleCache(self.db, self.tenant_id)

    @cached_property
    def company_cache(self) -> enrichment.SqlCompanyCache:
        return enrichment.SqlCompanyCache(self.db, self.tenant_id)

    @cached_property
    def wallets(self) -> billing_ledger.SqlWalletRepository:
        return billing_ledger.SqlWalletRepository(self.db, self.tenant_id)

    @cached_property
    def ledger(self) -> billing_ledger.SqlLedgerRepository:
        return billing_ledger.SqlLedgerRepository(self.db, self.tenant_id)

    @cached_property
    def usage_events(self) -> billing_ledger.SqlUsageEventRepository:
        return billing_ledger.SqlUsageEventRepository(self.db, self.tenant_id)

    @cached_property
    def prices(self) -> billing_catalog.SqlPriceRepository:
        return billing_catalog.SqlPriceRepository(self.db, self.tenant_id)

    @cached_property
    def entitlements(self) -> billing_catalog.SqlEntitlementRepository:
        return billing_catalog.SqlEntitlementRepository(self.db, self.tenant_id)

    @cached_property
    def reservations(self) -> billing_records.SqlReservationRepository:
        return billing_records.SqlReservationRepository(self.db, self.tenant_id)

    @cached_property
    def invoices(self) -> billing_records.SqlInvoiceRepository:
        return billing_records.SqlInvoiceRepository(self.db, self.tenant_id)

    @cached_property
    def legacy_credits(self) -> billing_records.SqlLegacyCreditRepository:
        return billing_records.SqlLegacyCreditRepository(self.db, self.tenant_id)

    @cached_property
    def usage_postings(self) -> UsagePostings:
        return billing_posting.usage_postings(self, self.db, self.tenant_id)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        connection = self._connection
        try:
            if self._transaction is not None and self._transaction.is_active:
                try:
                    if (connection is not None and self.db.dialect == "postgresql"
                            and not connection.invalidated and not self.reading):
                        with translate_errors():
                            _roll_back_sound(connection)
                finally:
                    self._transaction.rollback()
        finally:
            if connection is not None:
                try:
                    if self.db.dialect == "postgresql" and not connection.invalidated:
                        _driver_transactions(connection)
                finally:
                    connection.close()
            self._connection = self._transaction = None

    def commit(self) -> None:
        if self._transaction is None:
            raise RuntimeError("commit() outside the unit of work's with block")
        if self.reading:
            raise RuntimeError("a unit of work opened to read does not commit")
        self.events.add_many(self.outbox.drain())
        with translate_errors():
            self._transaction.commit()
        self.db.postings.committed()

    def rollback(self) -> None:
        self.outbox.drain()
        if self._transaction is not None:
            self.db.postings.rolled_back()
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()


class SqlUnitOfWorkFactory:
    """``cursors``: the key of the pagination cursors, shared by every process serving the
    database (the container derives it from the settings); unset, a random one."""

    def __init__(self, engine: Engine, *, cursors: CursorSeal | None = None) -> None:
        self.engine = engine
        self.cursors = cursors or CursorSeal.ephemeral()

    def __call__(self, tenant_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None,
                 reading: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, tenant_id, user_id=user_id, cursors=self.cursors,
                             reading=reading)
