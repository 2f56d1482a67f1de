"""Entity streams: incremental on `mod_ts` with a look-back window, shaped to the data contract.

Each run of an incremental stream with a bookmark reads, in this order (tap_oracle_wms.pagination):
1. with `reconcile_hours`, the clock hours before the look-back window whose row count grew since the
   last run (tap_oracle_wms.reconcile);
2. unless `read_backdated_rows` is false, the rows created since the bookmark minus the look-back
   whose `mod_ts` is older than that (`create_ts__gte` and `mod_ts__lt`, "backdated");
3. the changes: `mod_ts__gte=<bookmark - lookback_seconds>` (or `start_date`, or everything).
Rows of 1 and 2 never move the bookmark; they come first so that a run killed during them resumes
from the same bookmark and reads them again.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import time
import typing as t

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_oracle_wms.batch import batch_config_from_settings, write_batches
from tap_oracle_wms.client import WmsStream
from tap_oracle_wms.discovery import KEY_PROPERTY, EntityDescription
from tap_oracle_wms.errors import WmsStateError
from tap_oracle_wms.pagination import KEYSET, LINK, Walk, filter_timestamp, page_member, response_body
from tap_oracle_wms.partitions import (
    PARTITION_JOB,
    PARTITIONS_MAX_SEEN,
    PARTITIONS_STARTED,
    PLAN_KEYS,
    IdRange,
    Positions,
    id_bounds,
    job_slice,
    new_plan,
    read_concurrently,
    saved_plan,
    split,
)
from tap_oracle_wms.reconcile import hours_to_reread
from tap_oracle_wms.shaping import ContractRecord, RecordShaper, to_utc_timestamp
from tap_oracle_wms.state import (
    BOOKMARK,
    FULL_SYNC,
    IN_PROGRESS,
    RECONCILE_COUNTS,
    SIGNPOST,
    STATE_FIX,
    VERSION,
    WmsStateManager,
    bookmark_of,
)
from tap_oracle_wms.versions import table_version, write_activate_version

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap

    # The SDK exports its batch configuration classes from no public module.
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig

# Seconds between progress lines at info level.
PROGRESS_INTERVAL_SECONDS = 30.0
CREATED = "create_ts"
# Stream state keys a run continues from: null in the STATE that announces a full sync (see `run_walks`).
RESUME_KEYS = (BOOKMARK, RECONCILE_COUNTS, *PLAN_KEYS)


class EntityStream(WmsStream):
    """One WMS entity. Key `id`; replication key `mod_ts` when the entity has it."""

    # Records are shaped to the schema by RecordShaper (`post_process`): the SDK's per-record
    # conformance pass would only repeat that work.
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
        self.STATE_MSG_FREQUENCY = self.page_size
        self.progress = Progress()
        self.deselected: list[str] | None = None
        # The tap and its state writer (the SDK gives streams no public reference to their tap).
        self.owning_tap = tap
        self.state_writer = tap.state_writer
        # The id ranges of a partitioned full sync while it runs (tap_oracle_wms.partitions).
        self.positions: Positions | None = None
        # Whether this run asked if the server honours `ordering` (`id_extremes`, `check_order`).
        self.order_checked = False
        # What `run_walks` began and `end_run` finishes.
        self.current_run: Run | None = None

    # State: see tap_oracle_wms.state for why the SDK's sorted/unsorted modes are not used as is.

    @property
    def is_sorted(self) -> bool:
        return self.replication_key is not None

    @property
    def check_sorted(self) -> bool:
        return False

    @property
    def state_manager(self) -> WmsStateManager:  # type: ignore[override]
        # `_state_manager`, `_tap_state`: the SDK's own attributes behind this property, which is the
        # documented way to give a stream another state manager (no public setter exists).
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

    def get_replication_key_signpost(self, context: t.Any = None) -> str | None:
        """The sync's start as the bookmark's own UTC text (the SDK compares them as text)."""
        signpost = super().get_replication_key_signpost(context)
        if isinstance(signpost, datetime.datetime):
            return signpost.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")
        return signpost  # type: ignore[no-any-return]

    @property
    def emit_activate_version_messages(self) -> bool:
        """False: the SDK's own ACTIVATE_VERSION (FULL_TABLE streams only, at the start only) is not
        written; `run_walks` and `end_run` write them for every full sync (tap_oracle_wms.versions)."""
        return False

    @property
    def incremental(self) -> bool:
        return self.replication_key is not None and self.replication_method == "INCREMENTAL"

    def starting_bookmark(self, context: t.Any) -> datetime.datetime | None:
        """The bookmark this run starts from (normalised to UTC text in the state first: bookmarks written
        by other tools may carry other offsets, and the SDK compares bookmarks as text)."""
        if not self.incremental:
            return None
        state = self.get_context_state(context)
        bookmark = bookmark_of(state, self.replication_key)
        if bookmark:
            state[BOOKMARK], naive = to_utc_timestamp(str(bookmark))
            if naive:
                self.logger.warning(
                    "Stream '%s': bookmark %r has no offset; read as UTC", self.name, bookmark
                )
        self.state_manager.begin(context, t.cast("str", self.replication_key))
        return datetime.datetime.fromisoformat(state[BOOKMARK]) if bookmark else None

    def walks(self, context: t.Any) -> t.Iterator[Walk]:
        """The walks of this run, in order (see the module docstring)."""
        if not self.replication_key:
            yield Walk("all rows")
            return
        bookmark = self.starting_bookmark(context)
        lookback = datetime.timedelta(seconds=int(self.config.get("lookback_seconds", 300)))
        bound = bookmark - lookback if bookmark else None
        now = datetime.datetime.now(datetime.timezone.utc)
        if bound is not None and bound > now:
            # The bookmark never moves back: rows changed from now until the bound would never be read.
            raise WmsStateError(
                f"State of stream '{self.name}': {BOOKMARK} {bookmark.isoformat()} minus lookback_seconds "
                f"is later than now ({now.isoformat(timespec='seconds')}): the rows changed until then "
                f"would never be read. {STATE_FIX}"
            )
        start_date = self.config.get("start_date")
        if self.incremental and start_date:
            start = datetime.datetime.fromisoformat(start_date.replace("Z", "+00:00"))
            if bound is None or start > bound:
                bound = start
        if bookmark is not None and bound is not None:
            hours = int(self.config.get("reconcile_hours", 0))
            if hours:
                grown, counts = hours_to_reread(self, context, bound, hours)
                for hour in grown:
                    yield Walk(
                        f"hour {filter_timestamp(hour)} re-read (its count grew or is new)",
                        {
                            f"{self.replication_key}__gte": filter_timestamp(hour),
                            f"{self.replication_key}__lt": filter_timestamp(
                                hour + datetime.timedelta(hours=1)
                            ),
                        },
                        moves_bookmark=False,
                    )
                self.state_manager.set_reconcile_counts(context, counts)
            if self.config.get("read_backdated_rows", True) and CREATED in self.description.plan:
                # Only the rows the changes walk cannot see (`mod_ts` before its bound): every other row
                # created since is one of its rows, and would be read and written twice.
                yield Walk(
                    f"rows created since {filter_timestamp(bound)} with an older {self.replication_key}",
                    {
                        f"{CREATED}__gte": filter_timestamp(bound),
                        f"{self.replication_key}__lt": filter_timestamp(bound),
                    },
                    moves_bookmark=False,
                )
        filters = {f"{self.replication_key}__gte": filter_timestamp(bound)} if bound else {}
        since = f" since {filters[f'{self.replication_key}__gte']}" if filters else ""
        yield Walk(f"changes{since}", filters, ordering=f"{self.replication_key},id")

    def run_walks(self, context: t.Any) -> t.Iterator[Walk]:
        """The walks of this run (`walks`), each begun (see `begin_walk`) as the caller asks for it; the
        caller reads each one's records before asking for the next, and calls `end_run` once the records
        of the last one are written (record mode) or announced (BATCH mode).

        An incremental stream that starts without a bookmark (a first sync, `--full-refresh`, a resumed
        full sync) first writes a STATE saying so, with null for every key a run continues from
        (RESUME_KEYS): Meltano's `--full-refresh` ignores the saved state but keeps it, and Meltano merges
        a killed run's STATE onto the last complete one (a key the STATE lacks keeps its old value), so
        without these nulls a full refresh killed before its first bookmark would be resumed (without the
        flag) from the old bookmark, not as the full sync it was. A null bookmark reads as none.

        A full sync's table version (tap_oracle_wms.versions) is in that STATE, and its ACTIVATE_VERSION
        follows it: a run killed after the message resumes with the same version.
        """
        walks = self.walks(context)
        first = next(walks)
        state = self.get_context_state(context)
        reads_all = not bookmark_of(state, self.replication_key)
        full_sync = self.incremental and reads_all
        version = table_version(
            self.config,
            state,
            incremental=self.incremental,
            reads_all=reads_all,
            testing=self.ABORT_AT_RECORD_COUNT is not None,
        )
        # The SDK writes `_stream_version` into every RECORD message (`Stream._generate_record_messages`)
        # and has no public way to set it.
        self._stream_version = version
        partitioned = False
        extremes = None
        if full_sync:
            resumed = saved_plan(state)
            state[FULL_SYNC] = IN_PROGRESS
            state.update(dict.fromkeys(RESUME_KEYS))
            state.update(resumed or {})
            state[VERSION] = version
            self.state_writer.write_state(self.tap_state)
            partitioned = resumed is not None or self.partitioned_full_sync()
        if version is not None:
            write_activate_version(self.owning_tap, self, version)
        self.current_run = Run(
            context=context,
            full_sync=full_sync,
            # A full sync killed after its bookmark moved resumes from it, and ends with this run.
            ends_full_sync=self.incremental and (full_sync or state.get(FULL_SYNC) == IN_PROGRESS),
            partitioned=partitioned,
            version=version,
        )
        self.order_checked = reads_all
        if reads_all:
            # Whether rows come in the order asked for (and the bounds of a new partition plan).
            extremes = self.id_extremes(dict(first.filters))
        for walk in itertools.chain((first,), walks):
            self.begin_walk(walk, context)
            if partitioned and walk.moves_bookmark:
                self.begin_partitions(context, walk, extremes)
            yield walk

    def end_run(self) -> None:
        """Every walk of the run begun by `run_walks` is read and its records written: the full sync's
        closing ACTIVATE_VERSION, then its state marked complete (in the STATE the SDK writes next)."""
        run = t.cast("Run", self.current_run)
        state = self.get_context_state(run.context)
        self.state_manager.paused = False
        if run.partitioned:
            self.end_partitions(state)
        if run.version is not None:
            write_activate_version(self.owning_tap, self, run.version)
        if run.ends_full_sync:
            # Null, not removed: Meltano merges the STATEs of a `--full-refresh` run onto the old state, where
            # a key the last STATE lacks keeps the first STATE's values.
            state[FULL_SYNC] = None
            state[VERSION] = None
            self.state_manager.is_flushed = False
        if run.full_sync:
            for key in RESUME_KEYS:
                # A partitioned sync's plan keys stay, null: Meltano merges each STATE onto the last one, so
                # only a null replaces the plan's last values.
                if state.get(key) is None and not (run.partitioned and key in PLAN_KEYS):
                    state.pop(key, None)
        self.log_progress(final=True)

    def partitioned_full_sync(self) -> bool:
        """Whether a full sync of this stream is read in id ranges (tap_oracle_wms.partitions)."""
        return self.ABORT_AT_RECORD_COUNT is None and (
            int(self.config.get("full_sync_partitions", 1)) > 1
            or int(self.config.get("partition_count", 1)) > 1
        )

    def begin_partitions(self, context: t.Any, walk: Walk, extremes: tuple[int, int] | None) -> None:
        """Start or resume (the state holds a plan) the partitioned read of the full sync's walk: the plan
        in the state, written at once, and the positions the stream's state manager moves (none when the
        entity refuses or ignores `ordering`). `extremes`: see `id_bounds`."""
        state = self.get_context_state(context)
        if saved_plan(state) is None:
            state.update(self.new_partition_plan(walk, state, extremes))
        manager = self.state_manager
        manager.resume_max_seen(state.get(PARTITIONS_MAX_SEEN))
        manager.make_unsorted(context, t.cast("str", self.replication_key))
        self.positions = manager.positions = Positions(
            state, self.logger, self.name, ordered=not self.ordering_refused
        )
        self.state_writer.write_state(self.tap_state)

    def new_partition_plan(
        self, walk: Walk, state: dict[str, t.Any], extremes: tuple[int, int] | None
    ) -> dict[str, t.Any]:
        """The id ranges of a new partitioned full sync: the whole id line, or this partition job's slice
        of it, split into `full_sync_partitions` ranges."""
        count = int(self.config.get("partition_count", 1))
        index = int(self.config.get("partition_index", 0))
        bounds = id_bounds(self, dict(walk.filters), extremes)
        outer = IdRange(None, None)
        ranges = [outer]
        if bounds is not None:
            first, last = bounds
            if count > 1:
                outer = job_slice(index, count, first, last)
            ranges = split(outer, int(self.config.get("full_sync_partitions", 1)), first, last)
        started = state.get(SIGNPOST)
        job = (
            {"index": index, "count": count, "lo": outer.lo, "hi": outer.hi, "started": started}
            if count > 1
            else None
        )
        self.logger.info(
            "Stream '%s': full sync in %d id ranges%s (ids %s)",
            self.name,
            len(ranges),
            f", partition job {index} of {count}: {outer}" if job else "",
            f"{bounds[0]}..{bounds[1]}" if bounds else "none yet",
        )
        return {**new_plan(ranges, started), **({PARTITION_JOB: job} if job else {})}

    def end_partitions(self, state: dict[str, t.Any]) -> None:
        """Every range is read: the bookmark (promoted by the SDK from the largest value written) is capped
        by the start of the sync's first run, and the plan is nulled (a partition job keeps
        `partition_job`)."""
        self.positions = self.state_manager.positions = None
        started = state.get(PARTITIONS_STARTED)
        if started and (not state.get(SIGNPOST) or started < state[SIGNPOST]):
            state[SIGNPOST] = started
        state.update(dict.fromkeys(PLAN_KEYS))

    def begin_walk(self, walk: Walk, context: t.Any) -> None:
        """Make `walk` the current one: its rows move the bookmark or not, and unsorted walks make the
        stream unsorted (see tap_oracle_wms.state)."""
        self.walk = walk
        manager = self.state_manager
        manager.paused = not walk.moves_bookmark
        if walk.moves_bookmark and self.incremental and (self.scheme != LINK or self.ordering_refused):
            manager.make_unsorted(context, t.cast("str", self.replication_key))
        self.logger.info(
            "Stream '%s': reading %s (%s mode, ordering %s, page size %d)",
            self.name,
            walk.label,
            "sequenced" if self.sequenced else "paged",
            "not used (refused or ignored)"
            if self.ordering_refused
            else ("id" if self.scheme != LINK else walk.ordering),
            self.page_size,
        )

    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """The raw records of every walk of this run, in order (record mode: the SDK's loop shapes them
        through `post_process`, writes them and moves the bookmark)."""
        for _ in self.run_walks(context):
            if self.positions is None:
                yield from self.request_records(context)
                continue
            for page in self.partition_pages():
                yield from page
        self.end_run()

    def shaped_pages(self, context: t.Any) -> t.Iterator[list[ContractRecord]]:
        """The shaped records of every walk of this run, in lists of up to `page_size` (BATCH mode; the
        caller ends the run, `end_run`, once the last file is announced)."""
        for _ in self.run_walks(context):
            pages = self.cursor_pages(context) if self.positions is None else self.partition_pages()
            for page in pages:
                yield self.shape_page(page)

    def cursor_pages(self, context: t.Any) -> t.Iterator[list[t.Any]]:
        """The raw records of the current walk, read by one cursor, in lists of up to `page_size`."""
        records = iter(self.request_records(context))
        while page := list(itertools.islice(records, self.page_size)):
            yield page

    def partition_pages(self) -> t.Iterator[list[t.Any]]:
        """The raw pages of a partitioned full sync's walk, several id ranges read at once; the caller
        writes a page's records before it asks for the next page, which is what marks a range done."""
        concurrency = max(1, int(self.config.get("full_sync_partitions", 1)))
        for page in read_concurrently(self, self.walk, t.cast("Positions", self.positions), concurrency):
            self.progress.page(len(page), None, self.walk, after_read=False)
            if self.progress.due():
                self.log_progress()
            yield page

    def reading_unsorted(self) -> None:
        if self.incremental and self.walk.moves_bookmark:
            self.state_manager.make_unsorted(self.context, t.cast("str", self.replication_key))

    def check_order(self, response: requests.Response) -> None:
        """Before the first page of a run with a bookmark that links to a second one is written, ask
        whether the server honours `ordering` (`id_extremes`), once per run. A walk read in `mod_ts`
        order moves the bookmark with the rows, in the STATE after each page: if the server ignored the
        ordering, a run killed after such a STATE would resume past rows it never read (the first row out
        of order is noticed only when it comes). A run without a bookmark asked before it read; a walk
        of one page writes its STATE when it is complete; paged-mode walks are unsorted anyway."""
        if (
            self.order_checked
            or self.ordering_refused
            or self.scheme != LINK
            or not (self.incremental and self.walk.moves_bookmark and self.state_manager.sorted_so_far)
            or not page_member(response_body(response), "next_page")
        ):
            return
        self.order_checked = True
        self.id_extremes(dict(self.walk.filters))
        if self.ordering_refused:
            self.reading_unsorted()

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """The page's raw records; counts them for the progress lines."""
        records = list(super().parse_response(response))
        self.check_order(response)
        body = response_body(response)
        total = page_member(body, "result_count")
        # A keyset page's result_count counts the rows after the last id read; a numbered page's, the walk's.
        self.progress.page(
            len(records),
            total if isinstance(total, int) else None,
            self.walk,
            after_read=self.scheme == KEYSET,
        )
        if response.status_code == 404:
            self.logger.info("Stream '%s': HTTP 404 on a filtered request, read as no rows", self.name)
        self.logger.debug(
            "Stream '%s': page %d, %d records, %d so far",
            self.name,
            self.progress.pages,
            len(records),
            self.progress.records,
        )
        if self.progress.due():
            if self.progress.total is None and not self.progress.counted:
                # A long walk without totals (sequenced mode): one count request, once per walk.
                self.progress.counted = True
                try:
                    self.progress.total = self.count_rows(dict(self.walk.filters))
                except FatalAPIError as exc:  # a progress line is not worth failing the sync for
                    self.logger.info("Stream '%s': rows of the walk not counted (%s)", self.name, exc)
            self.log_progress()
        return records

    def decode_page(self, content: bytes) -> t.Any:
        """The page's records typed for the shaper (tap_oracle_wms.shaping)."""
        return self.shaper.decode_page(content)

    def post_process(self, row: t.Any, context: t.Any = None) -> dict[str, t.Any] | None:
        """The contract's record (`shape_page` of one row), as the dict the SDK's record loop takes."""
        return self.shape_page((row,))[0].to_dict()

    def shape_page(self, rows: t.Sequence[t.Any]) -> list[ContractRecord]:
        """The contract's records (tap_oracle_wms.shaping), without the properties the catalog deselects:
        record mode shapes one row at a time (`post_process`), BATCH mode a page at a time."""
        if self.deselected is None:
            mask = self.mask
            self.deselected = [name for name in self.schema["properties"] if not mask[("properties", name)]]
            self.shaper.omit(self.deselected)
        if not rows:
            return []
        shape = self.shaper.shape_for(type(rows[0]))
        return [shape(row) for row in rows]

    def log_progress(self, final: bool = False) -> None:
        """Records so far, rate, the share of the walk's total when the API gives one, and the bookmark."""
        state = self.stream_state
        bookmark = state.get(BOOKMARK) or state.get("progress_markers", {}).get(BOOKMARK)
        self.logger.info(
            "Stream '%s': %s%s, bookmark %s",
            self.name,
            "finished, " if final else "",
            self.progress,
            bookmark,
        )

    # BATCH mode (see tap_oracle_wms.batch): the SDK writes a BATCH message and then a STATE per file.

    def get_batch_config(self, config: t.Mapping) -> BatchConfig | None:
        """`batch_config` with its defaults filled in (jsonl, gzip, a local root); None in record mode.

        With `batch_full_sync_only`, a stream that continues from a bookmark runs in record mode: one
        extractor (one Meltano state id) then serves both the full sync, where files pay off, and the
        every-minute incremental run, where a few thousand RECORD lines are cheaper than files.
        """
        batch_config = batch_config_from_settings(config)
        if batch_config and self.ABORT_AT_RECORD_COUNT is not None:
            return None  # `--test` reads one record per stream: record mode
        if batch_config and config.get("batch_full_sync_only"):
            bookmark = bookmark_of(self.get_context_state(self.context), self.replication_key)
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

        Page by page (`shaped_pages`), not through the SDK's record loop: the loop's per-record work (child
        contexts, the per-record state, counter and limit steps) is a large share of the tap's CPU time in
        the BATCH full sync, where the tap is the pipeline's slowest stage (see bench.tap). What the loop does
        is done here a page at a time: the bookmark moved by the stream's state manager over each run of
        records put in a file (`taken`, `WmsStateManager.records_written`), the records counted, the state
        finalized and written by the SDK when the stream ends (`finalize_state_progress_markers`). Stream
        maps configured on the tap are not applied to the files (as in the SDK); the Parquet columns follow
        the schema the SCHEMA message announced.
        """
        manager = self.state_manager
        key = self.replication_key if self.incremental else None
        counter = self.get_record_counter()

        def taken(records: list[ContractRecord]) -> None:
            if key:
                manager.records_written(records, context=context, replication_key=key)
            counter.increment(len(records))

        with counter, self.get_sync_timer():
            yield from write_batches(
                self.shaped_pages(context),
                batch_config,
                schema=self.stream_maps[0].transformed_schema,
                tap_name=self.tap_name,
                stream_name=self.name,
                taken=taken,
            )
            # The SDK has written the last file's BATCH message and its STATE.
            self.end_run()


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a stream, as `EntityStream.run_walks` began it."""

    context: t.Any
    # An incremental stream's sync that started without a bookmark.
    full_sync: bool
    # That, or a full sync resumed from the bookmark it reached: either ends with this run.
    ends_full_sync: bool
    # Read in id ranges (tap_oracle_wms.partitions).
    partitioned: bool
    # The table version of its ACTIVATE_VERSION messages and RECORD messages (tap_oracle_wms.versions).
    version: int | None


class Progress:
    """Records and pages read by a stream, for the progress lines every PROGRESS_INTERVAL_SECONDS."""

    def __init__(self) -> None:
        self.records = 0
        self.pages = 0
        self.started = time.monotonic()
        self.last_line = self.started
        # Rows the API says the current walk holds (paged mode's `result_count`), and the stream's
        # records read before that walk's counted page.
        self.total: int | None = None
        self.walk: Walk | None = None
        self.walk_records = 0
        # Whether the current walk's rows were counted by a request of their own (`count_rows`).
        self.counted = False

    def page(self, records: int, result_count: int | None, walk: Walk, *, after_read: bool) -> None:
        if walk is not self.walk:
            self.walk, self.walk_records, self.total, self.counted = walk, 0, None, False
        if result_count is not None:
            self.total = self.walk_records + result_count if after_read else result_count
        self.records += records
        self.walk_records += records
        self.pages += 1

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last_line < PROGRESS_INTERVAL_SECONDS:
            return False
        self.last_line = now
        return True

    def __str__(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.records / elapsed
        text = f"{self.records} records in {self.pages} pages, {rate:.0f} records/s"
        if self.total:
            done = min(self.walk_records, self.total)
            left = (self.total - done) / rate if rate else 0.0
            text += f", {100 * done / self.total:.0f}% of {self.total} ({left:.0f} s left)"
        return text
