"""Reading an import's CSV file: decoded as it streams, within a size limit, header first and
then the rows in chunks; every problem of the file is one error naming ``file``."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

import attrs

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
    bytes read so far. Without an ``encoding`` the file's is detected (``detect_encoding``);
    ``encoding`` then says which was used."""

    def __init__(self, source: BinaryIO, encoding: str | None, max_bytes: int) -> None:
        if encoding is None:
            source, detected = detect_encoding(source, max_bytes)
            codec, self.encoding = detected.codec, detected.name
        else:
            codec = _named_codec(encoding)
            self.encoding = codec
            # utf-8-sig also reads files that start with a byte-order mark (Excel writes one).
            codec = "utf-8-sig" if codec == "utf-8" else codec
        self._counter = _LimitedReader(source, max_bytes)
        try:
            text = io.TextIOWrapper(io.BufferedReader(self._counter, 1 << 16),
                                    encoding=codec, errors="strict", newline="")
        except LookupError:  # base64, rot13, ...: codecs, but not of bytes to text
            raise ValidationFailed.single("encoding", f"{encoding!r} is not a text encoding"
                                          ) from None
        self._codec = codec
        self._source = source
        self._text = text
        self._reader: CsvReader | None = None
        #: The delimiter of the header line (known once the header is read).
        self.delimiter = ","

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

    def _rows(self) -> CsvReader:
        """The CSV reader, made on the first read: its delimiter is the header line's."""
        if self._reader is None:
            try:
                first = self._text.readline()
            except UnicodeDecodeError:
                raise self._undecodable(0) from None
            self.delimiter = delimiter_of(first)
            # strict: an unterminated quote is an error, not the rest of the file in one cell.
            self._reader = csv.reader(chain([first], self._text), strict=True,
                                      delimiter=self.delimiter)
        return self._reader

    def chunk(self, size: int) -> list[list[str]]:
        """The next ``size`` rows (fewer at the end of the file, none after it)."""
        reader = self._rows()
        try:
            chunk = list(islice(reader, size))
        except UnicodeDecodeError:
            raise self._undecodable(reader.line_num) from None
        except csv.Error as error:
            raise ValidationFailed.single(
                "file", f"is not valid CSV at line {reader.line_num}: {error}") from None
        if not storable(chunk):
            raise ValidationFailed.single(
                "file", "decodes to text that is not valid Unicode (at or before line "
                f"{reader.line_num})")
        return chunk


    def _undecodable(self, read: int) -> ValidationFailed:
        """The error for a byte the encoding cannot decode, naming its line: text is decoded
        in blocks ahead of the rows, so the line is found by reading the file again from its
        start, line by line (when it can be; else: somewhere after the last row read)."""
        where = f"after line {read}"
        line = self._bad_line()
        if line is not None:
            where = f"at line {line}"
        return ValidationFailed.single(
            "file", f"is not valid {self.encoding} text (a bad byte {where}); save it as "
            "UTF-8 or give its encoding")

    def _bad_line(self) -> int | None:
        source = self._source
        try:
            if not source.seekable():
                return None
            source.seek(0)
        except (OSError, ValueError):
            return None
        decoder = codecs.getincrementaldecoder(self._codec)("strict")
        line, scanned = 1, 0
        # In pieces of at most 1 MiB (a line may be longer), no further than was read.
        while scanned <= self._counter.count:
            piece = source.readline(1 << 20)
            if not piece:
                return None
            scanned += len(piece)
            try:
                decoder.decode(piece)
            except UnicodeDecodeError:
                return line
            line += piece.endswith(b"\n")
        return None


def _named_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValidationFailed.single("encoding", f"{encoding!r} is not an encoding"
                                      ) from None


@attrs.frozen
class DetectedEncoding:
    #: What the report says: utf-8, utf-16-le, utf-16-be or cp1252.
    name: str
    #: What decodes the file (its byte-order mark consumed).
    codec: str


#: Byte-order marks, longest first: they decide.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, DetectedEncoding("utf-8", "utf-8-sig")),
                    (codecs.BOM_UTF16_LE, DetectedEncoding("utf-16-le", "utf-16")),
                    (codecs.BOM_UTF16_BE, DetectedEncoding("utf-16-be", "utf-16")))
UTF8 = DetectedEncoding("utf-8", "utf-8-sig")
#: What Excel writes in Western Europe (a "CSV" saved on Windows): every byte but five
#: decodes, so a file that is not UTF-8 is most likely this.
CP1252 = DetectedEncoding("cp1252", "cp1252")
#: A stream that cannot be read twice is judged on its beginning.
SNIFFED_BYTES = 1 << 20
_SCAN_BYTES = 1 << 20


def detect_encoding(source: BinaryIO, max_bytes: int) -> tuple[BinaryIO, DetectedEncoding]:
    """The encoding of a file given none: its byte-order mark (UTF-8, UTF-16 LE or BE)
    decides; else UTF-8 when all of it decodes as UTF-8 (up to ``max_bytes``; a stream that
    cannot be re-read: its first SNIFFED_BYTES); else cp1252. Returns the source to read the
    file from (from its start)."""
    seekable = _seekable(source)
    start = source.tell() if seekable else 0
    head = _read_up_to(source, SNIFFED_BYTES if not seekable else len(codecs.BOM_UTF8))
    if not seekable:
        source = cast("BinaryIO", _Replayed(head, source))
    for mark, detected in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            if seekable:
                source.seek(start)
            return source, detected
    if not seekable:
        whole = len(head) < SNIFFED_BYTES
        return source, UTF8 if _decodes_as_utf8([head], final=whole) else CP1252
    source.seek(start)
    pieces = iter(lambda: source.read(_SCAN_BYTES), b"")
    # Past the limit the import is refused anyway: no need to look further.
    within = islice(pieces, max_bytes // _SCAN_BYTES + 1)
    utf8 = _decodes_as_utf8(within, final=True)
    source.seek(start)
    return source, UTF8 if utf8 else CP1252


def _read_up_to(source: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream (a pipe may give less a read)."""
    head = b""
    while len(head) < size:
        piece = source.read(size - len(head))
        if not piece:
            break
        head += piece
    return head


def _seekable(source: BinaryIO) -> bool:
    try:
        return source.seekable()
    except (OSError, ValueError):
        return False


def _decodes_as_utf8(pieces: Iterable[bytes], *, final: bool) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for piece in pieces:
            if not piece.isascii():
                decoder.decode(piece)
        decoder.decode(b"", final=final)
    except UnicodeDecodeError:
        return False
    return True


class _Replayed(io.RawIOBase):
    """A stream that cannot seek, its beginning (already read to detect the encoding)
    given back first."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        with memoryview(buffer) as view, view.cast("B") as octets:
            if self._head:
                size = min(len(octets), len(self._head))
                octets[:size] = self._head[:size]
                self._head = self._head[size:]
                return size
            data = self._rest.read(len(octets))
            octets[:len(data)] = data
            return len(data)


#: What separates the cells of a file: comma, or what Excel writes where the comma is the
#: decimal mark (semicolon), or tab.
DELIMITERS = (",", ";", "\t")


def delimiter_of(header: str) -> str:
    """The delimiter a header line uses: the one of DELIMITERS it holds most often outside
    quotes (a comma when it holds none)."""
    outside = "".join(header.split('"')[::2])
    counts = [(outside.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def storable(chunk: list[list[str]]) -> bool:
    """Whether every cell is valid Unicode. Some codecs (utf-7, unicode_escape) decode to
    lone surrogates, which no text column can store: such rows are refused whole, as a byte
    their encoding cannot decode. (NUL is a rejected row: the row check names it.)"""
    try:
        "\x1f".join("\x1f".join(row) for row in chunk).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
