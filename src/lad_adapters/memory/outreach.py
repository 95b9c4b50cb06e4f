"""In-memory repositories of the outreach context, with the same keys as SQL."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime

from lad_adapters.memory.store import InMemoryRepository, InMemoryStore
from lad_domain.outreach.model import (
    Channel,
    EmailAccount,
    LinkedInAccount,
    Suppression,
    Template,
)
from lad_domain.shared.pagination import Page, PageRequest


class InMemoryTemplateRepository(InMemoryRepository):
    table_name = "communication_templates"

    def add(self, template: Template) -> None:
        self._check(template)
        self._insert((self.tenant_id, template.id), template, "pk_communication_templates")

    def get(self, template_id: uuid.UUID) -> Template | None:
        found: Template | None = self._get((self.tenant_id, template_id))
        return found if found is not None and found.deleted_at is None else None

    def get_by_key(self, channel: Channel, key: str) -> Template | None:
        found = [t for t in self._live() if t.channel is channel and t.key == key]
        return copy.deepcopy(found[0]) if found else None

    def update(self, template: Template) -> None:
        self._check(template)
        self._put((self.tenant_id, template.id), template)

    def list(self, channel: Channel | None, page: PageRequest) -> Page[Template]:
        return self._paginate([copy.deepcopy(t) for t in self._live()
                               if channel in (None, t.channel)], page,
                              lambda t: (t.created_at, t.id), within=channel)

    def _live(self) -> Sequence[Template]:
        return [t for k, t in self.rows.items() if k[0] == self.tenant_id
                and t.deleted_at is None]

    def _check(self, template: Template) -> None:
        if template.deleted_at is None:
            self._unique([t for t in self._live() if t.id != template.id],
                         lambda t: (t.channel, t.key) == (template.channel, template.key),
                         "uq_communication_templates_key_live")


class InMemoryEmailAccountRepository(InMemoryRepository):
    table_name = "email_accounts"

    def add(self, account: EmailAccount) -> None:
        self._check(account)
        self._insert((self.tenant_id, account.id), account, "pk_email_accounts")

    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> EmailAccount | None:
        found: EmailAccount | None = self._get((self.tenant_id, account_id))
        return found if found is not None and found.deleted_at is None else None

    def update(self, account: EmailAccount) -> None:
        self._check(account)
        self._put((self.tenant_id, account.id), account)

    def list(self, page: PageRequest) -> Page[EmailAccount]:
        return self._paginate(list(self.all_live()), page, lambda a: (a.created_at, a.id))

    def all_live(self) -> Sequence[EmailAccount]:
        return [copy.deepcopy(a) for a in self._select_tenant() if a.deleted_at is None]

    def _select_tenant(self) -> Sequence[EmailAccount]:
        return [a for k, a in self.rows.items() if k[0] == self.tenant_id]

    def _check(self, account: EmailAccount) -> None:
        if account.deleted_at is None:
            self._unique([a for a in self._select_tenant()
                          if a.deleted_at is None and a.id != account.id],
                         lambda a: a.email == account.email, "uq_email_accounts_email_live")


class InMemoryLinkedInAccountRepository(InMemoryRepository):
    table_name = "social_linkedin_accounts"

    def add(self, account: LinkedInAccount) -> None:
        self._check(account)
        self._insert((self.tenant_id, account.id), account, "pk_social_linkedin_accounts")

    def get(self, account_id: uuid.UUID, *, lock: bool = False) -> LinkedInAccount | None:
        found: LinkedInAccount | None = self._get((self.tenant_id, account_id))
        return found if found is not None and found.deleted_at is None else None

    def get_by_unipile(self, unipile_account_id: str) -> LinkedInAccount | None:
        found = [a for a in self._live() if a.unipile_account_id == unipile_account_id]
        return copy.deepcopy(found[0]) if found else None

    def update(self, account: LinkedInAccount) -> None:
        self._check(account)
        self._put((self.tenant_id, account.id), account)

    def list(self, page: PageRequest) -> Page[LinkedInAccount]:
        return self._paginate([copy.deepcopy(a) for a in self._live()], page,
                              lambda a: (a.created_at, a.id))

    def _live(self) -> Sequence[LinkedInAccount]:
        return [a for k, a in self.rows.items() if k[0] == self.tenant_id
                and a.deleted_at is None]

    def _check(self, account: LinkedInAccount) -> None:
        if account.deleted_at is None:
            self._unique([a for a in self._live() if a.id != account.id],
                         lambda a: a.unipile_account_id == account.unipile_account_id,
                         "uq_social_linkedin_accounts_unipile_live")


class InMemorySuppressionRepository(InMemoryRepository):
    table_name = "outreach_suppressions"

    def add(self, suppression: Suppression) -> bool:
        if self.find(suppression.channel, suppression.address) is not None:
            return False
        self._insert((self.tenant_id, suppression.id), suppression, "pk_outreach_suppressions")
        return True

    def find(self, channel: Channel, address: str) -> Suppression | None:
        for key, item in self.rows.items():
            if key[0] == self.tenant_id and item.channel is channel \
                    and item.address == address:
                found: Suppression = item  # frozen: safe to hand out
                return found
        return None

    def remove(self, suppression_id: uuid.UUID) -> bool:
        return self.rows.pop((self.tenant_id, suppression_id), None) is not None

    def list(self, channel: Channel | None, page: PageRequest) -> Page[Suppression]:
        return self._paginate([s for k, s in self.rows.items() if k[0] == self.tenant_id
                               and channel in (None, s.channel)], page,
                              lambda s: (s.created_at, s.id), within=channel)


class InMemoryWebhookReceiptRepository(InMemoryRepository):
    table_name = "webhook_receipts"

    def record(self, provider: str, event_id: str, payload: bytes, at: datetime) -> bool:
        key = (self.tenant_id, provider, event_id)
        if key in self.rows:
            return False
        self.rows[key] = (payload, at)
        return True


class InMemoryLinkedInAccountTenants:
    """Whose Unipile account it is, across tenants (the store's committed rows)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def tenant_of(self, unipile_account_id: str) -> uuid.UUID | None:
        with self.store.lock:
            for (tenant_id, _), account in self.store.tables.get(
                    InMemoryLinkedInAccountRepository.table_name, {}).items():
                if account.unipile_account_id == unipile_account_id \
                        and account.deleted_at is None:
                    return tenant_id  # type: ignore[no-any-return]  # keys are (UUID, UUID)
        return None
