"""Voice end to end: a real local call service on loopback (its clock the test's fixed
clock, so that its signatures and reported times agree with ours), the container wired to
it through its settings (LAD_VOICE_LOCAL_URL), and its signed webhooks posted back to a
server on loopback that hands them to the call events use case, as the webhook route does."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
from dependency_injector import providers

from lad_adapters.catalog import default_catalog
from lad_adapters.voice.local import LocalCallService
from lad_domain.billing.model import LedgerEntry, UsageEvent
from lad_domain.leads.model import Lead
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import DomainError
from lad_domain.shared.pagination import MAX_LIMIT, PageRequest
from lad_domain.shared.principal import Principal
from lad_domain.voice.model import Agent, BatchEntry, Call, Number
from lad_entrypoints.container import Container
from lad_entrypoints.worker import Worker
from tests.unit.leads.workspace import Workspace

OPERATOR = Principal.operator()
SECRET = "whsec-voice-e2e"
#: Simulated seconds per real second: the longest call here (2 minutes) takes 0.12 s.
SPEED = 1000.0


class WebhookServer:
    """``POST /v1/webhooks/voice/{provider}`` on loopback: the raw body and headers to
    ``call_events().ingest``, answered 200, or 401/422/404 for what the use case refuses
    (the service retries anything else). Bound at once, so its URL is known before the
    container it delivers to is built."""

    def __init__(self) -> None:
        self.lad: Container | None = None
        self.refused: list[tuple[int, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self, lad: Container) -> None:
        self.lad = lad
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                prefix = "/v1/webhooks/voice/"
                assert server.lad is not None and self.path.startswith(prefix)
                try:
                    report = server.lad.call_events().ingest(
                        self.path.removeprefix(prefix), body, dict(self.headers.items()))
                    status, answer = 200, report.document()
                except DomainError as refused:
                    status = {"authentication_failed": 401, "not_found": 404}.get(
                        refused.code, 422)
                    server.refused.append((status, refused.message))
                    answer = {"detail": refused.message}
                reply = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        return Handler


@attrs.define
class Switchboard:
    """The container, the call service it places calls with, and a tenant ready to call:
    the ``voice`` feature, the price list, a funded wallet, an agent on the local provider
    and the number it answers on."""

    lad: Container
    clock: FixedClock
    service: LocalCallService
    webhooks: WebhookServer
    ws: Workspace
    agent: Agent
    number: Number

    @property
    def owner(self) -> Principal:
        return self.ws.owner

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.ws.tenant_id

    def fund(self, amount: str) -> None:
        self.lad.billing().top_up(OPERATOR, self.tenant_id, amount,
                                  idempotency_key_=f"fund-{uuid.uuid4()}")

    def wallet(self) -> Any:
        return self.lad.billing().wallet(OPERATOR, tenant_id=self.tenant_id)

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
    webhooks = WebhookServer()
    service = LocalCallService(f"{webhooks.base_url}/v1/webhooks/voice/local", SECRET,
                               speed=SPEED, clock=clock, retry_backoff=0.05).start()
    settings = lad.settings().model_copy(update={
        "voice_local_url": service.url, "voice_local_secret": SECRET,
        "public_url": webhooks.base_url})
    lad.settings.override(providers.Object(settings))
    webhooks.start(lad)
    try:
        lad.billing_plans().load_pricing(OPERATOR, default_catalog())
        ws = Workspace.sign_up(lad)
        lad.team().set_feature(OPERATOR, "voice", True, tenant_id=ws.tenant_id)
        agent = lad.voice_setup().create_agent(ws.owner, {
            "name": "Ava", "first_message": "Hi, this is Ava.",
            "config": {"provider": "local", "max_duration_seconds": 120}})
        number = lad.voice_setup().add_number(ws.owner, {
            "phone": "+12125550100", "provider": "twilio", "agent_id": agent.id})
        board = Switchboard(lad, clock, service, webhooks, ws, agent, number)
        board.fund("100")
        yield board
    finally:
        service.stop()
        webhooks.stop()
