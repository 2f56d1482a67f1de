"""target-oracle: settings, their validation, and the SDK target class.

Settings fail at start with the bad setting's name; secret settings are marked ``secret`` so the SDK masks
them, and no message here ever includes a password or a URL with its password.
"""

from __future__ import annotations

import copy
import decimal
import io
import re
import sys
import time
import typing as t
from collections import Counter, defaultdict

import msgspec
import sqlalchemy as sa
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import (
    ConfigValidationError,
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.exceptions import InvalidInputLine, SingerReadError
from singer_sdk.sql import SQLTarget

from target_oracle.connector import DEFAULT_DUCKDB_LOCK_TIMEOUT, DEFAULT_DUCKDB_THREADS
from target_oracle.errors import StreamSetupError, TargetError
from target_oracle.naming import STAGING_SUFFIX
from target_oracle.sinks import APPEND_ONLY, OVERWRITE, UPSERT, OracleSink, decode_json

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "host",
        th.StringType,
        description="Oracle host name or IP address (with port and service_name or sid).",
    ),
    th.Property("port", th.IntegerType, default=1521, description="Oracle listener port."),
    th.Property("service_name", th.StringType, description="Oracle service name (alternative to sid)."),
    th.Property("sid", th.StringType, description="Oracle SID (alternative to service_name)."),
    th.Property(
        "dsn",
        th.StringType,
        description="Full connect descriptor, Easy Connect string or TNS alias; "
        "replaces host/port/service_name/sid.",
    ),
    th.Property("username", th.StringType, description="Database user."),
    th.Property("password", th.StringType, secret=True, description="Database user's password."),
    th.Property(
        "protocol",
        th.StringType,
        default="tcp",
        allowed_values=["tcp", "tcps"],
        description="`tcp`, or `tcps` for TLS (Autonomous Database, wallets).",
    ),
    th.Property(
        "wallet_location",
        th.StringType,
        description="Directory holding the wallet (ewallet.pem, tnsnames.ora).",
    ),
    th.Property(
        "wallet_password", th.StringType, secret=True, description="Password of the wallet's PEM file."
    ),
    th.Property(
        "ssl_server_dn_match",
        th.BooleanType,
        description="Check the server certificate's distinguished name (python-oracledb default when unset).",
    ),
    th.Property(
        "sqlalchemy_url",
        th.StringType,
        secret=True,
        description=(
            "SQLAlchemy URL overriding the connection settings above: `oracle+oracledb://...`, or "
            "`duckdb:///path/file.duckdb` to load an embedded DuckDB file (local use, tests)."
        ),
    ),
    th.Property(
        "default_target_schema",
        th.StringType,
        description="Schema (Oracle user) receiving the tables, e.g. `OIC`; upper-cased. "
        "Default: the login user's.",
    ),
    th.Property(
        "table_prefix",
        th.StringType,
        default="",
        description="Prefix of every table name, e.g. `WMS_` (stream `allocation` -> `WMS_ALLOCATION`).",
    ),
    th.Property(
        "load_method",
        th.StringType,
        default=UPSERT,
        allowed_values=[UPSERT, APPEND_ONLY, OVERWRITE],
        description=(
            "`upsert` (MERGE on the key properties; streams without keys append), `append-only` (insert "
            "every record), or `overwrite` (empty the table in the run's first batch, then load)."
        ),
    ),
    th.Property(
        "batch_size_rows",
        th.IntegerType,
        default=100000,
        description=(
            "Rows per batch (one transaction, one MERGE); the files of consecutive BATCH messages are "
            "gathered up to it and loaded as one batch."
        ),
    ),
    th.Property(
        "add_record_metadata",
        th.BooleanType,
        default=True,
        description="Add the `_SDC_*` metadata columns "
        "(extracted/batched/received/deleted at, sequence, table version).",
    ),
    th.Property(
        "hard_delete",
        th.BooleanType,
        default=False,
        description="On ACTIVATE_VERSION delete rows of older versions instead of setting `_SDC_DELETED_AT`.",
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=True,
        description="Validate each record against its stream's JSON schema before loading.",
    ),
    th.Property(
        "duckdb_memory_limit",
        th.StringType,
        default="auto",
        description=(
            "DuckDB only: memory limit of the embedded database, e.g. `1GB`. Default `auto`: 256MB plus 32 "
            "bytes per row already in the database (room for the primary-key indexes, which must fit in "
            "memory), set when a stream starts; the peak then does not grow with the rows loaded. DuckDB's "
            "own default (80% of RAM) keeps every block it wrote cached."
        ),
    ),
    th.Property(
        "duckdb_threads",
        th.IntegerType,
        default=DEFAULT_DUCKDB_THREADS,
        description=(
            "Threads of DuckDB (the embedded database, and the reader of batch files for Oracle). Default 1: "
            "a batch's read is one pass, and more threads cost more CPU seconds for the same work while the "
            "tap and the mapper of a pipeline need the cores. 0: DuckDB's default (one per core)."
        ),
    ),
    th.Property(
        "duckdb_lock_timeout_seconds",
        th.IntegerType,
        default=DEFAULT_DUCKDB_LOCK_TIMEOUT,
        description=(
            "DuckDB file only: seconds to wait while another process holds the file (a DuckDB file takes one "
            "writing process: another job loading it, a dbt run) before failing. 0: fail at once."
        ),
    ),
    th.Property(
        "quarantine_stream_suffix",
        th.StringType,
        default="_rejected",
        description=(
            "Suffix of the quarantine streams (mapper-wms-validate's setting of the same name): a record of "
            "`<stream><suffix>` carrying `<stream>`'s key properties marks that key's row of `<stream>`'s "
            "table superseded (`_SDC_SUPERSEDED_AT`), until a valid newer version loads. Empty: no marks."
        ),
    ),
    th.Property(
        "keep_batch_files",
        th.BooleanType,
        default=False,
        description="Keep the files of BATCH messages after their batch is committed (default: remove them).",
    ),
).to_dict()


#: settings whose values are never shown, not even in a message about their type.
SECRET_SETTINGS = ("password", "wallet_password", "sqlalchemy_url")
#: ``duckdb_memory_limit``: ``auto`` or a size DuckDB accepts (``512MB``, ``1.5GiB``).
_MEMORY_LIMIT = re.compile(r"auto|\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)


def secret_type_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """Messages for secret settings of the wrong type, without their value (the SDK's schema messages
    quote the value: ``['hunter2'] is not of type 'string'``)."""
    return [
        f"Setting '{name}' must be a string (its value is not shown: it is secret)"
        for name in SECRET_SETTINGS
        if config.get(name) is not None and not isinstance(config[name], str)
    ]


def validate_settings(config: t.Mapping[str, t.Any]) -> list[str]:
    """Return one message per bad setting (each names the setting; none includes a secret)."""
    errors = _load_setting_errors(config)
    url = config.get("sqlalchemy_url")
    if url:
        try:
            backend = sa.make_url(url).get_backend_name()
        except Exception:
            return [*errors, "Setting 'sqlalchemy_url' is not a valid SQLAlchemy URL"]
        if backend not in {"oracle", "duckdb"}:
            errors.append(f"Setting 'sqlalchemy_url' must use oracle+oracledb or duckdb, not '{backend}'")
        return errors
    if config.get("service_name") and config.get("sid"):
        errors.append("Settings 'service_name' and 'sid' are exclusive: set one")
    if not config.get("dsn"):
        if not config.get("host"):
            errors.append("Setting 'host' is required (or set 'dsn' or 'sqlalchemy_url')")
        if not (config.get("service_name") or config.get("sid")):
            errors.append("Setting 'service_name' or 'sid' is required with 'host'")
    elif config.get("host"):
        errors.append("Settings 'dsn' and 'host' are exclusive: 'dsn' carries host and service")
    if not config.get("username"):
        errors.append("Setting 'username' is required")
    if not config.get("password") and not config.get("wallet_location"):
        errors.append("Setting 'password' is required")
    port = config.get("port")
    if port is not None and not 0 < int(port) < 65536:
        errors.append(f"Setting 'port' must be between 1 and 65535, not {port}")
    if config.get("wallet_password") and not config.get("wallet_location"):
        errors.append("Setting 'wallet_password' needs 'wallet_location'")
    return errors


def _shown(value: t.Any) -> str:
    """A message's value as JSON text, cut for an error message."""
    return msgspec.json.encode(value, enc_hook=str).decode()[:100]


def _load_setting_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """The settings of the load itself (checked whatever the database)."""
    errors: list[str] = []
    batch = config.get("batch_size_rows")
    if batch is not None and int(batch) < 1:
        errors.append(f"Setting 'batch_size_rows' must be at least 1, not {batch}")
    threads = config.get("duckdb_threads")
    if threads is not None and int(threads) < 0:
        errors.append(f"Setting 'duckdb_threads' must be 0 (DuckDB's default) or more, not {threads}")
    lock_timeout = config.get("duckdb_lock_timeout_seconds")
    if lock_timeout is not None and not 0 <= int(lock_timeout) <= 86400:
        errors.append(f"Setting 'duckdb_lock_timeout_seconds' must be 0..86400, not {lock_timeout}")
    limit = config.get("duckdb_memory_limit")
    if limit is not None and not _MEMORY_LIMIT.fullmatch(str(limit).strip()):
        errors.append(
            f"Setting 'duckdb_memory_limit' must be 'auto' or a size such as '1GB' or '512MB', not {limit!r}"
        )
    return errors


#: The start of a RECORD line as taps write it: type first, then the stream name (no escapes in it).
_RECORD_LINE = re.compile(rb'\{\s*"type"\s*:\s*"RECORD"\s*,\s*"stream"\s*:\s*"([^"\\]*)"\s*,')


class FastReader(MsgSpecReader):
    """msgspec decoding, and RECORD lines of a known stream handed over undecoded.

    The input is read in chunks of up to ``CHUNK`` bytes (at most one read of the pipe each, so a STATE is
    not held back waiting for more input). Consecutive lines starting with the compact RECORD prefix of the
    stream last taken (``{"type":"RECORD","stream":"<name>",``) are handed over together (``take_run``:
    one write for all of them); every other line goes through ``_line`` one at a time, in order: a RECORD
    line of a known stream is handed over alone (``take_record``), anything else is decoded and dispatched
    as the SDK does. So every message is handled after the records before it, as with a line-by-line read.
    """

    #: bytes read at a time: a pipe's usual capacity (reader-only, 1M lines: 64 KB chunks cost 2.2 s CPU, 1 MB
    #: ones 3.1 s, the larger buffers missing the CPU caches and being mapped and unmapped each time)
    CHUNK = 1 << 16
    #: set by the target: (stream name as bytes, raw line) -> True when the line was taken.
    take_record: t.Callable[[bytes, bytes], bool] | None = None
    #: set by the target: (stream name as bytes, lines each ending in a newline, their count, bytes to
    #: scan for what must be read in Python) -> True when all the lines were taken, False when none was.
    take_run: t.Callable[[bytes, t.Any, int, bytes], bool] | None = None

    @property
    def default_input(self) -> t.IO:
        return sys.stdin.buffer

    def deserialize_json(self, line: bytes) -> dict:  # type: ignore[override]
        """One message decoded as the SDK's msgspec reader does; a line that is not JSON fails naming it
        (the SDK's reader also logs a traceback for it, which a tap's broken line does not need)."""
        try:
            return decode_json(line)
        except msgspec.DecodeError as exc:
            shown = line[:200].decode("utf-8", "replace").rstrip("\n")
            msg = f"Unable to parse line as JSON ({exc}): {shown}"
            raise InvalidInputLine(msg) from None

    def process_lines(
        self, file_input: t.IO | None, callbacks: dict[str, t.Callable[[dict], None]]
    ) -> Counter:
        self._stats: dict[str, int] = defaultdict(int)
        self._callbacks = callbacks
        self._records = 0
        #: (stream name, its compact RECORD prefix) of the stream last taken
        self._run_stream: tuple[bytes, bytes] | None = None
        source = file_input or self.default_input
        text = isinstance(source, io.TextIOBase)
        read = source.read if text or not hasattr(source, "read1") else source.read1
        rest = b""
        while chunk := read(self.CHUNK):
            if text:
                chunk = chunk.encode()
            buf = rest + chunk if rest else chunk
            end = buf.rfind(b"\n") + 1
            if end == 0:
                rest = buf
                continue
            rest = buf[end:]
            self._lines(buf, end)
        if rest:
            self._line(rest)
        self._stats["RECORD"] += self._records
        return Counter(**self._stats)

    def _lines(self, buf: bytes, end: int) -> None:
        """The complete lines ``buf[:end]`` (``end``: just after a newline)."""
        run = self._run_stream
        if run is not None and self.take_run is not None:
            stream, prefix = run
            count = buf.count(b"\n", 0, end)
            if (
                buf.startswith(prefix)
                and buf.count(b"\n" + prefix, 0, end) == count - 1
                and self.take_run(stream, memoryview(buf)[:end], count, buf)
            ):
                self._records += count
                return
        lines = buf[:end].split(b"\n")
        lines.pop()  # after the last newline
        taken: list[bytes] = []
        for line in lines:
            if run is not None and line.startswith(run[1]):
                taken.append(line)
                continue
            if taken:
                self._take_lines(run[0], taken)  # type: ignore[index]
                taken = []
            self._line(line + b"\n")
            run = self._run_stream
        if taken:
            self._take_lines(run[0], taken)  # type: ignore[index]

    def _take_lines(self, stream: bytes, lines: list[bytes]) -> None:
        """Consecutive RECORD lines of ``stream`` (without their newlines): together, else one by one."""
        data = b"\n".join(lines) + b"\n"
        if self.take_run is not None and self.take_run(stream, data, len(lines), data):
            self._records += len(lines)
            return
        for line in lines:
            self._line(line + b"\n")

    def _line(self, line: bytes) -> None:
        """One line (with its newline, but for a last line without one) handled on its own."""
        take = self.take_record
        if take is not None and (found := _RECORD_LINE.match(line)) is not None:
            stream = found.group(1)
            if take(stream, line):
                self._records += 1
                self._run_stream = (stream, b'{"type":"RECORD","stream":"' + stream + b'",')
                return
        # what the SDK reader's own line loop does (``_current_message`` for its error messages): its loop
        # has no public hook for a line, so it is written out here
        self._current_message = line
        line_dict = self.deserialize_json(line)
        self.assert_line_requires(line_dict, requires={"type"})
        record_type = line_dict["type"]
        if callback := self._callbacks.get(record_type):
            callback(line_dict)
        else:
            msg = (
                f"Unknown Singer message type {record_type!r} (stream {line_dict.get('stream')!r}); "
                f"the target reads {', '.join(sorted(self._callbacks))}"
            )
            raise InvalidInputLine(msg)
        self._stats[record_type] += 1


class TargetOracle(SQLTarget):
    """Singer target that bulk-upserts into Oracle or an embedded DuckDB file."""

    name = "target-oracle"
    default_sink_class = OracleSink
    config_jsonschema = copy.deepcopy(CONFIG_SCHEMA)  # the SDK adds its standard settings to it
    message_reader_class = FastReader

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        #: the STATE last written (a STATE is written once, when every record before it is committed)
        self._written_state: dict | None = None
        #: set while ``batch_committed`` drains the other sinks (their own commits do not recurse)
        self._draining_others = False
        #: "SCHEMA.TABLE" -> the stream loading into it (two streams must not share a table)
        self._table_streams: dict[str, str] = {}
        #: table -> rows inserted, updated, marked superseded, seconds loading (logged at the end)
        self._summary: dict[str, dict[str, t.Any]] = {}
        #: tables that ``load_method: overwrite`` has emptied in this run (in a committed batch)
        self.overwritten_tables: set[str] = set()
        #: stream -> the version of its last ACTIVATE_VERSION (``OracleSink.active_version``)
        self.active_versions: dict[str, int] = {}
        super().__init__(*args, **kwargs)
        # Sinks drain one after the other (the SDK's __init__ sets its default of 8 threads, so this follows
        # it): they share one database connection, and each commit may drain the others and write a STATE.
        self.max_parallelism = 1
        #: stream name (bytes) -> the sink taking its RECORD lines undecoded, or None (``_direct_sink``)
        self._direct: dict[bytes, OracleSink | None] = {}
        if isinstance(self.message_reader, FastReader):
            self.message_reader.take_record = self._spool_record
            self.message_reader.take_run = self._spool_run

    def _direct_sink(self, stream: bytes) -> OracleSink | None:
        """The sink taking the RECORD lines of ``stream`` undecoded: only a stream without stream maps or
        flattening (those need the SDK's per-record transform). Found once per stream and sink."""
        if stream in self._direct:
            return self._direct[stream]
        name = stream.decode()
        maps = self.mapper.stream_maps.get(name, [])
        direct = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == name
            and not maps[0].flattening_enabled
            and self.sink_exists(name)
        )
        sink = self.get_sink(name) if direct else None
        self._direct[stream] = sink if isinstance(sink, OracleSink) else None
        return self._direct[stream]

    # The SDK writes a STATE only in ``drain_all`` (every sink drained, at the end or after the records'
    # maximum age). It has no public hook for STATE handling, so ``_process_state_message`` and
    # ``_write_state_message`` are overridden to write a STATE as soon as every record before it is committed.
    def _process_state_message(self, message_dict: dict) -> None:
        """The SDK's handling; then, when no sink holds a record (every message before it is committed),
        the STATE is written at once."""
        super()._process_state_message(message_dict)
        if self._latest_state is not None and not self._pending_sinks():
            self._write_state_message(copy.deepcopy(self._latest_state))

    # The SDK validates the config against the settings schema in this private method, called from its
    # ``__init__``; there is no public hook to check settings beyond the schema, or to keep a secret's value
    # out of the schema's messages, so it is extended here.
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Secrets of the wrong type (without their value), then the SDK's schema check, then every rule
        the schema cannot say (``validate_settings``): all of them at start, each naming its setting."""
        problems = secret_type_errors(self.config)
        if not problems:
            problems = super()._validate_config(raise_errors=raise_errors)
        if not problems:
            problems = validate_settings(self.config)
        if problems and raise_errors:
            raise ConfigValidationError("Invalid target-oracle settings", errors=problems)
        return problems

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        """The SDK's CLI entry; an error caused by the data, the streams or the settings is printed as its
        message alone (no traceback) and the exit code is 1."""
        try:
            super().invoke(*args, **kwargs)
        except (
            TargetError,
            InvalidJSONSchema,
            InvalidRecord,
            MissingKeyPropertiesError,
            RecordsWithoutSchemaException,
            SingerReadError,
        ) as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)

    # The SDK looks a BATCH or ACTIVATE_VERSION message's stream up without checking it has had a SCHEMA
    # (a KeyError naming the stream alone); these private handlers have no public hook, so the check that
    # its RECORD handler makes is added here.
    def _process_batch_message(self, message_dict: dict) -> None:
        self._assert_schema_before("BATCH", message_dict)
        super()._process_batch_message(message_dict)

    def _process_activate_version_message(self, message_dict: dict) -> None:
        self._assert_schema_before("ACTIVATE_VERSION", message_dict)
        version = message_dict.get("version")
        if isinstance(version, decimal.Decimal) and version.is_finite() and version == int(version):
            message_dict = {**message_dict, "version": int(version)}  # 5.0 is 5
        elif not isinstance(version, int) or isinstance(version, bool):
            # null would delete (hard_delete) or mark the rows without a version, 1.5 compare and then
            # stamp later rows rounded
            msg = (
                f"Stream '{message_dict.get('stream')}': an ACTIVATE_VERSION message's version must be an "
                f"integer, not {version if isinstance(version, decimal.Decimal) else _shown(version)}"
            )
            raise InvalidInputLine(msg)
        super()._process_activate_version_message(message_dict)

    def _assert_schema_before(self, message_type: str, message_dict: dict) -> None:
        """A message of a stream that has had no SCHEMA fails naming the stream and the message type."""
        stream = message_dict.get("stream")
        if stream not in self.mapper.stream_maps:
            msg = (
                f"A {message_type} message for stream '{stream}' came before the stream's SCHEMA message; "
                "check that the tap (or the mapper) sends SCHEMA first"
            )
            raise RecordsWithoutSchemaException(msg)

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> OracleSink:
        """The SDK's sink lookup. A new SCHEMA (or new key properties) for a stream that has a sink makes
        the SDK start a new sink and keep the old one, with its records, for its next ``drain_all``: the
        new sink's batches could then commit before the old one's, and an older version of a key overwrite
        a newer one. So everything pending is committed first (and the latest STATE written), in message
        order, before the new sink is set up; the old sink, empty, then closes its connections."""
        old = None
        if schema is not None and self.sink_exists(stream_name):
            self.drain_all()
            old = super().get_sink(stream_name)
        sink = super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)
        if old is not None and old is not sink:
            old.clean_up()
        return t.cast(OracleSink, sink)

    def claim_table(self, sink: OracleSink) -> None:
        """Register the table of a sink's stream; a second stream resolving to the same table (case,
        punctuation, ``schema-table`` stream names, ``table_prefix``) fails at its SCHEMA, naming both."""
        self._direct.clear()  # a new sink (a new stream, or a new schema for one)
        table = f"{sink.schema_name}.{sink.table_name}" if sink.schema_name else sink.table_name
        if sink.table_name.endswith(STAGING_SUFFIX):
            msg = (
                f"Stream '{sink.stream_name}': its table {table} ends in {STAGING_SUFFIX}, the name of the "
                f"staging table of table {sink.table_name.removesuffix(STAGING_SUFFIX)} (a temporary table "
                "the target drops and re-creates); rename the stream with a stream map alias (stream_maps)"
            )
            raise StreamSetupError(msg)
        owner = self._table_streams.setdefault(table, sink.stream_name)
        if owner != sink.stream_name:
            msg = (
                f"Streams '{owner}' and '{sink.stream_name}' both load into table {table}; their rows "
                "would be merged. Rename one with a stream map alias (stream_maps) or load them in "
                "separate runs with different table_prefix settings"
            )
            raise StreamSetupError(msg)

    def table_summary(self, table: str) -> dict[str, t.Any]:
        """The run summary's counters of one table (shared by the sinks of one stream across schemas)."""
        return self._summary.setdefault(table, {"inserted": 0, "updated": 0, "marked": 0, "seconds": 0.0})

    def process_endofpipe(self) -> None:
        """The SDK's last drain, then the run summary: one line per table."""
        super().process_endofpipe()
        for table, line in self._summary.items():
            self.logger.info(
                "Run summary: %s: %d rows inserted, %d updated, %d marked superseded, %.2f s loading",
                table,
                line["inserted"],
                line["updated"],
                line["marked"],
                line["seconds"],
            )

    def _pending_sinks(self) -> list[OracleSink]:
        """Sinks holding records or BATCH files not committed yet (the SDK lists its sinks only in private
        attributes)."""
        sinks = [*self._sinks_active.values(), *self._sinks_to_clear]
        return [sink for sink in sinks if sink.current_size]

    def commit_pending(self) -> None:
        """Drain every sink holding records, so the latest STATE is written (see ``batch_committed``):
        before an ACTIVATE_VERSION is applied, the STATE that came before it reaches the orchestrator, and a
        run that dies after the marks resumes from that STATE, not from an older one."""
        for sink in self._pending_sinks():
            self.drain_one(sink)

    def batch_committed(self, sink: OracleSink) -> None:
        """Called by a sink once its batch is committed: every other sink holding records (the quarantine
        streams' small batches among them) is drained too, then the latest STATE is written, since every
        record before it is now committed. Without this a stream that never fills its batch would hold
        every STATE back until the end of the run."""
        if self._draining_others:
            return
        self._draining_others = True
        try:
            for other in self._pending_sinks():
                if other is not sink:
                    self.drain_one(other)
        finally:
            self._draining_others = False
        if self._latest_state is not None:
            self._write_state_message(copy.deepcopy(self._latest_state))

    def _write_state_message(self, state: dict) -> None:
        """The SDK's writing, once per distinct STATE."""
        if state == self._written_state:
            return
        self._written_state = state
        super()._write_state_message(state)

    def _spool_record(self, stream: bytes, line: bytes) -> bool:
        """A RECORD line of a stream without stream maps: spooled as is (or decoded and checked when its
        schema's rules do not render in SQL); counted, and the sink drained when full, as the SDK does."""
        sink = self._direct_sink(stream)
        if sink is None:
            return False
        self._after_take(sink, sink.take_line(line))
        return True

    def _spool_run(self, stream: bytes, lines: t.Any, count: int, scan: bytes) -> bool:
        """``count`` consecutive RECORD lines of a stream without stream maps (``lines``: bytes or a
        memoryview, each line ending in a newline; ``scan``: bytes holding them, looked at for what must be
        read in Python): spooled with one write per batch they fall in, counted, the sink drained each time
        it is full, as line by line. False, nothing taken, when a line needs ``take_line``'s own path
        (decoding, or BATCH files gathered before a first record that must land first)."""
        sink = self._direct_sink(stream)
        if sink is None or not sink.takes_lines_as_is(scan):
            return False
        while count:
            room = sink.room()
            if count <= room:
                full = sink.take_lines(lines, count)
                count = 0
            else:
                lines = bytes(lines)  # once a batch
                cut = 0
                for _ in range(room):
                    cut = lines.index(b"\n", cut) + 1
                full = sink.take_lines(lines[:cut], room)
                lines = lines[cut:]
                count -= room
            self._after_take(sink, full)
        return True

    def _after_take(self, sink: OracleSink, full: bool) -> None:
        """After records were taken: drain the sink when full, and the SDK's ``_handle_max_record_age`` test
        (without its property and method calls on every line). These private SDK names are the SDK's own
        per-record bookkeeping, which the reader's raw lines bypass; the SDK has no public equivalent."""
        if full:
            self.logger.info(
                "Target sink for '%s' is full. Current size is '%s'. Draining...",
                sink.stream_name,
                sink.current_size,
            )
            self.drain_one(sink)
        if time.time() - self._last_full_drain_at > self._MAX_RECORD_AGE_IN_MINUTES * 60:
            self._handle_max_record_age()


if __name__ == "__main__":
    TargetOracle.cli()
