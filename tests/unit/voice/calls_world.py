"""A world to place calls in, built through the use cases where they exist: a funded
tenant with the ``voice`` feature, an agent, a number, leads in four time zones; a
scripted provider in place of a real one, and the fixed clock the test moves. Works on any
container (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from lad_adapters.catalog import default_catalog
from lad_domain.leads.model import Lead
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import PageRequest
from lad_domain.voice.model import (
    Agent,
    AgentSettings,
    BatchEntry,
    Call,
    Number,
    PhoneNumber,
)
from lad_domain.voice.ports import Limits
from lad_domain.voice.services.calling import CallingService
from lad_domain.voice.services.dialer import Dialer, DialResult
from lad_domain.voice.services.events import CallEvents
from lad_entrypoints.container import Container
from tests.fakes.voice import OneProvider, ScriptedProvider, TablePhonePlan
from tests.unit.leads.workspace import Workspace
from tests.worlds import OPERATOR, TenantWorld, open_tenant

_serial = itertools.count(1)
#: The zones the world's leads live in, by area code.
ZONES = {"America/New_York": "212", "America/Chicago": "312", "America/Denver": "303",
         "America/Los_Angeles": "415"}


@attrs.define
class CallWorld(TenantWorld):
    lad: Container
    clock: FixedClock
    ws: Workspace
    provider: ScriptedProvider
    calling: CallingService
    dialer: Dialer
    events: CallEvents
    agent: Agent
    number: Number

    @classmethod
    def open(cls, lad: Container, clock: FixedClock, *, funds: str | None = "50",
             limits: Limits | None = None, **agent_settings: Any) -> CallWorld:
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        return cls.join(lad, clock, open_tenant(lad, "voice"), funds=funds, limits=limits,
                        **agent_settings)

    @classmethod
    def join(cls, lad: Container, clock: FixedClock, ws: Workspace, *,
             funds: str | None = "50", limits: Limits | None = None,
             provider: ScriptedProvider | None = None, **agent_settings: Any) -> CallWorld:
        provider = provider or ScriptedProvider()
        scope = lad.tenant_scope()
        phones = TablePhonePlan()
        events = CallEvents(scope=scope, providers=OneProvider({"local": provider}),
                            tenants=lad.call_tenants())
        dialer = Dialer(scope=scope, work=lad.dial_work(), providers=events.providers,
                        phones=phones, events=events, limits=limits or Limits())
        now = clock.now()
        settings = AgentSettings(**{"max_duration_seconds": 300, **agent_settings})
        with scope.uow(ws.tenant_id) as uow:
            agent = Agent(tenant_id=ws.tenant_id, name="Ava", language="en", created_at=now,
                          updated_at=now, first_message="Hi, this is Ava.", settings=settings)
            uow.agents.add(agent)
            number = Number(id=scope.ids.new_id(), tenant_id=ws.tenant_id,
                            phone=PhoneNumber("1", 2125550100 + next(_serial)),
                            provider="twilio", created_at=now, updated_at=now,
                            agent_id=agent.id)
            uow.numbers.add(number)
            uow.commit()
        world = cls(lad, clock, ws, provider, CallingService(scope=scope, phones=phones),
                    dialer, events, agent, number)
        if funds is not None:
            world.fund(funds)
        return world

    def lead(self, zone: str = "America/New_York", *, phone: str | None = None,
             **fields: Any) -> Lead:
        n = next(_serial)
        if phone is None:
            phone = f"+1{ZONES[zone]}555{n % 10000:04d}"
        fields.setdefault("first_name", f"Lead{n}")
        return self.ws.lead(phone=phone, **fields)

    def batch(self, leads: list[Lead], **options: Any) -> uuid.UUID:
        report = self.calling.create_batch(self.owner, agent_id=self.agent.id,
                                           number_id=self.number.id,
                                           lead_ids=[lead.id for lead in leads], **options)
        return report.batch.id

    def dial_all(self) -> list[DialResult]:
        """Claim and run until nothing is due now."""
        results: list[DialResult] = []
        while True:
            claims = self.dialer.claim(50)
            if not claims:
                return results
            results.extend(self.dialer.run(claim) for claim in claims)

    def entries(self, batch_id: uuid.UUID) -> list[BatchEntry]:
        return list(self.calling.entries(self.owner, batch_id,
                                         PageRequest(limit=200)).items)

    def calls(self, **filters: Any) -> list[Call]:
        return list(self.calling.calls(self.owner, PageRequest(limit=200), **filters).items)

    def charged(self) -> Decimal:
        """What the wallet paid for calls: usage debits."""
        wallet = self.wallet()
        return Decimal(wallet.current_balance)

    def at(self, when: datetime) -> None:
        self.clock.set(when)
