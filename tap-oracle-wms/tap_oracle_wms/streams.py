"""Entity streams: incremental on `mod_ts` with a lookback window, shaped to the data contract."""

from __future__ import annotations

import datetime
import time
import typing as t

from singer_sdk import Stream, metrics
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.messages import RecordMessage

from tap_oracle_wms.batch import batch_config_from_settings, write_batches
from tap_oracle_wms.client import WmsStream
from tap_oracle_wms.discovery import KEY_PROPERTY, EntityDescription
from tap_oracle_wms.http import json_decoder
from tap_oracle_wms.records import RecordShaper, to_utc_timestamp
from tap_oracle_wms.state import WmsStateManager
from tap_oracle_wms.writer import WmsMessageWriter, record_line_parts

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig

# Seconds between progress lines at info level.
PROGRESS_INTERVAL_SECONDS = 30.0
# Pages that fail typed decoding (see `parse_response`) before a stream decodes its pages as plain JSON only.
PLAIN_PAGES_MAX = 3


def format_filter_timestamp(value: datetime.datetime) -> str:
    """Filter values always carry an explicit offset; without one the API reads them in the
    user's facility time zone."""
    return value.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")


class EntityStream(WmsStream):
    """One WMS entity. Key `id`; replication key `mod_ts` when the entity has it."""

    # Records are shaped to the schema by RecordShaper: the SDK's per-record conformance pass
    # would only repeat that work.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, description: EntityDescription) -> None:
        self.description = description
        super().__init__(
            tap, name=description.name, schema=description.schema, path=f"/entity/{description.name}/"
        )
        self.primary_keys = [KEY_PROPERTY]
        self.replication_key = description.replication_key
        self.shaper = RecordShaper(self.name, description.plan, self.logger)
        # A STATE message after every page's worth of records: a restart loses at most one page.
        self.STATE_MSG_FREQUENCY = int(self.config.get("page_size", 1250))
        self._records_seen = 0
        self._pages = 0
        self._last_progress = time.monotonic()
        self._deselected: list[str] | None = None
        # `time_extracted` of the records of the page being read (the moment its records were decoded).
        self._page_time = utc_now()
        # (writer, first and last bytes of every RECORD line of the page) while RECORD lines are encoded
        # straight from the records; False when stream maps or another writer need the SDK's messages.
        self._direct_lines: tuple[WmsMessageWriter, bytes, bytes] | bool | None = None
        self._state_key: str | bool | None = None
        # BATCH mode page by page (see `_sync_pages`): `parse_response` returns the page as one list, and
        # the counter of the records that went into files.
        self._page_mode = False
        self._page_counter: metrics.Counter | None = None
        # Pages decoded as plain JSON since the first (None: no page seen yet).
        self._plain_pages: int | None = None

    # State: see tap_oracle_wms.state for why the SDK's sorted/unsorted modes are not used as is.

    @property
    def is_sorted(self) -> bool:
        return self.replication_key is not None

    @property
    def check_sorted(self) -> bool:
        return False

    @property
    def state_manager(self) -> WmsStateManager:  # type: ignore[override]
        if self._state_manager is None:
            self._state_manager = WmsStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=True,
                check_sorted=False,
            )
        return t.cast("WmsStateManager", self._state_manager)

    def lower_bound(self, context: t.Any) -> datetime.datetime | None:
        """Where this run starts: the bookmark minus `lookback_seconds` (rows committed late carry
        an older `mod_ts` than rows already read), or `start_date` on a first run, whichever is later."""
        if not self.replication_key or self.replication_method != "INCREMENTAL":
            return None
        state = self.get_context_state(context)
        bookmark = (
            state.get("replication_key_value")
            if state.get("replication_key") == self.replication_key
            else None
        )
        if bookmark:
            # Bookmarks written by other tools may carry other offsets: keep the text UTC so the
            # SDK's text comparisons (signpost, ordering) compare instants.
            state["replication_key_value"], _ = to_utc_timestamp(str(bookmark))
        self.state_manager.begin(context, self.replication_key)
        bound: datetime.datetime | None = None
        if bookmark:
            bound = datetime.datetime.fromisoformat(state["replication_key_value"]) - datetime.timedelta(
                seconds=int(self.config.get("lookback_seconds", 300))
            )
        start_date = self.config.get("start_date")
        if start_date:
            start = datetime.datetime.fromisoformat(start_date)
            if bound is None or start > bound:
                bound = start
        return bound

    def base_params(self, context: t.Any) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"page_size": int(self.config.get("page_size", 1250))}
        if self.config.get("page_mode", "sequenced") == "sequenced":
            params["page_mode"] = "sequenced"
        if self.config.get("company_code"):
            params["company_id__code"] = self.config["company_code"]
        if self.config.get("facility_code"):
            params["facility_id__code"] = self.config["facility_code"]
        bound = self.lower_bound(context)
        if bound is not None:
            params[f"{self.replication_key}__gte"] = format_filter_timestamp(bound)
        params["ordering"] = f"{self.replication_key},id" if self.replication_key else "id"
        self.logger.info(
            "Stream '%s': requesting %s with %s",
            self.name,
            self.path,
            ", ".join(f"{k}={v}" for k, v in params.items()),
        )
        return params

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """The page's records, shaped (an iterator: one generator less between the SDK and the shaper)."""
        raw_records = self.page_records(response)
        if raw_records and type(raw_records[0]) is dict:
            if self._plain_pages is None:
                # The next pages decoded into records of the fields (and field order) this page's first has.
                self._plain_pages = 0
                page_type = self.shaper.page_type(tuple(raw_records[0]))
                if page_type is not None:
                    self.page_decoder = json_decoder(page_type)
            elif self.page_decoder is not None:
                # Pages of another shape: past a few, only plain JSON (one decoding a page, not two).
                self._plain_pages += 1
                if self._plain_pages >= PLAIN_PAGES_MAX:
                    self.page_decoder = None
        self._pages += 1
        self._records_seen += len(raw_records)
        if response.status_code == 404:
            self.logger.info("Stream '%s': HTTP 404 on a filtered request, read as no rows", self.name)
        self.logger.debug(
            "Stream '%s': page %d, %d records, %d so far",
            self.name,
            self._pages,
            len(raw_records),
            self._records_seen,
        )
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
            self._last_progress = now
            self.log_progress()
        self._page_time = utc_now()
        if self._direct_lines:
            self._direct_lines = self._direct_lines[:1] + record_line_parts(
                self.stream_maps[0].stream_alias, self._stream_version, self._page_time
            )
        if self._page_mode:
            # Rows (structs, cheaper to build and to encode) unless properties are to be dropped.
            deselected = self.deselected_properties()
            page = self.shaper.shape_page(raw_records, rows=not deselected)
            if deselected:
                page = list(map(self.drop_deselected, page))
            return (page,) if page else ()
        # Rows where the RECORD lines are encoded straight from the records and nothing is dropped from them.
        return self.shaper.shape_all(
            raw_records, rows=bool(self._direct_lines) and not self.deselected_properties()
        )

    def deselected_properties(self) -> list[str]:
        """Top-level properties the catalog deselects (computed once; records are flat)."""
        if self._deselected is None:
            mask = self.mask
            self._deselected = [name for name in self.schema["properties"] if not mask[("properties", name)]]
        return self._deselected

    def drop_deselected(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """`record` without its deselected properties (in place; returned for `map`)."""
        for name in self.deselected_properties():
            record.pop(name, None)
        return record

    def _generate_record_messages(self, record: dict[str, t.Any]) -> t.Iterator[RecordMessage]:
        """The SDK's RECORD messages, without its per-record walk of the selection mask.

        Shaped records are flat, so popping the deselected top-level properties (a list computed once)
        leaves exactly what the SDK's `pop_deselected_record_properties` leaves; type conformance is
        off for this stream (see TYPE_CONFORMANCE_LEVEL), so the record goes to the stream maps as is.
        """
        self.drop_deselected(record)
        version = self._stream_version
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=version,
                    time_extracted=self._page_time,
                )

    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        """The SDK's RECORD message, encoded by the tap's writer straight from the record.

        Without stream maps (the one map passes records through unchanged) and with the tap's own writer,
        the line is the writer's encoding of the message the SDK would build, byte for byte: the same
        keys in the same order, `time_extracted` the page's (see `parse_response`). Otherwise, the SDK's
        message objects.
        """
        direct = self._direct_lines
        if direct is None:
            direct = self._direct_lines = self._direct_record_lines()
        if not direct:
            super()._write_record_message(record)
            return
        writer, head, tail = direct
        writer.write_record_line(head, self.drop_deselected(record), tail)
        (self._state_manager or self.state_manager).is_flushed = False

    def _sync_records(
        self, context: t.Any = None, *, write_messages: bool = True
    ) -> t.Generator[t.Any, t.Any, t.Any]:
        """The SDK's record loop; page by page (`_sync_record_pages`) where it would only write each
        record's RECORD line, move the bookmark and count (see `_pages_suffice`) and the lines are written
        straight from the records (see `_write_record_message`)."""
        if write_messages and self._pages_suffice(context):
            direct = self._direct_lines
            if direct is None:
                direct = self._direct_lines = self._direct_record_lines()
            if direct:
                return self._sync_record_pages()
        return super()._sync_records(context, write_messages=write_messages)

    def _sync_record_pages(self) -> t.Iterator[list[t.Any]]:
        """`_sync_records(None)` a page at a time: a page's RECORD lines encoded in one call, its records
        counted and the bookmark moved once per run of records between two STATE messages (by
        `_records_taken`, as in BATCH mode), a STATE message after every `STATE_MSG_FREQUENCY` records
        and at the end, as the SDK's loop writes them: the same lines and the same states."""
        frequency = self.STATE_MSG_FREQUENCY
        written = 0
        for page in self._sync_pages():
            start, size = 0, len(page)
            while start < size:
                end = min(size, start + frequency - written % frequency)
                run = page if end - start == size else page[start:end]
                writer, head, tail = t.cast("tuple[WmsMessageWriter, bytes, bytes]", self._direct_lines)
                writer.write_record_lines(head, run, tail)
                self.state_manager.is_flushed = False
                self._records_taken(run)
                written += end - start
                start = end
                if written % frequency == 0:
                    self._write_state_message()
            yield page
        self._write_state_message()

    def _direct_record_lines(self) -> tuple[WmsMessageWriter, bytes, bytes] | bool:
        """What `_write_record_message` writes lines with, or False if the SDK's messages are needed."""
        writer = self._tap.message_writer
        maps = self.stream_maps
        if (
            not isinstance(writer, WmsMessageWriter)
            or not writer.takes_record_lines()
            or len(maps) != 1
            or type(maps[0]) is not SameRecordTransform
            or (maps[0].flattening_options and maps[0].flattening_enabled)
        ):
            return False
        return (writer, *record_line_parts(maps[0].stream_alias, self._stream_version, self._page_time))

    # The SDK's per-record bookkeeping, through its hooks, without work that is the same for every record.

    def _process_record(
        self, record: dict[str, t.Any], child_context: t.Any = None, partition_context: t.Any = None
    ) -> None:
        """The SDK's step for child streams and partition keys; without either, nothing to do (the SDK's
        default would still copy every record to make a child context no stream reads)."""
        if self.child_streams or partition_context:
            super()._process_record(record, child_context=child_context, partition_context=partition_context)

    def _increment_stream_state(self, latest_record: dict[str, t.Any], *, context: t.Any = None) -> None:
        """The SDK's bookmark step, the stream's replication mode read once per stream, not per record."""
        key = self._state_key
        if key is None:
            super()._increment_stream_state(latest_record, context=context)
            self._state_key = self.replication_key if self.replication_method == "INCREMENTAL" else False
        elif key and latest_record:
            self._state_manager.increment_state(latest_record, context=context, replication_key=key)

    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """The SDK's record counter (same metric and tags), looking at the clock every 256 records."""
        tags = {metrics.Tag.STREAM: self.name}
        if endpoint:
            tags[metrics.Tag.ENDPOINT] = endpoint
        return RecordCounter(metrics.Metric.RECORD_COUNT, tags, log_interval=log_interval)

    # BATCH mode (see tap_oracle_wms.batch): the SDK writes a BATCH message and then a STATE per file.

    def get_batch_config(self, config: t.Mapping) -> BatchConfig | None:
        """`batch_config` with its defaults filled in (jsonl, gzip, a local root); None in record mode.

        With `batch_full_sync_only`, a stream that continues from a bookmark runs in record mode: one
        extractor (one Meltano state id) then serves both the full sync, where files pay off, and the
        every-minute incremental run, where a few thousand RECORD lines are cheaper than files.
        """
        batch_config = batch_config_from_settings(config)
        if batch_config and config.get("batch_full_sync_only"):
            bookmark = self.get_context_state(self.context).get("replication_key_value")
            if bookmark:
                self.logger.info(
                    "Stream '%s' continues from bookmark %s: record mode (batch_full_sync_only).",
                    self.name,
                    bookmark,
                )
                return None
        return batch_config

    def get_batches(
        self, batch_config: BatchConfig, context: t.Any = None
    ) -> t.Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """Files of at most `batch_size` records; the bookmark moves with the records written to them.

        The records are those RECORD messages would carry: deselected properties are dropped here too
        (the SDK's own batching keeps them). Stream maps configured on the tap are not applied to the
        files (as in the SDK); the Parquet columns follow the schema the SCHEMA message announced.
        Page by page (`_sync_pages`) where the SDK's record loop would do nothing per record but move
        the bookmark and count; otherwise one record at a time from that loop.
        """
        options = {"tap_name": self.tap_name, "stream_name": self.name}
        schema = self.stream_maps[0].transformed_schema
        if self._pages_suffice(context):
            return write_batches(
                self._sync_pages(), batch_config, schema=schema, taken=self._records_taken, **options
            )
        records = self._sync_records(context, write_messages=False)
        return write_batches(
            ([self.drop_deselected(record)] for record in records), batch_config, schema=schema, **options
        )

    def _pages_suffice(self, context: t.Any) -> bool:
        """Whether `_sync_pages` gives what the SDK's `_sync_records(context)` loop gives: a selected stream
        without context, partitions, child streams, record post-processing or dry-run limit."""
        return (
            context is None
            and self.selected
            and not self.partitions
            and not self.child_streams
            and not self.state_partitioning_keys
            and self.ABORT_AT_RECORD_COUNT is None
            and type(self).post_process is Stream.post_process
        )

    def _sync_pages(self) -> t.Iterator[list[dict[str, t.Any]]]:
        """`_sync_records(None, write_messages=False)` a page at a time (see `_pages_suffice`): the same
        metrics and the same state, finalized when the pages run out, but each page's records yielded as
        one list and counted, and the bookmark moved, by `_records_taken` once they are in a file (BATCH
        mode) or written as RECORD lines (`_sync_record_pages`)."""
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        with record_counter, timer:
            record_counter.with_context({})
            timer.with_context({})
            self._write_starting_replication_value(None)
            self._page_counter = record_counter
            self._page_mode = True
            try:
                yield from self.get_records(None)
            finally:
                self._page_mode = False
            self._finalize_state(self.get_context_state(None))
        self._finalize_state(self.stream_state)

    def _records_taken(self, records: list[dict[str, t.Any]]) -> None:
        """The SDK's per-record steps after a record is yielded, for a run of records written to a file:
        the bookmark moved (`WmsStateManager.increment_state_run`), the records counted."""
        key = self._state_key
        if key is None:  # the first record through the SDK's step (which checks the replication key)
            self._increment_stream_state(records[0])
            key = self._state_key
            later = records[1:]
        else:
            later = records
        if key and later:
            self.state_manager.increment_state_run(later, replication_key=key)
        assert self._page_counter is not None
        self._page_counter.increment(len(records))

    def log_progress(self, final: bool = False) -> None:
        """Records so far and the current bookmark, at info level."""
        state = self.stream_state
        self.logger.info(
            "Stream '%s': %s%d records in %d pages, bookmark %s",
            self.name,
            "finished, " if final else "",
            self._records_seen,
            self._pages,
            state.get("replication_key_value")
            or state.get("progress_markers", {}).get("replication_key_value"),
        )

    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """`RESTStream.get_records` (which is `request_records`, called here directly), then the final
        progress line."""
        yield from self.request_records(context)
        self.log_progress(final=True)


class RecordCounter(metrics.Counter):
    """`metrics.Counter` whose `increment` checks whether a count is due every 256 records (and at every
    increment by more than one, a page's records): the metric is logged at most 256 records after its
    interval ends (and, as before, when the stream ends)."""

    def increment(self, value: int = 1) -> None:
        self.value += value
        if (value > 1 or not self.value & 0xFF) and self._ready_to_log():
            self._pop()
