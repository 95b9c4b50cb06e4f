"""File storage behind the domain's FileStorage port: the local filesystem by default, and an
in-memory store for the in-memory setup."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

from lad_domain.shared.errors import NotFound

#: tenant/lead/attachment ids as hex: the only keys the domain makes. Checking the shape
#: here too means no key can ever climb out of the storage root.
_KEY = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}/[0-9a-f]{32}$")


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalFileStorage:
    """Files under ``root`` (settings.state_dir/attachments), one per key, written
    atomically (a temporary file renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_checked(key).split("/"))

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("the attachment's content is missing") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class InMemoryFileStorage:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, content: bytes) -> None:
        with self._lock:
            self.files[_checked(key)] = bytes(content)

    def get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self.files[_checked(key)]
            except KeyError:
                raise NotFound("the attachment's content is missing") from None

    def delete(self, key: str) -> None:
        with self._lock:
            self.files.pop(_checked(key), None)
