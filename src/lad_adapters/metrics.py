"""What the adapters count for the operator's ``/metrics`` (``lad_entrypoints.metrics``
exposes them): ledger postings, counted where the ledger repositories write them and only
once their transaction has committed (a rolled-back posting was never posted).

The counters live in prometheus-client's default registry: one per process (and, with
``PROMETHEUS_MULTIPROC_DIR`` set, in the files of that directory, summed over the
processes at scrape time)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter

LEDGER_POSTINGS = Counter(
    "lad_ledger_postings", "Ledger rows committed, by kind (top_up, usage_debit, "
    "reservation, capture, release, refund, adjustment, transfer_in, transfer_out, "
    "legacy_migration)", ["kind"])


def count_postings(kinds: Iterable[str]) -> None:
    """Count committed ledger rows of these kinds (one item per row)."""
    for kind, rows in Tally(kinds).items():
        LEDGER_POSTINGS.labels(kind=kind).inc(rows)


class PendingPostings:
    """The ledger rows one transaction has written so far: counted when it commits,
    forgotten when it rolls back."""

    def __init__(self) -> None:
        self._kinds: Tally[str] = Tally()

    def add(self, kinds: Iterable[str]) -> None:
        self._kinds.update(kinds)

    def committed(self) -> None:
        count_postings(self._kinds.elements())
        self._kinds.clear()

    def rolled_back(self) -> None:
        self._kinds.clear()
