"""Partitioned full sync: a stream's full sync split into id ranges read concurrently.

A tenant answers each page in its own time, so one cursor reads an entity of 100M rows in about half a day.
With `full_sync_partitions: N` a full sync (no bookmark, or `--full-refresh`) of an incremental stream splits
the entity's ids into N ranges (`id__gte` / `id__lt`; the first range is open below, the last open above, so
rows inserted during the sync are read too) and reads them with N threads. Each thread reads its range in id
order (keyset pages in paged mode, `ordering=id` links in sequenced mode) and hands each page to a queue of
N pages; the stream's one Singer loop takes the pages from it, so every record goes out in the one stream
(RECORD or BATCH) and at most 2N pages are in memory at once, whatever the entity's size.

The stream's state holds the sync's plan and each range's position:
    "full_sync_ranges": [{"lo": 1, "hi": 125001, "after_id": 40250, "done": false}, ...],
    "full_sync_started": <the start of the sync's first run>,
    "full_sync_max_seen": <the largest mod_ts written>,
    "partition_job": {"index": 0, "count": 2, "lo": null, "hi": 500001, "started": ...}   # partition jobs
`after_id` is the largest id written of a range read in id order (its records written and covered by the
STATE that carries it); a killed sync resumes each range after it, skips the ranges done, and keeps the
plan (bounds are not computed again). The bookmark stays null until every range is done; then it becomes
what a sequential full sync leaves: the largest `mod_ts` written, capped by the start of the sync's first
run (a range read by a killed run is not read again, so a row it holds that changed later must stay after
the bookmark), and the plan's keys become null. The plan is a list and scalars, never an object: the first
STATE of a full sync nulls them (see `EntityStream.run_walks`), and Meltano's merge of one STATE onto the
last (`meltano.core.utils.merge`) fails on an object where the last had a null. `partition_job` is for
the same reason never nulled; a new plan rewrites it whole.

Partition jobs (`partition_count: K`, `partition_index: i`): the run reads only slice i of K of the id
line, split in its turn into `full_sync_partitions` ranges, so K Meltano jobs (each with its own state id)
together do one full sync. Each job computes the slices from the smallest and largest id it sees: the
boundaries are rounded to a quantum of 0.1%..1% of a slice's width, and each slice but the last reaches
one quantum past its upper boundary, so ids inserted between the jobs' starts (up to a quantum's worth)
leave no id between two slices. A finished job keeps its slice and its start in `PARTITION_JOB` for the
step that hands the bookmark to the incremental job (orchestrate/finish_full_sync.py), which also checks
that the slices of the jobs cover the whole id line.

Bounds: the smallest and largest id come from two `page_size=1` requests ordered by `id` and `-id`
(`WmsStream.id_extremes`, asked by every run of a full sync before it reads); an entity that refuses
`ordering`, or ignores it (both requests answer the same row while more rows match), is searched by row
counts instead (`id__lte` / `id__gt`, `page_size=1` pages' `result_count`, COUNT_CONCURRENCY requests at
a time). Positions need rows in id order: when the entity refuses or ignores `ordering` no range keeps a
position (a killed sync reads the ranges not done again from their start); a range whose ids arrive out
of order anyway drops its position.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_oracle_wms.client import WmsStream
from tap_oracle_wms.pagination import Walk

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers import types

    from tap_oracle_wms.shaping import ContractRecord
    from tap_oracle_wms.streams import EntityStream

# Stream state keys of a partitioned full sync in progress (see the module docstring).
PARTITIONS = "full_sync_ranges"
PARTITIONS_STARTED = "full_sync_started"
PARTITIONS_MAX_SEEN = "full_sync_max_seen"
PLAN_KEYS = (PARTITIONS, PARTITIONS_STARTED, PARTITIONS_MAX_SEEN)
# Stream state key a finished partition job leaves for the finishing step: its slice and its start.
PARTITION_JOB = "partition_job"
# Count requests in flight at once while searching the bounds of an entity that refuses `ordering`.
COUNT_CONCURRENCY = 10
# Smallest quantum partition boundaries are rounded to (see `quantum`): a small entity needs no balance.
MIN_QUANTUM = 100
# Largest id the count search considers (ids are positive 64-bit integers).
MAX_ID = 2**63 - 1
# Seconds a worker waits for room in the page queue before checking whether the sync stopped.
PUT_TIMEOUT_SECONDS = 0.5


class IdRange(t.NamedTuple):
    """Ids `lo <= id < hi`; None = open on that side."""

    lo: int | None
    hi: int | None

    def filters(self) -> dict[str, str]:
        params = {}
        if self.lo is not None:
            params["id__gte"] = str(self.lo)
        if self.hi is not None:
            params["id__lt"] = str(self.hi)
        return params

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo >= self.hi

    def __str__(self) -> str:
        low = "" if self.lo is None else str(self.lo)
        high = "" if self.hi is None else str(self.hi - 1)
        return f"ids {low}..{high}"


def quantum(first: int, last: int, count: int) -> int:
    """What boundaries are rounded to: 0.1%..1% of a range's width, at least MIN_QUANTUM ids."""
    width = max(1, (last - first + 1) // count)
    return max(MIN_QUANTUM, 10 ** max(0, len(str(width)) - 3))


def boundaries(first: int, last: int, count: int) -> list[int]:
    """The `count - 1` inner boundaries that split ids `first..last` into `count` ranges of about equal
    width, each a multiple of `quantum`: the same for every job unless more ids than that are inserted
    between the jobs' starts."""
    step = quantum(first, last, count)
    low = first // step * step
    high = -(-(last + 1) // step) * step
    return [low + (high - low) * k // count // step * step for k in range(1, count)]


def split(outer: IdRange, count: int, first: int, last: int) -> list[IdRange]:
    """`outer` split into `count` ranges (fewer when it holds fewer ids), the outer ends kept as they are;
    `first`..`last`: the smallest and largest id of the entity."""
    low = first if outer.lo is None else max(first, outer.lo)
    high = last if outer.hi is None else min(last, outer.hi - 1)
    if count <= 1 or high < low:
        return [outer]
    inner = sorted({b for b in boundaries(low, high, count) if low < b <= high})
    edges = [outer.lo, *inner, outer.hi]
    return [IdRange(edges[k], edges[k + 1]) for k in range(len(edges) - 1)]


def job_slice(index: int, count: int, first: int, last: int) -> IdRange:
    """Slice `index` of `count` of the whole id line (the first open below, the last open above), its
    upper end one quantum past the boundary: a job that started before ids were inserted computes
    boundaries up to one quantum lower than a job that started after, and the overlap keeps that from
    leaving ids between the two slices (a row read twice is harmless: targets upsert)."""
    edges: list[int | None] = [None, *boundaries(first, last, count), None]
    high = edges[index + 1]
    return IdRange(edges[index], None if high is None else high + quantum(first, last, count))


def id_bounds(
    stream: EntityStream, filters: dict[str, str], extremes: tuple[int, int] | None
) -> tuple[int, int] | None:
    """(smallest id, largest id) of the rows matching `filters`; None when there are none. `extremes`:
    what `stream.id_extremes(filters)` answered, searched by row counts instead when the entity refuses
    or ignores `ordering`."""
    if not stream.ordering_refused:
        return extremes
    if stream.count_rows(filters) == 0:
        return None
    with ThreadPoolExecutor(max_workers=COUNT_CONCURRENCY) as pool:
        low = _smallest(lambda x: stream.count_rows({**filters, "id__lte": str(x)}) > 0, pool)
        high = _smallest(lambda x: stream.count_rows({**filters, "id__gt": str(x)}) == 0, pool)
    return low, high


def _smallest(predicate: t.Callable[[int], bool], pool: ThreadPoolExecutor) -> int:
    """The smallest x in 0..MAX_ID with `predicate(x)` true (monotone: false, then true), asking
    COUNT_CONCURRENCY points of the interval at once."""
    low, high = 0, MAX_ID  # predicate(high) is assumed true; the answer lies in low..high
    while low < high:
        step = max(1, (high - low) // (COUNT_CONCURRENCY + 1))
        points = list(range(low + step - 1, high, step))[:COUNT_CONCURRENCY] or [low]
        answers = list(pool.map(predicate, points))
        below = [p for p, yes in zip(points, answers, strict=True) if not yes]
        above = [p for p, yes in zip(points, answers, strict=True) if yes]
        low = max(below) + 1 if below else low
        high = min(above) if above else high
    return low


class Positions:
    """The partitioned sync's plan in the stream's state and how each written record moves it; used by the
    stream's state manager in the main thread, after each record is written."""

    def __init__(self, state: dict[str, t.Any], logger: t.Any, stream_name: str, *, ordered: bool) -> None:
        self.state = state
        self.entries: list[dict[str, t.Any]] = state[PARTITIONS]
        self.ranges = [IdRange(r["lo"], r["hi"]) for r in self.entries]
        # Whether rows arrive in id order (False when the entity refuses or ignores `ordering`).
        self.ordered = ordered
        self.unordered: set[int] = set()
        self.logger = logger
        self.stream_name = stream_name

    def index_of(self, record_id: int) -> int | None:
        for k, bounds in enumerate(self.ranges):
            if (bounds.lo is None or record_id >= bounds.lo) and (bounds.hi is None or record_id < bounds.hi):
                return k
        return None

    def written(self, record: types.Record | ContractRecord, max_seen: str | None) -> None:
        """A record is written: its range's position moves to its id (rows in id order only)."""
        self.state[PARTITIONS_MAX_SEEN] = max_seen
        record_id = record.get("id")
        k = self.index_of(record_id) if isinstance(record_id, int) else None
        if k is None or not self.ordered or k in self.unordered:
            return
        entry = self.entries[k]
        if entry["after_id"] is not None and record_id <= entry["after_id"]:
            self.logger.warning(
                "Stream '%s': ids of %s arrive out of order (%d after %d): the server ignores `ordering`; "
                "the range keeps no position (a killed sync reads it again from its start)",
                self.stream_name,
                self.ranges[k],
                record_id,
                entry["after_id"],
            )
            self.unordered.add(k)
            entry["after_id"] = None
            return
        entry["after_id"] = record_id

    def stop_positions(self) -> None:
        """Rows no longer come in id order: every range keeps the position it has (the rows before it
        came in order) and moves no further."""
        self.ordered = False

    def pending(self) -> list[tuple[int, IdRange]]:
        """(index, what is left to read) of every range not done."""
        left = []
        for k, (bounds, entry) in enumerate(zip(self.ranges, self.entries, strict=True)):
            if entry["done"]:
                continue
            after = entry["after_id"]
            left.append((k, IdRange(bounds.lo if after is None else after + 1, bounds.hi)))
        return left

    def done(self, k: int) -> None:
        self.entries[k]["done"] = True


def new_plan(ranges: list[IdRange], started: str | None) -> dict[str, t.Any]:
    """The state keys of a new plan."""
    return {
        PARTITIONS: [{"lo": r.lo, "hi": r.hi, "after_id": None, "done": r.empty} for r in ranges],
        PARTITIONS_STARTED: started,
        PARTITIONS_MAX_SEEN: None,
    }


def saved_plan(state: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """The plan keys of a partitioned full sync in progress in `state`, None when it holds none."""
    ranges = state.get(PARTITIONS)
    keys = {"lo", "hi", "after_id", "done"}
    if not isinstance(ranges, list) or not ranges:
        return None
    if not all(isinstance(r, dict) and keys <= set(r) for r in ranges):
        return None
    return {key: state.get(key) for key in PLAN_KEYS}


class RangeReader(WmsStream):
    """Reads one id range of a partitioned full sync in a worker thread: the stream's walk, narrowed to
    the range and ordered by id, on the run's shared session; each page goes to `deliver`."""

    def __init__(
        self,
        owner: EntityStream,
        walk: Walk,
        deliver: t.Callable[[list[t.Any]], None],
        unordered: t.Callable[[], None],
    ) -> None:
        super().__init__(owner.owning_tap, name=owner.name, schema=owner.schema, path=owner.path)
        self.owner = owner
        self.walk = walk
        self.page_size = owner.page_size
        self.ordering_refused = owner.ordering_refused
        self.deliver = deliver
        self.unordered = unordered

    def decode_page(self, content: bytes) -> t.Any:
        return self.owner.decode_page(content)

    def reading_unsorted(self) -> None:
        """The entity refused `ordering`: later readers ask without it, and no range keeps a position."""
        self.owner.ordering_refused = True
        self.unordered()

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        records = list(super().parse_response(response))
        if response.status_code == 404:
            self.logger.info("Stream '%s': HTTP 404 for %s, read as no rows", self.name, self.walk.label)
        self.deliver(records)
        return records


class Stopped(Exception):
    """The sync stopped reading (an error elsewhere, or the consumer went away)."""


def read_concurrently(
    owner: EntityStream, walk: Walk, positions: Positions, concurrency: int
) -> t.Iterator[list[t.Any]]:
    """The raw pages of every pending range, `concurrency` ranges read at once, pages handed over
    through a queue of `concurrency` pages. A range is marked done once all its pages were taken (so once
    its records are written: the caller writes a page before it asks for the next). The first error of any
    range stops the others and is raised here."""
    pending = positions.pending()
    if not pending:
        return
    pages: queue.Queue[tuple[str, int, t.Any]] = queue.Queue(maxsize=concurrency)
    stop = threading.Event()

    def put(item: tuple[str, int, t.Any]) -> None:
        while True:
            if stop.is_set():
                raise Stopped
            try:
                pages.put(item, timeout=PUT_TIMEOUT_SECONDS)
                return
            except queue.Full:
                continue

    def work(k: int, bounds: IdRange) -> None:
        try:
            range_walk = Walk(f"{walk.label}, {bounds}", {**walk.filters, **bounds.filters()}, ordering="id")
            reader = RangeReader(
                owner, range_walk, lambda records: put(("page", k, records)), positions.stop_positions
            )
            for _ in reader.request_records(None):
                pass
            put(("done", k, None))
        except Stopped:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it
            with contextlib.suppress(Stopped):
                put(("error", k, exc))

    owner.logger.info(
        "Stream '%s': reading %d id ranges, %d at once (%s)",
        owner.name,
        len(pending),
        min(concurrency, len(pending)),
        ", ".join(str(bounds) for _, bounds in pending),
    )
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(pending)), thread_name_prefix=owner.name)
    try:
        for k, bounds in pending:
            pool.submit(work, k, bounds)
        left = len(pending)
        while left:
            kind, k, payload = pages.get()
            if kind == "page":
                yield payload
            elif kind == "done":
                positions.done(k)
                left -= 1
            else:
                raise payload
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
