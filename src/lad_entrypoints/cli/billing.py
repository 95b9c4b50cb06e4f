"""``lad billing``: the operator's money commands (top-ups, balances, the ledger, prices,
quotas, invoices, reconcile, the legacy migration, the reservation sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lad_adapters.catalog import read_catalog
from lad_domain.billing.invoice import Invoice
from lad_domain.billing.model import Wallet
from lad_domain.shared.ids import parse_id
from lad_entrypoints.cli.common import (
    OPERATOR,
    AnyTenantOption,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
    tenant_id_or_every,
)
from lad_entrypoints.cli.output import console, emit, emit_one

app = typer.Typer(help="Billing: wallets, the ledger, prices, quotas and invoices.",
                  no_args_is_help=True)
pricing = typer.Typer(help="The pricing catalog.", no_args_is_help=True)
invoices = typer.Typer(help="Monthly invoices.", no_args_is_help=True)
reservations = typer.Typer(help="Money held for work in flight.", no_args_is_help=True)
entitlements = typer.Typer(help="Monthly feature quotas.", no_args_is_help=True)
app.add_typer(pricing, name="pricing")
app.add_typer(invoices, name="invoices")
app.add_typer(reservations, name="reservations")
app.add_typer(entitlements, name="entitlements")

#: Exit code of ``reconcile`` when it finds drift.
DRIFT_EXIT_CODE = 1


def _wallet_row(w: Wallet) -> dict[str, object]:
    return {"wallet": "tenant" if w.user_id is None else f"member {w.user_id}",
            "current_balance": w.current_balance, "reserved_balance": w.reserved_balance,
            "available": w.available, "credit_limit": w.credit_limit,
            "low_balance_threshold": w.low_balance_threshold, "id": w.id}


def _invoice_row(i: Invoice) -> dict[str, object]:
    return {"number": i.number, "tenant_id": i.tenant_id, "period": str(i.period),
            "status": i.status, "total": i.total, "id": i.id}


@app.command("top-up")
def top_up(
    ctx: typer.Context, tenant: TenantOption,
    amount: Annotated[str, typer.Argument(help="A decimal amount, e.g. 100.00.")],
    idempotency_key: Annotated[str, typer.Option(
        "--idempotency-key", help="Unique per top-up: running it again changes nothing.")],
    note: Annotated[str | None, typer.Option(help="Why (kept in the ledger).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Credit a tenant's wallet."""
    lad = container(ctx)
    entry = lad.billing().top_up(OPERATOR, tenant_id(ctx, tenant), amount,
                                 idempotency_key_=idempotency_key, note=note)
    emit_one({"id": entry.id, "amount": entry.amount, "balance_after": entry.balance_after,
              "created_at": entry.created_at}, as_json=as_json)


@app.command()
def balance(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's wallet and its members' sub-wallets."""
    found = container(ctx).billing().tenant_wallets(OPERATOR, tenant_id=tenant_id(ctx, tenant))
    emit([_wallet_row(w) for w in (found.tenant, *found.members)],
         as_json=as_json, title="wallets")


@app.command()
def ledger(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
           limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """The tenant's ledger, newest first."""
    found = container(ctx).billing().ledger(OPERATOR, page(limit, cursor),
                                            tenant_id=tenant_id(ctx, tenant))
    emit([{"created_at": e.created_at, "type": e.type, "amount": e.amount,
           "balance_after": e.balance_after, "cause": e.cause, "actor": e.actor,
           "wallet_id": e.wallet_id} for e in found.items],
         as_json=as_json, next_cursor=found.next_cursor, title="ledger")


@app.command("credit-limit")
def credit_limit(ctx: typer.Context, tenant: TenantOption,
                 amount: Annotated[str, typer.Argument(help="An amount, or 'none'.")],
                 as_json: JsonOption = False) -> None:
    """How far the tenant's available balance may go below zero."""
    wallet = container(ctx).billing().set_credit_limit(
        OPERATOR, tenant_id(ctx, tenant), None if amount.lower() == "none" else amount)
    emit_one(_wallet_row(wallet), as_json=as_json)


@app.command("low-balance")
def low_balance(ctx: typer.Context, tenant: TenantOption,
                amount: Annotated[str, typer.Argument(help="An amount, or 'none'.")],
                as_json: JsonOption = False) -> None:
    """Below this available balance, a billing.balance_low event is recorded."""
    wallet = container(ctx).billing().set_low_balance_threshold(
        OPERATOR, tenant_id(ctx, tenant), None if amount.lower() == "none" else amount)
    emit_one(_wallet_row(wallet), as_json=as_json)


@app.command()
def reconcile(ctx: typer.Context, tenant: AnyTenantOption = None, as_json: JsonOption = False
              ) -> None:
    """Recompute every wallet (of --tenant, else of every tenant) from its ledger and open
    reservations; exit 1 on drift."""
    report = container(ctx).billing_reconciliation().reconcile(
        OPERATOR, tenant_id=tenant_id_or_every(ctx, tenant))
    emit([{"tenant_id": d.tenant_id, "wallet_id": d.wallet_id, "figure": d.figure,
           "stored": d.stored, "expected": d.expected} for d in report.drifts],
         as_json=as_json, title="drift")
    if not as_json:
        console.print(f"{report.tenants} tenant(s), {report.wallets} wallet(s), "
                      f"{len(report.drifts)} drift(s)")
    if not report.clean:
        raise typer.Exit(DRIFT_EXIT_CODE)


@app.command("migrate-legacy")
def migrate_legacy(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Move every legacy credit balance into the wallets, once; report the totals."""
    report = container(ctx).billing_reconciliation().migrate_legacy(OPERATOR)
    emit_one({"tenants": report.tenants, "migrated": report.migrated,
              "already_migrated": report.already_migrated,
              "skipped_negative": len(report.skipped_negative),
              "legacy_total": report.legacy_total, "migrated_total": report.migrated_total,
              "totals_match": report.totals_match}, as_json=as_json)
    if not report.totals_match:
        raise typer.Exit(DRIFT_EXIT_CODE)


@pricing.command("load")
def load_pricing(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON catalog: a list of prices or "
                                         "{\"prices\": [...]}.")],
    mode: Annotated[str, typer.Option(help="extend: add and supersede; replace: also end "
                                      "the prices the file omits.")] = "extend",
    as_json: JsonOption = False,
) -> None:
    """Load prices from a file (the default catalog: src/lad_adapters/catalog/pricing.json)."""
    load = container(ctx).billing_plans().load_pricing(OPERATOR, read_catalog(file), mode=mode)
    emit_one({"added": load.added, "closed": load.closed, "unchanged": load.unchanged},
             as_json=as_json)


@pricing.command("list")
def list_pricing(ctx: typer.Context, tenant: AnyTenantOption = None, as_json: JsonOption = False
                 ) -> None:
    """The prices in force now (with --tenant: including that tenant's overrides)."""
    found = container(ctx).billing_plans().pricing(
        OPERATOR, tenant_id=tenant_id_or_every(ctx, tenant))
    emit([{"category": p.category, "provider": p.provider, "model": p.model, "unit": p.unit,
           "unit_price": p.unit_price, "override": p.tenant_id is not None,
           "since": p.effective_from} for p in found], as_json=as_json, title="prices")


@invoices.command("generate")
def generate_invoices(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="The month: YYYY-MM.")],
    tenant: AnyTenantOption = None, as_json: JsonOption = False,
) -> None:
    """Generate a month's invoices, of --tenant or else of every tenant (again: nothing
    changes)."""
    found = container(ctx).billing_invoices().generate(
        OPERATOR, period, tenant_id=tenant_id_or_every(ctx, tenant))
    emit([_invoice_row(i) for i in found], as_json=as_json, title=f"invoices {period}")


@invoices.command("list")
def list_invoices(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                  limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """The tenant's invoices, newest first."""
    found = container(ctx).billing_invoices().list(OPERATOR, page(limit, cursor),
                                                   tenant_id=tenant_id(ctx, tenant))
    emit([_invoice_row(i) for i in found.items], as_json=as_json,
         next_cursor=found.next_cursor, title="invoices")


@invoices.command("status")
def invoice_status(
    ctx: typer.Context, tenant: TenantOption,
    invoice_id: Annotated[str, typer.Argument(help="The invoice id.")],
    status: Annotated[str, typer.Argument(help="issued, paid or void.")],
    as_json: JsonOption = False,
) -> None:
    """Move an invoice: draft -> issued -> paid, or -> void."""
    invoice = container(ctx).billing_invoices().change_status(
        OPERATOR, tenant_id(ctx, tenant), parse_id(invoice_id, field="invoice_id"), status)
    emit_one(_invoice_row(invoice), as_json=as_json)


@reservations.command("sweep")
def sweep(ctx: typer.Context, tenant: AnyTenantOption = None, as_json: JsonOption = False
          ) -> None:
    """Release every reservation whose time is up (of --tenant, else of every tenant)."""
    released = container(ctx).billing_reservations().sweep(
        OPERATOR, tenant_id=tenant_id_or_every(ctx, tenant))
    emit_one({"released": released}, as_json=as_json)


@entitlements.command("set")
def set_entitlement(
    ctx: typer.Context, tenant: TenantOption,
    feature_key: Annotated[str, typer.Argument(help="The feature, e.g. outreach.")],
    quota: Annotated[int | None, typer.Option(min=0, help="Uses included a month "
                                              "(omit: unlimited).")] = None,
    overage: Annotated[str, typer.Option(help="Beyond the quota: charge or refuse.")
                       ] = "charge",
    as_json: JsonOption = False,
) -> None:
    """Set a tenant's monthly quota for a feature."""
    found = container(ctx).billing_plans().set_entitlement(
        OPERATOR, tenant_id(ctx, tenant), feature_key, monthly_quota=quota, overage=overage)
    emit_one({"feature_key": found.feature_key, "monthly_quota": found.monthly_quota,
              "overage": found.overage}, as_json=as_json)


@entitlements.command("list")
def list_entitlements(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False
                      ) -> None:
    """The tenant's monthly quotas: each feature's quota, use this month and what remains."""
    found = container(ctx).billing_plans().entitlements(OPERATOR,
                                                        tenant_id=tenant_id(ctx, tenant))
    emit([{"feature_key": s.entitlement.feature_key, "quota": s.entitlement.monthly_quota,
           "overage": s.entitlement.overage, "period": s.period, "used": s.used,
           "remaining": s.remaining} for s in found], as_json=as_json, title="quotas")
