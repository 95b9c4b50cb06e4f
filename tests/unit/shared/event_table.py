"""The one check of a context's event classes: each has its own event_type, and each stores
the payload the table says (the shape existing readers of domain_events expect)."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from lad_domain.shared.events import Event


def check_event_table(module: ModuleType, stored: Sequence[tuple[Event, dict[str, object]]]
                      ) -> None:
    declared = [c for c in vars(module).values() if isinstance(c, type)
                and issubclass(c, Event) and "event_type" in vars(c)]
    assert len({c.event_type for c in declared}) == len(declared)
    assert {type(event) for event, _ in stored} == set(declared)
    for event, payload in stored:
        assert (type(event).__name__, event.payload()) == (type(event).__name__, payload)
        assert event.aggregate_key() == str(getattr(event, "aggregate_id"))  # noqa: B009
