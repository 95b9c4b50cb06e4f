"""What every billing use case starts from: the tenant scope, the operator's live-tenant
rule, and the posting context (who acts, when, with which ids)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from lad_domain.billing.policy import actor
from lad_domain.billing.ports import BillingUnitOfWork, PostingContext
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.shared.scope import TenantScope

BillingScope = TenantScope[BillingUnitOfWork]


def posting_context(scope: BillingScope, principal: Principal) -> PostingContext:
    return PostingContext(actor=actor(principal), now=scope.clock.now(), ids=scope.ids,
                          user_id=principal.user_id)


def each_tenant(scope: BillingScope) -> Iterator[uuid.UUID]:
    """Every live tenant, for the operator's sweeps."""
    page = PageRequest(limit=200)
    while True:
        with scope.uow(None) as uow:
            found = uow.tenants.list(page)
        yield from (t.id for t in found.items)
        if found.next_cursor is None:
            return
        page = PageRequest.parse(limit=200, cursor=found.next_cursor)
