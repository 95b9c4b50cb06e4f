"""Voice end to end: a real local call service on loopback (its clock the test's fixed
clock, so that its signatures and reported times agree with ours), the container wired to
it through its settings (LAD_VOICE_LOCAL_URL), and its signed webhooks posted back over
HTTP to the app's webhook route, served by uvicorn on loopback as ``lad serve`` serves it."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import uvicorn
from dependency_injector import providers
from pydantic import SecretStr

from lad_adapters.catalog import default_catalog
from lad_adapters.voice.local import LocalCallService
from lad_domain.billing.model import LedgerEntry, UsageEvent
from lad_domain.leads.model import Lead
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.voice.model import Agent, BatchEntry, Call, Number
from lad_entrypoints.container import Container
from lad_entrypoints.http.app import create_app
from lad_entrypoints.worker import Worker
from tests.unit.leads.workspace import Workspace
from tests.worlds import OPERATOR, TenantWorld, open_tenant

SECRET = "whsec-voice-e2e"
#: Simulated seconds per real second: the longest call here (2 minutes) takes 0.12 s.
SPEED = 1000.0


class AppServer:
    """The LAD app (``create_app``) served by uvicorn on a thread, as ``lad serve`` serves
    it: its socket bound and listening at once, so that its URL is known before the
    container it serves is built (deliveries wait in the backlog until it runs)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self, lad: Container) -> None:
        config = uvicorn.Config(create_app(lad), log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()


@attrs.define
class Switchboard(TenantWorld):
    """The container, the call service it places calls with, and a tenant ready to call:
    the ``voice`` feature, the price list, a funded wallet, an agent on the local provider
    and the number it answers on."""

    lad: Container
    clock: FixedClock
    service: LocalCallService
    app: AppServer
    ws: Workspace
    agent: Agent
    number: Number

    def lead(self, phone: str, **fields: Any) -> Lead:
        return self.ws.lead(phone=phone, **fields)

    def batch(self, leads: list[Lead], *, agent: Agent | None = None, **options: Any
              ) -> uuid.UUID:
        report = self.lad.calling().create_batch(
            self.owner, agent_id=(agent or self.agent).id, number_id=self.number.id,
            lead_ids=[lead.id for lead in leads], **options)
        return report.batch.id

    def work(self) -> Worker:
        """The worker, run until nothing is due and every call placed is over and its
        webhooks delivered (calls wait for a free line: the concurrency limits)."""
        worker = Worker.of(self.lad)
        while True:
            before = worker.report.calls.total()
            worker.run(once=True)
            assert self.service.wait_settled(timeout=20)
            if worker.report.calls.total() == before:
                return worker

    def entries(self, batch_id: uuid.UUID) -> list[BatchEntry]:
        return list(self.lad.calling().entries(self.owner, batch_id,
                                               PageRequest(limit=200)).items)

    def calls(self, **filters: Any) -> list[Call]:
        return list(self.lad.calling().calls(self.owner, PageRequest(limit=200),
                                             **filters).items)

    def charges(self, calls: list[Call]) -> dict[uuid.UUID, UsageEvent]:
        """The usage event each call was charged by (keyed by the call's id), if any."""
        with self.lad.tenant_scope().uow(self.tenant_id) as uow:
            found = uow.usage_events.get_by_keys([f"voice-call:{c.id}" for c in calls])
        return {uuid.UUID(key.removeprefix("voice-call:")): event
                for key, event in found.items()}

    def ledger(self, kind: str) -> list[LedgerEntry]:
        """The wallet's ledger rows of one type (``usage_debit``, ``reservation_release``)."""
        entries: list[LedgerEntry] = []
        page = PageRequest(limit=MAX_LIMIT)
        with self.lad.tenant_scope().uow(self.tenant_id) as uow:
            while True:
                found = uow.ledger.list(page)
                entries.extend(e for e in found.items if e.type.value == kind)
                if found.next_cursor is None:
                    return entries
                page = PageRequest.parse(limit=MAX_LIMIT, cursor=found.next_cursor)

    def reconciles(self) -> bool:
        report = self.lad.billing_reconciliation().reconcile(OPERATOR,
                                                             tenant_id=self.tenant_id)
        return report.drifts == []


@pytest.fixture
def switchboard(lad: Container, clock: FixedClock) -> Iterator[Switchboard]:
    app = AppServer()
    service = LocalCallService(f"{app.base_url}/v1/webhooks/voice/local", SECRET,
                               speed=SPEED, clock=clock, retry_backoff=0.05).start()
    settings = lad.settings().model_copy(update={
        "voice_local_url": service.url, "voice_local_secret": SecretStr(SECRET),
        "public_url": app.base_url})
    lad.settings.override(providers.Object(settings))
    app.start(lad)
    try:
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        ws = open_tenant(lad, "voice")
        agent = lad.voice_setup().create_agent(ws.owner, {
            "name": "Ava", "first_message": "Hi, this is Ava.",
            "config": {"provider": "local", "max_duration_seconds": 120}})
        number = lad.voice_setup().add_number(ws.owner, {
            "phone": "+12125550100", "provider": "twilio", "agent_id": agent.id})
        board = Switchboard(lad, clock, service, app, ws, agent, number)
        board.fund("100")
        yield board
    finally:
        service.stop()
        app.stop()
