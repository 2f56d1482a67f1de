"""The sink: one set-based load path for Oracle and DuckDB, for RECORD and BATCH messages alike.

A batch is a set of files DuckDB reads (``loading.py``): the stream's spool of RECORD lines (appended as they
arrive, undecoded when the schema's rules render in SQL) or the files of a BATCH message. At drain time one
query checks the batch (suspect rows, and values the storage contract may not store exactly, re-checked in
Python: ``_check_record``), then: begin, load the staging table from the files (deduplicated: last record per
key wins; MERGE would fail with ORA-30926 otherwise), one MERGE into the target table, superseded marks,
commit, remove the files. Any failure rolls the whole batch back; a transient connection error reconnects and
retries the batch (the files are still there, so a retry is a clean replay). Batches load one after the other
on the reader's thread; after each commit the target drains the other sinks and writes the latest STATE.

``append-only`` (or a stream without keys) inserts straight into the target table; ``overwrite`` deletes the
table's rows inside the first batch's transaction, then loads like the other methods.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import os
import tempfile
import time
import typing as t
from pathlib import Path

import msgspec
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sql import SQLSink

from target_oracle import columns as k
from target_oracle import contract
from target_oracle import loading as ld
from target_oracle.batch_files import TEMP_PREFIX, BatchFile, discard_copy, open_batch_file, remove_batch_file
from target_oracle.connector import OracleConnector
from target_oracle.dialects import DuckDBStrategy
from target_oracle.errors import (
    BatchMessageError,
    RefusedValueError,
    StreamSetupError,
    TargetError,
    TargetLoadError,
)
from target_oracle.loading import read_in_python
from target_oracle.naming import conform_identifier, staging_name
from target_oracle.validation import CompiledValidator

if t.TYPE_CHECKING:
    from singer_sdk.sinks.core import BaseJSONSchemaValidator
    from singer_sdk.target_base import Target

    from target_oracle.dialects import DialectStrategy

UPSERT, APPEND_ONLY, OVERWRITE = "upsert", "append-only", "overwrite"
MAX_ATTEMPTS = 3
#: metadata property the SDK adds but the data contract does not list.
_DROPPED_METADATA = "_sdc_sync_started_at"
#: the properties the SDK's metadata handling sets (``add_record_metadata``) or removes (without it).
_SDK_METADATA = (
    "_sdc_extracted_at",
    "_sdc_received_at",
    "_sdc_batched_at",
    "_sdc_deleted_at",
    "_sdc_sequence",
    "_sdc_table_version",
    "_sdc_sync_started_at",
)
VERSION_COLUMN = "_SDC_TABLE_VERSION"
DELETED_COLUMN = "_SDC_DELETED_AT"
SEQUENCE_COLUMN = "_SDC_SEQUENCE"


#: where the ``_sdc_*`` columns come from when ``add_record_metadata`` is on (see ``loading.value_sql``).
_METADATA_ORIGINS = {
    "_sdc_extracted_at": "extracted",
    "_sdc_table_version": "version",
    "_sdc_received_at": "now",
    "_sdc_batched_at": "now",
    "_sdc_sequence": "sequence",
    "_sdc_superseded_at": "null",
}
#: the time a row's key got a newer version that the mapper quarantined (NULL: the row is current).
SUPERSEDED_PROPERTY = "_sdc_superseded_at"
SUPERSEDED_COLUMN = "_SDC_SUPERSEDED_AT"
#: spooled values are written as the text DuckDB casts (exact numbers, UTC timestamps, JSON text).
_SPOOL = DuckDBStrategy()
#: a JSON line decoded with its numbers as exact Decimals (the SDK's reader decodes messages alike)
decode_json = msgspec.json.Decoder(float_hook=decimal.Decimal).decode
_ENCODE = msgspec.json.Encoder(enc_hook=str).encode

#: spool files are ``<temp dir>/target-oracle-spool-<pid>-<random>.jsonl`` (copies of BATCH files too).
SPOOL_PREFIX = TEMP_PREFIX


def remove_orphan_spools() -> None:
    """Remove spool files (and copies of BATCH files) of target processes that are gone (killed mid-batch:
    their records were never committed, and nothing ever loads another process's spool, so this only frees
    the disk)."""
    for path in Path(tempfile.gettempdir()).glob(f"{SPOOL_PREFIX}*"):
        pid = path.name.removeprefix(SPOOL_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Sequence:
    """``_SDC_SEQUENCE`` of a batch: its millisecond, raised above every one given before in this process,
    so no two batches share one (a batch whose commit answer was lost is looked for by it:
    ``_committed_before``; two batches in one millisecond made the second look committed)."""

    last = 0

    @classmethod
    def next(cls) -> int:
        cls.last = max(round(time.time() * 1000), cls.last + 1)
        return cls.last


@dataclasses.dataclass(frozen=True)
class _Committing:
    """A batch's transaction being committed: its bookkeeping once committed (``done``), and whether loading
    it again after an unknown outcome is harmless (a MERGE, or the run's first overwrite)."""

    done: t.Callable[[], None]
    replays_harmlessly: bool


class OracleSink(SQLSink[OracleConnector]):
    """Loads one stream into one table through staging + MERGE (see module docstring)."""

    connector_class = OracleConnector

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
        connector: OracleConnector | None = None,
    ) -> None:
        if isinstance(key_properties, str) or not all(isinstance(key, str) for key in key_properties or []):
            shown = _ENCODE(key_properties).decode()[:200]
            msg = f"Stream '{stream_name}': key_properties must be a list of property names, not {shown}"
            raise StreamSetupError(msg)
        self._target_ref = target
        self._conn: t.Any = None
        #: Oracle: the in-memory DuckDB reading the batches' files
        self._reader_conn: t.Any = None
        #: the record validator, compiled once (``get_validator``)
        self._compiled: CompiledValidator | None = None
        self._spool: t.Any = None
        self._spool_path = ""
        self._too_long: set[int] = set()
        #: date-time properties already warned about for a value without a UTC offset
        self._naive_warned: set[str] = set()
        #: records taken so far (their positions order records against quarantined versions)
        self._position = 0
        #: superseded keys to mark: (key values, this sink's position when the newer version was
        #: quarantined, when it was quarantined)
        self._marks: list[tuple[tuple, int, dt.datetime]] = []
        #: the batch whose commit is under way (``_load``), for an error met while committing
        self._committing: _Committing | None = None
        self._batch_start = 0
        self._direct_records = 0
        #: BATCH files read into the spool in Python (``_spool_files``): removed once the spool is committed
        self._spooled_files: list[ld.Source] = []
        #: local path -> the BATCH file (manifest URL) it is, for the files taken and not yet removed
        self._batch_files: dict[str, BatchFile] = {}
        #: the identities (``BatchFile.identity``) of those files: a file named again is refused
        self._named: set[str] = set()
        #: gathered BATCH files not loaded yet: (format, compression, paths)
        self._pending: tuple[str, str, list[str]] | None = None
        super().__init__(target, stream_name, schema, key_properties, connector)
        self._max_size = self.max_size  # batch_size_rows, fixed for the run
        #: ``<stream>`` when this sink's stream is ``<stream><quarantine_stream_suffix>``, else None (its
        #: records mark superseded rows only where metadata columns are added)
        suffix = self.config.get("quarantine_stream_suffix", "_rejected")
        quarantine = suffix and self.include_sdc_metadata_properties and stream_name.endswith(suffix)
        self._quarantine_of: str | None = stream_name[: -len(suffix)] if quarantine else None
        self._columns: list[tuple[str, str]] = []
        self._props: list[str] = []

    # -- naming (SDK hooks) ------------------------------------------------------------------------
    def conform_name(self, name: str, object_type: str | None = None) -> str:
        """Upper-case Oracle identifier (see ``naming.conform_identifier``)."""
        return conform_identifier(name)

    @property
    def table_name(self) -> str:
        """``table_prefix`` + the stream name's last ``-`` part, conformed (``WMS_ALLOCATION``)."""
        table = self.stream_name.split("-")[-1]
        return conform_identifier(f"{self.config.get('table_prefix') or ''}{table}")

    @property
    def schema_name(self) -> str | None:
        """``default_target_schema`` conformed, else the stream's ``<schema>-<table>`` part, else none."""
        name = super().schema_name
        return conform_identifier(name) if name else None

    @property
    def include_sdc_metadata_properties(self) -> bool:
        """``add_record_metadata`` defaults to true here (the contract's ``_SDC_*`` columns)."""
        return bool(self.config.get("add_record_metadata", True))

    # The SDK's metadata hooks are private (no public hook adds or drops a metadata column).
    def _add_sdc_metadata_to_schema(self) -> None:
        """The SDK's metadata columns but ``_sdc_sync_started_at``, plus ``_sdc_superseded_at``."""
        super()._add_sdc_metadata_to_schema()
        self.schema["properties"].pop(_DROPPED_METADATA, None)
        self.schema["properties"][SUPERSEDED_PROPERTY] = {"type": ["null", "string"], "format": "date-time"}

    def _add_sdc_metadata_to_record(self, record: dict, message: dict, context: dict) -> None:
        super()._add_sdc_metadata_to_record(record, message, context)
        record.pop(_DROPPED_METADATA, None)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Compiled validation (``validate_records``), see ``validation.py``."""
        if not self.validate_schema:
            return None
        if self._compiled is None:
            self._compiled = CompiledValidator(self.schema, where=self._where)
        return self._compiled

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        """Date and date-time strings stay text here: the storage contract's checks (``_check_record``)
        refuse what cannot be stored exactly and the load converts the rest. The SDK's parsing would round
        a seventh fractional digit away or replace an invalid value (its hook is private; no public one)."""

    # -- properties derived from settings ----------------------------------------------------------
    @property
    def strategy(self) -> DialectStrategy:
        return self.connector.strategy

    @property
    def load_method(self) -> str:
        """The configured method; ``upsert`` without key properties degrades to append."""
        method = self.config.get("load_method") or UPSERT
        if method == UPSERT and not self.key_properties:
            return APPEND_ONLY
        return method

    @property
    def uses_staging(self) -> bool:
        return bool(self.key_properties) and self.load_method != APPEND_ONLY

    @property
    def table_ref(self) -> str:
        return self.strategy.table_ref(self.schema_name, self.table_name)

    @property
    def staging_ref(self) -> str:
        return self.strategy.staging_ref(self.schema_name, staging_name(self.table_name))

    # -- setup: connection, table, staging ---------------------------------------------------------
    def setup(self) -> None:
        """Create or evolve the target table and the staging table, and prepare per-column converters."""
        self._target_ref.claim_table(self)
        #: this table's line of the run summary: rows inserted, updated, marked, seconds loading
        self.summary = self._target_ref.table_summary(self.table_ref)
        self._props, self._columns = self._plan_columns()
        remove_orphan_spools()
        self._connect()
        self._check_charset()
        if self.schema_name and (sql := self.strategy.create_schema_sql(self.schema_name)):
            self._execute(sql)
        self._sync_table()
        self._prepare_converters()
        if self.uses_staging:
            self._sync_staging()

    def _check_charset(self) -> None:
        """Text is stored as sent only in a Unicode database: another character set fails the stream
        before any DDL, naming it (Oracle would replace the characters it lacks without an error)."""
        sql = self.strategy.charset_sql()
        if sql is None:
            return
        charset = str(self._execute(sql).fetchone()[0])
        if charset not in self.strategy.unicode_charsets:
            msg = (
                f"Stream '{self.stream_name}': the database character set is {charset}, not AL32UTF8: "
                "Oracle would replace every character it lacks (an emoji, most non-Latin text) without an "
                "error, so text would not be stored as sent. Load into a database created with AL32UTF8"
            )
            raise TargetError(msg)

    def _check_metadata_names(self) -> None:
        """A property of the stream named like a metadata column the SDK fills (``_sdc_extracted_at``) or
        drops (all of them with ``add_record_metadata: false``) would be overwritten or lost: refused."""
        metadata = {conform_identifier(name) for name in _SDK_METADATA}
        if self.include_sdc_metadata_properties:
            metadata.discard(DELETED_COLUMN)  # kept from the record by the SDK: a tap's deletion mark
            metadata.add(SUPERSEDED_COLUMN)
        clashes = [p for p in self.original_schema.get("properties", {}) if conform_identifier(p) in metadata]
        if clashes:
            msg = (
                f"Stream '{self.stream_name}': property '{clashes[0]}' has the name of a metadata column "
                "the target fills or drops (_sdc_extracted_at, _sdc_received_at, _sdc_batched_at, "
                "_sdc_deleted_at, _sdc_sequence, _sdc_table_version, _sdc_sync_started_at, "
                "_sdc_superseded_at), so its values "
                "would be overwritten or lost; rename it with a stream map (stream_maps) in the tap or target"
            )
            raise StreamSetupError(msg)

    def _plan_columns(self) -> tuple[list[str], list[tuple[str, str]]]:
        self._check_metadata_names()
        props: list[str] = []
        cols: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for prop, prop_schema in self.schema.get("properties", {}).items():
            col = conform_identifier(prop)
            if col in seen:
                msg = (
                    f"Stream '{self.stream_name}': properties '{seen[col]}' and '{prop}' both become column "
                    f"'{col}'; rename one in the tap or with a stream map"
                )
                raise TargetLoadError(msg)
            seen[col] = prop
            props.append(prop)
            cols.append((col, k.kind_for_schema(prop_schema)))
        kinds = dict(cols)
        for key in self.key_properties:
            if key not in seen:
                msg = f"Stream '{self.stream_name}': key property '{key}' is not in the schema"
                raise TargetLoadError(msg)
            if self.uses_staging and kinds[key] in k.NOT_KEY_KINDS:
                msg = (
                    f"Stream '{self.stream_name}': key property '{seen[key]}' is stored as CLOB (an object, "
                    "an array or text over 4000 bytes), which Oracle cannot put in a primary key; key the "
                    "stream on scalar properties (a stream map can add one) or use load_method append-only"
                )
                raise StreamSetupError(msg)
        return props, cols

    def _execute(self, sql: str, params: t.Sequence[t.Any] | None = None) -> t.Any:
        self.logger.debug("SQL: %s", sql)
        return self._conn.execute(sql, params or [])

    def _ddl(self, sql: str) -> None:
        """Run DDL, tolerating 'already exists' (Oracle has no IF NOT EXISTS before 23ai)."""
        try:
            self._execute(sql)
        except Exception as exc:
            if not self.strategy.exists_error(exc):
                raise

    def _read_columns(self, table: str) -> dict[str, str]:
        sql, params = self.strategy.columns_query(self.schema_name, table)
        rows = self._execute(sql, params).fetchall()
        return {row[0]: self.strategy.kind_from_catalog(row) for row in rows}

    def _sync_table(self) -> None:
        """Create the table, or add missing columns and widen existing ones; never drop data."""
        existing = self._read_columns(self.table_name)
        if not existing:
            # append-only keeps every record, so the keys are not unique there: no primary key
            keys = self.key_properties if self.load_method != APPEND_ONLY else []
            self._ddl(self.strategy.create_table_sql(self.schema_name, self.table_name, self._columns, keys))
            existing = self._read_columns(self.table_name) or dict(self._columns)
        elif self.uses_staging:
            self._check_primary_key()
        for col, kind in self._columns:
            have = existing.get(col)
            if have is None:
                for sql in self.strategy.add_column_sql(self.table_ref, col, kind):
                    self._ddl(sql)
                existing[col] = kind
            elif have != kind and self._must_widen(col, have, kind):
                self._widen(col, have, kind)
                existing[col] = kind
        self._table_kinds = existing

    def _check_primary_key(self) -> None:
        """An existing table's primary key must be the stream's key properties: the MERGE matches rows on
        them, so with other keys one record would replace several rows (DuckDB) or fail the batch with a
        unique-constraint error (Oracle)."""
        sql, params = self.strategy.primary_key_query(self.schema_name, self.table_name)
        have = [row[0] for row in self._execute(sql, params).fetchall()]
        if set(have) != set(self.key_properties):
            msg = (
                f"Stream '{self.stream_name}': table {self.table_ref} has the primary key "
                f"({', '.join(have) or 'none'}) but the stream's key properties are "
                f"({', '.join(self.key_properties)}); upserting on other keys would merge or duplicate "
                "rows. Load into a new table (table_prefix), change the table's primary key by hand, or use "
                "load_method append-only"
            )
            raise StreamSetupError(msg)

    def _must_widen(self, col: str, have: str, want: str) -> bool:
        """True when the column must change type; raises when no safe widening exists."""
        s = self.strategy
        if have.startswith("other:"):
            # Oracle's unconstrained NUMBER holds every NUMBER(38,10) value exactly; nothing else does
            if want in {k.INTEGER, k.NUMBER} and have != "other:NUMBER":
                msg = (
                    f"Stream '{self.stream_name}': column {self.table_name}.{col} is {have[6:]}, which "
                    f"does not store {s.type_sql(want)} values exactly; convert the column by hand or load "
                    "into a new table (table_prefix)"
                )
                raise TargetLoadError(msg)
            return False
        if s.type_sql(have) == s.type_sql(want):
            return False
        if want in k.WIDENINGS.get(have, ()):
            return True
        if have in k.TEXT_KINDS:
            return False  # text columns hold any value as text
        if have in k.WIDENINGS.get(want, ()) or k.value_kind(have, want) == want:
            return False  # the column is already wider than the schema asks (booleans: 1 and 0)
        msg = (
            f"Stream '{self.stream_name}': column {self.table_name}.{col} is {s.type_sql(have)} "
            f"but the schema now asks for {s.type_sql(want)}; that change cannot be made "
            "without losing data. Convert the column by hand or load into a new table (table_prefix)."
        )
        raise TargetLoadError(msg)

    def _widen(self, col: str, have: str, want: str) -> None:
        if col in self.key_properties and want in k.NOT_KEY_KINDS:
            msg = f"Stream '{self.stream_name}': key column {col} cannot become a CLOB"
            raise TargetLoadError(msg)
        self.logger.info("Widening %s.%s from %s to %s", self.table_name, col, have, want)
        for sql in self.strategy.widen_column_sql(self.table_ref, col, have, want):
            self._execute(sql)

    def _staging_columns(self) -> list[tuple[str, str]]:
        return [(col, self._table_kinds[col]) for col, _ in self._columns]

    def _sync_staging(self) -> None:
        """Create the staging table once; re-create it only when the target's columns changed."""
        if not self.strategy.staging_table:
            return
        stg = staging_name(self.table_name)
        wanted = self._staging_columns()
        have = self._read_columns(stg)
        if have and have == dict(wanted):
            return
        if have:
            try:
                self._execute(self.strategy.drop_table_sql(self.staging_ref))
            except Exception as exc:  # absent table: nothing to drop
                self.logger.debug("Staging drop skipped: %s", exc)
        self._ddl(self.strategy.create_staging_sql(self.schema_name, stg, wanted))

    # -- records: every batch is a file DuckDB reads (see loading.py) -------------------------------
    def _prepare_converters(self) -> None:
        kinds = [k.value_kind(self._table_kinds[col], kind) for col, kind in self._columns]
        metadata = self.include_sdc_metadata_properties
        self._load_cols = [
            ld.Column(prop, col, kind, _METADATA_ORIGINS.get(prop, "record") if metadata else "record")
            for prop, (col, _), kind in zip(self._props, self._columns, kinds, strict=True)
        ]
        # values of re-encoded (checked) lines are spooled as the exact text DuckDB casts from
        self._converters = [_SPOOL.converter(kind) for kind in kinds]
        by_col = {conform_identifier(p): p for p in self._props}
        #: the key properties as the records name them
        self.key_props_raw = [by_col[key] for key in self.key_properties]
        self._key_idx = [self._props.index(key) for key in self.key_props_raw]
        strings = [i for i, kind in enumerate(kinds) if kind == k.STRING]
        #: text columns whose values over VARCHAR2's bytes are looked for: on Oracle every one (it becomes a
        #: CLOB), on DuckDB the keys (refused on both: a CLOB cannot be in Oracle's primary key)
        keyed = [i for i in strings if i in self._key_idx]
        self._limited = strings if self.strategy.string_byte_limit else keyed
        #: the schema has object or array properties: lines with NaN/Infinity go to Python
        self._nested = any(kind == k.JSON for _, kind in self._columns)
        #: (property, kind) of the record values the storage contract checks
        self._contract_checks = [
            (c.prop, c.kind)
            for c in self._load_cols
            if c.origin == "record" and c.kind in contract.EXACT_TEXT
        ]
        generated = {c.prop for c in self._load_cols if c.origin != "record"}
        self._valid_sql = (
            ld.sql_validation(self.schema, self._props, generated, dict(self._contract_checks))
            if self.validate_schema
            else "true"
        )

    @property
    def key_properties(self) -> t.Sequence[str]:
        """Key columns, conformed like every other column."""
        return [conform_identifier(key) for key in super().key_properties]

    def _spool_write(self, data: bytes) -> None:
        if self._spool is None:
            if self._pending is not None:  # gathered BATCH files came before this record: they land first
                self._target_ref.drain_one(self)
            fd, name = tempfile.mkstemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", suffix=".jsonl")
            self._spool_path = name
            self._spool = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - closed at drain
            self.write_spool = self._spool.write
        self._spool.write(data)

    def write_spool(self, data: bytes) -> None:
        """Append one line to the batch's spool file (replaced by the file's own write once open)."""
        self._spool_write(data)

    def take_line(self, line: bytes) -> bool:
        """A RECORD line handed over by the reader: spooled as it arrived when the schema's rules render in
        SQL and DuckDB may read it (``read_in_python``: the fast path), else decoded, checked and made
        exact first; counted. True when the sink is full (``is_full``, without its chain of properties:
        this runs once a line)."""
        as_is = self._valid_sql is not None and self._quarantine_of is None
        if as_is and not read_in_python(line, nested=self._nested):
            self.write_spool(line if line[-1:] == b"\n" else line + b"\n")
        else:
            self.spool_message(self._decode(line))
        return self._took(1)

    def takes_lines_as_is(self, scan: bytes) -> bool:
        """True when RECORD lines held in ``scan`` may go to ``take_lines``: ``take_line`` would spool each
        as it arrived (the schema's rules render in SQL, nothing to read in Python), and no gathered BATCH
        files must be drained before the first of them."""
        return (
            self._valid_sql is not None
            and self._quarantine_of is None
            and (self._spool is not None or self._pending is None)
            and not read_in_python(scan, nested=self._nested)
        )

    def take_lines(self, lines: t.Any, count: int) -> bool:
        """``count`` RECORD lines (bytes or a memoryview, each ending in a newline) that ``take_line`` would
        spool as they arrived (``takes_lines_as_is``): one write; counted. True when the sink is full."""
        self.write_spool(lines)
        return self._took(count)

    def room(self) -> int:
        """Records the batch still takes before it is full (at least 1: a full batch is drained first)."""
        return max(self._max_size - self.current_size, 1)

    def _took(self, count: int) -> bool:
        self._direct_records += count
        self.tally_record_read(count)
        return self.current_size >= self._max_size

    def spool_message(self, message: dict) -> None:
        """A decoded RECORD message: validated and key-checked here, spooled as exact text."""
        record = self._record_of(message, "RECORD message")
        self._check_record(record)
        self._note_superseded(record)
        self._spool_checked(record, message.get("time_extracted"), message.get("version"))

    def _record_of(self, message: dict, where: str) -> dict:
        """The record of a RECORD message (``where``: where the message is, for the error): a JSON object,
        or the stream fails (a ``null`` record would load as a row of NULLs)."""
        record = message.get("record")
        if isinstance(record, dict):
            return record
        raise TargetLoadError(
            f"Stream '{self.stream_name}': {where}: the record of a RECORD message must be a JSON object, "
            f"not {_ENCODE(record).decode()[:100]}"
        )

    def _decode(self, line: bytes, source: ld.Source | None = None, number: int = 0) -> dict:
        """A line holding a JSON object, decoded with exact numbers. Anything else (not JSON, text that is
        not Unicode such as half of a UTF-16 surrogate pair, not an object) fails naming the stream, where
        the line is (line ``number`` of ``source``, ``_line_where``; no source: a RECORD message), the
        reason and the line's start, which shows a record's key."""
        try:
            value = decode_json(line)
        except msgspec.DecodeError as exc:
            reason = str(exc)
        else:
            if isinstance(value, dict):
                return value
            reason = "not an object"
        shown = line[:200].decode("utf-8", "replace").rstrip()
        where = "RECORD message" if source is None else self._line_where(source, number)
        raise TargetLoadError(
            f"Stream '{self.stream_name}': {where} is not a valid JSON object ({reason}): {shown}"
        )

    def _line_where(self, source: ld.Source, number: int) -> str:
        """Where line ``number`` of a batch is, for messages: in the spool, or in the BATCH files."""
        if source.messages:
            return f"record {number} of the batch"
        return f"BATCH file(s) {self._urls(source)}, record {number}"

    def _find_unreadable(self, source: ld.Source) -> None:
        """After DuckDB failed to read a batch's JSONL files: the first line Python cannot decode either
        fails the batch naming it (``_decode``); nothing found (the file itself is unreadable, or the
        reason is one only DuckDB has): nothing raised."""
        if source.format != ld.JSONL:
            return
        try:
            for number, line in ld.read_lines(source, None):
                self._decode(line, source, number)
        except TargetLoadError:
            raise
        except Exception as exc:  # the file's own fault (e.g. a truncated gzip): DuckDB's message says it
            self.logger.debug("Reading the batch in Python failed too: %s", exc)

    def _spool_checked(self, record: dict, extracted: t.Any, version: t.Any) -> None:
        get = record.get
        values = {
            prop: (conv(v) if conv is not None and v is not None else v)
            for prop, conv, v in zip(
                self._props, self._converters, [get(p) for p in self._props], strict=True
            )
        }
        line = {"record": values, "time_extracted": extracted, "version": version, "__checked": ld.CHECKED}
        self.write_spool(_ENCODE(line) + b"\n")

    def _check_record(self, record: dict, *, validate: bool = True) -> None:
        """What every record must pass: the schema's rules, keys present and not empty (Oracle stores ''
        as NULL, so an empty key is refused on both databases), and the storage contract (a value that
        would not be stored exactly stops the run, naming stream, key and field)."""
        if validate and (validator := self.get_validator()) is not None:
            try:
                validator.validate(record)
            except InvalidRecord as exc:
                self.logger.error("Record validation failed: %s", exc.error_message)
                if self.fail_on_record_validation_exception:
                    raise
        keys = self.key_props_raw
        if missing := [p for p in keys if p not in record]:
            shown = k.dump_json(record)[:200]  # the rest of the record, to find it by
            msg = f"Stream '{self.stream_name}': record without its key property {missing[0]!r}: {shown}"
            raise MissingKeyPropertiesError(msg)
        if any(record.get(p) is None or record.get(p) == "" for p in keys):
            empty = next(p for p in keys if record.get(p) is None or record.get(p) == "")
            reason = "null" if record.get(empty) is None else contract.reason(k.STRING, "empty_key")
            raise RefusedValueError(f"{self._where(record, empty)}: {reason}")
        for prop, kind in self._contract_checks:
            value = record.get(prop)
            if value is None:
                continue
            if (why := contract.refusal(kind, value)) is not None:
                shown = value if isinstance(value, str) and len(value) <= 60 else str(value)[:60]
                raise RefusedValueError(f"{self._where(record, prop)}: {shown!r} refused: {why}")
            if kind == k.TIMESTAMP and isinstance(value, str) and prop not in self._naive_warned:
                parsed = contract.parse_timestamp(value)
                if parsed is not None and parsed[2]:
                    self._naive_warned.add(prop)
                    self.logger.warning(
                        "Stream '%s', field '%s': date-time %r has no UTC offset; read as UTC "
                        "(said once per stream and field)",
                        self.stream_name,
                        prop,
                        value,
                    )

    def _where(self, record: dict, field: str | None) -> str:
        """``Stream 's', key id=3, field 'qty'`` for messages about one value (no field: the record)."""
        key = ", ".join(f"{p}={record.get(p)!r}" for p in self.key_props_raw) or "none"
        where = f"Stream '{self.stream_name}', key {key}"
        return f"{where}, field '{field}'" if field is not None else where

    def process_record(self, record: dict, context: dict) -> None:
        """The SDK's path (stream maps, flattening): the record is validated and parsed already."""
        self._check_record(record, validate=False)
        self._note_superseded(record)
        self._spool_checked(record, record.get("_sdc_extracted_at"), record.get("_sdc_table_version"))

    def process_batch(self, context: dict) -> None:
        """Load what this batch holds, in one transaction: the gathered BATCH files, or the spooled records.
        Never both at once: records arriving after gathered files drain those files first, and a BATCH
        message arriving after records drains those records first, so message order is kept."""
        started = time.perf_counter()
        self._batch_start = self._position - self.current_size
        if self._pending is not None:
            fmt, compression, paths = self._pending
            self._pending = None
            self._load_files(ld.Source(tuple(paths), fmt, compression))
        if self._spool is not None:
            files, self._spooled_files = self._spooled_files, []
            self._load_spool(self._close_spool(), files)
        if self._supersedes is not None:
            self._supersedes.mark_superseded()
        self.summary["seconds"] += time.perf_counter() - started

    def mark_drained(self) -> None:
        """The SDK's reset; then the target drains the other sinks and writes the latest STATE
        (``TargetOracle.batch_committed``), outside this sink's ``batch_processing_time``."""
        super().mark_drained()
        self._target_ref.batch_committed(self)

    def tally_record_read(self, count: int = 1) -> None:
        """The SDK's count, and this sink's position (see ``_marks``)."""
        super().tally_record_read(count)
        self._position += count

    # -- superseded rows ---------------------------------------------------------------------------
    @property
    def _supersedes(self) -> OracleSink | None:
        """For a quarantine stream: the sink of the stream whose rows its records supersede, else None."""
        main = self._quarantine_of
        if main is None or not self._target_ref.sink_exists(main):
            return None
        sink = self._target_ref.get_sink(main)
        return sink if isinstance(sink, OracleSink) and sink.key_properties else None

    def _note_superseded(self, record: dict) -> None:
        """A quarantined record carrying its source's key: the source table's row for that key is marked
        (when every record of the source taken before it is loaded: ``mark_superseded``)."""
        main = self._supersedes
        if main is None:
            return
        raw = [record.get(p) for p in main.key_props_raw]
        if any(v is None or v == "" for v in raw):
            return
        try:  # the key as the source table holds it
            kinds = [main._table_kinds[col] for col in main.key_properties]
            key = tuple(k.key_value(kind, v) for kind, v in zip(kinds, raw, strict=True))
        except ValueError:
            return  # no row of the source table has that key
        at = record.get("rejected_at")
        parsed = contract.parse_timestamp(at) if isinstance(at, str) else None
        when = parsed[0] if parsed else dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        main._marks.append((key, main._position, when))

    def mark_superseded(self) -> None:
        """Mark the rows of keys quarantined since the last load, now when this sink holds no record (every
        record before those versions is loaded), else at its next load (``_apply_marks``)."""
        if self._marks and not self.current_size and self._conn is not None:
            self._begin()
            try:
                marked = self._apply_marks(None)
                self._conn.commit()
                self._marks = []
                self.summary["marked"] += marked
            except Exception as exc:
                self._rollback()
                raise self._load_error(exc, 0) from exc

    def _apply_marks(self, batch: str | None) -> int:
        """Inside the load's transaction: set ``_SDC_SUPERSEDED_AT`` on the rows whose key was quarantined
        after the version this batch (``batch``: its table) or an earlier load holds; a row this batch loads
        from a record taken after the quarantined version stays current (the load cleared its mark). Set
        based: one query finds the batch's last row of each marked key, one UPDATE marks the rest. Returns
        the rows marked; the caller forgets the marks once the transaction is committed (a transaction
        rolled back and replayed marks them again)."""
        marks = self._marks
        if batch is not None:
            newer = self._newer_in_batch(marks, batch)
            marks = [mark for i, mark in enumerate(marks) if i not in newer]
        if marks:
            keys = [(col, self._table_kinds[col]) for col in self.key_properties]
            rows = [(when, *key) for key, _, when in marks]
            return self.strategy.mark_superseded(self._conn, self.table_ref, SUPERSEDED_COLUMN, keys, rows)
        return 0

    def _newer_in_batch(self, marks: list[tuple[tuple, int, dt.datetime]], batch: str) -> set[int]:
        """The indexes of the marks whose key has a row in the batch taken after the quarantined version."""
        kinds = [self._table_kinds[col] for col in self.key_properties]
        sql = ld.last_positions_sql(self._key_idx, kinds, batch)
        binds = ld.marks_binds([key for key, _, _ in marks], times=False)
        return {
            int(i)
            for i, last in self._reader().execute(sql, binds).fetchall()
            if self._batch_start + int(last) > marks[i][1]
        }

    def _close_spool(self) -> str:
        """Close this batch's spool file (the next record opens a new one); its path."""
        self._spool.close()
        if self._direct_records:  # the SDK counts the records of its own path
            self.record_counter_metric.increment(self._direct_records)
            self._direct_records = 0
        path = self._spool_path
        self._spool = None
        self.write_spool = self._spool_write
        return path

    def _load_spool(self, path: str, files: t.Sequence[ld.Source] = ()) -> None:
        """Load a spool file, then remove it; ``files``: the BATCH files read into it, removed once it is
        committed."""
        try:
            self._load_source(ld.Source((path,), messages=True), "records")
        finally:
            Path(path).unlink(missing_ok=True)
        self._remove_files(files)

    def _load_files(self, source: ld.Source) -> None:
        """Gathered BATCH files as one batch; removed once committed (unless ``keep_batch_files``)."""
        count = self._load_source(source, f"BATCH file(s) {self._urls(source)}")
        # the SDK's record counter (its written tally: ``mark_drained``)
        self.record_counter_metric.increment(count)
        self._remove_files([source])

    def process_batch_files(self, encoding: t.Any, files: t.Sequence[str]) -> None:
        """A BATCH message (``take_batch_files``). A message naming files that are missing or unreadable
        fails the run, but first everything before it is committed and the latest STATE written, so a rerun
        resumes after the last good file."""
        try:
            self.take_batch_files(encoding, files)
        except BatchMessageError:
            self._target_ref.drain_all()
            raise

    def take_batch_files(self, encoding: t.Any, files: t.Sequence[str]) -> None:
        """A BATCH message: its files join the files of the BATCH messages before it (same encoding) until
        they hold ``batch_size_rows`` records; then all of them load as one batch (one read, one staging +
        MERGE, one commit) and are removed. A STATE after them is held until that commit.

        Files DuckDB may not read exactly (``read_in_python``) and a quarantine stream's files (each record's
        key marks a superseded row) are read in Python into this sink's spool instead, like RECORD
        messages, and removed once the spool is committed. Either way the sink drains when it is full, not
        per message: a quarantine stream's small files never force a load of the other streams."""
        fmt = str(getattr(encoding.format, "value", encoding.format)).lower()
        if fmt not in {ld.JSONL, ld.PARQUET}:
            msg = f"Stream '{self.stream_name}': BATCH format '{fmt}' is not supported (jsonl, parquet)"
            raise BatchMessageError(msg)
        # Parquet compresses inside its files: its message's compression says nothing about reading them
        compression = str(encoding.compression or "none").lower() if fmt == ld.JSONL else "none"
        if compression not in {"gzip", "none"}:
            msg = (
                f"Stream '{self.stream_name}': BATCH compression '{compression}' is not supported "
                "(gzip, none)"
            )
            raise BatchMessageError(msg)
        if not isinstance(files, (list, tuple)) or not all(isinstance(url, str) and url for url in files):
            shown = _ENCODE(files).decode()[:200]
            msg = (
                f"Stream '{self.stream_name}': a BATCH message's manifest must be a list of file URLs, "
                f"not {shown}"
            )
            raise BatchMessageError(msg)
        if not files:
            return  # an empty manifest: no record to load
        taken: list[BatchFile] = []
        named: set[str] = set()
        try:
            for url in files:
                file = open_batch_file(self.stream_name, url)
                # read twice, its records would land twice (append-only)
                if file.identity in named or file.identity in self._named:
                    discard_copy(file)
                    msg = (
                        f"Stream '{self.stream_name}': BATCH file {url} is named twice (in this message or "
                        "a BATCH message whose files are not loaded yet); each file must be named once, "
                        "so that its records land once"
                    )
                    raise BatchMessageError(msg)
                named.add(file.identity)
                taken.append(file)
            self._batch_files.update((file.path, file) for file in taken)
            self._named |= named
            self._take_source(ld.Source(tuple(file.path for file in taken), fmt, compression))
        except BaseException:
            for file in taken:  # not committed: local copies go, the files themselves stay for a rerun
                discard_copy(self._batch_files.pop(file.path, file))
                self._named.discard(file.identity)
            raise

    def _take_source(self, source: ld.Source) -> None:
        """The local files of one BATCH message: gathered, or read into the spool (``take_batch_files``)."""
        rows, in_python = (0, True) if self._quarantine_of is not None else self._scan(source)
        if in_python:
            self._spool_files(source)  # opening the spool lands gathered files first (``_spool_write``)
        else:
            encoding = (source.format, source.compression)
            if self._spool is not None or (self._pending is not None and self._pending[:2] != encoding):
                self._target_ref.drain_one(self)  # what came before (records, other files) lands first
            pending = self._pending or (*encoding, [])
            pending[2].extend(source.files)
            self._pending = pending
            # counted even when empty: the drain loads (removes) the file
            self.tally_record_read(max(rows, 1))
        if self.is_full:
            self.logger.info(
                "Stream '%s': batch full (%d records), loading", self.stream_name, self.current_size
            )
            self._target_ref.drain_one(self)

    def _scan(self, source: ld.Source) -> tuple[int, bool]:
        """Records in the files (an estimate: lines) and whether a line must be read in Python."""
        try:
            if source.format == ld.PARQUET:
                count = self._reader().execute(ld.parquet_count_sql(source))
                return int(count.fetchone()[0]), False
            scans = [ld.scan_jsonl(path, source.compression, nested=self._nested) for path in source.files]
        except Exception as exc:
            msg = f"Stream '{self.stream_name}': BATCH file(s) {self._urls(source)} could not be read: {exc}"
            raise BatchMessageError(msg) from exc
        return sum(rows for rows, _ in scans), any(long for _, long in scans)

    def _urls(self, source: ld.Source) -> str:
        """The files of a source as the BATCH messages named them (for messages)."""
        return ", ".join(self._batch_files[p].url if p in self._batch_files else p for p in source.files)

    def _remove_files(self, sources: t.Sequence[ld.Source]) -> None:
        """BATCH files whose records are committed: removed unless ``keep_batch_files`` (local copies of
        remote files always)."""
        keep = bool(self.config.get("keep_batch_files", False))
        for source in sources:
            for path in source.files:
                if (file := self._batch_files.pop(path, None)) is not None:
                    self._named.discard(file.identity)
                    remove_batch_file(file, keep=keep)

    def _spool_files(self, source: ld.Source) -> None:
        """BATCH files read in Python (``read_in_python``, or a quarantine stream's records, whose keys mark
        superseded rows): decoded, checked and spooled exactly like RECORD messages; the files are removed
        once the spool holding them is committed."""
        self.logger.info("Stream '%s': BATCH file(s) read in Python", self.stream_name)
        try:  # read whole before any record is spooled: a file that fails to read leaves no part behind
            if source.format == ld.PARQUET:
                lines = self._parquet_lines(source)
            else:
                lines = list(ld.read_lines(source, None))
        except TargetLoadError:
            raise
        except Exception as exc:
            msg = f"Stream '{self.stream_name}': BATCH file(s) {self._urls(source)} could not be read: {exc}"
            raise BatchMessageError(msg) from exc
        for number, line in lines:
            # a bad line: a TargetLoadError, not a BatchMessageError (nothing of the spool is committed)
            record = self._decode(line, source, number)
            extracted, version = record.get("_sdc_extracted_at"), record.get("_sdc_table_version")
            self.spool_message({"record": record, "time_extracted": extracted, "version": version})
        self._took(len(lines))  # counted with the spool's records (``_close_spool``)
        if self._spool is None:  # no record in the files, and none spooled before them
            self._remove_files([source])
            return
        self._spooled_files.append(source)

    def _reader(self) -> t.Any:
        """The DuckDB connection reading the batch's files into its table: the sink's own connection on
        DuckDB, a private in-memory DuckDB for Oracle."""
        if self.strategy.name == "duckdb":
            return self._conn
        if self._reader_conn is None:
            self._reader_conn = self.connector.duckdb_connection(":memory:")
        return self._reader_conn

    def _load_source(self, source: ld.Source, what: str) -> int:
        """Read the files once into the batch's table, check it set-based (suspect rows re-checked in
        Python), widen what must widen, load the batch in one transaction. Returns the row count."""
        table = ld.BATCH_TABLE
        reader = self._reader()
        key_cols = self._key_idx if self.uses_staging else []
        limited = self._limited
        try:
            try:
                parquet_cols: list[str] = []
                if source.format == ld.PARQUET:
                    self._check_parquet_names(reader, source)
                    described = reader.execute(ld.parquet_columns_sql(source))
                    parquet_cols = [row[0] for row in described.fetchall()]
                src = ld.source_sql(source, self._props, parquet_cols)
                times = self._materialize(src, table)
                check = ld.check_sql(key_cols, limited, table)
                total, suspects, dupes, longs, failed = reader.execute(check).fetchone()
            except Exception as exc:
                if isinstance(exc, (TargetLoadError, InvalidRecord)):
                    raise
                self._find_unreadable(source)
                msg = f"Stream '{self.stream_name}': {what} could not be read: {exc}"
                raise TargetLoadError(msg) from exc
            if suspects:
                self._check_suspects(source, suspects, parquet_cols)
            for i, too_long in zip(limited, longs or (), strict=False):
                if too_long and i in self._key_idx:
                    self._refuse_long_key(reader, table, i)
                if too_long:
                    self._too_long.add(i)
            if dupes:
                self.tally_duplicate_merged(int(dupes))
            if total and self._too_long:
                self._widen_too_long()
            if total:
                # without duplicate keys the rows need no last-per-key window
                dedup = key_cols if dupes else []
                self._load_batch(src, times, dedup, int(total), table, strict=bool(failed))
        finally:
            self._drop_batch_table(reader, table)
        return int(total)

    def _materialize(self, src: str, table: str) -> tuple[str, int]:
        """The batch's files read once into its table by the reader (see ``loading.materialize_sql``)."""
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat()
        times = (now, _Sequence.next())
        sql = ld.materialize_sql(
            src,
            self._load_cols,
            self._valid_sql,
            self._key_idx,
            for_oracle=self.strategy.name == "oracle",
            now=times[0],
            sequence=times[1],
            version=self.active_version,
            table=table,
        )
        self._reader().execute(sql)
        return times

    def _drop_batch_table(self, conn: t.Any, table: str) -> None:
        try:
            conn.execute(ld.drop_batch_sql(table))
        except Exception as exc:  # e.g. a connection closed after an error
            self.logger.debug("Dropping the batch table failed: %s", exc)

    def _load_batch(
        self, src: str, times: tuple[str, int], key_cols: list[int], total: int, table: str, *, strict: bool
    ) -> None:
        """Load the batch, retrying after transient errors. ``strict``: a value did not convert, so the rows
        come straight from the files with strict conversions, and the database's own error rolls back. A
        retry after a reconnect reads the files again (a DuckDB temp table goes with its connection)."""
        keys = self.key_properties if self.uses_staging else []
        now, sequence = times
        from_files = ld.select_sql(
            src,
            self._load_cols,
            keys,
            for_oracle=self.strategy.name == "oracle",
            now=now,
            sequence=sequence,
            version=self.active_version,
        )
        select = from_files if strict else ld.batch_select_sql(self._load_cols, key_cols, table)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                self._load(select, total)
                return
            except Exception as exc:
                committing, self._committing = self._committing, None
                self._rollback()
                if self.strategy.is_transient(exc) and attempt < MAX_ATTEMPTS:
                    self.logger.warning("Transient error (%s), reconnecting; attempt %d", exc, attempt + 1)
                    time.sleep(0.5 * attempt)
                    self._reconnect()
                    if committing is not None and self._committed_before(committing, sequence, total):
                        return
                    select = from_files
                    continue
                raise self._load_error(exc, total) from exc

    def _committed_before(self, committing: _Committing, sequence: int, total: int) -> bool:
        """After a connection lost while committing: whether the commit went through (then its bookkeeping
        is done). A MERGE or the run's first overwrite replays harmlessly either way; an appended batch
        would land twice, so its ``_SDC_SEQUENCE`` is looked for, and without that column the run stops."""
        if committing.replays_harmlessly:
            return False
        if SEQUENCE_COLUMN not in self._table_kinds:
            msg = (
                f"Stream '{self.stream_name}': the connection was lost while committing a batch of {total} "
                f"rows appended to {self.table_ref}. Whether it committed cannot be told without the "
                f"{SEQUENCE_COLUMN} column (add_record_metadata is false), and loading it again could "
                "append its rows twice: check the table, then rerun from the last STATE"
            )
            raise TargetLoadError(msg)
        sql = self.strategy.sequence_count_sql(self.table_ref, SEQUENCE_COLUMN)
        if not int(self._execute(sql, [sequence]).fetchone()[0]):
            return False
        self.logger.warning(
            "Stream '%s': the batch of %d rows was committed before the connection was lost: not loaded "
            "again",
            self.stream_name,
            total,
        )
        committing.done()
        return True

    def _check_parquet_names(self, reader: t.Any, source: ld.Source) -> None:
        """DuckDB binds Parquet columns by name without case (``Qty`` and ``qty`` in one file become ``Qty``
        and ``qty_1``; across files, one column): a column spelled like a property but for case, in any of
        the batch's files, fails the batch rather than lose or mix up that property's values."""
        names = ld.parquet_top_level_names(reader.execute(ld.parquet_schema_sql(source)).fetchall())
        if variants := ld.case_variants(names, self._props):
            prop, name = variants[0]
            msg = (
                f"Stream '{self.stream_name}': BATCH file(s) {self._urls(source)} hold a column '{name}', "
                f"which differs from property '{prop}' only in case; Parquet columns are read without "
                "case, so its values could land in the wrong property or be lost. Write the property's "
                "own spelling in every file"
            )
            raise TargetLoadError(msg)

    def _parquet_lines(
        self, source: ld.Source, parquet_cols: list[str] | None = None, numbers: list[int] | None = None
    ) -> list[tuple[int, bytes]]:
        """Rows of Parquet files (those numbered ``numbers``, None: all) as JSON lines of their records,
        numbered as in the batch's table; ``parquet_cols``: the files' columns when already read."""
        reader = self._reader()
        if parquet_cols is None:
            self._check_parquet_names(reader, source)
            parquet_cols = [row[0] for row in reader.execute(ld.parquet_columns_sql(source)).fetchall()]
        sql = ld.rows_as_json_sql(ld.source_sql(source, self._props, parquet_cols), self._props, numbers)
        return [(n, text.encode()) for n, text in reader.execute(sql).fetchall()]

    def _check_suspects(self, source: ld.Source, numbers: list[int], parquet_cols: list[str]) -> None:
        """Rows SQL could not clear: run record mode's own checks on them (raises on the first bad one)."""
        if source.format == ld.PARQUET:
            rows: t.Iterable[tuple[int, bytes]] = self._parquet_lines(source, parquet_cols, numbers)
        else:
            rows = ld.read_lines(source, set(numbers))
        for number, line in rows:
            data = self._decode(line, source, number)
            where = self._line_where(source, number)
            self._check_record(self._record_of(data, where) if source.messages else data)

    def _load_error(self, exc: BaseException, count: int) -> TargetLoadError:
        from target_oracle.dialects import error_code

        code = error_code(exc) or type(exc).__name__
        return TargetLoadError(
            f"Stream '{self.stream_name}': batch of {count} rows into {self.table_ref} "
            f"rolled back [{code}]: {exc}"
        )

    def _refuse_long_key(self, reader: t.Any, table: str, index: int) -> None:
        """A key value over VARCHAR2's 4000 bytes stops the run on both databases, naming its record's key."""
        row = reader.execute(ld.long_text_row_sql(index, self._key_idx, table)).fetchone()
        shown = {
            p: v if len(v) <= 40 else f"{v[:40]}..." for p, v in zip(self.key_props_raw, row[1:], strict=True)
        }
        prop = self._props[index]
        reason = contract.reason(k.STRING, "long_key")
        raise RefusedValueError(f"{self._where(shown, prop)}: a value of {row[0]} bytes refused: {reason}")

    def _widen_too_long(self) -> None:
        """A value over VARCHAR2's 4000 bytes: make the column a CLOB before the batch (never truncate)."""
        for i in sorted(self._too_long):
            col = self._columns[i][0]
            self._widen(col, k.STRING, k.CLOB)
            self._table_kinds[col] = k.CLOB
        self._too_long.clear()
        self._prepare_converters()
        if self.uses_staging:
            self._sync_staging()

    def _load(self, select: str, rows: int) -> None:
        """One transaction: the rows of ``select`` (DuckDB's, over the batch) into staging, MERGE, commit."""
        s = self.strategy
        cols = self._staging_columns()
        self._begin()
        # the run's first batch of the table empties it, in its transaction (a replay deletes again)
        emptied = self._target_ref.overwritten_tables
        overwrite = self.load_method == OVERWRITE and self.table_ref not in emptied
        if overwrite:
            self._execute(s.delete_all_sql(self.table_ref))
        updated = 0
        if self.uses_staging:
            source = s.stage(self._conn, self._reader(), self.staging_ref, cols, select)
            names = [c for c, _ in cols]
            whole_rows = set(self._table_kinds) <= set(names)
            statements = s.upsert_sql(
                self.table_ref, source, names, self.key_properties, whole_rows=whole_rows
            )
            if s.replaces_matched(whole_rows):
                # the first statement deletes the rows the batch replaces: its count is the updated rows
                updated = s.rowcount(self._execute(statements.pop(0)))
            else:
                matched = s.matched_count_sql(self.table_ref, source, self.key_properties)
                updated = int(self._execute(matched).fetchone()[0])
            for sql in statements:
                self._execute(sql)
        else:
            s.load_select(self._conn, self._reader(), self.table_ref, cols, select)
        marked = self._apply_marks(ld.BATCH_TABLE) if self._marks else 0

        def done() -> None:
            self._marks = []
            if overwrite:
                emptied.add(self.table_ref)
            self.summary["marked"] += marked
            self.summary["updated"] += updated
            self.summary["inserted"] += rows - updated

        self._committing = _Committing(done, replays_harmlessly=self.uses_staging or overwrite)
        self._conn.commit()
        self._committing = None
        done()
        if s.name == "duckdb":
            self.connector.set_memory_limit(self._conn)  # ``auto`` follows the rows now in the tables

    def _connect(self) -> None:
        """The sink's own connection, its session set up (``session_sql``)."""
        self._conn = self.connector.open_dbapi()
        for sql in self.strategy.session_sql():
            self._execute(sql)

    def _begin(self) -> None:
        self.strategy.begin(self._conn)

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except Exception as exc:  # the connection may be gone (transient error): nothing to undo
            self.logger.debug("Rollback failed: %s", exc)

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        except Exception as exc:
            self.logger.debug("Close failed: %s", exc)
        self._connect()
        if self.uses_staging:
            self._sync_staging()

    # -- versions ----------------------------------------------------------------------------------
    @property
    def active_version(self) -> int | None:
        """The table version of the stream's last ACTIVATE_VERSION: the version of its rows that carry none
        (the lines of BATCH files, a RECORD message without ``version``). Without it such rows would have no
        version, and the ACTIVATE_VERSION ending the sync would delete or mark the very rows it activates.
        Kept by the target, so it outlives a sink replaced by a new SCHEMA."""
        return self._target_ref.active_versions.get(self.stream_name)

    def activate_version(self, new_version: int) -> None:
        """Hard-delete (``hard_delete``) or mark deleted the rows of older table versions. Without
        ``add_record_metadata`` the rows carry no version, so every row, the current version's too, would
        count as older: the message fails the run instead, after the records before it are committed."""
        self._target_ref.commit_pending()
        if not self.include_sdc_metadata_properties:
            msg = (
                f"Stream '{self.stream_name}': ACTIVATE_VERSION {new_version} cannot tell old rows from "
                "current ones: with add_record_metadata false the rows carry no table version, and every "
                "row would be deleted. Set add_record_metadata true, or process_activate_version_messages "
                "false to ignore these messages"
            )
            raise TargetError(msg)
        for col, kind in ((VERSION_COLUMN, k.INTEGER), (DELETED_COLUMN, k.TIMESTAMP)):
            if col not in self._table_kinds:
                for sql in self.strategy.add_column_sql(self.table_ref, col, kind):
                    self._ddl(sql)
                self._table_kinds[col] = kind
        s = self.strategy
        self._begin()
        try:
            if self.config.get("hard_delete", False):
                self._execute(s.hard_delete_sql(self.table_ref, VERSION_COLUMN), [new_version])
            else:
                now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                self._execute(
                    s.soft_delete_sql(self.table_ref, VERSION_COLUMN, DELETED_COLUMN), [now, new_version]
                )
            self._conn.commit()
            self._target_ref.active_versions[self.stream_name] = new_version
        except Exception as exc:
            self._rollback()
            raise self._load_error(exc, 0) from exc

    def clean_up(self) -> None:
        """Close this sink's connections; drop an unloaded spool file (its records were not committed)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
            Path(self._spool_path).unlink(missing_ok=True)
        for file in self._batch_files.values():  # taken, never committed: the files stay for a rerun
            discard_copy(file)
        self._batch_files.clear()
        self._named.clear()
        for conn in (self._reader_conn, self._conn):
            if conn is not None:
                conn.close()
        self._conn = self._reader_conn = None
