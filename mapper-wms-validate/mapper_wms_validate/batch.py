"""BATCH files: reading a manifest's files and writing the passed and quarantined records to new ones.

Why here and not the SDK's helpers as they are: the SDK reads a whole file into a list
(`Sink.process_batch_files`) and its JSONL batcher always gzips and re-encodes every record. The mapper
streams JSONL line by line (memory stays flat whatever the file size), writes a passed record's line back
byte for byte, as in record mode, and writes in the encoding of the file it read unless `batch_config`
says otherwise. Files are opened through universal-pathlib (fsspec), as the SDK opens them, so a manifest
entry may be any URL fsspec reads; the SDK's own batch types live in a private module
(`singer_sdk.helpers._batch`), so the mapper has its two-field `Encoding` instead.

Formats: JSONL (one record per line, `compression` gzip or none) and Parquet (needs pyarrow, the `parquet`
extra; read a file at a time, as the SDK does).
"""

from __future__ import annotations

import contextlib
import decimal
import gzip
import io
import typing as t
import uuid

import msgspec
from singer_sdk.contrib.msgspec import dec_hook
from singer_sdk.contrib.msgspec import encoder as sdk_encoder

from mapper_wms_validate.singer_io import excerpt

if t.TYPE_CHECKING:
    from upath import UPath

FORMATS = ("jsonl", "parquet")
COMPRESSIONS = ("gzip", "none")
# gzip level for the files the mapper writes: they are hand-overs to the target, speed beats size.
GZIP_LEVEL = 1
# Files are read a megabyte at a time (memory stays flat whatever a file's size).
READ_CHUNK_BYTES = 1 << 20

# How every JSONL line is decoded, into a dict or (the rule engine) into a stream's Struct: numbers with a
# fraction or exponent as exact Decimals, from their text.
BATCH_DECODER_HOOKS: dict[str, t.Any] = {"dec_hook": dec_hook, "float_hook": decimal.Decimal}
_decoder = msgspec.json.Decoder(**BATCH_DECODER_HOOKS)


class BatchFileError(ValueError):
    """A BATCH file is missing, unreadable or malformed; the message names it."""


class Encoding(t.NamedTuple):
    """A BATCH file's encoding, as a BATCH message's `encoding` names it."""

    format: str
    compression: str


def _path(url: str) -> UPath:
    """A file URL or path as a UPath. upath (and fsspec) are imported on first use: about 0.05 s of CPU
    at start-up that only BATCH messages need."""
    from upath import UPath

    return UPath(url)


def encoding_of(raw: t.Any, where: str) -> Encoding:
    """The encoding of a BATCH message or of the `batch_config` setting, checked."""
    if not isinstance(raw, dict):
        raise BatchFileError(f"{where}: 'encoding' must be an object, got {raw!r}")
    fmt = raw.get("format")
    compression = raw.get("compression") or "none"
    if fmt not in FORMATS:
        raise BatchFileError(
            f"{where}: unsupported BATCH format {fmt!r} (expected one of {', '.join(FORMATS)})"
        )
    if compression not in COMPRESSIONS:
        raise BatchFileError(
            f"{where}: unsupported BATCH compression {compression!r} "
            f"(expected one of {', '.join(COMPRESSIONS)})"
        )
    return Encoding(fmt, compression)


def file_suffix(encoding: Encoding) -> str:
    """`.jsonl.gz`, `.jsonl` or `.parquet` (Parquet compresses inside the file)."""
    if encoding.format == "parquet":
        return ".parquet"
    return ".jsonl.gz" if encoding.compression == "gzip" else ".jsonl"


def _pyarrow(url: str) -> t.Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:
        msg = (
            f"BATCH file {url!r} is Parquet, and reading or writing Parquet needs pyarrow, which is not "
            "installed: install the extra, `pip install 'mapper-wms-validate[parquet]'`"
        )
        raise BatchFileError(msg) from None
    return pa


@contextlib.contextmanager
def open_input(url: str) -> t.Iterator[t.IO[bytes]]:
    """Open one manifest entry for reading; a missing or unreadable file is a BatchFileError naming it."""
    # Not StorageTarget.open: it runs each open file in a transaction of fsspec's shared filesystem
    # object, which would also take in (and close) the output files opened meanwhile.
    try:
        with _path(url).open("rb") as raw:
            yield raw
    except FileNotFoundError:
        raise BatchFileError(f"BATCH file {url!r} does not exist") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, BatchFileError):
            raise
        raise BatchFileError(f"BATCH file {url!r} cannot be read: {exc}") from None


class Chunk:
    """Lines of a JSONL file as read: `lines`, each with its line end (the file's last line is given one
    if it had none), and the bytes read (`data`). The first line may have begun in the bytes read before:
    its first `carried` bytes are not in `data`. The bytes of the lines end at `end` in `data` (the rest is
    the start of the next chunk's first line)."""

    __slots__ = ("_at", "carried", "data", "end", "lines")

    def __init__(self, lines: list[bytes], data: bytes, end: int, carried: int) -> None:
        self.lines = lines
        self.data = data
        self.end = end
        self.carried = carried
        self._at = (0, 0)  # a line and where it starts in `data`, to count on from

    def _start(self, index: int) -> int:
        """Where line `index` (>= 1) starts in `data`. Lines are asked for in order, so their lengths are
        summed once per chunk, from the last line asked for (and only up to the last one asked for: the
        end of every line is `end`, known)."""
        if index == len(self.lines):
            return self.end
        at, offset = self._at
        if index < at:
            at, offset = 0, 0
        offset += sum(map(len, self.lines[at:index])) - (self.carried if at == 0 < index else 0)
        self._at = (index, offset)
        return offset

    def text(self, start: int, stop: int) -> list[bytes | memoryview]:
        """Lines `start` to `stop` (exclusive) as they were read, each with its line end: a view of the
        bytes read (no copy), after the carried line."""
        pieces: list[bytes | memoryview] = []
        if start == 0 and self.carried:
            pieces.append(self.lines[0])
            start = 1
        if start < stop:
            first = self._start(start) if start else 0
            pieces.append(memoryview(self.data)[first : self._start(stop)])
        return pieces


def jsonl_chunks(url: str, raw: t.IO[bytes], compression: str | None) -> t.Iterator[Chunk]:
    """The lines of a JSONL file (gunzipped if needed), a Chunk per megabyte read; a broken gzip stream
    names the file. Read in chunks and split in C: a readline per record costs more than its checks, and
    `BytesIO.readlines` finds line ends with memchr (`bytes.split` tests byte by byte, several times
    slower on lines of a kilobyte)."""
    source: t.IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if compression == "gzip" else raw
    rest = b""
    try:
        while data := source.read(READ_CHUNK_BYTES):
            lines = io.BytesIO(data).readlines()
            part = lines.pop() if lines[-1][-1:] != b"\n" else b""  # a line that goes on in the next bytes
            if not lines:
                rest += part
                continue
            carried = len(rest)
            if carried:  # the line the previous bytes ended in (only it is copied, not the bytes)
                lines[0] = rest + lines[0]
            rest = part
            yield Chunk(lines, data, len(data) - len(rest), carried)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BatchFileError(f"BATCH file {url!r} is not a valid gzip file: {exc}") from None
    if rest:  # the last line, without a line end
        yield Chunk([rest + b"\n"], b"", 0, len(rest) + 1)


decode_line = _decoder.decode  # raises msgspec.DecodeError; `decode_record` names the file and line


def decode_record(url: str, number: int, line: bytes) -> dict | None:
    """One JSONL line as a record, None for a blank line; anything but a JSON object names the file
    and line."""
    try:
        record = _decoder.decode(line)
    except msgspec.DecodeError as exc:
        if not line.strip():
            return None
        raise BatchFileError(
            f"BATCH file {url!r}, line {number}: not valid JSON ({exc}): {excerpt(line)}"
        ) from None
    if type(record) is not dict:
        raise BatchFileError(
            f"BATCH file {url!r}, line {number}: a record must be a JSON object: {excerpt(line)}"
        )
    return record


def parquet_table(url: str, raw: t.IO[bytes]) -> t.Any:
    """A Parquet file as an Arrow table (pyarrow required)."""
    _pyarrow(url)
    import pyarrow.parquet as pq

    try:
        return pq.read_table(raw)
    except Exception as exc:  # pyarrow raises its own error types for a broken file
        raise BatchFileError(f"BATCH file {url!r} is not a valid Parquet file: {exc}") from None


def remove(url: str) -> None:
    """Delete a consumed input file (a file already gone is not an error)."""
    path = _path(url)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class OutputFile:
    """One file the mapper writes for one stream, opened on the first record (no empty files)."""

    def __init__(self, root: UPath, filename: str, encoding: Encoding, stream: str) -> None:
        self.stream = stream
        self.root = root
        self.path = root / filename
        # written under a temporary name, renamed when complete: a reader never sees half a file
        self.part = root / (filename + ".part")
        self.encoding = encoding
        self.url = self.path.as_uri()
        self.count = 0
        # Parquet: the input file's Arrow schema for the passed records, so their column types stay as read
        self.arrow_schema: t.Any = None
        self._stack = contextlib.ExitStack()
        self._out: t.IO[bytes] | None = None
        self._rows: list[dict] = []

    def _open(self) -> t.IO[bytes]:
        self.root.mkdir(parents=True, exist_ok=True)
        raw = self._stack.enter_context(self.part.open("wb"))
        if self.encoding.format == "jsonl" and self.encoding.compression == "gzip":
            raw = self._stack.enter_context(
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            )
        self._out = raw
        return raw

    def write_line(self, line: bytes, record: dict) -> None:
        """Write a record read from a JSONL line (given with its line end): the line as is, or the
        record into a Parquet file."""
        self.count += 1
        if self.encoding.format == "parquet":
            self._rows.append(record)
            return
        (self._out or self._open()).write(line)

    def write_lines(self, chunk: Chunk, start: int, stop: int) -> None:
        """Write the records of lines `start` to `stop` (exclusive) of a chunk read (each a JSON object):
        the lines as they were read, or their records into a Parquet file."""
        self.count += stop - start
        if self.encoding.format == "parquet":
            self._rows += map(_decoder.decode, chunk.lines[start:stop])
            return
        out = self._out or self._open()
        for piece in chunk.text(start, stop):
            out.write(piece)

    def write_record(self, record: dict) -> None:
        """Write a record given as a dict (encoded like the mapper's RECORD messages)."""
        if self.encoding.format == "parquet":
            self.count += 1
            self._rows.append(record)
            return
        self.write_line(sdk_encoder.encode(record) + b"\n", record)

    def close(self) -> str | None:
        """Finish the file; its URL, or None when no record was written (no file then)."""
        if not self.count:
            self._stack.close()
            return None
        try:
            if self.encoding.format == "parquet":
                pa = _pyarrow(self.url)
                import pyarrow.parquet as pq

                table = pa.Table.from_pylist(self._rows, schema=self.arrow_schema)
                compression = "gzip" if self.encoding.compression == "gzip" else "none"
                pq.write_table(table, self._open(), compression=compression)
                self._rows = []
        finally:
            self._stack.close()
        self.part.rename(self.path)
        return self.url

    def discard(self) -> None:
        """Abandon the file (the run is stopping): close it and remove whatever was written."""
        with contextlib.suppress(Exception):
            self._stack.close()
        for path in (self.part, self.path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class OutputFiles:
    """Where and how the mapper writes its BATCH files: `batch_config`, or the input file's place and
    encoding for whatever `batch_config` leaves out."""

    def __init__(self, setting: t.Any) -> None:
        setting = setting or {}
        encoding = setting.get("encoding") or {}
        self.encoding = encoding_of(encoding, "batch_config.encoding") if encoding.get("format") else None
        self.compression = encoding.get("compression")
        storage = setting.get("storage") or {}
        self.root = storage.get("root")
        self.prefix = storage.get("prefix") or ""
        self.run_id = uuid.uuid4().hex
        self.number = 0

    def open(self, input_url: str, input_encoding: Encoding, stream: str) -> OutputFile:
        """A new output file for `stream`, beside `input_url` unless a storage root is configured."""
        encoding = self.encoding or Encoding(
            input_encoding.format, self.compression or input_encoding.compression
        )
        root = _path(self.root).resolve() if self.root else _path(input_url).parent.resolve()
        self.number += 1
        name = f"mapper-wms-validate--{stream}-{self.run_id}-{self.number:05d}{file_suffix(encoding)}"
        filename = self.prefix + name
        return OutputFile(root, filename, encoding, stream)
