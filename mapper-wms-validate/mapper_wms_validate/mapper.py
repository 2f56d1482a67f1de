"""The mapper: reads Singer messages, checks each record against its stream's rules, routes the rejects.

Why an InlineMapper: the SDK gives the CLI (`--config`, `--about`, `--input`), config validation, logging
and metrics; this class only adds the per-message hooks. The mapper is 1:1 streaming: every input message
is handled and written before the next is read, so a STATE message always follows the records it covers.

The hooks yield the input line itself for what passes unchanged (so a valid record stays byte for byte what
the tap wrote), SDK message objects for the quarantine stream's SCHEMA and RECORD messages, and dicts for
the BATCH messages it writes (the SDK's BATCH message class is in a private module).
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import typing as t

from singer_sdk import singerlib as singer
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.mapper_base import InlineMapper
from singer_sdk.singerlib.exceptions import InvalidInputLine

from mapper_wms_validate.accounting import Accounting, Progress, StreamCounts
from mapper_wms_validate.batch import (
    BatchFileError,
    Chunk,
    OutputFile,
    OutputFiles,
    decode_record,
    encoding_of,
    jsonl_chunks,
    open_input,
    parquet_table,
    remove,
)
from mapper_wms_validate.engine import StreamTest, compile_passes
from mapper_wms_validate.quarantine import QuarantineSchemaError, QuarantineStream
from mapper_wms_validate.rules import ACTION_SEVERITY, ACTIONS, Rule, RuleBook, RuleConfigError
from mapper_wms_validate.schema_check import RecordSchemaCheck, compile_record
from mapper_wms_validate.singer_io import ValidateReader, ValidateWriter

if t.TYPE_CHECKING:
    from mapper_wms_validate.checks import RecordCheck

SCHEMA_RULE = "schema"


class ValidationFailed(RuntimeError):
    """A record broke a rule whose action is `fail`: the run stops (non-zero exit)."""


class UnknownRulesError(RuntimeError):
    """`strict_rules` is on and a configured rule's stream or field never appeared."""


@dataclasses.dataclass
class StreamState:
    """What the mapper knows about one input stream since its latest SCHEMA message."""

    name: str
    schema_message: dict
    key_properties: list[str]
    tests: tuple[tuple[Rule, RecordCheck], ...]
    schema_check: RecordSchemaCheck | None
    # whether a record, or a BATCH line, passes the schema check and every rule (the rule engine's test)
    test: StreamTest
    quarantine: QuarantineStream
    counts: StreamCounts
    quarantine_schema_sent: bool = False
    properties_seen: set[str] = dataclasses.field(default_factory=set)
    logged_rejections: int = 0


class WmsValidateMapper(InlineMapper):
    """Enforces data-quality rules on Singer records; rejects go to a quarantine stream, or are dropped, or
    stop the run, and every record is accounted for."""

    name = "mapper-wms-validate"
    capabilities: t.ClassVar[list] = [PluginCapabilities.ABOUT, PluginCapabilities.STRUCTURED_LOGGING]
    message_reader_class = ValidateReader
    message_writer_class = ValidateWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "rules",
            th.ObjectType(additional_properties=th.ArrayType(th.ObjectType(additional_properties=True))),
            default={},
            description=(
                "Per stream name (or '*' for every stream), a list of rules: {name?, field | expression, "
                "check, <check parameters>, action?}. A rule whose name matches a default rule replaces "
                "it; an entry with only name and action (or enabled: false) changes (or disables) that rule."
            ),
        ),
        th.Property(
            "validate_schema",
            th.BooleanType,
            default=True,
            description="Check every record against its stream's JSON Schema (types, required, enum, "
            "nesting); a mismatch is a violation of the rule named 'schema' with the `on_invalid` action.",
        ),
        th.Property(
            "on_invalid",
            th.StringType,
            default="quarantine",
            allowed_values=list(ACTIONS),
            description="Default action for a record that breaks a rule without its own `action`: quarantine "
            "(send it to the quarantine stream), drop (count, log, discard) or fail (stop the run, exit 1).",
        ),
        th.Property(
            "quarantine_stream_suffix",
            th.StringType,
            default="_rejected",
            description="Suffix of the quarantine stream name: rejects from `allocation` go to "
            "`allocation_rejected` by default.",
        ),
        th.Property(
            "use_default_rules",
            th.BooleanType,
            default=True,
            description="Apply the built-in default rules (ids, mod_ts, quantities, status domains; "
            "see README).",
        ),
        th.Property(
            "strict_rules",
            th.BooleanType,
            default=False,
            description="Fail the run (at its end, exit 1) when a configured rule names a stream or "
            "field that never appeared, instead of only logging a warning.",
        ),
        th.Property(
            "keep_batch_files",
            th.BooleanType,
            default=False,
            description="Keep the files a BATCH message names once the mapper has read them and written "
            "its own; by default they are removed (target-oracle's setting of the same name does the same "
            "for the mapper's files).",
        ),
        th.Property(
            "batch_config",
            th.ObjectType(
                th.Property(
                    "encoding",
                    th.ObjectType(
                        th.Property("format", th.StringType, allowed_values=["jsonl", "parquet"]),
                        th.Property("compression", th.StringType, allowed_values=["gzip", "none"]),
                    ),
                    description="Format and compression of the files the mapper writes; default: those of "
                    "the file it read.",
                ),
                th.Property(
                    "storage",
                    th.ObjectType(
                        th.Property("root", th.StringType, description="Directory or URL for the files."),
                        th.Property("prefix", th.StringType, description="File name prefix."),
                    ),
                    description="Where the mapper writes its files; default: the directory of the file "
                    "it read.",
                ),
            ),
            default={},
            description="BATCH mode: where and how the files of passed and quarantined records are "
            "written (shaped like the SDK's batch_config). Left out, or any part left out: the input file's "
            "directory and encoding.",
        ),
        th.Property(
            "log_rejections_limit",
            th.IntegerType,
            default=20,
            description="How many rejected records per stream are logged one by one (stream, key, rules); "
            "the rest are only counted in the summary.",
        ),
        th.Property(
            "progress_interval_seconds",
            th.IntegerType,
            default=30,
            description="Log every stream's counts (in, passed, quarantined, dropped) at most this often "
            "during a run, at INFO level; 0 logs them only at the end.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        cfg = self.config
        self.on_invalid: str = cfg.get("on_invalid", "quarantine")
        self.suffix: str = cfg.get("quarantine_stream_suffix", "_rejected")
        self.validate_schema: bool = cfg.get("validate_schema", True)
        self.strict_rules: bool = cfg.get("strict_rules", False)
        self.log_limit: int = cfg.get("log_rejections_limit", 20)
        self.keep_batch_files: bool = cfg.get("keep_batch_files", False)
        errors: list[str] = []
        try:
            self.output_files = OutputFiles(cfg.get("batch_config"))
        except BatchFileError as exc:
            errors.append(str(exc))
        if self.on_invalid not in ACTIONS:
            errors.append(
                f"on_invalid: unknown action {self.on_invalid!r} (expected one of {', '.join(ACTIONS)})"
            )
        if not isinstance(self.suffix, str) or not self.suffix:
            errors.append("quarantine_stream_suffix: must be a non-empty string")
        try:
            self.rule_book = RuleBook(cfg.get("rules"), use_default_rules=cfg.get("use_default_rules", True))
        except RuleConfigError as exc:
            errors.extend(exc.errors)
        interval = cfg.get("progress_interval_seconds", 30)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
            errors.append(
                f"progress_interval_seconds: must be a whole number of seconds >= 0, got {interval!r}"
            )
        if errors:
            raise ConfigValidationError("Invalid mapper-wms-validate settings", errors=errors)
        self.accounting = Accounting()
        self.progress = Progress(self.accounting, self.logger, float(interval))
        self.streams: dict[str, StreamState] = {}
        self.quarantine_names: dict[str, str] = {}  # quarantine stream -> source stream
        self.summary: dict[str, t.Any] = {}

    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Run the mapper from the CLI, as the SDK does, with the objects of start-up frozen for the run.

        Start-up (importing the SDK and its dependencies, building the CLI) leaves some 50,000 container
        objects that live until the process ends. `gc.freeze()` moves them out of the collector's reach, so
        no collection walks them again during the run or at exit (0.05 to 0.07 s CPU per run, measured);
        what the run allocates is still collected as usual.

        A user's error (a malformed input line, a missing or broken BATCH file, a `fail` rule, an unknown
        rule under `strict_rules`) is logged at ERROR as its message alone, and the process exits with
        code 1: the message names what is wrong, and Meltano keeps the level of a log line but reads each
        traceback line as info. Any other exception, a bug, keeps its traceback.
        """
        gc.freeze()
        try:
            super().invoke(**kwargs)
        except (InvalidInputLine, BatchFileError, ValidationFailed, UnknownRulesError) as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)

    # --- helpers -------------------------------------------------------------------------------------

    @property
    def _line(self) -> int:
        return self.message_reader.line_number

    def _raw(self) -> bytes:
        return self.message_reader.raw_line()

    def _require(self, message: dict, key: str, kind: type, what: str) -> t.Any:
        value = message.get(key)
        if not isinstance(value, kind):
            stream = message.get("stream")
            where = f" for stream {stream!r}" if isinstance(stream, str) else ""
            msg = f"line {self._line}: {what} message{where} needs '{key}' ({kind.__name__}), got {value!r}"
            raise InvalidInputLine(msg)
        return value

    # --- SDK hooks -----------------------------------------------------------------------------------

    def map_schema_message(self, message_dict: dict) -> t.Iterable[t.Any]:
        """Compile the stream's rules and schema check; pass the SCHEMA message through unchanged."""
        stream = self._require(message_dict, "stream", str, "SCHEMA")
        schema = self._require(message_dict, "schema", dict, "SCHEMA")
        key_properties = message_dict.get("key_properties") or []
        if not isinstance(key_properties, list) or not all(isinstance(k, str) for k in key_properties):
            raise InvalidInputLine(
                f"line {self._line}: SCHEMA for {stream!r}: key_properties must be a list of names"
            )
        if stream in self.quarantine_names or stream + self.suffix in self.streams:
            source = self.quarantine_names.get(stream, stream)
            msg = (
                f"line {self._line}: input stream {stream!r} collides with the quarantine stream of "
                f"{source!r}; set quarantine_stream_suffix to something else than {self.suffix!r}"
            )
            raise InvalidInputLine(msg)
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        try:
            quarantine = QuarantineStream(stream, self.suffix, schema, key_properties)
        except QuarantineSchemaError as exc:
            raise InvalidInputLine(f"line {self._line}: {exc}") from None
        rules = self.rule_book.rules_for(stream, properties)
        previous = self.streams.get(stream)
        counts = self.accounting.stream(stream)
        counts.activate([SCHEMA_RULE] * self.validate_schema + [r.name for r in rules])
        schema_check = compile_record(schema, key_properties) if self.validate_schema else None
        state = StreamState(
            name=stream,
            schema_message=message_dict,
            key_properties=key_properties,
            tests=tuple((rule, rule.test) for rule in rules),
            test=compile_passes(
                schema,
                key_properties,
                rules,
                check_schema=self.validate_schema,
                schema_problems=schema_check,
            ),
            schema_check=schema_check,
            quarantine=quarantine,
            counts=counts,
        )
        if previous is not None:
            state.properties_seen = previous.properties_seen
            state.logged_rejections = previous.logged_rejections
            # the quarantine SCHEMA is sent again (before the next reject) only if the source schema changed
            same = previous.schema_message == message_dict
            state.quarantine_schema_sent = previous.quarantine_schema_sent and same
        state.properties_seen.update(properties)
        self.streams[stream] = state
        self.quarantine_names[quarantine.name] = stream
        for configured_stream, rule in self.rule_book.configured_rules():
            if configured_stream == stream and not all(f in properties for f in rule.fields):
                missing = [f for f in rule.fields if f not in properties]
                self.logger.warning(
                    "Rule %r (%s) reads field(s) %s that stream %r's SCHEMA does not declare (line %d)",
                    rule.name,
                    rule.where,
                    missing,
                    stream,
                    self._line,
                )
        yield self._raw()

    def map_record_message(self, message_dict: dict) -> t.Iterable[t.Any]:
        """Pass a valid record through byte for byte; route a rejected one by its most severe action.

        Returns a tuple rather than being a generator: this runs once per record, and resuming a
        generator twice per record costs more than some of the checks.
        """
        state = self.streams.get(message_dict.get("stream"))  # type: ignore[arg-type]
        if state is None:
            stream = self._require(message_dict, "stream", str, "RECORD")
            msg = (
                f"line {self._line}: RECORD for stream {stream!r} arrived before any SCHEMA message for that "
                "stream; a tap must send the stream's SCHEMA first"
            )
            raise InvalidInputLine(msg)
        record = message_dict.get("record")
        if type(record) is not dict:
            record = self._require(message_dict, "record", dict, "RECORD")
        self.progress.tick()  # before this record is counted: the counts it logs balance
        state.counts.records_in += 1
        if state.test.passes(record):
            state.counts.passed += 1
            return (self.message_reader.raw_line(),)
        violations = self._violations(state, record)
        quarantined = self._reject(state, message_dict, violations, f"line {self._line}")
        if quarantined is None:
            return ()
        if not state.quarantine_schema_sent:
            state.quarantine_schema_sent = True
            return (state.quarantine.schema_message, quarantined)
        return (quarantined,)

    def _violations(self, state: StreamState, record: dict) -> list[tuple[str, str, str | None, str, str]]:
        """Every rule `record` breaks, as (rule, check, field, message, action)."""
        violations = []
        if state.schema_check is not None:
            for field, message in state.schema_check(record) or ():
                violations.append((SCHEMA_RULE, "schema", field, message, self.on_invalid))
        for rule, test in state.tests:
            problem = test(record)
            if problem is not None:
                action = rule.action or self.on_invalid
                violations.append((rule.name, rule.check, rule.field_label, problem, action))
        return violations

    def _reject(
        self,
        state: StreamState,
        message: dict,
        violations: list[tuple[str, str, str | None, str, str]],
        where: str,
    ) -> singer.RecordMessage | None:
        """Count and log a rejected record and apply its action: raise for `fail`, None for `drop`, else
        the quarantine RECORD message."""
        action = max((v[4] for v in violations), key=ACTION_SEVERITY.__getitem__)
        counts = state.counts
        setattr(counts, _OUTCOME[action], getattr(counts, _OUTCOME[action]) + 1)
        for rule_name in {v[0] for v in violations}:
            rule_counts = counts.rules[rule_name]
            rule_counts.broken += 1
            setattr(rule_counts, _OUTCOME[action], getattr(rule_counts, _OUTCOME[action]) + 1)
        record = message["record"]
        key = {k: record.get(k) for k in state.key_properties}
        broken = "; ".join(f"rule '{v[0]}' ({v[2]}: {v[3]})" for v in violations)
        if action == "fail":
            self.message_writer.flush()
            self.summary = self.accounting.log_summary(self.logger, self.metrics_logger)
            msg = (
                f"{where}: record with key {key} in stream {state.name!r} broke {broken}; "
                "action 'fail' stops the run (messages before this line, including the last STATE, "
                "were written)"
            )
            raise ValidationFailed(msg)
        if state.logged_rejections < self.log_limit:
            state.logged_rejections += 1
            verb = "Dropped" if action == "drop" else f"Quarantined (to {state.quarantine.name!r})"
            self.logger.warning("%s record with key %s from stream %r: %s", verb, key, state.name, broken)
        if action == "drop":
            return None
        return state.quarantine.record_message(
            message,
            [{"rule": v[0], "check": v[1], "field": v[2], "message": v[3]} for v in violations],
        )

    def map_state_message(self, message_dict: dict) -> t.Iterable[t.Any]:
        """Pass STATE through in order (the records it covers were written before it), then flush."""
        yield self._raw()
        self.message_writer.flush()

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[t.Any]:
        """Pass ACTIVATE_VERSION through for the source stream only (the quarantine stream keeps history)."""
        self._require(message_dict, "stream", str, "ACTIVATE_VERSION")
        yield self._raw()

    def map_batch_message(self, message_dict: dict) -> t.Iterable[t.Any]:
        """Validate every record of the BATCH message's files; announce new files of passed and quarantined
        records (one BATCH message per stream); then remove the files read, unless `keep_batch_files`.

        Everything happens before the next input line is read, so a STATE that follows this BATCH message
        still follows the BATCH messages written for it. On any error (a missing or malformed file, a `fail`
        rule) the files written for this message are removed and the files read are kept.
        """
        stream = self._require(message_dict, "stream", str, "BATCH")
        state = self.streams.get(stream)
        if state is None:
            msg = (
                f"line {self._line}: BATCH for stream {stream!r} arrived before any SCHEMA message for that "
                "stream; a tap must send the stream's SCHEMA first"
            )
            raise InvalidInputLine(msg)
        manifest = self._require(message_dict, "manifest", list, "BATCH")
        where = f"line {self._line}: BATCH for stream {stream!r}"
        outputs: list[OutputFile] = []
        try:
            encoding = encoding_of(message_dict.get("encoding"), where)
            for url in manifest:
                if not isinstance(url, str):
                    raise BatchFileError(f"{where}: manifest entries must be file URLs, got {url!r}")
                self._batch_file(state, url, encoding, outputs)
            manifests = [(out, out.close()) for out in outputs]
        except BatchFileError as exc:
            for out in outputs:
                out.discard()
            text = str(exc)
            raise InvalidInputLine(text if text.startswith("line ") else f"{where}: {text}") from None
        except BaseException:
            for out in outputs:
                out.discard()
            raise
        for name, batch_files in ((stream, []), (state.quarantine.name, [])):
            batch_files += [(out, url) for out, url in manifests if url is not None and out.stream == name]
            if not batch_files:
                continue
            message: dict[str, t.Any] = {
                "type": "BATCH",
                "stream": name,
                "encoding": {
                    "format": batch_files[0][0].encoding.format,
                    "compression": batch_files[0][0].encoding.compression,
                },
                "manifest": [url for _, url in batch_files],
            }
            if name == stream:
                if message_dict.get("version") is not None:
                    message["version"] = message_dict["version"]
            elif not state.quarantine_schema_sent:
                state.quarantine_schema_sent = True
                yield state.quarantine.schema_message
            yield message
        self.message_writer.flush()
        if not self.keep_batch_files:
            for url in manifest:
                remove(url)

    def _batch_file(self, state: StreamState, url: str, encoding: t.Any, outputs: list[OutputFile]) -> None:
        """Validate one BATCH file's records into a passed file and a quarantine file; log its counts."""
        counts = state.counts
        before = (counts.records_in, counts.passed, counts.quarantined, counts.dropped)
        passed = self.output_files.open(url, encoding, state.name)
        quarantined = self.output_files.open(url, encoding, state.quarantine.name)
        outputs += [passed, quarantined]
        where = f"line {self._line}: BATCH file {url!r}, record"
        with open_input(url) as raw:
            if encoding.format == "parquet":
                table = parquet_table(url, raw)
                passed.arrow_schema = table.schema if passed.encoding.format == "parquet" else None
                for number, record in enumerate(table.to_pylist(), 1):
                    self.progress.tick()  # before this record is counted: the counts it logs balance
                    self._batch_record(state, record, None, where, number, passed, quarantined)
            else:
                chunks = jsonl_chunks(url, raw, encoding.compression)
                self._batch_lines(state, url, where, chunks, passed, quarantined)
        after = (counts.records_in, counts.passed, counts.quarantined, counts.dropped)
        n_in, n_passed, n_quarantined, n_dropped = (b - a for a, b in zip(before, after, strict=True))
        self.logger.info(
            "BATCH file %s (stream '%s'): %d in, %d passed, %d quarantined, %d dropped%s",
            url,
            state.name,
            n_in,
            n_passed,
            n_quarantined,
            n_dropped,
            "" if n_in == n_passed + n_quarantined + n_dropped else " (COUNTS DO NOT BALANCE: this is a bug)",
        )

    def _batch_lines(
        self,
        state: StreamState,
        url: str,
        where: str,
        chunks: t.Iterator[Chunk],
        passed: OutputFile,
        quarantined: OutputFile,
    ) -> None:
        """Validate a JSONL file's lines, in order, as RECORD messages are validated.

        Per chunk read, the rule engine's `undecided_lines` finds the lines not known to pass; the runs of
        lines between them are written and counted together, and each of them is decoded into a dict and
        decided as a RECORD message's record is (blank lines are skipped, anything but a JSON object names
        the line). The counts balance whenever they are logged."""
        undecided_lines = state.test.undecided_lines
        counts = state.counts
        number = 0  # lines before this chunk
        for chunk in chunks:
            lines = chunk.lines
            end = len(lines)
            self.progress.tick(end)  # before these records are counted: the counts it logs balance
            start = 0
            for stop in [*undecided_lines(lines), end]:
                if stop > start:
                    counts.records_in += stop - start
                    counts.passed += stop - start
                    passed.write_lines(chunk, start, stop)
                if stop < end:
                    line = lines[stop]
                    record = decode_record(url, number + stop + 1, line)  # None when blank
                    if record is not None:
                        self._batch_record(state, record, line, where, number + stop + 1, passed, quarantined)
                start = stop + 1
            number += end

    def _batch_record(
        self,
        state: StreamState,
        record: dict,
        line: bytes | None,
        where: str,
        number: int,
        passed: OutputFile,
        quarantined: OutputFile,
    ) -> None:
        """One BATCH record (record `number` of the file `where` names): the same checks and actions as
        for a RECORD message."""
        state.counts.records_in += 1
        if state.test.passes(record):
            state.counts.passed += 1
            if line is None:
                passed.write_record(record)
            else:
                passed.write_line(line, record)
            return
        violations = self._violations(state, record)
        message = self._reject(state, {"record": record}, violations, f"{where} {number}")
        if message is not None:
            quarantined.write_record(message.record)

    def process_endofpipe(self) -> None:
        """Flush, log the summary and metrics, and report rules whose stream or field never appeared."""
        self.message_writer.flush()
        self.summary = self.accounting.log_summary(self.logger, self.metrics_logger)
        problems = list(self.unused_rules())
        for problem in problems:
            self.logger.warning("%s", problem)
        if problems and self.strict_rules:
            raise UnknownRulesError("strict_rules: " + "; ".join(problems))

    def unused_rules(self) -> t.Iterator[str]:
        """Messages for configured rules on streams or fields that never appeared in any SCHEMA."""
        every_field = set().union(*(s.properties_seen for s in self.streams.values()))
        for stream, rule in self.rule_book.configured_rules():
            if stream == "*":
                missing = [f for f in rule.fields if f not in every_field]
                if missing:
                    yield f"{rule.where} reads field(s) {missing} that no stream declared"
                continue
            state = self.streams.get(stream)
            if state is None:
                yield f"{rule.where} is for stream {stream!r}, which never appeared"
                continue
            missing = [f for f in rule.fields if f not in state.properties_seen]
            if missing:
                yield (
                    f"{rule.where} reads field(s) {missing} that stream {stream!r}'s SCHEMA never declared"
                )


_OUTCOME = {"drop": "dropped", "quarantine": "quarantined", "fail": "failed"}


if __name__ == "__main__":
    WmsValidateMapper.cli()
