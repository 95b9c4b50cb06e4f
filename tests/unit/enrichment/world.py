"""A world for the ICP assistant and enrichment, built through the use cases where they
exist: the catalog's prices loaded, a funded tenant with the ``icp``, ``enrichment`` and
``leads`` features, its owner, a member and an admin; a scripted language model and a fake
Apollo in place of real ones, and the fixed clock the test moves. The services are built
here from the container's tenant scope (the one access policy, its clock and ids), so the
same world serves the ICP tests and the enrichment tests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from lad_adapters.catalog import default_catalog
from lad_domain.billing.model import LedgerType, UsageEvent
from lad_domain.billing.ports import UsageLine
from lad_domain.enrichment.services.search import EnrichmentService
from lad_domain.icp.services.assistant import IcpAssistant
from lad_domain.icp.services.profiles import IcpProfiles
from lad_domain.leads.model import Lead, LeadFilter
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_domain.shared.principal import Principal, Role
from lad_entrypoints.container import Container
from tests.fakes.apollo import FakeApollo, FakeApolloConnection
from tests.fakes.icp import ScriptedExtractor
from tests.unit.leads.workspace import Workspace
from tests.worlds import OPERATOR, TenantWorld, open_tenant

FEATURES = ("icp", "enrichment", "leads")
START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
#: Every posted usage event lies between these.
_EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@attrs.define
class Tenant(TenantWorld):
    """A tenant of the world: its owner, a member, an admin."""

    lad: Container
    ws: Workspace
    member: Principal
    admin: Principal

    @classmethod
    def open(cls, lad: Container, *, funds: str | None = "50", name: str = "Acme") -> Tenant:
        ws = open_tenant(lad, *FEATURES, name=name)
        tenant = cls(lad, ws, ws.member(Role.MEMBER), ws.member(Role.ADMIN))
        if funds is not None:
            tenant.fund(funds)
        return tenant

    def ledger(self) -> Counter[str]:
        """How many rows of each type the tenant's ledger has."""
        rows = self.lad.billing().ledger(OPERATOR, PageRequest(limit=200),
                                         tenant_id=self.tenant_id).items
        return Counter(str(row.type) for row in rows)

    def usage(self) -> list[UsageLine]:
        """The tenant's posted usage events."""
        with self.lad.unit_of_work()(self.tenant_id) as uow:
            return list(uow.usage_events.posted_between(*_EVER))

    def usage_event(self, key: str) -> UsageEvent | None:
        with self.lad.unit_of_work()(self.tenant_id) as uow:
            return uow.usage_events.get_by_keys([key]).get(key)

    def charges(self) -> list[UsageEvent]:
        """The usage events the wallet paid for, through their ledger rows."""
        rows = self.lad.billing().ledger(OPERATOR, PageRequest(limit=200),
                                         tenant_id=self.tenant_id).items
        with self.lad.unit_of_work()(self.tenant_id) as uow:
            found = [uow.usage_events.get(row.cause_id) for row in rows
                     if row.type is LedgerType.USAGE_DEBIT and row.cause_id is not None]
        return [event for event in found if event is not None]

    def spent(self) -> Decimal:
        """What the tenant's usage events cost."""
        return sum((cost for line in self.usage() for _, _, cost in line.items), Decimal(0))

    def leads(self) -> list[Lead]:
        found = self.lad.leads().list_leads(self.owner, LeadFilter(), PageRequest(limit=200))
        return list(found.items)

    def lead(self, **fields: Any) -> Lead:
        return self.ws.lead(**fields)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads of the tenant's domain events of a type, oldest first."""
        with self.lad.unit_of_work()(self.tenant_id) as uow:
            found = uow.events.list(event_type=event_type, limit=100_000)
        return [dict(e.payload) for e in reversed(found)]


@attrs.define
class World:
    lad: Container
    clock: FixedClock
    tenant: Tenant
    extractor: ScriptedExtractor
    apollo: FakeApollo
    connection: FakeApolloConnection
    assistant: IcpAssistant
    profiles: IcpProfiles
    enrichment: EnrichmentService

    @classmethod
    def open(cls, lad: Container, clock: FixedClock, *, funds: str | None = "50",
             extractor: ScriptedExtractor | None = None, apollo: FakeApollo | None = None
             ) -> World:
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        extractor = extractor or ScriptedExtractor()
        apollo = apollo or FakeApollo.of()
        connection = FakeApolloConnection(apollo)
        scope = lad.tenant_scope()
        enrichment = EnrichmentService(scope=scope, apollo=connection, leads=lad.lead_import(),
                                       phones=lad.phone_numbers())
        return cls(lad, clock, Tenant.open(lad, funds=funds), extractor, apollo, connection,
                   IcpAssistant(scope=scope, extractor=extractor), IcpProfiles(scope=scope),
                   enrichment)

    def other_tenant(self, *, funds: str | None = "50", name: str = "Globex") -> Tenant:
        return Tenant.open(self.lad, funds=funds, name=name)

    @property
    def owner(self) -> Principal:
        return self.tenant.owner

    @property
    def member(self) -> Principal:
        return self.tenant.member

    @property
    def admin(self) -> Principal:
        return self.tenant.admin

    def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)
