"""Outreach routes: message templates, the mailboxes and LinkedIn accounts a tenant sends
from, and its suppression list. Passwords go in and never come out: an account says only
whether it has one."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from lad_domain.outreach.channels import Security, VerifyReport, VerifyStage
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
)
from lad_domain.outreach.services import OutreachService
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.shared.principal import Principal
from lad_entrypoints.http.dependencies import CurrentPrincipal, Paging, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.schemas import KEY, PageOut, Strict

router = APIRouter(prefix="/v1", tags=["outreach"])

Outreach = Annotated[OutreachService, Depends(provided(lambda c: c.outreach()))]
#: Today (UTC) by the container's clock: what "sent today" counts.
Today = Annotated[date, Depends(provided(lambda c: c.clock().now().date()))]
VerifyFirst = Annotated[bool, Query(description="Log in over SMTP before keeping the "
                                    "account (or its new login); nothing is kept when it "
                                    "fails")]


# --- templates ----------------------------------------------------------------------------

class TemplateIn(Strict):
    """Saved under (channel, key): a new key creates, a known key replaces the text.
    Subject and body are Jinja2 (sandboxed) over ``lead``, ``sender`` and
    ``unsubscribe_url``; an unknown variable or a syntax error is refused here."""

    channel: Channel
    key: str = Field(json_schema_extra=KEY)
    body: str
    subject: str | None = Field(default=None, description="Required for email, absent "
                                "for the other channels")
    name: str | None = None


class TemplateOut(BaseModel):
    id: uuid.UUID
    channel: Channel
    key: str
    name: str | None
    subject: str | None
    body: str
    variables: list[str] = Field(description="The variables the template reads")
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        return cls(id=t.id, channel=t.channel, key=t.key, name=t.name, subject=t.subject,
                   body=t.body, variables=list(t.variables), created_at=t.created_at,
                   updated_at=t.updated_at, created_by=t.created_by)


class PreviewIn(Strict):
    lead_id: uuid.UUID
    sender_id: uuid.UUID | None = Field(default=None, description="An email account whose "
                                        "name and address fill ``sender``")


class PreviewOut(BaseModel):
    subject: str | None
    text: str
    html: str | None


def _has_template(outreach: OutreachService, principal: Principal, channel: Channel,
                  key: str) -> bool:
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        found = outreach.list_templates(principal, channel, page)
        if any(t.key == key for t in found.items):
            return True
        if found.next_cursor is None:
            return False
        page = PageRequest.parse(limit=MAX_LIMIT, cursor=found.next_cursor)


@router.get("/templates")
def list_templates(principal: CurrentPrincipal, outreach: Outreach, page: Paging,
                   channel: Channel | None = None) -> PageOut[TemplateOut]:
    found = outreach.list_templates(principal, channel, page)
    return PageOut(items=[TemplateOut.of(t) for t in found.items],
                   next_cursor=found.next_cursor)


@router.post("/templates", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/templates/{id}"),
             responses={200: {"description": "The template of this channel and key, "
                              "replaced", "model": TemplateOut}})
def save_template(body: TemplateIn, principal: CurrentPrincipal, outreach: Outreach,
                  response: Response) -> TemplateOut:
    """Create the template of (channel, key) (201), or replace its text (200)."""
    existed = _has_template(outreach, principal, body.channel, body.key)
    saved = outreach.save_template(principal, channel=body.channel, key_=body.key,
                                   body=body.body, subject=body.subject, name=body.name)
    if existed:
        response.status_code = status.HTTP_200_OK
    return TemplateOut.of(saved)


@router.get("/templates/{template_id}")
def get_template(template_id: uuid.UUID, principal: CurrentPrincipal, outreach: Outreach
                 ) -> TemplateOut:
    return TemplateOut.of(outreach.get_template(principal, template_id))


@router.delete("/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_template(template_id: uuid.UUID, principal: CurrentPrincipal, outreach: Outreach
                    ) -> Response:
    outreach.remove_template(principal, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/templates/{template_id}/preview")
def preview_template(template_id: uuid.UUID, body: PreviewIn, principal: CurrentPrincipal,
                     outreach: Outreach) -> PreviewOut:
    """The template rendered for a lead, as it would be sent (with a sample unsubscribe
    link)."""
    rendered = outreach.preview(principal, template_id, body.lead_id, sender_id=body.sender_id)
    return PreviewOut(subject=rendered.subject, text=rendered.text, html=rendered.html)


# --- pacing -------------------------------------------------------------------------------

class PacingOut(BaseModel):
    """A sender's pace: daily caps by kind of send (UTC days), the warm-up ramp, spacing
    with jitter between two sends, and when it may send next."""

    caps: dict[SendKind, int] = Field(description="Daily caps by kind of send")
    caps_today: dict[SendKind, int] = Field(description="Today's caps, after warm-up")
    sent_today: dict[SendKind, int]
    warmup_start: int | None = Field(description="The cap on the warm-up's first day")
    warmup_step: int = Field(description="How much the cap grows each day of warm-up")
    warmup_from: date | None
    min_spacing_seconds: int
    jitter_seconds: int
    next_send_at: datetime | None = Field(description="Not before (spacing)")
    cooldown_until: datetime | None = Field(description="Resting after a throttle")

    @classmethod
    def of(cls, p: Pacing, today: date) -> PacingOut:
        kinds = [SendKind(k) for k in p.caps]
        return cls(caps={k: p.caps[k] for k in kinds},
                   caps_today={k: p.cap(k, today) for k in kinds},
                   sent_today={k: p.sent(k, today) for k in kinds},
                   warmup_start=p.warmup_start, warmup_step=p.warmup_step,
                   warmup_from=p.warmup_from,
                   min_spacing_seconds=int(p.min_spacing.total_seconds()),
                   jitter_seconds=int(p.jitter.total_seconds()), next_send_at=p.next_send_at,
                   cooldown_until=p.cooldown_until)


# --- email accounts -----------------------------------------------------------------------

class _EmailAccountFields(Strict):
    display_name: str | None = None
    smtp_security: Security | None = None
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, description="Sealed at rest; never "
                                      "shown again")
    imap_host: str | None = Field(default=None, description="Where replies and bounces "
                                  "are read; unset: they are not")
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Security | None = None
    imap_username: str | None = None
    imap_password: str | None = Field(default=None, description="Sealed at rest; unset: "
                                      "the SMTP password")
    daily_cap: int | None = Field(default=None, ge=0)
    warmup_start: int | None = Field(default=None, ge=0, description="Warm-up: the cap of "
                                     "the first day (null: no warm-up)")
    warmup_step: int | None = Field(default=None, ge=0, description="Warm-up: added to "
                                    "the cap each day")
    min_spacing_seconds: int | None = Field(default=None, ge=0)
    jitter_seconds: int | None = Field(default=None, ge=0)


class EmailAccountIn(_EmailAccountFields):
    """Every field of a mailbox; SMTP security defaults to starttls, IMAP's to tls."""

    email: str
    smtp_host: str
    smtp_port: int = Field(ge=1, le=65535)
    # Set when adding only: the use case checks the owner's membership there, not yet on
    # a change.
    owner_user_id: uuid.UUID | None = Field(default=None, description="A member")


class EmailAccountPatch(_EmailAccountFields):
    """An absent field is kept; null clears an optional one."""

    email: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)


class VerifyIn(Strict):
    password: str | None = Field(default=None, description="A new SMTP password: kept "
                                 "only if the login succeeds")


class VerifyOut(BaseModel):
    ok: bool
    stage: VerifyStage = Field(description="Where the login failed (dns, connect, tls, "
                               "auth), or ok")
    detail: str

    @classmethod
    def of(cls, r: VerifyReport) -> VerifyOut:
        return cls(ok=r.ok, stage=r.stage, detail=r.detail)


class EmailAccountOut(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str | None
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str | None
    has_smtp_password: bool
    imap_host: str | None
    imap_port: int | None
    imap_security: Security
    imap_username: str | None
    has_imap_password: bool
    reads_mail: bool = Field(description="Replies and bounces are read over IMAP")
    status: AccountStatus
    last_error: str | None
    owner_user_id: uuid.UUID | None
    pacing: PacingOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, a: EmailAccount, today: date) -> dict[str, Any]:
        return {"id": a.id, "email": a.email, "display_name": a.display_name,
                "smtp_host": a.smtp_host, "smtp_port": a.smtp_port,
                "smtp_security": a.smtp_security, "smtp_username": a.smtp_username,
                "has_smtp_password": a.smtp_password_sealed is not None,
                "imap_host": a.imap_host, "imap_port": a.imap_port,
                "imap_security": a.imap_security, "imap_username": a.imap_username,
                "has_imap_password": a.imap_password_sealed is not None,
                "reads_mail": a.reads_mail, "status": a.status, "last_error": a.last_error,
                "owner_user_id": a.owner_user_id, "pacing": PacingOut.of(a.pacing, today),
                "created_at": a.created_at, "updated_at": a.updated_at}

    @classmethod
    def of(cls, a: EmailAccount, today: date) -> EmailAccountOut:
        return cls(**cls.fields_of(a, today))


class EmailAccountSaved(EmailAccountOut):
    verification: VerifyOut | None = Field(description="The SMTP login tried before "
                                           "keeping it; null when none was")

    @classmethod
    def saved(cls, a: EmailAccount, report: VerifyReport | None, today: date
              ) -> EmailAccountSaved:
        return cls(**cls.fields_of(a, today),
                   verification=None if report is None else VerifyOut.of(report))


@router.get("/outreach/email-accounts")
def list_email_accounts(principal: CurrentPrincipal, outreach: Outreach, page: Paging,
                        today: Today) -> PageOut[EmailAccountOut]:
    found = outreach.list_email_accounts(principal, page)
    return PageOut(items=[EmailAccountOut.of(a, today) for a in found.items],
                   next_cursor=found.next_cursor)


@router.post("/outreach/email-accounts", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/outreach/email-accounts/{id}"))
def add_email_account(body: EmailAccountIn, principal: CurrentPrincipal, outreach: Outreach,
                      today: Today, verify: VerifyFirst = True) -> EmailAccountSaved:
    """Add a mailbox (admins). With ``verify`` (the default) it logs in over SMTP first and
    keeps nothing when that fails: the 422 names the stage (dns, connect, tls, auth)."""
    account, report = outreach.add_email_account(principal, body.model_dump(exclude_unset=True),
                                                  verify=verify)
    return EmailAccountSaved.saved(account, report, today)


@router.get("/outreach/email-accounts/{email_account_id}")
def get_email_account(email_account_id: uuid.UUID, principal: CurrentPrincipal,
                      outreach: Outreach, today: Today) -> EmailAccountOut:
    return EmailAccountOut.of(outreach.get_email_account(principal, email_account_id), today)


@router.patch("/outreach/email-accounts/{email_account_id}")
def update_email_account(email_account_id: uuid.UUID, body: EmailAccountPatch,
                         principal: CurrentPrincipal, outreach: Outreach, today: Today,
                         verify: VerifyFirst = True) -> EmailAccountSaved:
    """Change a mailbox; a new SMTP login (server or password) is tried before it is kept."""
    account, report = outreach.update_email_account(
        principal, email_account_id, body.model_dump(exclude_unset=True), verify=verify)
    return EmailAccountSaved.saved(account, report, today)


@router.delete("/outreach/email-accounts/{email_account_id}",
               status_code=status.HTTP_204_NO_CONTENT)
def remove_email_account(email_account_id: uuid.UUID, principal: CurrentPrincipal,
                         outreach: Outreach) -> Response:
    """Remove a mailbox; its sealed passwords are erased."""
    outreach.remove_email_account(principal, email_account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/outreach/email-accounts/{email_account_id}/verify")
def verify_email_account(email_account_id: uuid.UUID, principal: CurrentPrincipal,
                         outreach: Outreach, body: VerifyIn | None = None) -> VerifyOut:
    """Log in over SMTP as the stored account, or with a new password (kept if it works)."""
    password = body.password if body is not None else None
    return VerifyOut.of(outreach.verify_email_account(principal, email_account_id,
                                                      password=password))


@router.post("/outreach/email-accounts/{email_account_id}/pause")
def pause_email_account(email_account_id: uuid.UUID, principal: CurrentPrincipal,
                        outreach: Outreach, today: Today) -> EmailAccountOut:
    """Its sends wait until it is resumed."""
    return EmailAccountOut.of(outreach.set_email_account_status(
        principal, email_account_id, AccountStatus.PAUSED), today)


@router.post("/outreach/email-accounts/{email_account_id}/resume")
def resume_email_account(email_account_id: uuid.UUID, principal: CurrentPrincipal,
                         outreach: Outreach, today: Today) -> EmailAccountOut:
    """Active again: clears an error and a cool-down."""
    return EmailAccountOut.of(outreach.set_email_account_status(
        principal, email_account_id, AccountStatus.ACTIVE), today)


# --- LinkedIn accounts --------------------------------------------------------------------

class LinkedInAccountIn(Strict):
    unipile_account_id: str = Field(min_length=1, max_length=128,
                                    description="The account's id at Unipile")
    user_id: uuid.UUID | None = Field(default=None, description="The member it belongs to")
    display_name: str | None = None
    profile_url: str | None = None
    daily_invite_cap: int | None = Field(default=None, ge=0, description="Default 80")
    daily_message_cap: int | None = Field(default=None, ge=0, description="Default 100")
    daily_profile_view_cap: int | None = Field(default=None, ge=0, description="Default 150")
    min_spacing_seconds: int | None = Field(default=None, ge=0, description="Default 60")
    jitter_seconds: int | None = Field(default=None, ge=0, description="Default 30")


class LinkedInAccountOut(BaseModel):
    id: uuid.UUID
    unipile_account_id: str
    user_id: uuid.UUID | None
    display_name: str | None
    profile_url: str | None
    status: AccountStatus
    last_error: str | None
    pacing: PacingOut
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: LinkedInAccount, today: date) -> LinkedInAccountOut:
        return cls(id=a.id, unipile_account_id=a.unipile_account_id, user_id=a.user_id,
                   display_name=a.display_name, profile_url=a.profile_url, status=a.status,
                   last_error=a.last_error, pacing=PacingOut.of(a.pacing, today),
                   created_at=a.created_at, updated_at=a.updated_at)


@router.get("/outreach/linkedin-accounts")
def list_linkedin_accounts(principal: CurrentPrincipal, outreach: Outreach, page: Paging,
                           today: Today) -> PageOut[LinkedInAccountOut]:
    found = outreach.list_linkedin_accounts(principal, page)
    return PageOut(items=[LinkedInAccountOut.of(a, today) for a in found.items],
                   next_cursor=found.next_cursor)


@router.post("/outreach/linkedin-accounts", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/outreach/linkedin-accounts/{id}"))
def add_linkedin_account(body: LinkedInAccountIn, principal: CurrentPrincipal,
                         outreach: Outreach, today: Today) -> LinkedInAccountOut:
    """Connect a LinkedIn account through Unipile (admins)."""
    fields = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return LinkedInAccountOut.of(outreach.add_linkedin_account(principal, fields), today)


@router.get("/outreach/linkedin-accounts/{linkedin_account_id}")
def get_linkedin_account(linkedin_account_id: uuid.UUID, principal: CurrentPrincipal,
                         outreach: Outreach, today: Today) -> LinkedInAccountOut:
    return LinkedInAccountOut.of(outreach.get_linkedin_account(principal, linkedin_account_id),
                                 today)


@router.delete("/outreach/linkedin-accounts/{linkedin_account_id}",
               status_code=status.HTTP_204_NO_CONTENT)
def remove_linkedin_account(linkedin_account_id: uuid.UUID, principal: CurrentPrincipal,
                            outreach: Outreach) -> Response:
    outreach.remove_linkedin_account(principal, linkedin_account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/outreach/linkedin-accounts/{linkedin_account_id}/pause")
def pause_linkedin_account(linkedin_account_id: uuid.UUID, principal: CurrentPrincipal,
                           outreach: Outreach, today: Today) -> LinkedInAccountOut:
    return LinkedInAccountOut.of(outreach.set_linkedin_account_status(
        principal, linkedin_account_id, AccountStatus.PAUSED), today)


@router.post("/outreach/linkedin-accounts/{linkedin_account_id}/resume")
def resume_linkedin_account(linkedin_account_id: uuid.UUID, principal: CurrentPrincipal,
                            outreach: Outreach, today: Today) -> LinkedInAccountOut:
    return LinkedInAccountOut.of(outreach.set_linkedin_account_status(
        principal, linkedin_account_id, AccountStatus.ACTIVE), today)


# --- suppressions -------------------------------------------------------------------------

class SuppressionIn(Strict):
    channel: Channel
    address: str = Field(min_length=1, max_length=2048, description="An email, a LinkedIn "
                         "profile or a phone number (E.164)")
    reason: SuppressionReason = SuppressionReason.DO_NOT_CONTACT


class SuppressionOut(BaseModel):
    id: uuid.UUID
    channel: Channel
    address: str
    reason: SuppressionReason
    source: str | None
    lead_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, s: Suppression) -> SuppressionOut:
        return cls(id=s.id, channel=s.channel, address=s.address, reason=s.reason,
                   source=s.source, lead_id=s.lead_id, created_by=s.created_by,
                   created_at=s.created_at)


@router.get("/suppressions")
def list_suppressions(principal: CurrentPrincipal, outreach: Outreach, page: Paging,
                      channel: Channel | None = None) -> PageOut[SuppressionOut]:
    found = outreach.list_suppressions(principal, channel, page)
    return PageOut(items=[SuppressionOut.of(s) for s in found.items],
                   next_cursor=found.next_cursor)


@router.post("/suppressions", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/suppressions/{id}"),
             responses={200: {"description": "Already suppressed: the first reason is kept",
                              "model": SuppressionOut}})
def suppress(body: SuppressionIn, principal: CurrentPrincipal, outreach: Outreach,
             response: Response) -> SuppressionOut:
    """Never reach this address on this channel again (admins): 201 when new, 200 when it
    already was."""
    found, added = outreach.suppress(principal, channel=body.channel, address=body.address,
                                     reason=body.reason)
    if not added:
        response.status_code = status.HTTP_200_OK
    return SuppressionOut.of(found)


@router.delete("/suppressions/{suppression_id}", status_code=status.HTTP_204_NO_CONTENT)
def lift_suppression(suppression_id: uuid.UUID, principal: CurrentPrincipal,
                     outreach: Outreach) -> Response:
    outreach.lift_suppression(principal, suppression_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
