"""Bookmark rules: monotonic, capped by the signpost, and safe when rows arrive unsorted."""

from __future__ import annotations

import json
import typing as t

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
    assert state["replication_key_value"] is None  # null, not absent: see the state module docstring
    assert state["progress_markers"]["replication_key_value"] == T.format(30)


def test_tap_records_written_in_runs_leave_the_state_of_one_by_one():
    # BATCH mode moves the bookmark over each run of records put in a file: the state must end exactly
    # as the record loop leaves it, record by record, whatever the runs and the order of the rows.
    import random

    rng = random.Random(7)
    starts = [
        {},
        {"replication_key": "mod_ts", "replication_key_value": T.format(10)},
        {"replication_key_signpost": T.format(25)},
        {
            "replication_key": "mod_ts",
            "replication_key_value": T.format(10),
            "replication_key_signpost": T.format(40),
        },
    ]
    for _ in range(200):
        seconds = [rng.choice([None, *range(60)]) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.5:
            seconds = sorted(s for s in seconds if s is not None)
        records = [
            {"id": k} if s is None else {"id": k, "mod_ts": T.format(s)} for k, s in enumerate(seconds)
        ]
        start = rng.choice(starts)
        one_by_one = {"bookmarks": {"s": dict(start)}}
        mgr = manager(one_by_one)
        for record in records:
            mgr.increment_state(record, replication_key="mod_ts")
        in_runs = {"bookmarks": {"s": dict(start)}}
        mgr = manager(in_runs)
        cut = sorted(rng.sample(range(len(records) + 1), k=min(3, len(records) + 1)))
        for a, b in zip([0, *cut], [*cut, len(records)], strict=True):
            mgr.records_written(records[a:b], replication_key="mod_ts")
        assert in_runs == one_by_one, (start, seconds, cut)


BOOKMARK = "2025-03-31T22:16:11.747399+00:00"


def allocation_state(**stream_state: t.Any) -> str:
    return json.dumps({"bookmarks": {"allocation": stream_state}})


@pytest.mark.parametrize(
    ("state_text", "message"),
    [
        ("{not json", "cannot be read as JSON"),
        # The SDK reads a JSON string as the name of a state file.
        ('"hello"', "must hold a JSON object, not str"),
        ('{"bookmarks": []}', "'bookmarks' must be an object of stream states, got list"),
        # What `meltano state get` prints: read as it is, every stream would start over, silently.
        (
            '{"singer_state": '
            + allocation_state(replication_key="mod_ts", replication_key_value=BOOKMARK)
            + "}",
            "State has no 'bookmarks', only ['singer_state'] (give the object under 'singer_state'",
        ),
        ('{"bookmarks": {"allocation": ["x"]}}', "State of stream 'allocation' must be an object"),
        (
            allocation_state(replication_key="mod_ts", replication_key_value="garbage"),
            "replication_key_value 'garbage' is not an ISO-8601 timestamp",
        ),
        (
            allocation_state(replication_key="mod_ts", replication_key_value=12345),
            "replication_key_value 12345 is not an ISO-8601 timestamp",
        ),
        # Without these two the bookmark was ignored: a silent full sync.
        (
            allocation_state(replication_key_value=BOOKMARK),
            "is for replication_key None; this tap bookmarks 'mod_ts'",
        ),
        (
            allocation_state(replication_key="create_ts", replication_key_value=BOOKMARK),
            "is for replication_key 'create_ts'",
        ),
        (
            allocation_state(replication_key="mod_ts", replication_key_value=BOOKMARK, reconcile_counts=[1]),
            "reconcile_counts must be an object of row counts by hour",
        ),
        # A resumed full sync would take a new table version: the target would mark the rows it wrote.
        (
            allocation_state(replication_key_value=None, full_sync="in progress", full_sync_version="1.5"),
            "full_sync_version must be an integer (the full sync's table version), got 1.5",
        ),
    ],
    ids=[
        "not-json",
        "string",
        "bookmarks-list",
        "meltano-wrapped",
        "stream-list",
        "garbage",
        "integer",
        "no-key",
        "other-key",
        "counts",
        "version",
    ],
)
def test_tap_state_it_cannot_continue_from_is_one_error_line_before_any_record(
    sim, make_config, tap_cli, tmp_path, state_text, message
):
    state_file = tmp_path / "state.json"
    state_file.write_text(state_text)
    result = tap_cli("--state", str(state_file), config=make_config(sim, entities=["allocation"]))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert '"type":"RECORD"' not in result.stdout


@pytest.mark.parametrize(
    "stream_state",
    [
        {"replication_key": "mod_ts", "replication_key_value": "2025-03-31T19:16:11.747399-03:00"},
        # A full sync in progress: a null bookmark is none.
        {"replication_key_value": None, "full_sync": "in progress"},
    ],
)
def test_tap_state_it_can_continue_from_is_taken(sim, make_config, run_tap, stream_state):
    run = run_tap(
        make_config(sim, entities=["allocation"]), state={"bookmarks": {"allocation": stream_state}}
    )
    assert run.records("allocation")


def test_tap_bookmark_later_than_now_is_an_error_not_a_silent_empty_run(sim, make_config, tap_cli, tmp_path):
    # A bookmark never moves back: one in the future (a hand edit, a wrong clock) would skip every row
    # changed from now until then, each run reading nothing and exiting 0.
    state_file = tmp_path / "state.json"
    state_file.write_text(
        allocation_state(replication_key="mod_ts", replication_key_value="2099-01-01T00:00:00Z")
    )
    result = tap_cli("--state", str(state_file), config=make_config(sim, entities=["allocation"]))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert (
        "State of stream 'allocation': replication_key_value 2099-01-01T00:00:00+00:00 minus "
        in result.stderr
    )
    assert "is later than now" in result.stderr
    assert '"type":"RECORD"' not in result.stdout
