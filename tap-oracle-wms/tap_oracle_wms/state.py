"""Bookmark bookkeeping that stays safe when a sync is killed, and when the API ignores ordering.

The SDK offers two modes, neither right here (see docs/pitfalls.md):
- `is_sorted=False`: the bookmark only moves at the end of a complete sync, so a killed sync
  restarts from scratch;
- `is_sorted=True, check_sorted=False`: the bookmark becomes the *last* value seen, which moves it
  backwards (or past unseen rows) when rows arrive unsorted, as the API's sequenced mode may send them.

`WmsStateManager` keeps the SDK's state layout and message cadence but decides the value itself:
- while rows arrive in `mod_ts` order (the tap asks for `ordering=mod_ts,id`), the bookmark is the
  latest `mod_ts` seen, never lower than the bookmark the run started from, and never above the
  signpost (the run's start time), so rows changed during the run are read again by the next run;
- the first row that arrives out of order proves the server ignores the ordering: the bookmark goes
  back to where the run started (rows not yet seen may be older than anything seen), and the
  maximum seen is kept as a progress marker that the SDK promotes, capped by the signpost, only
  when the sync completes.
All values are UTC text of one fixed format, so comparing them as text compares instants.
"""

from __future__ import annotations

import logging
import operator
import typing as t

from singer_sdk.streams._state import StreamStateManager

if t.TYPE_CHECKING:
    from singer_sdk.helpers import types

_BOOKMARK = "replication_key_value"
_KEY = "replication_key"
_SIGNPOST = "replication_key_signpost"
_MARKERS = "progress_markers"
_NOTE = "Note"


def _values(records: list[types.Record], key: str) -> list[t.Any]:
    """`record.get(key)` of each record; for rows (structs with `key` as a field, see
    `RecordShaper.shape_page`) without a call of their `get` per record."""
    if records and type(records[0]) is not dict:
        try:
            return list(map(operator.attrgetter(key), records))
        except AttributeError:
            pass
    return [record.get(key) for record in records]


class WmsStateManager(StreamStateManager):
    """Monotonic, signpost-capped, order-checking bookmark for one stream (no partitions)."""

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._initial: str | None = None
        self._started = False
        self._max_seen: str | None = None
        self.sorted_so_far = True
        self.logger = logging.getLogger(kwargs.get("tap_name")).getChild(kwargs["stream_name"])

    def begin(self, context: types.Context | None, replication_key: str) -> str | None:
        """Remember the bookmark this run starts from (before any record moves it)."""
        state = self.get_context_state(context)
        self._initial = state.get(_BOOKMARK) if state.get(_KEY) == replication_key else None
        self._started = True
        return self._initial

    @property
    def max_seen(self) -> str | None:
        """Largest replication-key value seen in this run."""
        return self._max_seen

    def increment_state(
        self,
        latest_record: types.Record,
        *,
        context: types.Context | None = None,
        replication_key: str,
    ) -> None:
        """Advance the bookmark from one emitted record (see the module docstring for the rules)."""
        value = latest_record.get(replication_key)
        if value is None:
            return
        # Without a context, the stream's own state dict (what `get_context_state` returns), looked up
        # directly: this runs once per record.
        state = self.tap_state.get("bookmarks", {}).get(self.stream_name) if context is None else None
        if state is None:
            state = self.get_context_state(context)
        if not self._started:
            self.begin(context, replication_key)
        if self._max_seen is None or value >= self._max_seen:
            self._max_seen = value
        elif self.sorted_so_far:
            self._switch_to_unsorted(state, replication_key, value)

        if self.sorted_so_far:
            signpost = state.get(_SIGNPOST)
            candidate = signpost if signpost and value > signpost else value
            current = state.get(_BOOKMARK)
            if current is None or candidate > current or state.get(_KEY) != replication_key:
                state[_KEY] = replication_key
                state[_BOOKMARK] = candidate
        else:
            markers = state[_MARKERS]
            best = self._max_seen
            if self._initial and self._initial > best:
                best = self._initial
            markers[_KEY] = replication_key
            markers[_BOOKMARK] = best

    def increment_state_run(
        self,
        records: list[types.Record],
        *,
        context: types.Context | None = None,
        replication_key: str,
    ) -> None:
        """`increment_state` for each of `records` in turn (BATCH mode: a page, or the part of it that
        went into one file), in one step when it gives the same state: every value present, in order,
        and none below the largest seen. Then the per-record steps keep the largest seen and end on the
        last value (capped by the signpost, never below the bookmark), which is what one step from the
        last record does."""
        values = _values(records, replication_key)
        if (
            values
            and self.sorted_so_far
            and None not in values
            and (self._max_seen is None or values[0] >= self._max_seen)
            and values == sorted(values)
        ):
            self.increment_state(records[-1], context=context, replication_key=replication_key)
            return
        for record in records:
            self.increment_state(record, context=context, replication_key=replication_key)

    def _switch_to_unsorted(self, state: dict, replication_key: str, value: str) -> None:
        self.sorted_so_far = False
        self.logger.warning(
            "Stream '%s': rows arrive out of %s order (%s after %s); the server ignores `ordering`. "
            "The bookmark stays at the run's starting point %s until the sync completes.",
            self.stream_name,
            replication_key,
            value,
            self._max_seen,
            self._initial,
        )
        if self._initial is None:
            state.pop(_BOOKMARK, None)
            state.pop(_KEY, None)
        else:
            state[_KEY] = replication_key
            state[_BOOKMARK] = self._initial
        state[_MARKERS] = {_NOTE: "Rows arrived unsorted; the bookmark moves when the sync completes."}
        self.is_flushed = False
