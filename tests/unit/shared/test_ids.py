"""UUIDv7 ids: version and variant, creation order, one by one and in bulk."""

from __future__ import annotations

import threading
import uuid

from hypothesis import given
from hypothesis import strategies as st

from lad_domain.shared.ids import Uuid7Generator


def test_an_id_is_a_version_7_rfc_9562_uuid() -> None:
    made = Uuid7Generator().new_id()
    assert made.version == 7
    assert made.variant == uuid.RFC_4122


@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=6))
def test_ids_one_by_one_and_in_bulk_keep_creation_order(counts: list[int]) -> None:
    ids = Uuid7Generator()
    made: list[uuid.UUID] = []
    for count in counts:
        made.append(ids.new_id())
        bulk = ids.new_hex_ids(count)
        assert len(bulk) == count
        made.extend(uuid.UUID(hex=value) for value in bulk)
    assert all(len(value.hex) == 32 and value.version == 7 and value.variant == uuid.RFC_4122
               for value in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_bulk_of_more_than_one_millisecond_of_counter_moves_on_in_order() -> None:
    made = [uuid.UUID(hex=value) for value in Uuid7Generator().new_hex_ids(3 * 4096 + 7)]
    assert made == sorted(made)
    assert len({value.int >> 80 for value in made}) >= 3


def test_threads_sharing_a_generator_never_make_the_same_id() -> None:
    ids = Uuid7Generator()
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def make(into: list[uuid.UUID]) -> None:
        for _ in range(500):
            into.append(ids.new_id())
            into.extend(uuid.UUID(hex=value) for value in ids.new_hex_ids(3))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [value for into in made for value in into]
    assert len(set(everything)) == len(everything)
    assert all(into == sorted(into) for into in made)
