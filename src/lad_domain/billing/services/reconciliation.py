"""Checking the books: reconcile wallets with their ledger and reservations, read the legacy
credits, and move legacy balances into the modern wallets once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

import attrs

from lad_domain.billing.events import LegacyMigrated
from lad_domain.billing.model import (
    Cause,
    LedgerEntry,
    LedgerType,
    LegacyCredit,
    LegacyTransaction,
    Wallet,
)
from lad_domain.billing.policy import BillingPermission
from lad_domain.billing.ports import BillingUnitOfWork, LedgerTotals, PostingContext
from lad_domain.billing.posting import lock_payers
from lad_domain.billing.scope import BillingScope, each_tenant, posting_context
from lad_domain.shared.access import require_operator
from lad_domain.shared.idempotency import fingerprint
from lad_domain.shared.money import ZERO
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal

LEGACY_KEY_PREFIX = "legacy_migration:"


@attrs.frozen
class Drift:
    """A wallet figure that differs from what its ledger (current balance) or its open
    reservations (reserved balance) say."""

    tenant_id: uuid.UUID
    wallet_id: uuid.UUID
    figure: str
    stored: Decimal
    expected: Decimal


@attrs.frozen
class ReconcileReport:
    tenants: int
    wallets: int
    drifts: list[Drift]

    @property
    def clean(self) -> bool:
        return not self.drifts


@attrs.frozen
class LegacyMigrationReport:
    tenants: int
    migrated: int
    already_migrated: int
    skipped_negative: list[tuple[uuid.UUID, uuid.UUID, Decimal]]
    legacy_total: Decimal
    migrated_total: Decimal

    @property
    def totals_match(self) -> bool:
        return self.legacy_total == self.migrated_total


@attrs.define
class Reconciliation:
    scope: BillingScope

    def reconcile(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                  ) -> ReconcileReport:
        """Recompute every wallet from its ledger and its open reservations."""
        require_operator(principal)
        tenants = wallets = 0
        drifts: list[Drift] = []
        for tenant in [tenant_id] if tenant_id else each_tenant(self.scope):
            with self.scope.uow(tenant) as uow:
                self.scope.require(uow, principal, BillingPermission.READ)
                found = uow.wallets.list()
                totals, held = uow.ledger.totals(), uow.reservations.open_totals()
                drifts.extend(d for wallet in found
                              for d in _drifts(wallet, totals.get(wallet.id),
                                               held.get(wallet.id, ZERO)))
            tenants += 1
            wallets += len(found)
        return ReconcileReport(tenants=tenants, wallets=wallets, drifts=drifts)

    def legacy_balances(self, principal: Principal, *, tenant_id: uuid.UUID | None = None
                        ) -> Sequence[LegacyCredit]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return uow.legacy_credits.balances()

    def legacy_transactions(self, principal: Principal, page: PageRequest, *,
                            user_id: uuid.UUID | None = None,
                            tenant_id: uuid.UUID | None = None) -> Page[LegacyTransaction]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return uow.legacy_credits.transactions(page, user_id=user_id)

    def migrate_legacy(self, principal: Principal) -> LegacyMigrationReport:
        """Move every positive legacy balance into the member's sub-wallet (the tenant's
        wallet if they left) with a legacy_migration ledger row. Idempotent: a balance
        already moved is counted, not moved again. Negative balances are reported, not
        moved, since no wallet may go below zero."""
        require_operator(principal)
        tenants = migrated = already = 0
        skipped: list[tuple[uuid.UUID, uuid.UUID, Decimal]] = []
        legacy_total = migrated_total = ZERO
        for tenant in each_tenant(self.scope):
            context = posting_context(self.scope, principal)
            with self.scope.uow(tenant) as uow:
                self.scope.require(uow, principal, BillingPermission.READ)
                tenants += 1
                for credit in uow.legacy_credits.balances():
                    if credit.balance < 0:
                        skipped.append((credit.tenant_id, credit.user_id, credit.balance))
                        continue
                    if credit.balance == 0:
                        continue
                    legacy_total += credit.balance
                    entry, moved = self._migrate(uow, context, credit)
                    migrated_total += entry.amount
                    migrated += moved
                    already += not moved
                uow.commit()
        return LegacyMigrationReport(tenants=tenants, migrated=migrated,
                                     already_migrated=already, skipped_negative=skipped,
                                     legacy_total=legacy_total, migrated_total=migrated_total)

    def _migrate(self, uow: BillingUnitOfWork, context: PostingContext, credit: LegacyCredit
                 ) -> tuple[LedgerEntry, bool]:
        key = f"{LEGACY_KEY_PREFIX}{credit.user_id}"
        owner = credit.user_id if uow.memberships.get(credit.user_id) is not None else None
        wallets = lock_payers(uow, {owner}, context)
        first = uow.ledger.get_by_key(key)
        if first is not None:
            return first, False
        if owner not in wallets:
            tenant_id = uow.tenant_id
            assert tenant_id is not None
            uow.wallets.add(Wallet(id=context.ids.new_id(), tenant_id=tenant_id, user_id=owner,
                                   created_at=context.now, updated_at=context.now))
            wallets = lock_payers(uow, {owner}, context)
        wallet = wallets[owner]
        wallet.credit(credit.balance, context.now)
        entry = LedgerEntry(id=context.ids.new_id(), tenant_id=wallet.tenant_id,
                            wallet_id=wallet.id, type=LedgerType.LEGACY_MIGRATION,
                            amount=credit.balance, balance_after=wallet.current_balance,
                            idempotency_key=key,
                            created_at=context.now, actor=context.actor,
                            cause=Cause.LEGACY_CREDIT, cause_id=credit.user_id,
                            fingerprint=fingerprint({"user_id": credit.user_id,
                                                     "balance": str(credit.balance)}),
                            note=f"legacy credits of user {credit.user_id}")
        uow.ledger.add_many([entry])
        uow.wallets.save_balances([wallet])
        uow.legacy_credits.mark_migrated(credit.user_id, context.now)
        self.scope.record(uow, LegacyMigrated(aggregate_id=wallet.id, user_id=credit.user_id,
                                              amount=credit.balance), at=context.now)
        return entry, True


def _drifts(wallet: Wallet, totals: LedgerTotals | None, held: Decimal) -> list[Drift]:
    checks = [("current_balance", wallet.current_balance, totals.amount if totals else ZERO),
              ("reserved_balance", wallet.reserved_balance, held)]
    return [Drift(tenant_id=wallet.tenant_id, wallet_id=wallet.id, figure=name, stored=stored,
                  expected=expected) for name, stored, expected in checks if stored != expected]
