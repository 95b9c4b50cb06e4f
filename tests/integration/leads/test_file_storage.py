"""The file storage port: the local filesystem adapter and the in-memory one, one contract."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lad_adapters.storage import InMemoryFileStorage, LocalFileStorage
from lad_domain.leads.ports import FileStorage
from lad_domain.shared.errors import NotFound

KEY = "/".join(uuid.uuid4().hex for _ in range(3))


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> FileStorage:
    return LocalFileStorage(tmp_path / "files") if request.param == "local" else (
        InMemoryFileStorage())


def test_bytes_round_trip_and_are_deleted(storage: FileStorage) -> None:
    storage.put(KEY, b"hello")
    assert storage.get(KEY) == b"hello"
    storage.delete(KEY)
    with pytest.raises(NotFound):
        storage.get(KEY)


# Ids that do not change from one collection to the next (KEY is new each time): xdist
# workers must collect the same tests.
@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b/c", f"{KEY}/..", f"/{KEY}"],
                         ids=["../../etc/passwd", "a/b/c", "KEY/..", "/KEY"])
def test_a_key_not_made_of_ids_is_refused(storage: FileStorage, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        storage.put(key, b"x")


def test_local_files_live_under_the_root(tmp_path: Path) -> None:
    LocalFileStorage(tmp_path / "files").put(KEY, b"x")
    assert (tmp_path / "files" / Path(*KEY.split("/"))).read_bytes() == b"x"
    assert not list((tmp_path / "files").rglob(".upload-*"))
