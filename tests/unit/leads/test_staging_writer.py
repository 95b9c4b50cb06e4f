"""The import's writer thread: batches reach the staging area in order, and a failure on
either side stops both and surfaces on the caller's thread."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import pytest

from lad_domain.leads.ports import ImportRow
from lad_domain.leads.staging_writer import ImportAbandoned, StagingWriter

Batch = Sequence[ImportRow]


def _row(n: int) -> ImportRow:
    return (n, uuid.uuid4(), None, None, None, None, None, None, "new", "open", None, None, None)


def test_every_batch_reaches_the_stage_in_order() -> None:
    taken: list[int] = []
    writer = StagingWriter(lambda batches: taken.extend(r[0] for b in batches for r in b))
    for n in range(10):
        writer.put([_row(n)])
    writer.finish()
    assert taken == list(range(10))


def test_a_writer_failure_reaches_the_caller() -> None:
    def stage(batches: Iterable[Batch]) -> None:
        for _ in batches:
            raise ValueError("the database said no")
    writer = StagingWriter(stage)
    with pytest.raises(ValueError, match="said no"):
        for n in range(10):
            writer.put([_row(n)])
        writer.finish()


def test_abandoning_stops_the_writer_inside_its_stage() -> None:
    seen: list[BaseException] = []

    def stage(batches: Iterable[Batch]) -> None:
        try:
            for _ in batches:
                pass
        except ImportAbandoned as abandoned:
            seen.append(abandoned)
            raise
    writer = StagingWriter(stage)
    writer.put([_row(1)])
    writer.abandon()
    assert len(seen) == 1
