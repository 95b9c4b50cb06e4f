"""SQL repositories of the outreach context: templates, the mailboxes and LinkedIn accounts
a tenant sends from (with their pacing), the suppression list and webhook receipts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lad_adapters.sql.pagination import paginate
from lad_adapters.sql.repository import SqlRepository
from lad_adapters.sql.tables.outreach import (
    communication_templates,
    email_accounts,
    outreach_suppressions,
    social_linkedin_accounts,
    webhook_receipts,
)
from lad_domain.outreach.channels import Security
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
from lad_domain.shared.pagination import Page, PageRequest

t = communication_templates
ea = email_accounts
la = social_linkedin_accounts
sup = outreach_suppressions

#: The daily caps of each kind of sender, by the column that holds them.
EMAIL_CAPS = {SendKind.EMAIL: "daily_send_limit"}
LINKEDIN_CAPS = {SendKind.INVITE: "daily_invite_limit", SendKind.MESSAGE: "daily_message_limit",
                 SendKind.PROFILE_VIEW: "daily_view_limit"}


class OutreachRepository(SqlRepository):
    """The shared base of the outreach and campaign repositories."""

    def _insert(self, table: sa.Table) -> Any:
        """INSERT with the dialect's ON CONFLICT clauses (both speak them)."""
        return (postgresql if self._db.dialect == "postgresql" else sqlite).insert(table)

    def _locked(self, query: sa.Select[Any], lock: bool) -> sa.Select[Any]:
        """FOR UPDATE on PostgreSQL; SQLite's unit of work holds the database's write lock
        from its BEGIN IMMEDIATE."""
        return query.with_for_update() if lock and self._db.dialect == "postgresql" else query


# --- templates ----------------------------------------------------------------------------


def _row_to_template(row: sa.Row[Any]) -> Template:
    return Template(id=row.id, channel=Channel(row.channel), key=row.template_key,
                    body=row.body, variables=list(row.variables), created_at=row.created_at,
                    updated_at=row.updated_at, name=row.name, subject=row.subject,
                    created_by=row.created_by, deleted_at=row.deleted_at)


class SqlTemplateRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [t.c.tenant_id == self.tenant_id, t.c.deleted_at.is_(None), *where]

    def add(self, template: Template) -> None:
        self._db.execute(t.insert().values(
            tenant_id=self.tenant_id, id=template.id, channel=str(template.channel),
            created_by=template.created_by, created_at=template.created_at,
            **self._values(template)))

    def get(self, template_id: uuid.UUID) -> Template | None:
        return self._find(t.c.id == template_id)

    def get_by_key(self, channel: Channel, key: str) -> Template | None:
        return self._find(t.c.channel == str(channel), t.c.template_key == key)

    def update(self, template: Template) -> None:
        self._db.execute(t.update().where(t.c.tenant_id == self.tenant_id, t.c.id == template.id)
                         .values(self._values(template)))

    def list(self, channel: Channel | None, page: PageRequest) -> Page[Template]:
        where = self._live()
        if channel is not None:
            where.append(t.c.channel == str(channel))
        return paginate(self._db, sa.select(t).where(*where), created_at=t.c.created_at,
                        id_column=t.c.id, page=page, to_item=_row_to_template)

    def _find(self, *where: sa.ColumnElement[bool]) -> Template | None:
        row = self._one(sa.select(t).where(*self._live(*where)))
        return _row_to_template(row) if row else None

    @staticmethod
    def _values(template: Template) -> dict[str, Any]:
        return {"template_key": template.key, "name": template.name,
                "subject": template.subject, "body": template.body,
                "variables": list(template.variables), "updated_at": template.updated_at,
                "deleted_at": template.deleted_at}


# --- senders and their pacing ------------------------------------------------------------


def _pacing(row: sa.Row[Any], caps: dict[SendKind, str]) -> Pacing:
    values = row._mapping
    return Pacing(caps={str(kind): values[column] for kind, column in caps.items()
                        if values[column] is not None},
                  min_spacing=timedelta(seconds=row.min_spacing_seconds),
                  jitter=timedelta(seconds=row.jitter_seconds),
                  warmup_start=row.warmup_start, warmup_step=row.warmup_step,
                  warmup_from=row.warmup_from, next_send_at=row.next_send_at,
                  cooldown_until=row.cooldown_until, counted_day=row.counted_day,
                  counts=dict(row.counts or {}))


def _pacing_values(pacing: Pacing, caps: dict[SendKind, str]) -> dict[str, Any]:
    return {**{column: pacing.caps.get(kind) for kind, column in caps.items()},
            "min_spacing_seconds": int(pacing.min_spacing.total_seconds()),
            "jitter_seconds": int(pacing.jitter.total_seconds()),
            "warmup_start": pacing.warmup_start, "warmup_step": pacing.warmup_step,
            "warmup_from": pacing.warmup_from, "next_send_at": pacing.next_send_at,
            "cooldown_until": pacing.cooldown_until, "counted_day": pacing.counted_day,
            "counts": dict(pacing.counts)}


def _row_to_email_account(row: sa.Row[Any]) -> EmailAccount:
    return EmailAccount(
        id=row.id, email=row.email, smtp_host=row.smtp_host, smtp_port=row.smtp_port,
        smtp_security=Security(row.smtp_security), pacing=_pacing(row, EMAIL_CAPS),
        created_at=row.created_at, updated_at=row.updated_at, display_name=row.display_name,
        smtp_username=row.smtp_username, smtp_password_sealed=row.smtp_password_encrypted,
        imap_host=row.imap_host, imap_port=row.imap_port,
        imap_security=Security(row.imap_security), imap_username=row.imap_username,
        imap_password_sealed=row.imap_password_encrypted,
        imap_uid_validity=row.imap_uid_validity, imap_last_uid=row.imap_last_uid,
        status=AccountStatus(row.status), last_error=row.last_error,
        owner_user_id=row.owner_user_id, deleted_at=row.deleted_at)


class SqlEmailAccountRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [ea.c.tenant_id == self.tenant_id, ea.c.deleted_at.is_(None), *where]

    def add(self, account: EmailAccount) -> None:
        self._db.execute(ea.insert().values(
            tenant_id=self.tenant_id, id=account.id, created_at=account.created_at,
            **self._values(account)))

    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> EmailAccount | None:
        query = sa.select(ea).where(*self._live(ea.c.id == account_id))
        row = self._one(self._locked(query, lock))
        return _row_to_email_account(row) if row else None

    def update(self, account: EmailAccount) -> None:
        self._db.execute(ea.update().where(ea.c.tenant_id == self.tenant_id,
                                           ea.c.id == account.id)
                         .values(self._values(account)))

    def list(self, page: PageRequest) -> Page[EmailAccount]:
        return paginate(self._db, sa.select(ea).where(*self._live()),
                        created_at=ea.c.created_at, id_column=ea.c.id, page=page,
                        to_item=_row_to_email_account)

    def all_live(self) -> Sequence[EmailAccount]:
        rows = self._db.execute(sa.select(ea).where(*self._live())
                                .order_by(ea.c.created_at, ea.c.id)).all()
        return [_row_to_email_account(row) for row in rows]

    @staticmethod
    def _values(account: EmailAccount) -> dict[str, Any]:
        return {"email": account.email, "display_name": account.display_name,
                "smtp_host": account.smtp_host, "smtp_port": account.smtp_port,
                "smtp_security": str(account.smtp_security),
                "smtp_username": account.smtp_username,
                "smtp_password_encrypted": account.smtp_password_sealed,
                "imap_host": account.imap_host, "imap_port": account.imap_port,
                "imap_security": str(account.imap_security),
                "imap_username": account.imap_username,
                "imap_password_encrypted": account.imap_password_sealed,
                "imap_uid_validity": account.imap_uid_validity,
                "imap_last_uid": account.imap_last_uid,
                **_pacing_values(account.pacing, EMAIL_CAPS),
                "status": str(account.status), "last_error": account.last_error,
                "owner_user_id": account.owner_user_id, "updated_at": account.updated_at,
                "deleted_at": account.deleted_at}


def _row_to_linkedin_account(row: sa.Row[Any]) -> LinkedInAccount:
    return LinkedInAccount(
        id=row.id, unipile_account_id=row.unipile_account_id,
        pacing=_pacing(row, LINKEDIN_CAPS), created_at=row.created_at,
        updated_at=row.updated_at, user_id=row.user_id, display_name=row.display_name,
        profile_url=row.profile_url, status=AccountStatus(row.status),
        last_error=row.last_error, deleted_at=row.deleted_at)


class SqlLinkedInAccountRepository(OutreachRepository):
    def _live(self, *where: sa.ColumnElement[bool]) -> list[sa.ColumnElement[bool]]:
        return [la.c.tenant_id == self.tenant_id, la.c.deleted_at.is_(None), *where]

    def add(self, account: LinkedInAccount) -> None:
        self._db.execute(la.insert().values(
            tenant_id=self.tenant_id, id=account.id, created_at=account.created_at,
            **self._values(account)))

    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> LinkedInAccount | None:
        query = sa.select(la).where(*self._live(la.c.id == account_id))
        row = self._one(self._locked(query, lock))
        return _row_to_linkedin_account(row) if row else None

    def get_by_unipile(self, unipile_account_id: str) -> LinkedInAccount | None:
        row = self._one(sa.select(la).where(
            *self._live(la.c.unipile_account_id == unipile_account_id)))
        return _row_to_linkedin_account(row) if row else None

    def update(self, account: LinkedInAccount) -> None:
        self._db.execute(la.update().where(la.c.tenant_id == self.tenant_id,
                                           la.c.id == account.id)
                         .values(self._values(account)))

    def list(self, page: PageRequest) -> Page[LinkedInAccount]:
        return paginate(self._db, sa.select(la).where(*self._live()),
                        created_at=la.c.created_at, id_column=la.c.id, page=page,
                        to_item=_row_to_linkedin_account)

    @staticmethod
    def _values(account: LinkedInAccount) -> dict[str, Any]:
        return {"unipile_account_id": account.unipile_account_id, "user_id": account.user_id,
                "display_name": account.display_name, "profile_url": account.profile_url,
                **_pacing_values(account.pacing, LINKEDIN_CAPS),
                "status": str(account.status), "last_error": account.last_error,
                "updated_at": account.updated_at, "deleted_at": account.deleted_at}


# --- suppressions and webhook receipts ---------------------------------------------------


def _row_to_suppression(row: sa.Row[Any]) -> Suppression:
    return Suppression(id=row.id, channel=Channel(row.channel), address=row.address,
                       reason=SuppressionReason(row.reason), created_at=row.created_at,
                       lead_id=row.lead_id, source=row.source, created_by=row.created_by)


class SqlSuppressionRepository(OutreachRepository):
    def add(self, suppression: Suppression) -> bool:
        """One statement: the address's first suppression stays (ON CONFLICT DO NOTHING)."""
        inserted = self._db.execute(self._insert(sup).values(
            tenant_id=self.tenant_id, id=suppression.id, channel=str(suppression.channel),
            address=suppression.address, reason=str(suppression.reason),
            lead_id=suppression.lead_id, source=suppression.source,
            created_by=suppression.created_by, created_at=suppression.created_at,
        ).on_conflict_do_nothing(index_elements=["tenant_id", "channel", "address"])
            .execution_options(preserve_rowcount=True))
        return bool(inserted.rowcount == 1)

    def find(self, channel: Channel, address: str) -> Suppression | None:
        row = self._one(sa.select(sup).where(sup.c.tenant_id == self.tenant_id,
                                             sup.c.channel == str(channel),
                                             sup.c.address == address))
        return _row_to_suppression(row) if row else None

    def remove(self, suppression_id: uuid.UUID) -> bool:
        removed = self._db.execute(sup.delete().where(sup.c.tenant_id == self.tenant_id,
                                                      sup.c.id == suppression_id))
        return bool(removed.rowcount == 1)

    def list(self, channel: Channel | None, page: PageRequest) -> Page[Suppression]:
        where = [sup.c.tenant_id == self.tenant_id]
        if channel is not None:
            where.append(sup.c.channel == str(channel))
        return paginate(self._db, sa.select(sup).where(*where), created_at=sup.c.created_at,
                        id_column=sup.c.id, page=page, to_item=_row_to_suppression)


class SqlWebhookReceiptRepository(OutreachRepository):
    def record(self, provider: str, event_id: str, payload: bytes, at: datetime) -> bool:
        inserted = self._db.execute(self._insert(webhook_receipts).values(
            tenant_id=self.tenant_id, provider=provider, event_id=event_id,
            raw_payload=payload, received_at=at,
        ).on_conflict_do_nothing(index_elements=["tenant_id", "provider", "event_id"])
            .execution_options(preserve_rowcount=True))
        return bool(inserted.rowcount == 1)
