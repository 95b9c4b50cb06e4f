"""Outreach use cases: templates (checked when saved, previewed for a lead), the mailboxes
and LinkedIn accounts a tenant sends from, and its suppression list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import attrs

from lad_domain.leads.model import Lead
from lad_domain.leads.services.leads import live_lead
from lad_domain.outreach.channels import EmailChannel, MailLogin, Security, VerifyReport
from lad_domain.outreach.events import (
    AccountConnected,
    AccountRemoved,
    AccountStatusChanged,
    AddressSuppressed,
    SuppressionLifted,
    TemplateRemoved,
    TemplateSaved,
)
from lad_domain.outreach.model import (
    AccountStatus,
    Channel,
    EmailAccount,
    LinkedInAccount,
    Pacing,
    SendKind,
    Suppression,
    SuppressionReason,
    Template,
    suppression_address,
)
from lad_domain.outreach.policy import OutreachPermission
from lad_domain.outreach.ports import OutreachUnitOfWork, SecretBox
from lad_domain.outreach.public_links import PublicLinks
from lad_domain.outreach.rendering import RenderContext, Rendered, TemplateRenderer
from lad_domain.shared.access import ensure_member
from lad_domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed
from lad_domain.shared.pagination import Page, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope, tenant_of
from lad_domain.shared.validation import choice, key, normalise_email, plain_text

MAX_CAP = 100_000
MAX_SPACING = 86_400
EMAIL_DEFAULTS = {"daily_cap": 200, "min_spacing_seconds": 60, "jitter_seconds": 60}
LINKEDIN_DEFAULTS = {"daily_invite_cap": 80, "daily_message_cap": 100,
                     "daily_profile_view_cap": 150, "min_spacing_seconds": 60,
                     "jitter_seconds": 30}
SECRET_FIELDS = ("smtp_password", "imap_password")


def password_context(tenant_id: uuid.UUID, account_id: uuid.UUID, which: str) -> str:
    """What a sealed password is bound to: its tenant, its row and which password it is."""
    return f"email_accounts:{tenant_id}:{account_id}:{which}"


def whole(values: Mapping[str, object], name: str, default: int | None, *, low: int = 0,
          high: int = MAX_CAP, errors: list[FieldError]) -> int | None:
    value = values.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(FieldError(name, f"must be a whole number from {low} to {high}"))
        return default
    return value


def host_name(value: object, *, field: str) -> str:
    host = plain_text(value, field=field, max_length=255).lower()
    if any(c.isspace() or c in "/@:" for c in host):
        raise ValidationFailed.single(field, f"{host!r} is not a host name")
    return host


def lead_variables(lead: Lead) -> dict[str, Any]:
    """What a template sees of a lead."""
    return {"first_name": lead.first_name or "", "last_name": lead.last_name or "",
            "full_name": " ".join(p for p in (lead.first_name, lead.last_name) if p),
            "email": lead.email or "", "phone": lead.phone or "",
            "company": lead.company or "", "title": lead.title or "",
            "custom": dict(lead.custom_fields)}


@attrs.define
class OutreachService:
    scope: TenantScope[OutreachUnitOfWork]
    renderer: TemplateRenderer
    secrets: SecretBox
    email: EmailChannel
    links: PublicLinks

    # --- templates ------------------------------------------------------------------------

    def save_template(self, principal: Principal, *, channel: object, key_: object,
                      body: object, subject: object = None, name: object = None,
                      tenant_id: uuid.UUID | None = None) -> Template:
        """Create the template of (channel, key), or replace its text: checked now, so a
        mistake is refused here and never fails a send."""
        channel_, template_key = _channel(channel), key(key_, field="key")
        if not isinstance(body, str) or not body.strip():
            raise ValidationFailed.single("body", "is required")
        if subject is not None and not isinstance(subject, str):
            raise ValidationFailed.single("subject", "must be text")
        if channel_ is Channel.EMAIL and not (subject or "").strip():
            raise ValidationFailed.single("subject", "is required for an email template")
        if channel_ is not Channel.EMAIL and subject:
            raise ValidationFailed.single("subject", f"a {channel_} template has no subject")
        label = plain_text(name, field="name") if name is not None else None
        variables = self.renderer.check(subject=subject or None, body=body)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.TEMPLATES)
            template = uow.templates.get_by_key(channel_, template_key)
            if template is None:
                template = Template(id=self.scope.ids.new_id(), channel=channel_,
                                    key=template_key, body=body, subject=subject or None,
                                    name=label, variables=variables, created_at=now,
                                    updated_at=now, created_by=principal.user_id)
                uow.templates.add(template)
            else:
                template.body, template.subject, template.variables = body, subject, variables
                template.name = label if name is not None else template.name
                template.updated_at = now
                uow.templates.update(template)
            self.scope.record(uow, TemplateSaved(aggregate_id=template.id, channel=channel_,
                                                 key=template_key))
            uow.commit()
        return template

    def get_template(self, principal: Principal, template_id: uuid.UUID, *,
                     tenant_id: uuid.UUID | None = None) -> Template:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return _template(uow, template_id)

    def list_templates(self, principal: Principal, channel: object, page: PageRequest, *,
                       tenant_id: uuid.UUID | None = None) -> Page[Template]:
        channel_ = _channel(channel) if channel is not None else None
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return uow.templates.list(channel_, page)

    def remove_template(self, principal: Principal, template_id: uuid.UUID, *,
                        tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.TEMPLATES)
            template = _template(uow, template_id)
            template.deleted_at = template.updated_at = self.scope.clock.now()
            uow.templates.update(template)
            self.scope.record(uow, TemplateRemoved(aggregate_id=template.id))
            uow.commit()

    def preview(self, principal: Principal, template_id: uuid.UUID, lead_id: uuid.UUID, *,
                sender_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None
                ) -> Rendered:
        """The template as the lead would get it (the unsubscribe link is a sample)."""
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            template = _template(uow, template_id)
            lead = live_lead(uow, lead_id)
            sender: Mapping[str, str] = {"name": "", "email": ""}
            if sender_id is not None:
                account = uow.email_accounts.get(sender_id)
                if account is None:
                    raise NotFound("sender_id: no such email account")
                sender = {"name": account.display_name or "", "email": account.email}
            link = self.links.unsubscribe_url(
                tenant_id=tenant_of(uow), enrollment_id=None, lead_id=lead.id,
                channel=Channel.EMAIL, address=lead.email or "", at=self.scope.clock.now())
        return self.renderer.render(subject=template.subject, body=template.body,
                                    context=RenderContext(lead=lead_variables(lead),
                                                          sender=sender,
                                                          unsubscribe_url=link),
                                    html=template.channel is Channel.EMAIL)

    # --- email accounts -------------------------------------------------------------------

    def add_email_account(self, principal: Principal, fields: Mapping[str, object], *,
                          verify: bool = True, tenant_id: uuid.UUID | None = None
                          ) -> tuple[EmailAccount, VerifyReport | None]:
        """Add a mailbox. With ``verify`` (the default) it logs in over SMTP first and
        stores nothing when that fails: the report says where (DNS, TLS, auth)."""
        clean = _email_account_fields(fields, creating=True)
        report = self.email.verify(_smtp_login(clean)) if verify else None
        if report is not None and not report.ok:
            raise ValidationFailed.single(f"smtp ({report.stage})", report.detail)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            owner = clean.get("owner_user_id")
            if isinstance(owner, uuid.UUID):
                ensure_member(uow, owner, "owner_user_id")
            account_id = self.scope.ids.new_id()
            account = EmailAccount(
                id=account_id, email=clean["email"], smtp_host=clean["smtp_host"],
                smtp_port=clean["smtp_port"], smtp_security=clean["smtp_security"],
                pacing=_email_pacing(clean, now.date()), created_at=now, updated_at=now)
            self._apply_email_fields(account, clean, tenant_of(uow))
            uow.email_accounts.add(account)
            self.scope.record(uow, AccountConnected(aggregate_id=account.id,
                                                    channel=Channel.EMAIL))
            uow.commit()
        return account, report

    def update_email_account(self, principal: Principal, account_id: uuid.UUID,
                             changes: Mapping[str, object], *, verify: bool = True,
                             tenant_id: uuid.UUID | None = None
                             ) -> tuple[EmailAccount, VerifyReport | None]:
        """Change a mailbox; a new SMTP password or server is verified before it is kept."""
        clean = _email_account_fields(changes, creating=False)
        now = self.scope.clock.now()
        report = None
        if verify and {"smtp_host", "smtp_port", "smtp_security", "smtp_username",
                       "smtp_password"} & set(clean):
            current = self._login_of(principal, account_id, tenant_id)
            report = self.email.verify(_smtp_login({**current, **clean}))
            if not report.ok:
                raise ValidationFailed.single(f"smtp ({report.stage})", report.detail)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            owner = clean.get("owner_user_id")
            if isinstance(owner, uuid.UUID):
                ensure_member(uow, owner, "owner_user_id")
            account = _email_account(uow, account_id, lock=True)
            for name in ("email", "smtp_host", "smtp_port", "smtp_security"):
                if name in clean:
                    setattr(account, name, clean[name])
            self._apply_email_fields(account, clean, tenant_of(uow))
            _apply_pacing(account.pacing, clean, {"daily_cap": SendKind.EMAIL},
                          today=now.date())
            account.updated_at = now
            uow.email_accounts.update(account)
            uow.commit()
        return account, report

    def verify_email_account(self, principal: Principal, account_id: uuid.UUID, *,
                             password: str | None = None, tenant_id: uuid.UUID | None = None
                             ) -> VerifyReport:
        """Log in as the stored account (or with ``password``, kept only if it works)."""
        current = self._login_of(principal, account_id, tenant_id)
        if password is not None:
            current["smtp_password"] = password
        report = self.email.verify(_smtp_login(current))
        if report.ok and password is not None:
            self.update_email_account(principal, account_id, {"smtp_password": password},
                                      verify=False, tenant_id=tenant_id)
        return report

    def _login_of(self, principal: Principal, account_id: uuid.UUID,
                  tenant_id: uuid.UUID | None) -> dict[str, Any]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            account = _email_account(uow, account_id)
            return {"smtp_host": account.smtp_host, "smtp_port": account.smtp_port,
                    "smtp_security": account.smtp_security,
                    "smtp_username": account.smtp_username,
                    "smtp_password": self.open_password(tenant_of(uow), account, "smtp")}

    def open_password(self, tenant_id: uuid.UUID, account: EmailAccount, which: str
                      ) -> str | None:
        sealed = getattr(account, f"{which}_password_sealed")
        if sealed is None:
            return None
        return self.secrets.open(sealed, context=password_context(tenant_id, account.id, which))

    def _apply_email_fields(self, account: EmailAccount, clean: Mapping[str, Any],
                            tenant_id: uuid.UUID) -> None:
        for name in ("display_name", "smtp_username", "imap_host", "imap_port",
                     "imap_security", "imap_username", "owner_user_id"):
            if name in clean:
                setattr(account, name, clean[name])
        for which in ("smtp", "imap"):
            if f"{which}_password" in clean:
                plain = clean[f"{which}_password"]
                setattr(account, f"{which}_password_sealed", None if plain is None else
                        self.secrets.seal(plain, context=password_context(
                            tenant_id, account.id, which)))

    def get_email_account(self, principal: Principal, account_id: uuid.UUID, *,
                          tenant_id: uuid.UUID | None = None) -> EmailAccount:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return _email_account(uow, account_id)

    def list_email_accounts(self, principal: Principal, page: PageRequest, *,
                            tenant_id: uuid.UUID | None = None) -> Page[EmailAccount]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return uow.email_accounts.list(page)

    def set_email_account_status(self, principal: Principal, account_id: uuid.UUID,
                                 status: object, *, tenant_id: uuid.UUID | None = None
                                 ) -> EmailAccount:
        """Pause a mailbox (its sends wait) or make it active again (clears an error)."""
        wanted = _status(status)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            account = _email_account(uow, account_id, lock=True)
            account.status, account.last_error = wanted, None
            account.pacing.cooldown_until = None
            account.updated_at = self.scope.clock.now()
            uow.email_accounts.update(account)
            self.scope.record(uow, AccountStatusChanged(aggregate_id=account.id, status=wanted))
            uow.commit()
        return account

    def remove_email_account(self, principal: Principal, account_id: uuid.UUID, *,
                             tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            account = _email_account(uow, account_id, lock=True)
            account.deleted_at = account.updated_at = self.scope.clock.now()
            account.smtp_password_sealed = account.imap_password_sealed = None
            uow.email_accounts.update(account)
            self.scope.record(uow, AccountRemoved(aggregate_id=account.id))
            uow.commit()

    def rotate_key(self, principal: Principal, *, tenant_id: uuid.UUID | None = None) -> int:
        """Re-seal every password of the tenant not sealed with the current key; returns
        how many were."""
        resealed = 0
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            tenant = tenant_of(uow)
            for account in uow.email_accounts.all_live():
                changed = False
                for which in ("smtp", "imap"):
                    sealed = getattr(account, f"{which}_password_sealed")
                    if sealed is None or self.secrets.is_current(sealed):
                        continue
                    context = password_context(tenant, account.id, which)
                    setattr(account, f"{which}_password_sealed", self.secrets.seal(
                        self.secrets.open(sealed, context=context), context=context))
                    resealed += 1
                    changed = True
                if changed:
                    uow.email_accounts.update(account)
            uow.commit()
        return resealed

    # --- LinkedIn accounts ----------------------------------------------------------------

    def add_linkedin_account(self, principal: Principal, fields: Mapping[str, object], *,
                             tenant_id: uuid.UUID | None = None) -> LinkedInAccount:
        errors: list[FieldError] = []
        unipile = fields.get("unipile_account_id")
        if not isinstance(unipile, str) or not unipile.strip() or len(unipile) > 128:
            errors.append(FieldError("unipile_account_id", "is required (at most 128 "
                                     "characters)"))
        caps = _caps(fields, LINKEDIN_DEFAULTS, errors)
        if errors:
            raise ValidationFailed(errors)
        now = self.scope.clock.now()
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            user_id = fields.get("user_id")
            if user_id is not None:
                if not isinstance(user_id, uuid.UUID):
                    raise ValidationFailed.single("user_id", "must be a member's id")
                ensure_member(uow, user_id, "user_id")
            assert isinstance(unipile, str)
            if uow.linkedin_accounts.get_by_unipile(unipile.strip()) is not None:
                raise Conflict("this Unipile account is already connected")
            account = LinkedInAccount(
                id=self.scope.ids.new_id(), unipile_account_id=unipile.strip(),
                pacing=Pacing(caps={SendKind.INVITE: caps["daily_invite_cap"],
                                    SendKind.MESSAGE: caps["daily_message_cap"],
                                    SendKind.PROFILE_VIEW: caps["daily_profile_view_cap"]},
                              min_spacing=timedelta(seconds=caps["min_spacing_seconds"]),
                              jitter=timedelta(seconds=caps["jitter_seconds"])),
                created_at=now, updated_at=now, user_id=user_id,
                display_name=_optional_name(fields.get("display_name")),
                profile_url=_optional_name(fields.get("profile_url"), field="profile_url",
                                           max_length=2048))
            uow.linkedin_accounts.add(account)
            self.scope.record(uow, AccountConnected(aggregate_id=account.id,
                                                    channel=Channel.LINKEDIN))
            uow.commit()
        return account

    def get_linkedin_account(self, principal: Principal, account_id: uuid.UUID, *,
                             tenant_id: uuid.UUID | None = None) -> LinkedInAccount:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return _linkedin_account(uow, account_id)

    def list_linkedin_accounts(self, principal: Principal, page: PageRequest, *,
                               tenant_id: uuid.UUID | None = None) -> Page[LinkedInAccount]:
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return uow.linkedin_accounts.list(page)

    def set_linkedin_account_status(self, principal: Principal, account_id: uuid.UUID,
                                    status: object, *, tenant_id: uuid.UUID | None = None
                                    ) -> LinkedInAccount:
        wanted = _status(status)
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            account = _linkedin_account(uow, account_id, lock=True)
            account.status, account.last_error = wanted, None
            account.pacing.cooldown_until = None
            account.updated_at = self.scope.clock.now()
            uow.linkedin_accounts.update(account)
            self.scope.record(uow, AccountStatusChanged(aggregate_id=account.id, status=wanted))
            uow.commit()
        return account

    def remove_linkedin_account(self, principal: Principal, account_id: uuid.UUID, *,
                                tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            account = _linkedin_account(uow, account_id, lock=True)
            account.deleted_at = account.updated_at = self.scope.clock.now()
            uow.linkedin_accounts.update(account)
            self.scope.record(uow, AccountRemoved(aggregate_id=account.id))
            uow.commit()

    # --- suppressions ---------------------------------------------------------------------

    def suppress(self, principal: Principal, *, channel: object, address: object,
                 reason: object = SuppressionReason.DO_NOT_CONTACT,
                 tenant_id: uuid.UUID | None = None) -> tuple[Suppression, bool]:
        """Never reach this address on this channel again; (the suppression, whether it is
        new). Idempotent: an address already suppressed keeps its first reason."""
        channel_ = _channel(channel)
        if not isinstance(address, str) or not address.strip() or len(address) > 2048:
            raise ValidationFailed.single("address", "is required")
        clean = (normalise_email(address, field="address") if channel_ is Channel.EMAIL
                 else suppression_address(channel_, address))
        why = choice(SuppressionReason, reason, field="reason")
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            found, added = add_suppression(self.scope, uow, channel_, clean, why,
                                           source="manual", by=principal.user_id)
            uow.commit()
        return found, added

    def lift_suppression(self, principal: Principal, suppression_id: uuid.UUID, *,
                         tenant_id: uuid.UUID | None = None) -> None:
        with self.scope.open(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.MANAGE)
            if not uow.suppressions.remove(suppression_id):
                raise NotFound("suppression not found")
            self.scope.record(uow, SuppressionLifted(aggregate_id=suppression_id))
            uow.commit()

    def list_suppressions(self, principal: Principal, channel: object, page: PageRequest, *,
                          tenant_id: uuid.UUID | None = None) -> Page[Suppression]:
        channel_ = _channel(channel) if channel is not None else None
        with self.scope.read(principal, tenant_id) as uow:
            self.scope.require(uow, principal, OutreachPermission.READ)
            return uow.suppressions.list(channel_, page)


def add_suppression(scope: TenantScope[Any], uow: OutreachUnitOfWork, channel: Channel,
                    address: str, reason: SuppressionReason, *, source: str,
                    lead_id: uuid.UUID | None = None, by: uuid.UUID | None = None
                    ) -> tuple[Suppression, bool]:
    """Suppress in the caller's unit of work (a bounce, an unsubscribe, a person)."""
    suppression = Suppression(id=scope.ids.new_id(), channel=channel,
                              address=suppression_address(channel, address), reason=reason,
                              created_at=scope.clock.now(), lead_id=lead_id, source=source,
                              created_by=by)
    if uow.suppressions.add(suppression):
        scope.record(uow, AddressSuppressed(aggregate_id=suppression.id, channel=channel,
                                            reason=reason, lead_id=lead_id))
        return suppression, True
    existing = uow.suppressions.find(channel, suppression.address)
    assert existing is not None
    return existing, False


def _channel(value: object) -> Channel:
    return choice(Channel, value, field="channel")


def _status(value: object) -> AccountStatus:
    if value not in (AccountStatus.ACTIVE, AccountStatus.PAUSED):
        raise ValidationFailed.single("status", "must be active or paused")
    return AccountStatus(str(value))


def _template(uow: OutreachUnitOfWork, template_id: uuid.UUID) -> Template:
    found = uow.templates.get(template_id)
    if found is None:
        raise NotFound("template not found")
    return found


def _email_account(uow: OutreachUnitOfWork, account_id: uuid.UUID, *, lock: bool = False
                   ) -> EmailAccount:
    found = uow.email_accounts.get(account_id, lock=lock)
    if found is None:
        raise NotFound("email account not found")
    return found


def _linkedin_account(uow: OutreachUnitOfWork, account_id: uuid.UUID, *, lock: bool = False
                      ) -> LinkedInAccount:
    found = uow.linkedin_accounts.get(account_id, lock=lock)
    if found is None:
        raise NotFound("LinkedIn account not found")
    return found


def _optional_name(value: object, *, field: str = "display_name", max_length: int = 200
                   ) -> str | None:
    return None if value is None else plain_text(value, field=field, max_length=max_length)


def _security(value: object, field: str, errors: list[FieldError]) -> Security:
    try:
        return Security(str(value))
    except ValueError:
        errors.append(FieldError(field, "must be starttls, tls or none"))
        return Security.STARTTLS


def _caps(values: Mapping[str, object], defaults: Mapping[str, int],
          errors: list[FieldError]) -> dict[str, int]:
    caps: dict[str, int] = {}
    for name, default in defaults.items():
        high = MAX_SPACING if name.endswith("_seconds") else MAX_CAP
        found = whole(values, name, default, high=high, errors=errors)
        caps[name] = default if found is None else found
    return caps


EMAIL_FIELDS = frozenset({"email", "display_name", "smtp_host", "smtp_port", "smtp_security",
                          "smtp_username", "smtp_password", "imap_host", "imap_port",
                          "imap_security", "imap_username", "imap_password", "daily_cap",
                          "warmup_start", "warmup_step", "min_spacing_seconds",
                          "jitter_seconds", "owner_user_id"})


def _email_account_fields(values: Mapping[str, object], *, creating: bool) -> dict[str, Any]:
    errors = [FieldError(k, "is not an email account field") for k in values
              if k not in EMAIL_FIELDS]
    clean: dict[str, Any] = {}

    def check(name: str, read: Any) -> None:
        if name in values or (creating and name in ("email", "smtp_host", "smtp_port")):
            try:
                clean[name] = read(values.get(name))
            except ValidationFailed as failed:
                errors.extend(failed.errors)

    check("email", lambda v: normalise_email(v))
    check("smtp_host", lambda v: host_name(v, field="smtp_host"))
    check("display_name", lambda v: _optional_name(v))
    check("smtp_username", lambda v: _optional_name(v, field="smtp_username", max_length=255))
    check("imap_host", lambda v: None if v is None else host_name(v, field="imap_host"))
    check("imap_username", lambda v: _optional_name(v, field="imap_username", max_length=255))
    for name in ("smtp_port", "imap_port"):
        if name in values or (creating and name == "smtp_port"):
            clean[name] = whole(values, name, None, low=1, high=65535, errors=errors)
            if creating and name == "smtp_port" and clean[name] is None:
                errors.append(FieldError(name, "is required"))
    for name in ("smtp_security", "imap_security"):
        if name in values or creating:
            default = Security.STARTTLS if name == "smtp_security" else Security.TLS
            clean[name] = _security(values.get(name, default), name, errors)
    for name in SECRET_FIELDS:
        if name in values:
            value = values[name]
            if value is not None and (not isinstance(value, str) or not value
                                      or len(value) > 1024):
                errors.append(FieldError(name, "must be text of 1 to 1024 characters"))
            clean[name] = value
    for limit, initial in EMAIL_DEFAULTS.items():
        if limit in values or creating:
            high = MAX_SPACING if limit.endswith("_seconds") else MAX_CAP
            clean[limit] = whole(values, limit, initial, high=high, errors=errors)
    for name in ("warmup_start", "warmup_step"):
        if name in values:
            clean[name] = whole(values, name, None, high=MAX_CAP, errors=errors)
    if "owner_user_id" in values:
        owner = values["owner_user_id"]
        if owner is not None and not isinstance(owner, uuid.UUID):
            errors.append(FieldError("owner_user_id", "must be a member's id"))
        clean["owner_user_id"] = owner
    if clean.get("imap_host") is not None and clean.get("imap_port") is None and creating:
        errors.append(FieldError("imap_port", "is required with imap_host"))
    if errors:
        raise ValidationFailed(errors)
    return clean


def _email_pacing(clean: Mapping[str, Any], today: date) -> Pacing:
    pacing = Pacing(caps={SendKind.EMAIL: clean["daily_cap"]},
                    min_spacing=timedelta(seconds=clean["min_spacing_seconds"]),
                    jitter=timedelta(seconds=clean["jitter_seconds"]))
    _apply_pacing(pacing, clean, {"daily_cap": SendKind.EMAIL}, today=today)
    return pacing


def _apply_pacing(pacing: Pacing, clean: Mapping[str, Any], caps: Mapping[str, SendKind], *,
                  today: date) -> None:
    for name, kind in caps.items():
        if clean.get(name) is not None:
            pacing.caps[kind] = clean[name]
    if clean.get("min_spacing_seconds") is not None:
        pacing.min_spacing = timedelta(seconds=clean["min_spacing_seconds"])
    if clean.get("jitter_seconds") is not None:
        pacing.jitter = timedelta(seconds=clean["jitter_seconds"])
    if "warmup_start" in clean:
        pacing.warmup_start = clean["warmup_start"]
        pacing.warmup_from = today if clean["warmup_start"] else None
    if clean.get("warmup_step") is not None:
        pacing.warmup_step = clean["warmup_step"]


def _smtp_login(values: Mapping[str, Any]) -> MailLogin:
    return MailLogin(host=values["smtp_host"], port=values["smtp_port"],
                     security=values["smtp_security"], username=values.get("smtp_username"),
                     password=values.get("smtp_password"))
