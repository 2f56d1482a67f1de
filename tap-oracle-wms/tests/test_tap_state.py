"""Bookmark rules: monotonic, capped by the signpost, and safe when rows arrive unsorted."""

from __future__ import annotations

import pytest
from tap_oracle_wms.state import WmsStateManager

T = "2025-06-01T00:00:{:02d}.000000+00:00"


def manager(state: dict) -> WmsStateManager:
    return WmsStateManager(
        tap_name="tap", stream_name="s", tap_state=state, is_sorted=True, check_sorted=False
    )


def feed(mgr: WmsStateManager, *seconds: int) -> None:
    for s in seconds:
        mgr.increment_state({"mod_ts": T.format(s)}, replication_key="mod_ts")


def stream_state(tap_state: dict) -> dict:
    return tap_state["bookmarks"]["s"]


def test_tap_sorted_rows_move_bookmark_forward_only():
    tap_state = {"bookmarks": {"s": {"replication_key": "mod_ts", "replication_key_value": T.format(10)}}}
    mgr = manager(tap_state)
    feed(mgr, 5, 8)  # the lookback overlap: older than the bookmark
    assert stream_state(tap_state)["replication_key_value"] == T.format(10)
    feed(mgr, 12, 20)
    assert stream_state(tap_state)["replication_key_value"] == T.format(20)
    assert "progress_markers" not in stream_state(tap_state)


def test_tap_bookmark_capped_by_signpost():
    tap_state = {"bookmarks": {"s": {"replication_key_signpost": T.format(15)}}}
    mgr = manager(tap_state)
    feed(mgr, 10, 20)
    assert stream_state(tap_state)["replication_key_value"] == T.format(15)


def test_tap_unsorted_rows_reset_bookmark_to_run_start():
    tap_state = {"bookmarks": {"s": {"replication_key": "mod_ts", "replication_key_value": T.format(10)}}}
    mgr = manager(tap_state)
    feed(mgr, 12, 30, 20)
    state = stream_state(tap_state)
    assert state["replication_key_value"] == T.format(10)
    assert state["progress_markers"]["replication_key_value"] == T.format(30)
    feed(mgr, 40, 35)
    assert state["replication_key_value"] == T.format(10)
    assert state["progress_markers"]["replication_key_value"] == T.format(40)


def test_tap_unsorted_first_run_has_no_bookmark_until_complete():
    tap_state: dict = {}
    mgr = manager(tap_state)
    feed(mgr, 12, 30, 20)
    state = stream_state(tap_state)
    assert "replication_key_value" not in state
    assert state["progress_markers"]["replication_key_value"] == T.format(30)


RUNS = [
    ([5, 8], [12, 20], [20, 21]),  # sorted, after a lookback overlap, equal values across runs
    ([12, 30, 20], [40, 35]),  # unsorted within a run
    ([12, 30], [20, 40]),  # unsorted across runs
    ([12, None, 14], [16]),  # a record without the key
    ([10, 20], [30, 40]),  # past the signpost
    ([],),
]


@pytest.mark.parametrize("kind", ["dict", "row", "row without the key"])
def test_tap_run_of_records_moves_the_bookmark_as_record_by_record(kind):
    # BATCH and record mode move the bookmark once per run of records: same state as one record at a time,
    # whatever the order, with and without a starting bookmark and a signpost; records as dicts or as rows
    # (the structs `RecordShaper.shape_page` builds).
    import typing as t

    import msgspec
    from tap_oracle_wms.records import _ROW_METHODS

    fields = [("id", t.Any)] + ([] if kind == "row without the key" else [("mod_ts", t.Any)])
    row = msgspec.defstruct("WmsRow", fields, gc=False, namespace=_ROW_METHODS)

    def record(second):
        value = None if second is None else T.format(second)
        if kind == "dict":
            return {"mod_ts": value}
        return row(1) if kind == "row without the key" else row(1, value)

    for runs in RUNS:
        for start in ({}, {"replication_key": "mod_ts", "replication_key_value": T.format(10)}):
            for signpost in ({}, {"replication_key_signpost": T.format(25)}):
                one_by_one = {"bookmarks": {"s": {**start, **signpost}}}
                by_runs = {"bookmarks": {"s": {**start, **signpost}}}
                single, batched = manager(one_by_one), manager(by_runs)
                for run in runs:
                    for second in run:
                        single.increment_state(record(second), replication_key="mod_ts")
                    batched.increment_state_run([record(s) for s in run], replication_key="mod_ts")
                    assert by_runs == one_by_one, (runs, start, signpost)
                assert batched.max_seen == single.max_seen
