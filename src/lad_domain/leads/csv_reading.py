"""Reading an import's CSV file: decoded as it streams, within a size limit, header first and
then the rows in chunks; every problem of the file is one error naming ``file``."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO, Protocol

from lad_domain.shared.errors import ValidationFailed

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer  # the type typeshed gives RawIOBase.readinto


class CsvReader(Protocol):
    """What ``csv.reader`` returns (its class is not importable for annotations)."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...
    def __next__(self) -> list[str]: ...


class _LimitedReader(io.RawIOBase):
    """Counts the bytes read and refuses to read past the limit."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        with memoryview(buffer) as view, view.cast("B") as octets:
            data = self._source.read(len(octets))
            size = len(data)
            self.count += size
            if self.count > self._limit:
                raise ValidationFailed.single(
                    "file", f"is larger than the import limit of {self._limit:,} bytes")
            octets[:size] = data
        return size


class CsvRows:
    """The rows of a CSV file: its header, then chunks of rows; ``consumed`` counts the
    bytes read so far."""

    def __init__(self, source: BinaryIO, encoding: str, max_bytes: int) -> None:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ValidationFailed.single("encoding", f"{encoding!r} is not an encoding"
                                          ) from None
        self._counter = _LimitedReader(source, max_bytes)
        try:
            # utf-8-sig also reads files that start with a byte-order mark (Excel writes one).
            text = io.TextIOWrapper(io.BufferedReader(self._counter, 1 << 16),
                                    encoding="utf-8-sig" if codec == "utf-8" else codec,
                                    errors="strict", newline="")
        except LookupError:  # base64, rot13, ...: codecs, but not of bytes to text
            raise ValidationFailed.single("encoding", f"{encoding!r} is not a text encoding"
                                          ) from None
        self._encoding = encoding
        # strict: an unterminated quote is an error, not the rest of the file in one cell.
        self._reader: CsvReader = csv.reader(text, strict=True)

    @property
    def consumed(self) -> int:
        return self._counter.count

    def header(self) -> tuple[list[str], int]:
        """The first non-blank row, and its row number."""
        row_no = 0
        while True:
            chunk = self.chunk(1)
            if not chunk:
                raise ValidationFailed.single("file", "is empty: it has no header and no rows")
            row_no += 1
            if any(cell.strip() for cell in chunk[0]):
                return chunk[0], row_no

    def chunk(self, size: int) -> list[list[str]]:
        """The next ``size`` rows (fewer at the end of the file, none after it)."""
        reader = self._reader
        try:
            chunk = list(islice(reader, size))
        except UnicodeDecodeError:
            raise ValidationFailed.single(
                "file", f"is not valid {self._encoding} text (a bad byte after line "
                f"{reader.line_num}); save it as UTF-8 or give its encoding") from None
        except csv.Error as error:
            raise ValidationFailed.single(
                "file", f"is not valid CSV at line {reader.line_num}: {error}") from None
        if not storable(chunk):
            raise ValidationFailed.single(
                "file", "decodes to text that is not valid Unicode (at or before line "
                f"{reader.line_num})")
        return chunk


def storable(chunk: list[list[str]]) -> bool:
    """Whether every cell is valid Unicode. Some codecs (utf-7, unicode_escape) decode to
    lone surrogates, which no text column can store: such rows are refused whole, as a byte
    their encoding cannot decode. (NUL is a rejected row: the row check names it.)"""
    try:
        "\x1f".join("\x1f".join(row) for row in chunk).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
