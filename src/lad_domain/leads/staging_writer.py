"""The writer side of an import: the staging area takes validated batches on a thread of its
own while the caller validates the next one, through a queue two batches deep (so memory
stays bounded). COPY and executemany release the GIL while the database works, so the two
sides run on two cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from time import perf_counter

from lad_domain.leads.ports import ImportRow

Batch = Sequence[ImportRow]
DEPTH = 2


class _Marker:
    """What the queue carries besides batches: the end, or the caller giving up."""


_DONE = _Marker()
_ABANDON = _Marker()


class ImportAbandoned(Exception):
    """Raised inside the staging area when the validating side stopped (a file refused
    whole, an interrupt): it stops writing, and the transaction is rolled back."""


class StagingWriter:
    """Runs ``stage(batches)`` on a thread; ``put`` hands it a batch, ``finish`` waits for
    it and raises what it raised. Once started it must be finished or abandoned."""

    def __init__(self, stage: Callable[[Iterable[Batch]], None]) -> None:
        self._queue: queue.Queue[Batch | _Marker] = queue.Queue(maxsize=DEPTH)
        self._error: BaseException | None = None
        self._waited = 0.0
        #: Seconds the writer spent writing (its time waiting for a batch left out).
        self.busy = 0.0
        self._thread = threading.Thread(target=self._run, args=(stage,),
                                        name="lead-import-writer", daemon=True)
        self._thread.start()

    def put(self, batch: Batch) -> None:
        self._offer(batch)

    def finish(self) -> None:
        """Every batch is given: wait for the writer and raise its error, if any."""
        self._offer(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """The caller failed: stop the writer (it rolls nothing back itself; the unit of
        work does) and wait for it, so that the connection is free again."""
        if self._thread.is_alive():
            self._offer(_ABANDON, quiet=True)
        self._thread.join()

    def _offer(self, item: Batch | _Marker, *, quiet: bool = False) -> None:
        while True:
            if self._error is not None and not quiet:
                self._thread.join()
                raise self._error
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    if quiet:
                        return
                    raise self._error or RuntimeError(
                        "the import's writer stopped before taking every batch") from None

    def _batches(self) -> Iterator[Batch]:
        while True:
            started = perf_counter()
            item = self._queue.get()
            self._waited += perf_counter() - started
            if isinstance(item, _Marker):
                if item is _DONE:
                    return
                raise ImportAbandoned
            yield item

    def _run(self, stage: Callable[[Iterable[Batch]], None]) -> None:
        started = perf_counter()
        try:
            stage(self._batches())
        except BaseException as error:  # handed to the caller's thread by finish()
            self._error = error
        finally:
            self.busy = perf_counter() - started - self._waited
