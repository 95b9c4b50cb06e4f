"""The SQL unit of work: one connection and transaction, scoped to one tenant.

On PostgreSQL the scope is also set on the transaction (``set_config(..., true)``, the
function form of ``SET LOCAL``) so that row-level-security policies are a second wall.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RootTransaction

from lad_adapters.sql import (
    education,
    tenancy,
)
from lad_adapters.sql.billing import catalog as billing_catalog
from lad_adapters.sql.billing import ledger as billing_ledger
from lad_adapters.sql.billing import posting as billing_posting
from lad_adapters.sql.billing import records as billing_records
from lad_adapters.sql.database import Db, translate_errors
from lad_adapters.sql.leads import activity as lead_activity
from lad_adapters.sql.leads import importing as lead_import
from lad_adapters.sql.leads import leads
from lad_adapters.sql.tables.tenancy import tenants
from lad_domain.shared.events import Outbox
from lad_domain.shared.pagination import CursorSeal

#: Scope the transaction and, in the same round trip, read the tenant's row (a global table)
#: that nearly every use case reads first for the access policy. One constant statement:
#: building a select per unit of work costs more than the round trip it saves.
_SET_SCOPE = sa.text(
    "SELECT set_config('lad.tenant_id', :tenant_id, true) AS tenant_scope, "
    "set_config('lad.user_id', :user_id, true) AS user_scope, tenants.* "
    "FROM (SELECT 1) AS one LEFT JOIN tenants ON tenants.id = CAST(NULLIF(:tenant_id, '') "
    "AS uuid)"
).columns(sa.column("tenant_scope"), sa.column("user_scope"), *tenants.c)


class SqlUnitOfWork:
    def __init__(self, engine: Engine, tenant_id: uuid.UUID | None, *,
                 user_id: uuid.UUID | None = None, cursors: CursorSeal | None = None) -> None:
        self._engine = engine
        self.tenant_id = tenant_id
        self.user_id = user_id
        self._cursors = (cursors or CursorSeal.ephemeral()).scoped(tenant_id)
        self.outbox = Outbox()
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> Self:
        with translate_errors():
            self._connection = self._engine.connect()
        db = self.db = Db(self._connection, self._cursors)
        try:
            with translate_errors():
                self._transaction = self._connection.begin()
            scoped = None
            if db.dialect == "postgresql":
                scoped = db.execute(_SET_SCOPE, {"tenant_id": str(self.tenant_id or ""),
                                                 "user_id": str(self.user_id or "")}).one()
        except BaseException:
            self.__exit__(None, None, None)  # never leak the connection
            raise
        t = self.tenant_id
        self.tenants = tenancy.SqlTenantRepository(db, t)
        if scoped is not None and scoped.id is not None:
            self.tenants.prefetched(scoped)
        self.users = tenancy.SqlUserRepository(db, t)
        self.identities = tenancy.SqlIdentityRepository(db, t)
        self.memberships = tenancy.SqlMembershipRepository(db, t)
        self.features = tenancy.SqlFeatureRepository(db, t)
        self.capabilities = tenancy.SqlCapabilityRepository(db, t)
        self.invitations = tenancy.SqlInvitationRepository(db, t)
        self.api_keys = tenancy.SqlApiKeyRepository(db, t)
        self.flags = tenancy.SqlFeatureFlagRepository(db, t)
        self.events = tenancy.SqlEventRepository(db, t)
        self.lead_stages = leads.SqlStageRepository(db, t)
        self.lead_statuses = leads.SqlStatusRepository(db, t)
        self.leads = leads.SqlLeadRepository(db, t)
        self.lead_history = leads.SqlStageHistoryRepository(db, t)
        self.lead_notes = lead_activity.SqlNoteRepository(db, t)
        self.lead_attachments = lead_activity.SqlAttachmentRepository(db, t)
        self.lead_social = lead_activity.SqlSocialRepository(db, t)
        self.lead_bookings = lead_activity.SqlBookingRepository(db, t)
        self.lead_import = lambda: lead_import.SqlLeadImportStaging(db, t)
        self.education_students = education.SqlStudentRepository(db, t)
        self.education_counsellors = education.SqlCounsellorRepository(db, t)
        self.wallets = billing_ledger.SqlWalletRepository(db, t)
        self.ledger = billing_ledger.SqlLedgerRepository(db, t)
        self.usage_events = billing_ledger.SqlUsageEventRepository(db, t)
        self.prices = billing_catalog.SqlPriceRepository(db, t)
        self.entitlements = billing_catalog.SqlEntitlementRepository(db, t)
        self.reservations = billing_records.SqlReservationRepository(db, t)
        self.invoices = billing_records.SqlInvoiceRepository(db, t)
        self.legacy_credits = billing_records.SqlLegacyCreditRepository(db, t)
        self.usage_postings = billing_posting.usage_postings(self, db, t)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._transaction = None

    def commit(self) -> None:
        if self._transaction is None:
            raise RuntimeError("commit() outside the unit of work's with block")
        self.events.add_many(self.outbox.drain())
        with translate_errors():
            self._transaction.commit()

    def rollback(self) -> None:
        self.outbox.drain()
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()


class SqlUnitOfWorkFactory:
    """``cursors``: the key of the pagination cursors, shared by every process serving the
    database (the container derives it from the settings); unset, a random one."""

    def __init__(self, engine: Engine, *, cursors: CursorSeal | None = None) -> None:
        self.engine = engine
        self.cursors = cursors or CursorSeal.ephemeral()

    def __call__(self, tenant_id: uuid.UUID | None, *,
                 user_id: uuid.UUID | None = None) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, tenant_id, user_id=user_id, cursors=self.cursors)
