"""Outreach ports: the repositories of templates, sending accounts and suppressions, and
the secret box that seals mailbox passwords."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from lad_domain.leads.ports import LeadsUnitOfWork
from lad_domain.outreach.model import (
    Channel,
    EmailAccount,
    LinkedInAccount,
    Suppression,
    Template,
)
from lad_domain.shared.pagination import Page, PageRequest


class TemplateRepository(Protocol):
    def add(self, template: Template) -> None: ...
    def get(self, template_id: uuid.UUID) -> Template | None:
        """Live templates only."""
        ...

    def get_by_key(self, channel: Channel, key: str) -> Template | None: ...
    def update(self, template: Template) -> None: ...
    def list(self, channel: Channel | None, page: PageRequest) -> Page[Template]: ...


class EmailAccountRepository(Protocol):
    def add(self, account: EmailAccount) -> None: ...
    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> EmailAccount | None:
        """Live accounts only; ``lock``: held until the transaction ends (PostgreSQL:
        FOR UPDATE), so two workers never count one mailbox's sends at once."""
        ...

    def update(self, account: EmailAccount) -> None: ...
    def list(self, page: PageRequest) -> Page[EmailAccount]: ...
    def all_live(self) -> Sequence[EmailAccount]:
        """Every live mailbox of the tenant (the IMAP poll, key rotation)."""
        ...


class LinkedInAccountRepository(Protocol):
    def add(self, account: LinkedInAccount) -> None: ...
    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> LinkedInAccount | None: ...
    def get_by_unipile(self, unipile_account_id: str) -> LinkedInAccount | None: ...
    def update(self, account: LinkedInAccount) -> None: ...
    def list(self, page: PageRequest) -> Page[LinkedInAccount]: ...


class SuppressionRepository(Protocol):
    def add(self, suppression: Suppression) -> bool:
        """False (and nothing written) when the address is already suppressed on the
        channel: the first reason stays."""
        ...

    def find(self, channel: Channel, address: str) -> Suppression | None: ...
    def remove(self, suppression_id: uuid.UUID) -> bool: ...
    def list(self, channel: Channel | None, page: PageRequest) -> Page[Suppression]: ...


class WebhookReceiptRepository(Protocol):
    def record(self, provider: str, event_id: str, payload: bytes, at: datetime) -> bool:
        """Store a webhook delivery, raw; False (nothing stored) when this event of this
        provider was received before: a replay has no second effect."""
        ...


@runtime_checkable
class OutreachUnitOfWork(LeadsUnitOfWork, Protocol):
    templates: TemplateRepository
    email_accounts: EmailAccountRepository
    linkedin_accounts: LinkedInAccountRepository
    suppressions: SuppressionRepository
    webhook_receipts: WebhookReceiptRepository


class SecretBox(Protocol):
    """Seals secrets at rest (AES-GCM); ``context`` binds a sealed value to its row."""

    def seal(self, plain: str, *, context: str) -> str: ...
    def open(self, token: str, *, context: str) -> str: ...
    def is_current(self, token: str) -> bool:
        """Sealed with the current key (rotation re-seals the others)."""
        ...


class LinkedInAccountTenants(Protocol):
    """The one cross-tenant lookup a Unipile webhook needs: whose account it is (a narrow
    path on PostgreSQL; the event is then applied in that tenant's scope)."""

    def tenant_of(self, unipile_account_id: str) -> uuid.UUID | None: ...
