"""``lad outreach``: a tenant's templates, mailboxes, LinkedIn accounts and suppression
list (as the operator), and re-sealing every mailbox password with the current key."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from lad_domain.billing.scope import each_tenant
from lad_domain.outreach.model import (
    EmailAccount,
    LinkedInAccount,
    Pacing,
    SendKind,
    Suppression,
    SuppressionReason,
    Template,
)
from lad_entrypoints.cli.common import (
    OPERATOR,
    CursorOption,
    JsonOption,
    LimitOption,
    TenantOption,
    container,
    page,
    read_text_file,
    tenant_id,
)
from lad_entrypoints.cli.output import console, emit, emit_one

app = typer.Typer(help="Outreach: templates, sending accounts, suppressions, key rotation.",
                  no_args_is_help=True)
templates = typer.Typer(help="Message templates: list, save, show, remove, preview.",
                        no_args_is_help=True)
email_accounts = typer.Typer(help="Mailboxes: list, add, verify, pause, resume, remove.",
                             no_args_is_help=True)
linkedin_accounts = typer.Typer(help="LinkedIn accounts (Unipile): list, add, remove.",
                                no_args_is_help=True)
suppressions = typer.Typer(help="Addresses never reached again: list, add, remove.",
                           no_args_is_help=True)
app.add_typer(templates, name="templates")
app.add_typer(email_accounts, name="email-accounts")
app.add_typer(linkedin_accounts, name="linkedin-accounts")
app.add_typer(suppressions, name="suppressions")

TemplateId = Annotated[uuid.UUID, typer.Argument(help="The template's id.")]
AccountId = Annotated[uuid.UUID, typer.Argument(help="The account's id.")]
ChannelFilter = Annotated[str | None, typer.Option(
    "--channel", help="Only this channel (email, linkedin, voice).")]


def _text(value: str) -> str:
    """Text given inline or, as ``@path``, in a file."""
    return read_text_file(Path(value[1:]), "@FILE") if value.startswith("@") else value


def _today(ctx: typer.Context) -> date:
    return container(ctx).clock().now().date()


def _pacing(p: Pacing, today: date) -> dict[str, object]:
    kinds = [SendKind(k) for k in p.caps]
    return {"caps_today": {str(k): p.cap(k, today) for k in kinds},
            "sent_today": {str(k): p.sent(k, today) for k in kinds},
            "next_send_at": p.next_send_at, "cooldown_until": p.cooldown_until}


def _template(t: Template) -> dict[str, object]:
    return {"id": t.id, "channel": t.channel, "key": t.key, "name": t.name,
            "subject": t.subject, "variables": ", ".join(t.variables),
            "updated_at": t.updated_at}


def _email_account(a: EmailAccount, today: date) -> dict[str, object]:
    return {"id": a.id, "email": a.email, "status": a.status,
            "smtp": f"{a.smtp_host}:{a.smtp_port} ({a.smtp_security})",
            "has_smtp_password": a.smtp_password_sealed is not None,
            "imap": f"{a.imap_host}:{a.imap_port}" if a.reads_mail else None,
            **_pacing(a.pacing, today), "last_error": a.last_error}


def _linkedin_account(a: LinkedInAccount, today: date) -> dict[str, object]:
    return {"id": a.id, "unipile_account_id": a.unipile_account_id, "status": a.status,
            "user_id": a.user_id, "display_name": a.display_name,
            **_pacing(a.pacing, today), "last_error": a.last_error}


def _suppression(s: Suppression) -> dict[str, object]:
    return {"id": s.id, "channel": s.channel, "address": s.address, "reason": s.reason,
            "source": s.source, "created_at": s.created_at}


# --- templates ----------------------------------------------------------------------------

@templates.command("list")
def list_templates(ctx: typer.Context, tenant: TenantOption, channel: ChannelFilter = None,
                   as_json: JsonOption = False, limit: LimitOption = 50,
                   cursor: CursorOption = None) -> None:
    """The tenant's templates."""
    found = container(ctx).outreach().list_templates(OPERATOR, channel, page(limit, cursor),
                                                     tenant_id=tenant_id(ctx, tenant))
    emit([_template(t) for t in found.items], as_json=as_json, next_cursor=found.next_cursor)


@templates.command("save")
def save_template(
    ctx: typer.Context, tenant: TenantOption,
    channel: Annotated[str, typer.Option(help="email, linkedin or voice.")],
    key: Annotated[str, typer.Option(help="The key steps name it by.")],
    body: Annotated[str, typer.Option(help="The body (Jinja2), or @FILE.")],
    subject: Annotated[str | None, typer.Option(help="The subject (email).")] = None,
    name: Annotated[str | None, typer.Option(help="A label.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create the template of (channel, key), or replace its text; checked now."""
    saved = container(ctx).outreach().save_template(
        OPERATOR, channel=channel, key_=key, body=_text(body), subject=subject, name=name,
        tenant_id=tenant_id(ctx, tenant))
    emit_one({**_template(saved), "body": saved.body}, as_json=as_json)


@templates.command("show")
def show_template(ctx: typer.Context, template: TemplateId, tenant: TenantOption,
                  as_json: JsonOption = False) -> None:
    """One template: its channel, key, subject and variables."""
    found = container(ctx).outreach().get_template(OPERATOR, template,
                                                   tenant_id=tenant_id(ctx, tenant))
    emit_one({**_template(found), "body": found.body}, as_json=as_json)


@templates.command("remove")
def remove_template(ctx: typer.Context, template: TemplateId, tenant: TenantOption) -> None:
    """Remove one of the tenant's templates."""
    container(ctx).outreach().remove_template(OPERATOR, template,
                                              tenant_id=tenant_id(ctx, tenant))


@templates.command("preview")
def preview_template(
    ctx: typer.Context, template: TemplateId, tenant: TenantOption,
    lead: Annotated[uuid.UUID, typer.Option("--lead", help="The lead to render it for.")],
    sender: Annotated[uuid.UUID | None, typer.Option(
        "--sender", help="An email account filling ``sender``.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The template as the lead would get it."""
    rendered = container(ctx).outreach().preview(OPERATOR, template, lead, sender_id=sender,
                                                 tenant_id=tenant_id(ctx, tenant))
    if as_json:
        emit_one({"subject": rendered.subject, "text": rendered.text, "html": rendered.html},
                 as_json=True)
        return
    if rendered.subject is not None:
        console.print(f"Subject: {rendered.subject}\n", markup=False, highlight=False)
    console.print(rendered.text, markup=False, highlight=False)


# --- email accounts -----------------------------------------------------------------------

@email_accounts.command("list")
def list_email_accounts(ctx: typer.Context, tenant: TenantOption, as_json: JsonOption = False,
                        limit: LimitOption = 50, cursor: CursorOption = None) -> None:
    """The tenant's mailboxes (their passwords never shown), newest first."""
    found = container(ctx).outreach().list_email_accounts(OPERATOR, page(limit, cursor),
                                                          tenant_id=tenant_id(ctx, tenant))
    today = _today(ctx)
    emit([_email_account(a, today) for a in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@email_accounts.command("add")
def add_email_account(
    ctx: typer.Context, tenant: TenantOption,
    email: Annotated[str, typer.Option(help="The address mail leaves from.")],
    smtp_host: Annotated[str, typer.Option(help="The SMTP server.")],
    smtp_port: Annotated[int, typer.Option(help="Its port (587 starttls, 465 tls).")],
    smtp_security: Annotated[str, typer.Option(help="starttls, tls or none.")] = "starttls",
    smtp_username: Annotated[str | None, typer.Option(help="The login.")] = None,
    smtp_password: Annotated[str | None, typer.Option(
        envvar="LAD_SMTP_PASSWORD", help="The password (better: in LAD_SMTP_PASSWORD); "
        "sealed at rest.")] = None,
    display_name: Annotated[str | None, typer.Option(help="The sender's name.")] = None,
    imap_host: Annotated[str | None, typer.Option(help="Read replies and bounces here.")
                         ] = None,
    imap_port: Annotated[int | None, typer.Option(help="The IMAP port (993).")] = None,
    imap_username: Annotated[str | None, typer.Option(help="The IMAP login.")] = None,
    imap_password: Annotated[str | None, typer.Option(
        envvar="LAD_IMAP_PASSWORD", help="The IMAP password (default: the SMTP one).")
                             ] = None,
    daily_cap: Annotated[int | None, typer.Option(help="Sends a day (default 200).")] = None,
    warmup_start: Annotated[int | None, typer.Option(help="Warm-up: the first day's cap.")
                            ] = None,
    warmup_step: Annotated[int | None, typer.Option(help="Warm-up: added each day.")] = None,
    min_spacing: Annotated[int | None, typer.Option(
        help="Seconds between two sends (default 60).")] = None,
    jitter: Annotated[int | None, typer.Option(help="Random extra seconds (default 60).")
                      ] = None,
    verify: Annotated[bool, typer.Option(help="Log in over SMTP first; keep nothing when "
                                         "it fails.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Add a mailbox."""
    given: dict[str, Any] = {
        "email": email, "smtp_host": smtp_host, "smtp_port": smtp_port,
        "smtp_security": smtp_security, "smtp_username": smtp_username,
        "smtp_password": smtp_password, "display_name": display_name,
        "imap_host": imap_host, "imap_port": imap_port, "imap_username": imap_username,
        "imap_password": imap_password, "daily_cap": daily_cap, "warmup_start": warmup_start,
        "warmup_step": warmup_step, "min_spacing_seconds": min_spacing,
        "jitter_seconds": jitter}
    lad = container(ctx)
    account, report = lad.outreach().add_email_account(
        OPERATOR, {k: v for k, v in given.items() if v is not None}, verify=verify,
        tenant_id=tenant_id(ctx, tenant))
    row = _email_account(account, _today(ctx))
    if report is not None:
        row["verified"] = f"{report.stage}: {report.detail}"
    emit_one(row, as_json=as_json)


@email_accounts.command("verify")
def verify_email_account(
    ctx: typer.Context, account: AccountId, tenant: TenantOption,
    password: Annotated[str | None, typer.Option(
        envvar="LAD_SMTP_PASSWORD", help="A new password, kept only if it works.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Log in over SMTP and say where it failed (dns, connect, tls, auth); exit 1 if it did."""
    report = container(ctx).outreach().verify_email_account(
        OPERATOR, account, password=password, tenant_id=tenant_id(ctx, tenant))
    emit_one({"ok": report.ok, "stage": report.stage, "detail": report.detail},
             as_json=as_json)
    if not report.ok:
        raise typer.Exit(1)


def _email_status(name: str, wanted: str, doc: str) -> None:
    def command(ctx: typer.Context, account: AccountId, tenant: TenantOption,
                as_json: JsonOption = False) -> None:
        found = container(ctx).outreach().set_email_account_status(
            OPERATOR, account, wanted, tenant_id=tenant_id(ctx, tenant))
        emit_one(_email_account(found, _today(ctx)), as_json=as_json)

    command.__doc__ = doc
    email_accounts.command(name)(command)


_email_status("pause", "paused", "Pause a mailbox: its sends wait.")
_email_status("resume", "active", "Make a mailbox active again (clears an error).")


@email_accounts.command("remove")
def remove_email_account(ctx: typer.Context, account: AccountId, tenant: TenantOption) -> None:
    """Remove a mailbox; its sealed passwords are erased."""
    container(ctx).outreach().remove_email_account(OPERATOR, account,
                                                   tenant_id=tenant_id(ctx, tenant))


# --- LinkedIn accounts --------------------------------------------------------------------

@linkedin_accounts.command("list")
def list_linkedin_accounts(ctx: typer.Context, tenant: TenantOption,
                           as_json: JsonOption = False, limit: LimitOption = 50,
                           cursor: CursorOption = None) -> None:
    """The tenant's connected LinkedIn accounts, newest first."""
    found = container(ctx).outreach().list_linkedin_accounts(
        OPERATOR, page(limit, cursor), tenant_id=tenant_id(ctx, tenant))
    today = _today(ctx)
    emit([_linkedin_account(a, today) for a in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@linkedin_accounts.command("add")
def add_linkedin_account(
    ctx: typer.Context, tenant: TenantOption,
    unipile_account: Annotated[str, typer.Option(help="The account's id at Unipile.")],
    user: Annotated[uuid.UUID | None, typer.Option(help="The member it belongs to.")] = None,
    display_name: Annotated[str | None, typer.Option(help="A name.")] = None,
    invite_cap: Annotated[int | None, typer.Option(help="Invitations a day (80).")] = None,
    message_cap: Annotated[int | None, typer.Option(help="Messages a day (100).")] = None,
    min_spacing: Annotated[int | None, typer.Option(help="Seconds between actions (60).")
                           ] = None,
    as_json: JsonOption = False,
) -> None:
    """Connect a LinkedIn account (Unipile)."""
    given = {"unipile_account_id": unipile_account, "user_id": user,
             "display_name": display_name, "daily_invite_cap": invite_cap,
             "daily_message_cap": message_cap, "min_spacing_seconds": min_spacing}
    account = container(ctx).outreach().add_linkedin_account(
        OPERATOR, {k: v for k, v in given.items() if v is not None},
        tenant_id=tenant_id(ctx, tenant))
    emit_one(_linkedin_account(account, _today(ctx)), as_json=as_json)


@linkedin_accounts.command("remove")
def remove_linkedin_account(ctx: typer.Context, account: AccountId, tenant: TenantOption
                            ) -> None:
    """Disconnect a LinkedIn account from the tenant."""
    container(ctx).outreach().remove_linkedin_account(OPERATOR, account,
                                                      tenant_id=tenant_id(ctx, tenant))


# --- suppressions -------------------------------------------------------------------------

@suppressions.command("list")
def list_suppressions(ctx: typer.Context, tenant: TenantOption, channel: ChannelFilter = None,
                      as_json: JsonOption = False, limit: LimitOption = 50,
                      cursor: CursorOption = None) -> None:
    """Addresses and profiles the tenant never contacts again, newest first."""
    found = container(ctx).outreach().list_suppressions(OPERATOR, channel, page(limit, cursor),
                                                        tenant_id=tenant_id(ctx, tenant))
    emit([_suppression(s) for s in found.items], as_json=as_json,
         next_cursor=found.next_cursor)


@suppressions.command("add")
def add_suppression(
    ctx: typer.Context, tenant: TenantOption,
    channel: Annotated[str, typer.Option(help="email, linkedin or voice.")],
    address: Annotated[str, typer.Option(help="The email, profile or phone number.")],
    reason: Annotated[str, typer.Option(help=", ".join(r.value for r in SuppressionReason))
                      ] = SuppressionReason.DO_NOT_CONTACT.value,
    as_json: JsonOption = False,
) -> None:
    """Never reach this address on this channel again."""
    found, added = container(ctx).outreach().suppress(
        OPERATOR, channel=channel, address=address, reason=reason,
        tenant_id=tenant_id(ctx, tenant))
    emit_one({**_suppression(found), "new": added}, as_json=as_json)


@suppressions.command("remove")
def remove_suppression(ctx: typer.Context,
                       suppression: Annotated[uuid.UUID, typer.Argument(
                           help="The suppression's id.")],
                       tenant: TenantOption) -> None:
    """Lift a suppression."""
    container(ctx).outreach().lift_suppression(OPERATOR, suppression,
                                               tenant_id=tenant_id(ctx, tenant))


# --- keys ---------------------------------------------------------------------------------

@app.command("rotate-key")
def rotate_key(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Re-seal every tenant's mailbox passwords with the current key (the first of
    LAD_SECRET_KEYS); then the older keys can be dropped."""
    lad = container(ctx)
    outreach = lad.outreach()
    tenants = resealed = 0
    for tenant in each_tenant(lad.tenant_scope()):
        resealed += outreach.rotate_key(OPERATOR, tenant_id=tenant)
        tenants += 1
    emit_one({"tenants": tenants, "resealed": resealed}, as_json=as_json)
