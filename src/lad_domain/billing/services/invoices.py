"""Invoice use cases: generate a month's invoices, read them, move them through their
statuses."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import attrs

from lad_domain.billing.events import INVOICE_STATUS_EVENTS, InvoiceGenerated
from lad_domain.billing.invoice import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Period,
    parse_status,
    total_of,
)
from lad_domain.billing.policy import BillingPermission
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.billing.scope import BillingScope, each_tenant, posting_context
from lad_domain.shared.access import require_operator
from lad_domain.shared.errors import NotFound, ValidationFailed
from lad_domain.shared.money import ZERO
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal

RESERVATION_CATEGORY = "reservation"


@attrs.define
class InvoiceService:
    scope: BillingScope

    def generate(self, principal: Principal, period: object, *,
                 tenant_id: uuid.UUID | None = None) -> list[Invoice]:
        """The month's invoice of each tenant with billable usage (or of one tenant). A
        month is invoiced once it has ended; generating it again changes nothing."""
        require_operator(principal)
        month = period if isinstance(period, Period) else Period.parse(period)
        if month.end > self.scope.clock.now():
            raise ValidationFailed.single("period", f"{month} has not ended yet")
        invoices = []
        for tenant in [tenant_id] if tenant_id else each_tenant(self.scope):
            invoice = self._generate_one(principal, tenant, month)
            if invoice is not None:
                invoices.append(invoice)
        return invoices

    def list(self, principal: Principal, page: PageRequest, *,
             tenant_id: uuid.UUID | None = None) -> Page[Invoice]:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return uow.invoices.list(page)

    def get(self, principal: Principal, invoice_id: uuid.UUID, *,
            tenant_id: uuid.UUID | None = None) -> Invoice:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            return _invoice(uow, invoice_id)

    def change_status(self, principal: Principal, tenant_id: uuid.UUID, invoice_id: uuid.UUID,
                      status: object) -> Invoice:
        """draft -> issued -> paid, or -> void: the operator's decision."""
        require_operator(principal)
        target = parse_status(status)
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            invoice = _invoice(uow, invoice_id)
            if invoice.status is target:
                return invoice
            invoice.change_status(target, context.now)
            uow.invoices.update(invoice)
            changed = INVOICE_STATUS_EVENTS[target]
            self.scope.record(uow, changed(aggregate_id=invoice.id, number=invoice.number,
                                           total=invoice.total), at=context.now)
            uow.commit()
        return invoice

    def _generate_one(self, principal: Principal, tenant_id: uuid.UUID, period: Period
                      ) -> Invoice | None:
        context = posting_context(self.scope, principal)
        with self.scope.uow(tenant_id) as uow:
            self.scope.require(uow, principal, BillingPermission.READ)
            existing = uow.invoices.get_for_period(period)
            if existing is not None:
                return existing
            lines = invoice_lines(uow, period)
            if not lines:
                return None
            # Taking the number locks the tenant's counter: a concurrent generator waits
            # here, then finds the invoice this one committed.
            number = uow.invoices.next_number(context.now)
            existing = uow.invoices.get_for_period(period)
            if existing is not None:
                return existing
            invoice = _new_invoice(uow, context, number, period, lines)
            uow.invoices.add(invoice)
            self.scope.record(uow, InvoiceGenerated(
                aggregate_id=invoice.id, number=invoice.number, period=str(period),
                total=invoice.total), at=context.now)
            uow.commit()
        return invoice


def invoice_lines(uow: BillingUnitOfWork, period: Period) -> list[InvoiceLine]:
    """Posted usage of the month by feature and category (usage within the quota counts
    its quantity at no charge), and captured reservations by feature."""
    quantity: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    charged: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for usage in uow.usage_events.posted_between(period.start, period.end):
        for category, count, cost in usage.items:
            line = (usage.feature_key, category)
            quantity[line] += count
            charged[line] += ZERO if usage.within_quota else cost
    for feature_key, captured in uow.reservations.captured_between(period.start, period.end):
        line = (feature_key, RESERVATION_CATEGORY)
        quantity[line] += 1
        charged[line] += captured
    return [InvoiceLine(feature_key=f, category=c, quantity=quantity[(f, c)],
                        amount=charged[(f, c)]) for f, c in sorted(quantity)]


def _new_invoice(uow: BillingUnitOfWork, context: PostingContext, number: int, period: Period,
                 lines: Sequence[InvoiceLine]) -> Invoice:
    tenant_id = uow.tenant_id
    assert tenant_id is not None
    return Invoice(id=context.ids.new_id(), tenant_id=tenant_id, invoice_number=number,
                   period=period, status=InvoiceStatus.DRAFT, lines=tuple(lines),
                   total=total_of(lines), created_at=context.now, updated_at=context.now)


def _invoice(uow: BillingUnitOfWork, invoice_id: uuid.UUID) -> Invoice:
    invoice = uow.invoices.get(invoice_id)
    if invoice is None:
        raise NotFound("invoice not found")
    return invoice
