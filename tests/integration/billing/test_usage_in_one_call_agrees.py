"""The twins of ``test_posting_paths_agree`` once more, with the function's twin recording
each single event through the one-call usage ledger (``billing_record_usage``: scope, access
data and posting in one round trip) and the rule's twin through the scope's unit of work and
the domain's rule: at each step both answer alike, and at the end their books read alike."""

from __future__ import annotations

import uuid

import attrs
import pytest
from hypothesis import strategies as st

from lad_adapters.sql.billing.usage_ledger import PostgresUsageLedger
from lad_domain.billing.model import UsageEvent
from lad_domain.billing.ports import PostingContext, UsageLedger, UsageRequest
from lad_domain.billing.usage_ledger import ScopedUsageLedger
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container, close
from lad_entrypoints.settings import Settings
from tests.integration.billing.posting_steps import steps
from tests.integration.billing.test_posting_paths_agree import PostingPaths, walk_alike
from tests.integration.billing.twins import PythonRuleFor


@attrs.frozen
class ByTwin:
    """The usage-ledger port: the rule's twin through the scope, the other in one call."""

    one_call: UsageLedger
    ordinary: UsageLedger
    by_rule: PythonRuleFor

    def record(self, principal: Principal, request: UsageRequest, context: PostingContext,
               *, tenant_id: uuid.UUID | None) -> UsageEvent:
        target = tenant_id if principal.is_operator else principal.tenant_id
        ledger = self.ordinary if target in self.by_rule.tenants else self.one_call
        return ledger.record(principal, request, context, tenant_id=tenant_id)


class OneCallPaths(PostingPaths):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        scope, by_rule = self.lad.tenant_scope(), self.lad.unit_of_work()
        ordinary = ScopedUsageLedger(scope)
        one_call = PostgresUsageLedger(self.lad.engine(), scope.access, ordinary)
        self.lad.billing().usage_ledger = ByTwin(one_call, ordinary, by_rule)


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_the_one_call_and_the_rule_post_alike(backend: str, container: Container) -> None:
    settings = container.settings()

    walk_alike(lambda: OneCallPaths(settings), st.lists(steps, min_size=20, max_size=40),
               max_examples=15)


def test_the_twins_take_their_paths(backend: str, container: Container) -> None:
    paths = OneCallPaths(container.settings())
    ledger = paths.lad.billing().usage_ledger
    assert isinstance(ledger, ByTwin) and isinstance(ledger.one_call, PostgresUsageLedger)
    assert paths.rule.id in ledger.by_rule.tenants
    assert paths.function.id not in ledger.by_rule.tenants
    close(paths.lad)
