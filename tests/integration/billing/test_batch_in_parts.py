"""On PostgreSQL a batch of usage events is written in parts, each part's rows sent in
pipeline mode (the server stores one part while the next is decided): the parts post what
the domain's rule posts in one go, and a refusal in a later part, by the rule or by the
server, leaves nothing of the batch."""

from __future__ import annotations

import uuid
from decimal import Decimal

import attrs
import pytest
from hypothesis import strategies as st

from lad_domain.billing import posting
from lad_domain.billing.model import Cause, LedgerEntry, LedgerType
from lad_domain.shared.errors import Conflict, ValidationFailed
from lad_entrypoints.container import Container
from tests.examples import scaled
from tests.integration.billing.posting_steps import ITEMS, Step, Use, steps
from tests.integration.billing.test_posting_paths_agree import PostingPaths, walk_alike
from tests.integration.billing.twins import Twin
from tests.unit.billing.books import Books

#: Parts of two events: a batch of a few events has several.
PART = 2


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posting, "WRITE_EVERY", PART)


@attrs.frozen
class ManyUses(Step):
    """A batch of several uses (retries of a key within it, members, earlier dates)."""

    uses: tuple[Use, ...]

    def __call__(self, paths: object, twin: Twin) -> object:
        return twin.books.lad.billing().record_usage_batch(
            twin.books.service, [use.event(twin) for use in self.uses])


uses = st.builds(Use, st.sampled_from([f"u{n}" for n in range(1, 13)]),
                 st.sampled_from(sorted(ITEMS)), st.sampled_from(["outreach", "voice"]),
                 st.booleans(), st.booleans())
batches = st.builds(ManyUses, st.lists(uses, min_size=3, max_size=9).map(tuple))


def test_a_batch_in_parts_posts_what_the_rule_posts_in_one_go(
        backend: str, container: Container, in_parts: None) -> None:
    """The function's twin posts batches through the pipelined parts, the rule's twin by
    the rule on the same connection type without a pipeline; singles as before."""
    settings = container.settings()

    walk_alike(lambda: PostingPaths(settings),
               st.lists(st.one_of(batches, batches, steps), min_size=6, max_size=16),
               max_examples=scaled(20))


def _events(keys: list[str], items: str = "email") -> list[dict[str, object]]:
    return [{"idempotency_key": key, "feature_key": "outreach", "usage_items": ITEMS[items]}
            for key in keys]


def test_an_unpriced_event_in_a_later_part_refuses_the_whole_batch(
        lad: Container, books: Books, in_parts: None) -> None:
    books.fund("10")
    events = _events([f"b{n}" for n in range(7)])
    events[5] = {**events[5], "usage_items": ITEMS["unpriced"]}
    with pytest.raises(ValidationFailed) as refused:
        lad.billing().record_usage_batch(books.service, events)
    assert [e.field for e in refused.value.errors] == ["events[5].usage_items[1]"]
    assert books.balance() == Decimal("10") and len(books.ledger()) == 1
    with lad.unit_of_work()(books.id) as uow:
        assert uow.usage_events.get_by_keys([f"b{n}" for n in range(7)]) == {}


def test_a_server_refusal_in_a_pipelined_part_is_the_domain_error_and_leaves_nothing(
        lad: Container, books: Books, in_parts: None) -> None:
    """A ledger row already holds the key the fifth event's debit takes (as a concurrent
    writer's would): the server refuses that part's insert inside the pipeline."""
    books.fund("10")
    wallet = books.wallet()
    with lad.unit_of_work()(books.id) as uow:
        uow.ledger.add_many([LedgerEntry(
            id=uuid.uuid4(), tenant_id=books.id, wallet_id=wallet.id,
            type=LedgerType.ADJUSTMENT, amount=Decimal("0.01"),
            balance_after=wallet.current_balance, idempotency_key=posting.USAGE_KEY_PREFIX + "c4",
            created_at=wallet.updated_at, actor="test", cause=Cause.OPERATOR)])
        uow.commit()
    with pytest.raises(Conflict, match="idempotency key was already used"):
        lad.billing().record_usage_batch(books.service, _events([f"c{n}" for n in range(7)]))
    assert books.balance() == Decimal("10") and len(books.ledger()) == 2
    with lad.unit_of_work()(books.id) as uow:
        assert uow.usage_events.get_by_keys([f"c{n}" for n in range(7)]) == {}
    # The connection went back to the pool sound: the next batch posts.
    posted = lad.billing().record_usage_batch(books.service, _events(["d1", "d2", "d3"]))
    assert [e.ledger_entry_id is not None for e in posted] == [True] * 3
    assert books.balance() == Decimal("9.97")

