"""``lad tenants``, ``lad users``, ``lad members``: operator commands."""

from __future__ import annotations

from typing import Annotated

import typer

from lad_domain.shared.principal import Role
from lad_domain.tenancy.model import Tenant
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    tenant_id,
)
from lad_entrypoints.cli.output import emit, emit_one

tenants = typer.Typer(help="Tenants (organisations).", no_args_is_help=True)
users = typer.Typer(help="User accounts.", no_args_is_help=True)
members = typer.Typer(help="Members of a tenant.", no_args_is_help=True)

PasswordOption = Annotated[str | None, typer.Option(
    "--password", help="Password of a new account: required when no account has the "
    "owner's email (an existing account keeps its own).")]


def _tenant_row(t: Tenant) -> dict[str, object]:
    return {"id": t.id, "slug": t.slug, "name": t.name, "status": t.status,
            "plan_tier": t.plan_tier, "created_at": t.created_at}


@tenants.command("create")
def create_tenant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The organisation's name.")],
    owner_email: Annotated[str, typer.Option("--owner-email", help="Owner's email.")],
    password: PasswordOption = None,
    slug: Annotated[str | None, typer.Option(help="URL slug (default: from the name).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant owned by an existing user, or by a new one given --password."""
    tenant = container(ctx).tenancy().create_tenant(
        OPERATOR, name=name, owner_email=owner_email, owner_password=password, slug=slug)
    emit_one(_tenant_row(tenant), as_json=as_json)


@tenants.command("list")
def list_tenants(ctx: typer.Context, as_json: JsonOption = False, limit: LimitOption = 50,
                 cursor: CursorOption = None) -> None:
    """List live tenants, newest first."""
    found = container(ctx).team().list_tenants(OPERATOR, page(limit, cursor))
    emit([_tenant_row(t) for t in found.items], as_json=as_json, next_cursor=found.next_cursor)


@tenants.command("show")
def show_tenant(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False
                ) -> None:
    """Show one tenant, with its features."""
    found = container(ctx).team().find_tenant(OPERATOR, tenant)
    row = _tenant_row(found) | {"metadata": found.metadata}
    emit_one(row, as_json=as_json)


@users.command("create")
def create_user(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Email address (the login).")],
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="The account's password; asked for (twice, hidden) when not given.")],
    as_json: JsonOption = False,
) -> None:
    """Create a user account (not yet a member of any tenant)."""
    user = container(ctx).tenancy().create_user(OPERATOR, email=email, password=password)
    emit_one({"id": user.id, "email": user.email, "created_at": user.created_at},
             as_json=as_json)


@users.command("list")
def list_users(ctx: typer.Context, as_json: JsonOption = False, limit: LimitOption = 50,
               cursor: CursorOption = None) -> None:
    """List user accounts, newest first."""
    found = container(ctx).tenancy().list_users(OPERATOR, page(limit, cursor))
    emit([{"id": u.id, "email": u.email, "primary_tenant_id": u.primary_tenant_id,
           "created_at": u.created_at} for u in found.items],
         as_json=as_json, next_cursor=found.next_cursor)


@members.command("list")
def list_members(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                 limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """List a tenant's members, newest first."""
    found = container(ctx).team().list_members(OPERATOR, page(limit, cursor),
                                               tenant_id=tenant_id(ctx, tenant))
    emit([{"user_id": m.membership.user_id, "email": m.email, "role": m.membership.role,
           "joined_at": m.membership.created_at} for m in found.items],
         as_json=as_json, next_cursor=found.next_cursor)


@members.command("add")
def add_member(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Email of an existing user.")],
    tenant: TenantOption,
    role: Annotated[Role, typer.Option(help="Role in the tenant.")] = Role.MEMBER,
    as_json: JsonOption = False,
) -> None:
    """Add an existing user to a tenant."""
    m = container(ctx).team().add_member(OPERATOR, email=email, role=role,
                                         tenant_id=tenant_id(ctx, tenant))
    emit_one({"tenant_id": m.tenant_id, "user_id": m.user_id, "role": m.role}, as_json=as_json)
