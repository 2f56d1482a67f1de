"""BATCH mode: records go to files (JSONL, gzip or plain, or Parquet), one standard BATCH message per file.

The SDK drives it (`Stream._sync_batches`): for each manifest `get_batches` yields, it writes
`{"type": "BATCH", "stream": ..., "encoding": {"format": ..., "compression": ...}, "manifest": [uri]}`
and then a STATE message. Records come a page at a time (`EntityStream.shaped_pages`) and the bookmark
moves with the records written into a file, before its manifest is yielded; a file is closed (made visible
under its final name) before its manifest is yielded; so every STATE covers exactly the records of the
files announced before it, and a sync killed between two files resumes after the last announced one.

What this module adds to the SDK's batchers: JSONL written by the same msgspec encoder as the RECORD
messages (decimals as exact JSON numbers, the same text for every value), the `compression` setting
honoured for JSONL (the SDK's JSONL batcher always gzips), Parquet columns typed from the stream's
schema rather than guessed per file, records streamed into the open file a page at a time rather than
held in memory, and defaults for every part of `batch_config` (a local storage root unless one is given).
"""

from __future__ import annotations

import decimal
import gzip
import typing as t
import uuid

from singer_sdk.contrib.msgspec import encoder as record_encoder

# The SDK exports its batch configuration classes from no public module.
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, StorageTarget

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_oracle_wms.shaping import ContractRecord

# Defaults of the `batch_config` setting's parts.
DEFAULT_FORMAT = "jsonl"
DEFAULT_COMPRESSION = "gzip"
DEFAULT_STORAGE_ROOT = "output/batches"
DEFAULT_BATCH_SIZE = 10_000
FORMATS = ("jsonl", "parquet")
COMPRESSIONS = ("gzip", "none")
# gzip level: the files are transient hand-overs, so speed beats the last few percent of size.
GZIP_LEVEL = 1
# Encoded JSONL lines are gathered into writes of about this many bytes.
WRITE_CHUNK_BYTES = 1 << 20


def batch_config_from_settings(config: t.Mapping[str, t.Any]) -> BatchConfig | None:
    """The run's BatchConfig (None in record mode): `batch_config` with every missing part defaulted."""
    raw = config.get("batch_config")
    if raw is None:
        return None
    encoding = dict(raw.get("encoding") or {})
    storage = dict(raw.get("storage") or {})
    return BatchConfig(
        encoding=BaseBatchFileEncoding(
            format=encoding.get("format") or DEFAULT_FORMAT,
            compression=encoding.get("compression") or DEFAULT_COMPRESSION,
        ),
        storage=StorageTarget(
            root=storage.get("root") or DEFAULT_STORAGE_ROOT,
            prefix=storage.get("prefix"),
            params=dict(storage.get("params") or {}),
        ),
        batch_size=int(raw.get("batch_size") or DEFAULT_BATCH_SIZE),
    )


def validate_batch_settings(config: t.Mapping[str, t.Any]) -> list[str]:
    """Problems with `batch_config`, each naming the part (JSON Schema checks the types, and
    `settings.object_setting_errors` that it and its parts are objects)."""
    raw = config.get("batch_config")
    if not raw or not isinstance(raw, dict):
        return []  # a value that is not an object: see settings.object_setting_errors
    errors = []
    encoding = raw.get("encoding") if isinstance(raw.get("encoding"), dict) else {}
    if encoding.get("format") not in (None, *FORMATS):
        errors.append(f"Setting 'batch_config.encoding.format' must be one of {', '.join(FORMATS)}")
    if encoding.get("compression") not in (None, *COMPRESSIONS):
        errors.append(f"Setting 'batch_config.encoding.compression' must be one of {', '.join(COMPRESSIONS)}")
    size = raw.get("batch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        errors.append(f"Setting 'batch_config.batch_size' must be a whole number of 1 or more, got {size!r}")
    return errors


def file_suffix(encoding: BaseBatchFileEncoding) -> str:
    """`.jsonl.gz`, `.jsonl` or `.parquet` (Parquet compresses inside the file)."""
    if encoding.format == "parquet":
        return ".parquet"
    return ".jsonl.gz" if encoding.compression == "gzip" else ".jsonl"


class _JsonlFile:
    """One JSONL batch file being written: records encoded like RECORD messages, one per line."""

    def __init__(self, raw: t.IO[bytes], compression: str | None, schema: dict) -> None:
        self._raw = raw
        self._out: t.IO[bytes] = (
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            if compression == "gzip"
            else raw
        )
        self._pending = bytearray()

    def write(self, records: list[ContractRecord]) -> None:
        # The encoder of the tap's RECORD messages: the same text for every value, one line per record.
        self._pending += record_encoder.encode_lines(records)
        if len(self._pending) >= WRITE_CHUNK_BYTES:
            self._out.write(self._pending)
            self._pending.clear()

    def close(self) -> None:
        self._out.write(self._pending)
        self._pending.clear()
        if self._out is not self._raw:
            self._out.close()


def arrow_fields(schema: dict) -> t.Any:
    """Parquet columns from the stream's JSON Schema: integer -> int64, number -> decimal128 (exact; its
    scale is the largest of the file's values), boolean -> bool, anything else -> string (date-times stay
    the contract's UTC text)."""
    import pyarrow as pa

    fields = []
    for name, prop in schema["properties"].items():
        types = prop.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "integer" in types:
            kind = pa.int64()
        elif "number" in types:
            kind = None  # decided per file from the values
        elif "boolean" in types:
            kind = pa.bool_()
        else:
            kind = pa.string()
        fields.append((name, kind))
    return fields


def _decimal_type(values: list[t.Any]) -> t.Any:
    """The narrowest decimal128 that holds every value of a column exactly."""
    import pyarrow as pa

    scale, integer_digits = 0, 1
    for value in values:
        if value is None:
            continue
        _, digits, exponent = (
            value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
        ).as_tuple()
        exponent = int(exponent)
        scale = max(scale, -exponent)
        integer_digits = max(integer_digits, len(digits) + exponent)
    if integer_digits + scale > 38:
        raise ValueError(f"a decimal needs {integer_digits + scale} digits; Parquet decimals hold 38")
    return pa.decimal128(integer_digits + scale, scale)


class _ParquetFile:
    """One Parquet batch file: the records gathered by column, written as one table on close."""

    def __init__(self, raw: t.IO[bytes], compression: str | None, schema: dict) -> None:
        self._raw = raw
        self._compression = "gzip" if compression == "gzip" else "none"
        self._fields = arrow_fields(schema)
        self._columns: dict[str, list[t.Any]] = {name: [] for name, _ in self._fields}

    def write(self, records: list[ContractRecord]) -> None:
        for name, column in self._columns.items():
            column.extend([record.get(name) for record in records])

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays, names = [], []
        for name, kind in self._fields:
            values = self._columns[name]
            arrays.append(pa.array(values, type=kind or _decimal_type(values)))
            names.append(name)
        table = pa.Table.from_arrays(arrays, names=names)
        pq.write_table(table, self._raw, compression=self._compression)
        self._columns = {name: [] for name, _ in self._fields}


def write_batches(
    pages: Iterator[list[ContractRecord]],
    batch_config: BatchConfig,
    *,
    tap_name: str,
    stream_name: str,
    schema: dict,
    taken: t.Callable[[list[ContractRecord]], None],
) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
    """Stream the records of `pages` (lists of records) into files of at most `batch_size` records; yield
    (encoding, [uri]) per file.

    A page that does not fit in the open file is split: its head fills the file, its rest starts the next.
    `taken` gets each run of records once it is in a file, and a page is pulled only while the open file
    has room; so when the caller's bookmark moves in `taken`, every manifest yielded covers exactly the
    records the bookmark has passed.

    A file's manifest is yielded only once the file is complete and closed: the storage layer writes it
    under a temporary name and moves it into place when it closes.
    """
    encoding = batch_config.encoding
    storage = batch_config.storage
    writer_type = _ParquetFile if encoding.format == "parquet" else _JsonlFile
    if encoding.format not in FORMATS:
        raise ValueError(f"Unsupported batch encoding format: {encoding.format!r}")
    run_id = f"{tap_name}--{stream_name}-{uuid.uuid4().hex}"
    prefix = storage.prefix or ""
    suffix = file_suffix(encoding)
    size = batch_config.batch_size
    iterator = filter(None, pages)  # empty pages skipped
    rest = next(iterator, None)
    number = 0
    while rest:
        number += 1
        filename = f"{prefix}{run_id}-{number:05d}{suffix}"
        with storage.open(filename, "wb") as raw:
            out = writer_type(raw, encoding.compression, schema)
            room = size
            while rest:
                part, rest = (rest, []) if len(rest) <= room else (rest[:room], rest[room:])
                out.write(part)
                taken(part)
                room -= len(part)
                # Never pull a page once the file is full: the records of a page pulled may move the bookmark.
                if not rest and room:
                    rest = next(iterator, None)
                if not room:
                    break
            out.close()
        yield encoding, [storage.get_url(filename)]
        if not rest:
            rest = next(iterator, None)
