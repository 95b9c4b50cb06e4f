"""A tenant's books for tests: its org, a service API key, and short verbs over the billing
use cases (fund, use, balance, ...)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from lad_adapters.catalog import default_catalog
from lad_domain.billing.model import LedgerEntry, UsageEvent, Wallet
from lad_domain.billing.services import ReconcileReport
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container
from tests.unit.tenancy.org import OPERATOR, Org

_keys = itertools.count(1)
#: email_send costs 0.001 a message in the default catalog.
EMAIL = {"category": "email_send", "quantity": "1"}


def key() -> str:
    return f"k-{next(_keys)}"


def priced(lad: Container) -> Container:
    """The container with the default price catalog loaded."""
    lad.billing_plans().load_pricing(OPERATOR, default_catalog())
    return lad


@attrs.define
class Books:
    lad: Container
    org: Org
    service: Principal
    service_key: str  # the API key's secret, for HTTP

    @classmethod
    def open(cls, lad: Container, name: str = "Acme") -> Books:
        org = Org.sign_up(lad.tenancy(), lad.team(), name)
        issued = lad.team().create_api_key(org.owner, name="worker", role=Role.MEMBER)
        return cls(lad, org, lad.tenancy().authenticate(issued.secret), issued.secret)

    @property
    def id(self) -> uuid.UUID:
        return self.org.id

    def fund(self, amount: str, idempotency_key: str | None = None) -> LedgerEntry:
        return self.lad.billing().top_up(OPERATOR, self.id, amount,
                                         idempotency_key_=idempotency_key or key())

    def use(self, items: Sequence[dict[str, Any]] = (EMAIL,), *, feature: str = "outreach",
            idempotency_key: str | None = None, user_id: uuid.UUID | None = None,
            occurred_at: datetime | None = None) -> UsageEvent:
        return self.lad.billing().record_usage(
            self.service, idempotency_key=idempotency_key or key(), feature_key=feature,
            usage_items=list(items), user_id=user_id, occurred_at=occurred_at)

    def wallet(self, user_id: uuid.UUID | None = None) -> Wallet:
        return self.lad.billing().wallet(OPERATOR, user_id=user_id, tenant_id=self.id)

    def balance(self, user_id: uuid.UUID | None = None) -> Decimal:
        return self.wallet(user_id).current_balance

    def ledger(self) -> list[LedgerEntry]:
        page = self.lad.billing().ledger(OPERATOR, PageRequest(limit=200), tenant_id=self.id)
        return list(page.items)

    def events(self, event_type: str) -> list[Any]:
        with self.lad.unit_of_work()(self.id) as uow:
            return list(uow.events.list(event_type=event_type))

    def reconcile(self) -> ReconcileReport:
        return self.lad.billing_reconciliation().reconcile(OPERATOR, tenant_id=self.id)
