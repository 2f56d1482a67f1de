"""Bookmark rules: monotonic, capped by the signpost, and safe when rows arrive unsorted."""

from __future__ import annotations

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
    assert state["replication_key_value"] is None  # null, not absent: see the state module docstring
    assert state["progress_markers"]["replication_key_value"] == T.format(30)
