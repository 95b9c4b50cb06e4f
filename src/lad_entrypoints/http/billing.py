"""Billing routes: the wallet, the ledger, usage events, reservations, pricing, quotas and
invoices; and the operator's top-ups, invoice statuses and catalog loads."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, status
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from lad_domain.billing.invoice import Invoice
from lad_domain.billing.model import EntitlementStatus, LedgerEntry, Reservation, UsageEvent, Wallet
from lad_domain.billing.pricing import Price
from lad_domain.billing.services import (
    BillingService,
    InvoiceService,
    PlanService,
    ReservationService,
)
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.openapi import problems
from lad_entrypoints.http.schemas import DecimalText, Instant, PageOut, Strict

router = APIRouter(prefix="/v1")

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                       description="Unique per request; a retry with the "
                                       "same key returns the first result")]
#: Amounts and quantities: decimal strings (or integers); a JSON float is refused.
#: Strict: JSON true must not become 1; floats reach the domain, which refuses them by name.
Number = StrictStr | StrictInt | StrictFloat


Billing = Annotated[BillingService, Depends(provided(lambda c: c.billing()))]
Plans = Annotated[PlanService, Depends(provided(lambda c: c.billing_plans()))]
Reservations = Annotated[ReservationService, Depends(provided(lambda c: c.billing_reservations()))]
Invoices = Annotated[InvoiceService, Depends(provided(lambda c: c.billing_invoices()))]


# --- schemas ---------------------------------------------------------------------------


class WalletOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    current_balance: DecimalText
    reserved_balance: DecimalText
    available: DecimalText
    credit_limit: DecimalText | None
    low_balance_threshold: DecimalText | None
    currency: str = "USD"
    updated_at: datetime

    @classmethod
    def of(cls, w: Wallet) -> WalletOut:
        return cls(id=w.id, user_id=w.user_id, current_balance=w.current_balance,
                   reserved_balance=w.reserved_balance, available=w.available,
                   credit_limit=w.credit_limit, low_balance_threshold=w.low_balance_threshold,
                   updated_at=w.updated_at)


class TenantWalletOut(WalletOut):
    sub_wallets: list[WalletOut]


class LedgerEntryOut(BaseModel):
    id: uuid.UUID
    wallet_id: uuid.UUID
    type: str
    amount: DecimalText
    balance_after: DecimalText
    cause: str
    cause_id: uuid.UUID | None
    actor: str
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: LedgerEntry) -> LedgerEntryOut:
        return cls(id=e.id, wallet_id=e.wallet_id, type=str(e.type), amount=e.amount,
                   balance_after=e.balance_after, cause=str(e.cause), cause_id=e.cause_id,
                   actor=e.actor, note=e.note, created_at=e.created_at)


class UsageItemIn(Strict):
    category: str = Field(max_length=64, examples=["email_send"])
    provider: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    quantity: Number = Field(examples=["1"])


class UsageEventIn(Strict):
    feature_key: str = Field(max_length=64, examples=["outreach"])
    usage_items: list[UsageItemIn] = Field(max_length=50)
    user_id: uuid.UUID | None = None
    occurred_at: Instant | None = None


class UsageItemOut(BaseModel):
    category: str
    provider: str | None
    model: str | None
    quantity: DecimalText
    unit_price: DecimalText
    cost: DecimalText


class UsageEventOut(BaseModel):
    id: uuid.UUID
    feature_key: str
    status: str
    usage_items: list[UsageItemOut]
    total_cost: DecimalText
    charged: DecimalText
    within_quota: bool
    user_id: uuid.UUID | None
    occurred_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, e: UsageEvent) -> UsageEventOut:
        return cls(id=e.id, feature_key=e.feature_key, status=str(e.status),
                   usage_items=[UsageItemOut(category=i.category, provider=i.provider,
                                             model=i.model, quantity=i.quantity,
                                             unit_price=i.unit_price, cost=i.cost)
                                for i in e.items],
                   total_cost=e.total_cost, charged=e.charged, within_quota=e.within_quota,
                   user_id=e.user_id, occurred_at=e.occurred_at, created_at=e.created_at)


class ReservationIn(Strict):
    feature_key: str = Field(max_length=64, examples=["voice"])
    amount: Number = Field(examples=["2.50"])
    user_id: uuid.UUID | None = None
    expires_in_seconds: int | None = Field(default=None, ge=1, le=86_400)


class CaptureIn(Strict):
    amount: Number = Field(examples=["1.20"])


class ReservationOut(BaseModel):
    id: uuid.UUID
    wallet_id: uuid.UUID
    feature_key: str
    amount: DecimalText
    captured_amount: DecimalText
    status: str
    expires_at: datetime
    closed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(id=r.id, wallet_id=r.wallet_id, feature_key=r.feature_key, amount=r.amount,
                   captured_amount=r.captured_amount, status=str(r.status),
                   expires_at=r.expires_at, closed_at=r.closed_at, created_at=r.created_at)


class PriceOut(BaseModel):
    id: uuid.UUID
    category: str
    provider: str | None
    model: str | None
    unit: str
    unit_price: DecimalText
    tenant_override: bool
    effective_from: datetime
    effective_to: datetime | None

    @classmethod
    def of(cls, p: Price) -> PriceOut:
        return cls(id=p.id, category=p.category, provider=p.provider, model=p.model,
                   unit=p.unit, unit_price=p.unit_price, tenant_override=p.tenant_id is not None,
                   effective_from=p.effective_from, effective_to=p.effective_to)


class EntitlementOut(BaseModel):
    feature_key: str
    monthly_quota: int | None
    overage: str
    period: str
    used: int
    remaining: int | None

    @classmethod
    def of(cls, s: EntitlementStatus) -> EntitlementOut:
        return cls(feature_key=s.entitlement.feature_key,
                   monthly_quota=s.entitlement.monthly_quota,
                   overage=str(s.entitlement.overage), period=s.period, used=s.used,
                   remaining=s.remaining)


class InvoiceLineOut(BaseModel):
    feature_key: str
    category: str
    quantity: DecimalText
    amount: DecimalText


class InvoiceOut(BaseModel):
    id: uuid.UUID
    number: str
    invoice_number: int
    period: str
    status: str
    total: DecimalText
    currency: str = "USD"
    lines: list[InvoiceLineOut]
    created_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None

    @classmethod
    def of(cls, i: Invoice) -> InvoiceOut:
        return cls(id=i.id, number=i.number, invoice_number=i.invoice_number,
                   period=str(i.period), status=str(i.status), total=i.total,
                   lines=[InvoiceLineOut(feature_key=line.feature_key, category=line.category,
                                         quantity=line.quantity, amount=line.amount)
                          for line in i.lines],
                   created_at=i.created_at, issued_at=i.issued_at, paid_at=i.paid_at,
                   voided_at=i.voided_at)


class TopUpIn(Strict):
    amount: Number = Field(examples=["100.00"])
    note: str | None = Field(default=None, max_length=500)


class InvoiceStatusIn(Strict):
    status: str = Field(examples=["issued"])


class CatalogIn(Strict):
    mode: str = Field(default="extend", examples=["extend", "replace"])
    prices: list[dict[str, Any]]


class CatalogLoadOut(BaseModel):
    added: int
    closed: int
    unchanged: int


# --- the tenant's billing -----------------------------------------------------------------


@router.get("/billing/wallet", tags=["billing"])
def get_wallet(principal: CurrentPrincipal, billing: Billing) -> TenantWalletOut:
    """The tenant's wallet and its members' sub-wallets (owners and admins)."""
    found = billing.tenant_wallets(principal)
    return TenantWalletOut(**WalletOut.of(found.tenant).model_dump(),
                           sub_wallets=[WalletOut.of(w) for w in found.members])


@router.get("/billing/ledger", tags=["billing"], responses=problems(404))
def list_ledger(principal: CurrentPrincipal, billing: Billing, page: Paging,
                wallet_id: uuid.UUID | None = None) -> PageOut[LedgerEntryOut]:
    found = billing.ledger(principal, page, wallet_id=wallet_id)
    return PageOut(items=[LedgerEntryOut.of(e) for e in found.items],
                   next_cursor=found.next_cursor)


@router.post("/billing/usage-events", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/billing/usage-events/{id}"), tags=["billing"],
             responses=problems(402))
def record_usage(body: UsageEventIn, idempotency_key: IdempotencyKey,
                 principal: CurrentPrincipal, billing: Billing) -> UsageEventOut:
    """Record and post a usage event (tenant API keys). Refused usage is stored and
    answered 402; a retry with the same key gets the same answer."""
    return UsageEventOut.of(billing.record_usage(
        principal, idempotency_key=idempotency_key, feature_key=body.feature_key,
        usage_items=[item.model_dump() for item in body.usage_items], user_id=body.user_id,
        occurred_at=body.occurred_at, raise_refusal=True))


@router.post("/billing/reservations", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/billing/reservations/{id}"), tags=["billing"],
             responses=problems(402))
def reserve(body: ReservationIn, idempotency_key: IdempotencyKey, principal: CurrentPrincipal,
            reservations: Reservations) -> ReservationOut:
    hold = None if body.expires_in_seconds is None else timedelta(
        seconds=body.expires_in_seconds)
    return ReservationOut.of(reservations.reserve(
        principal, feature_key=body.feature_key, amount_=body.amount,
        idempotency_key_=idempotency_key, user_id=body.user_id, hold=hold))


@router.post("/billing/reservations/{reservation_id}/capture", tags=["billing"],
             responses=problems(402))
def capture(reservation_id: uuid.UUID, body: CaptureIn, principal: CurrentPrincipal,
            reservations: Reservations) -> ReservationOut:
    return ReservationOut.of(reservations.capture(principal, reservation_id, body.amount))


@router.post("/billing/reservations/{reservation_id}/release", tags=["billing"])
def release(reservation_id: uuid.UUID, principal: CurrentPrincipal,
            reservations: Reservations) -> ReservationOut:
    return ReservationOut.of(reservations.release(principal, reservation_id))


@router.get("/billing/pricing", tags=["billing"])
def pricing(principal: CurrentPrincipal, plans: Plans) -> list[PriceOut]:
    """The prices in force now: the global catalog with this tenant's overrides."""
    return [PriceOut.of(p) for p in plans.pricing(principal)]


@router.get("/billing/entitlements", tags=["billing"])
def entitlements(principal: CurrentPrincipal, plans: Plans) -> list[EntitlementOut]:
    """Monthly quotas with this month's use and what remains."""
    return [EntitlementOut.of(s) for s in plans.entitlements(principal)]


@router.get("/billing/invoices", tags=["billing"])
def list_invoices(principal: CurrentPrincipal, invoices: Invoices, page: Paging
                  ) -> PageOut[InvoiceOut]:
    found = invoices.list(principal, page)
    return PageOut(items=[InvoiceOut.of(i) for i in found.items], next_cursor=found.next_cursor)


@router.get("/billing/invoices/{invoice_id}", tags=["billing"])
def get_invoice(invoice_id: uuid.UUID, principal: CurrentPrincipal, invoices: Invoices
                ) -> InvoiceOut:
    return InvoiceOut.of(invoices.get(principal, invoice_id))


# --- the operator ---------------------------------------------------------------------------


@router.post("/operator/tenants/{tenant_id}/top-ups", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/operator/tenants/{tenant_id}/top-ups/{id}"),
             tags=["operator"])
def top_up(tenant_id: uuid.UUID, body: TopUpIn, idempotency_key: IdempotencyKey,
           principal: CurrentPrincipal, billing: Billing) -> LedgerEntryOut:
    """Credit a tenant's wallet (the operator token only)."""
    return LedgerEntryOut.of(billing.top_up(principal, tenant_id, body.amount,
                                            idempotency_key_=idempotency_key, note=body.note))


@router.patch("/operator/tenants/{tenant_id}/invoices/{invoice_id}", tags=["operator"])
def change_invoice_status(tenant_id: uuid.UUID, invoice_id: uuid.UUID, body: InvoiceStatusIn,
                          principal: CurrentPrincipal, invoices: Invoices) -> InvoiceOut:
    """draft -> issued -> paid, or -> void (the operator token only)."""
    return InvoiceOut.of(invoices.change_status(principal, tenant_id, invoice_id, body.status))


@router.post("/operator/pricing", tags=["operator"])
def load_pricing(body: CatalogIn, principal: CurrentPrincipal, plans: Plans) -> CatalogLoadOut:
    """Extend or replace the catalog (rows with a tenant_id are that tenant's overrides)."""
    load = plans.load_pricing(principal, {"prices": body.prices}, mode=body.mode)
    return CatalogLoadOut(added=load.added, closed=load.closed, unchanged=load.unchanged)

