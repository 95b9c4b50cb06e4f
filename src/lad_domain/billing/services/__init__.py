"""Billing's use cases, one module per aggregate or journey: wallets and usage
(``BillingService``), plans and pricing, reservations, invoices, reconciliation."""

from lad_domain.billing.services.invoices import InvoiceService
from lad_domain.billing.services.plans import CatalogLoad, PlanService
from lad_domain.billing.services.reconciliation import (
    LegacyMigrationReport,
    ReconcileReport,
    Reconciliation,
)
from lad_domain.billing.services.reservations import ReservationService
from lad_domain.billing.services.usage import rejection_error
from lad_domain.billing.services.wallets import BillingService, TenantWallets

__all__ = [
    "BillingService",
    "CatalogLoad",
    "InvoiceService",
    "LegacyMigrationReport",
    "PlanService",
    "ReconcileReport",
    "Reconciliation",
    "ReservationService",
    "TenantWallets",
    "rejection_error",
]
