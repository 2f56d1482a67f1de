"""Bookmarks: safe when a sync is killed, when the API ignores or refuses ordering, and for side walks.

The SDK offers two modes, neither right here (see the README's pitfalls):
- `is_sorted=False`: the bookmark only moves at the end of a complete sync, so a killed sync
  restarts from its starting point;
- `is_sorted=True, check_sorted=False`: the bookmark becomes the *last* value seen, which moves it
  backwards (or past unseen rows) when rows arrive unsorted, as the API's sequenced mode may send them.

`WmsStateManager` keeps the SDK's state layout and message cadence but decides the value itself:
- while rows arrive in `mod_ts` order (the tap asks for `ordering=mod_ts,id`), the bookmark is the
  latest `mod_ts` seen, never lower than the bookmark the run started from, and never above the
  signpost (the run's start time), so rows changed during the run are read again by the next run;
- a walk not ordered by `mod_ts` (paged mode's keyset walk by `id`, an entity that refuses `ordering`),
  or the first row that arrives out of order (the server ignores the ordering), makes the stream
  unsorted: the bookmark stays where the run started (rows not yet seen may be older than anything
  seen) and the largest value seen is kept as a progress marker that the SDK promotes, capped by the
  signpost, only when the sync completes;
- rows of a side walk (backdated rows, re-read hours) never move the bookmark (`paused`).
All values are UTC text of one fixed format, so comparing them as text compares instants.

A null `replication_key_value` is no bookmark: a sync that starts without one writes the null in its
first STATE (see `EntityStream.run_walks`), so that Meltano's merge of a killed run's state onto the
last complete one drops the old bookmark instead of keeping it.
"""

from __future__ import annotations

import logging
import typing as t

# The SDK has no public hook for a bookmark rule of a stream's own: `Stream.state_manager` is the
# documented override point, and its class lives in this private module.
from singer_sdk.streams._state import StreamStateManager

from tap_oracle_wms.discovery import REPLICATION_KEY
from tap_oracle_wms.errors import WmsStateError
from tap_oracle_wms.shaping import to_utc_timestamp

if t.TYPE_CHECKING:
    from singer_sdk.helpers import types

    from tap_oracle_wms.partitions import Positions
    from tap_oracle_wms.shaping import ContractRecord

BOOKMARK = "replication_key_value"
KEY = "replication_key"
SIGNPOST = "replication_key_signpost"
MARKERS = "progress_markers"
NOTE = "Note"
# Row counts per clock hour of the reconcile mode (see tap_oracle_wms.reconcile), kept in the stream's state.
RECONCILE_COUNTS = "reconcile_counts"
# IN_PROGRESS while a sync that started without a bookmark runs (resumed too), null once it completed
# (see `EntityStream.run_walks`).
FULL_SYNC = "full_sync"
IN_PROGRESS = "in progress"
# The table version of that full sync (tap_oracle_wms.versions): an integer, or null when it has none.
VERSION = "full_sync_version"


def bookmark_of(state: t.Mapping[str, t.Any], replication_key: str | None) -> t.Any:
    """The stream state's bookmark for `replication_key`; None when it has none, holds a null (a
    sync without a bookmark is in progress) or belongs to another replication key."""
    return state.get(BOOKMARK) if replication_key and state.get(KEY) == replication_key else None


STATE_FIX = (
    "Fix the state, or start that stream over with a full sync (Meltano: run the job with --full-refresh)."
)


def check_state(state: t.Any) -> None:
    """Raise WmsStateError naming the stream and the key when the state given to the tap is not one it
    can continue from: not a JSON object, keys but no `bookmarks` (Meltano's `{"singer_state": ...}`),
    `bookmarks` or a stream's state not an object, a bookmark that
    is no ISO-8601 timestamp (every bookmark of this tap is one), a bookmark without `replication_key` or
    for another key (which would otherwise be ignored: a silent full sync), reconcile counts that are
    not an object of integers, a full sync's table version that is not an integer. A null bookmark is none
    (a full sync in progress)."""
    if not isinstance(state, dict):
        raise WmsStateError(f"State must be a JSON object, got {type(state).__name__}. {STATE_FIX}")
    if "bookmarks" not in state and set(state) - {"currently_syncing"}:
        # `meltano state get` prints the state wrapped in {"singer_state": ...}: read as it is, no stream
        # would have a bookmark (a silent full sync of every stream).
        wrapped = " (give the object under 'singer_state', as `meltano state get` prints it wrapped)"
        raise WmsStateError(
            f"State has no 'bookmarks', only {sorted(state)}"
            f"{wrapped if 'singer_state' in state else ''}. {STATE_FIX}"
        )
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise WmsStateError(
            f"State: 'bookmarks' must be an object of stream states, got {type(bookmarks).__name__}. "
            f"{STATE_FIX}"
        )
    for stream, stream_state in bookmarks.items():
        what = f"State of stream '{stream}'"
        if not isinstance(stream_state, dict):
            raise WmsStateError(f"{what} must be an object, got {type(stream_state).__name__}. {STATE_FIX}")
        value, key = stream_state.get(BOOKMARK), stream_state.get(KEY)
        if value is not None:
            if key != REPLICATION_KEY:
                raise WmsStateError(
                    f"{what}: {BOOKMARK} {value!r} is for {KEY} {key!r}; this tap bookmarks "
                    f"{REPLICATION_KEY!r}. {STATE_FIX}"
                )
            try:
                to_utc_timestamp(value if isinstance(value, str) else "")
            except ValueError as exc:
                why = f" ({exc})" if isinstance(value, str) else ""
                raise WmsStateError(
                    f"{what}: {BOOKMARK} {value!r} is not an ISO-8601 timestamp{why}. {STATE_FIX}"
                ) from None
        counts = stream_state.get(RECONCILE_COUNTS)
        if counts is not None and not (
            isinstance(counts, dict) and all(type(n) is int for n in counts.values())
        ):
            raise WmsStateError(
                f"{what}: {RECONCILE_COUNTS} must be an object of row counts by hour, got "
                f"{str(counts)[:100]}. {STATE_FIX}"
            )
        version = stream_state.get(VERSION)
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise WmsStateError(
                f"{what}: {VERSION} must be an integer (the full sync's table version), got "
                f"{str(version)[:100]}. {STATE_FIX}"
            )


class WmsStateManager(StreamStateManager):
    """Monotonic, signpost-capped, order-checking bookmark for one stream (no partitions)."""

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._initial: str | None = None
        self._started = False
        self._max_seen: str | None = None
        self.sorted_so_far = True
        # True while a side walk runs: its rows are emitted but do not move the bookmark.
        self.paused = False
        # During a partitioned full sync: the id ranges' positions, moved by each record written.
        self.positions: Positions | None = None
        self.logger = logging.getLogger(kwargs.get("tap_name")).getChild(kwargs["stream_name"])

    def begin(self, context: types.Context | None, replication_key: str) -> str | None:
        """Remember the bookmark this run starts from (before any record moves it)."""
        state = self.get_context_state(context)
        self._initial = bookmark_of(state, replication_key)
        self._started = True
        return self._initial

    @property
    def max_seen(self) -> str | None:
        """Largest replication-key value seen in this run (side walks excluded)."""
        return self._max_seen

    def increment_state(
        self,
        latest_record: types.Record,
        *,
        context: types.Context | None = None,
        replication_key: str,
    ) -> None:
        """Advance the bookmark from one emitted record (the SDK's record loop; see `records_written`)."""
        self.records_written((latest_record,), context=context, replication_key=replication_key)

    def records_written(
        self,
        records: t.Sequence[types.Record | ContractRecord],
        *,
        context: types.Context | None = None,
        replication_key: str,
    ) -> None:
        """Advance the bookmark from records emitted in this order (see the module docstring for the
        rules): one record in record mode, a file's run of records in BATCH mode, where the state is
        written only after the file. The state ends as if each record had been taken in turn."""
        if self.paused:
            return
        state = self.get_context_state(context)
        if not self._started:
            self.begin(context, replication_key)
        positions = self.positions
        max_seen = self._max_seen
        for record in records:
            value = record.get(replication_key)
            if value is None:
                continue
            if max_seen is None or value >= max_seen:
                max_seen = value
            elif self.sorted_so_far:
                self._max_seen = max_seen
                self.logger.warning(
                    "Stream '%s': rows arrive out of %s order (%s after %s); the server ignores "
                    "`ordering`. The bookmark stays at the run's starting point %s until the sync "
                    "completes.",
                    self.stream_name,
                    replication_key,
                    value,
                    max_seen,
                    self._initial,
                )
                self.make_unsorted(context, replication_key)
            if positions is not None:
                positions.written(record, max_seen)
        if max_seen is None:
            return
        self._max_seen = max_seen
        if self.sorted_so_far:
            # Rows so far came in order: the largest value seen is the last one's.
            signpost = state.get(SIGNPOST)
            candidate = signpost if signpost and max_seen > signpost else max_seen
            current = state.get(BOOKMARK)
            if current is None or candidate > current or state.get(KEY) != replication_key:
                state[KEY] = replication_key
                state[BOOKMARK] = candidate
        else:
            markers = state[MARKERS]
            markers[KEY] = replication_key
            markers[BOOKMARK] = self._initial if self._initial and self._initial > max_seen else max_seen

    def resume_max_seen(self, value: str | None) -> None:
        """The largest value written by the earlier runs of a resumed partitioned full sync (ranges done
        then are not read again, so their values count from the state)."""
        if value is not None and (self._max_seen is None or value > self._max_seen):
            self._max_seen = value

    def make_unsorted(self, context: types.Context | None, replication_key: str) -> None:
        """From now on the bookmark moves only when the sync completes (see the module docstring)."""
        if not self.sorted_so_far:
            return
        self.sorted_so_far = False
        state = self.get_context_state(context)
        if self._initial is None:
            state[BOOKMARK] = None  # kept null in every STATE until the sync completes (module docstring)
            state.pop(KEY, None)
        else:
            state[KEY] = replication_key
            state[BOOKMARK] = self._initial
        state[MARKERS] = {NOTE: "Rows arrive unsorted; the bookmark moves when the sync completes."}
        if self._max_seen is not None:
            state[MARKERS][KEY] = replication_key
            state[MARKERS][BOOKMARK] = max(self._max_seen, self._initial or "")
        self.is_flushed = False

    def set_reconcile_counts(self, context: types.Context | None, counts: dict[str, int]) -> None:
        """Keep the reconcile mode's row counts per hour in the stream's state (in the next STATE)."""
        state = self.get_context_state(context)
        if counts:
            state[RECONCILE_COUNTS] = dict(sorted(counts.items()))
        else:
            state.pop(RECONCILE_COUNTS, None)
        self.is_flushed = False
