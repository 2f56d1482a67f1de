"""What real tenants do (the API notes, "What real tenants do"), played by the simulator's switches over
real sockets: whole-second filters, refused ordering, timed-out pages, backdated rows, late commits,
stale page counts and short pages."""

from __future__ import annotations

import collections
import datetime
import logging
import sys
from pathlib import Path

import pytest

# The tests run in importlib mode: the sibling test module whose helper is shared here is put on the path.
sys.path.insert(0, str(Path(__file__).parent))
from test_tap_sync import data_requests

SIZES = {"allocation": 1000, "order_dtl": 120, "order_hdr": 30, "item": 40}


def latest_by_id(*runs, stream="allocation"):
    latest: dict[int, str] = {}
    for run in runs:
        for row in run.records(stream):
            latest[row["id"]] = max(latest.get(row["id"], ""), row["mod_ts"])
    return latest


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_whole_second_filters_accepted_and_lower_bound_floored(
    wms_sim_factory, make_config, run_tap, utc, page_mode
):
    sim = wms_sim_factory(sizes=SIZES, whole_second_filters=True)
    config = make_config(sim, entities=["allocation"], page_mode=page_mode, lookback_seconds=0)
    first = run_tap(config)
    bookmark = first.last_state["bookmarks"]["allocation"]["replication_key_value"]
    assert bookmark[19] == "."  # the bookmark keeps its microseconds
    sim.advance_clock(5)
    sim.update("allocation", [7], pick_user="LATER")
    second = run_tap(config, state=first.last_state)
    assert all(r.status in (200, 404) for r in sim.requests)
    sent = data_requests(sim, "allocation")[-1].query["mod_ts__gte"]
    assert sent == datetime.datetime.fromisoformat(bookmark).replace(microsecond=0).isoformat()
    assert 7 in {r["id"] for r in second.records("allocation")}
    assert latest_by_id(first, second) == {r["id"]: utc(r["mod_ts"]) for r in sim.records("allocation")}


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_refused_ordering_read_without_it_bookmark_capped_at_the_end(
    wms_sim_factory, make_config, run_tap, utc, caplog, page_mode
):
    sim = wms_sim_factory(sizes=SIZES, ordering_refused=("allocation",), short_page_every=3)
    config = make_config(sim, entities=["allocation", "order_hdr"], page_mode=page_mode)
    with caplog.at_level(logging.WARNING):
        run = run_tap(config)
    assert sorted(r["id"] for r in run.records("allocation")) == list(range(1, 1001))
    assert sum("refuses `ordering`" in r.message for r in caplog.records) == 1
    allocation = data_requests(sim, "allocation", probes=True)
    assert [r.status for r in allocation].count(400) == 1
    assert all("ordering" not in r.query for r in allocation if r.status != 400)
    # Unsorted: no STATE before the end claims a bookmark; the final one is the largest mod_ts seen,
    # capped by the sync's start.
    states = []
    for message in run.messages:
        if message["type"] == "SCHEMA" and message["stream"] == "order_hdr":
            break
        if message["type"] == "STATE" and "allocation" in message["value"].get("bookmarks", {}):
            states.append(message["value"]["bookmarks"]["allocation"])
    assert len(states) > 2
    assert all(s.get("replication_key_value") is None for s in states[:-1])
    assert states[-1]["replication_key_value"] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))
    # The other entity keeps its ordering.
    assert data_requests(sim, "order_hdr")[0].query["ordering"] == (
        "mod_ts,id" if page_mode == "sequenced" else "id"
    )


@pytest.mark.parametrize(
    ("fault", "settings"),
    [
        ({"kind": 504, "delay": 0}, {}),
        ({"kind": "slow", "delay": 1.5}, {"request_timeout": 0.5}),
    ],
    ids=["gateway 504", "read timeout"],
)
@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_timed_out_page_halves_the_page_size_and_continues(
    wms_sim_factory, make_config, run_tap, caplog, fault, settings, page_mode
):
    sim = wms_sim_factory(sizes=SIZES)
    sim.faults.add(
        fault["kind"], delay=fault["delay"], page_size_above=300, times=None, path_contains="/allocation/?"
    )
    config = make_config(sim, entities=["allocation"], page_size=1000, page_mode=page_mode, **settings)
    with caplog.at_level(logging.WARNING):
        run = run_tap(config)
    assert sorted(r["id"] for r in run.records("allocation")) == list(range(1, 1001))
    served = [int(r.query["page_size"]) for r in data_requests(sim, "allocation") if r.status in (200, 404)]
    assert set(served) == {250}  # 1000 -> 500 -> 250, kept for the rest of the stream
    assert sum("timed out" in r.message for r in caplog.records) == 2


def test_tap_page_size_never_halved_below_25(wms_sim_factory, make_config, run_tap):
    from tap_oracle_wms.errors import WmsRetriesExhaustedError

    sim = wms_sim_factory(sizes=SIZES)
    sim.faults.add(504, delay=0, page_size_above=1, times=None, path_contains="/allocation/?")
    with pytest.raises(WmsRetriesExhaustedError, match="HTTP 504"):
        run_tap(make_config(sim, entities=["allocation"], page_size=100, max_retries=1))
    sizes = [int(r.query["page_size"]) for r in data_requests(sim, "allocation")]
    assert sizes == [100, 50, 25, 25]


@pytest.mark.parametrize("read_backdated_rows", [True, False])
def test_tap_backdated_rows_read_by_create_ts_without_moving_the_bookmark(
    wms_sim_factory, make_config, run_tap, utc, read_backdated_rows
):
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(
        sim, entities=["allocation"], lookback_seconds=60, read_backdated_rows=read_backdated_rows
    )
    first = run_tap(config)
    bookmark = first.last_state["bookmarks"]["allocation"]["replication_key_value"]
    sim.advance_clock(600)
    backdated = sim.insert("allocation", 5, mod_ts_ago=10 * 24 * 3600)
    second = run_tap(config, state=first.last_state)
    got = {r["id"] for r in second.records("allocation")}
    if read_backdated_rows:
        assert set(backdated) <= got
        assert second.last_state["bookmarks"]["allocation"]["replication_key_value"] == bookmark
    else:
        assert not set(backdated) & got


def test_tap_incremental_run_writes_each_new_backdated_and_changed_row_once(
    wms_sim_factory, make_config, run_tap
):
    # A row created since the bookmark is one of the changes walk's rows unless its mod_ts is older: the
    # backdated walk must not read it too.
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation"], lookback_seconds=60)
    first = run_tap(config)
    sim.advance_clock(600)
    backdated = sim.insert("allocation", 5, mod_ts_ago=10 * 24 * 3600)
    created = sim.insert("allocation", 7)
    sim.update("allocation", [10, 20], pick_user="CHANGED")
    second = run_tap(config, state=first.last_state)
    written = collections.Counter(r["id"] for r in second.records("allocation"))
    assert set(backdated) | set(created) | {10, 20} <= set(written)
    assert max(written.values()) == 1, {i: n for i, n in written.items() if n > 1}


def test_tap_reconcile_rereads_hours_whose_count_grew(wms_sim_factory, make_config, run_tap, utc):
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation"], lookback_seconds=300, reconcile_hours=4)
    sim.advance_clock(3 * 3600)
    sim.update("allocation", [1], pick_user="NOW")  # the bookmark is the simulated now
    first = run_tap(config)
    second = run_tap(config, state=first.last_state)  # counts the hours, keeps the counts
    counts = second.last_state["bookmarks"]["allocation"]["reconcile_counts"]
    assert len(counts) == 4
    late = sim.insert("allocation", 3, mod_ts_ago=2 * 3600, create_ts_ago=2 * 3600)
    sim.clear_requests()
    third = run_tap(config, state=second.last_state)
    assert set(late) <= {r["id"] for r in third.records("allocation")}
    hour = datetime.datetime.fromisoformat(utc(sim.get("allocation", late[0])["mod_ts"])).replace(
        minute=0, second=0, microsecond=0
    )
    kept = third.last_state["bookmarks"]["allocation"]["reconcile_counts"]
    assert kept[hour.isoformat()] == counts[hour.isoformat()] + 3
    assert (
        third.last_state["bookmarks"]["allocation"]["replication_key_value"]
        == (second.last_state["bookmarks"]["allocation"]["replication_key_value"])
    )
    counting = [r for r in data_requests(sim, "allocation") if r.query.get("page_size") == "1"]
    assert len(counting) == 4 and all("page_mode" not in r.query for r in counting)
    # A fourth run finds no growth and re-reads nothing.
    fourth = run_tap(config, state=third.last_state)
    assert not set(late) & {r["id"] for r in fourth.records("allocation")}


def test_tap_reconcile_reads_an_hour_it_counts_for_the_first_time(wms_sim_factory, make_config, run_tap, utc):
    """The hourly reconcile job: by its next run the bookmark (moved by the minute's runs) is in an hour it
    never counted. Rows committed late into that hour meanwhile, beyond the look-back, are part of its first
    count: taken as its baseline they would never show as growth, so the hour is read whole once."""
    sim = wms_sim_factory(sizes=SIZES)
    reconcile = make_config(sim, entities=["allocation"], lookback_seconds=300, reconcile_hours=3)
    minute = {**reconcile, "reconcile_hours": 0}
    sim.advance_clock(3 * 3600)
    sim.update("allocation", [1], pick_user="NOW")
    first = run_tap(minute)
    second = run_tap(reconcile, state=first.last_state)  # the first run with the setting only counts
    kept = second.last_state["bookmarks"]["allocation"]["reconcile_counts"]
    sim.advance_clock(2 * 3600)
    sim.update("allocation", [2], pick_user="LATER")
    third = run_tap(minute, state=second.last_state)  # the minute's runs move the bookmark on
    state = third.last_state["bookmarks"]["allocation"]
    assert state["replication_key_value"] == utc(sim.get("allocation", 2)["mod_ts"])
    assert state["reconcile_counts"] == kept
    late = sim.insert("allocation", 2, mod_ts_ago=3600, create_ts_ago=3600)
    hour = datetime.datetime.fromisoformat(utc(sim.get("allocation", late[0])["mod_ts"]))
    assert hour.replace(minute=0, second=0, microsecond=0).isoformat() not in kept
    fourth = run_tap(reconcile, state=third.last_state)
    assert set(late) <= {r["id"] for r in fourth.records("allocation")}
    fifth = run_tap(reconcile, state=fourth.last_state)
    assert not set(late) & {r["id"] for r in fifth.records("allocation")}


@pytest.mark.parametrize("ordering_refused", [(), ("allocation",)], ids=["keyset", "numbered"])
@pytest.mark.parametrize("stale_pages", [0, 100], ids=["stale first half", "stale to the end"])
def test_tap_paged_stale_page_count_phantom_500_and_short_pages_end_cleanly(
    wms_sim_factory, make_config, run_tap, ordering_refused, stale_pages
):
    sim = wms_sim_factory(
        sizes=SIZES,
        stale_page_count=3,
        stale_pages=stale_pages,
        short_page_every=4,
        ordering_refused=ordering_refused,
    )
    run = run_tap(make_config(sim, entities=["allocation"], page_mode="paged", max_retries=2))
    ids = [r["id"] for r in run.records("allocation")]
    assert sorted(set(ids)) == list(range(1, 1001))
    assert len(ids) == 1000


def test_tap_backdated_rows_in_batch_mode_do_not_move_the_bookmark(
    wms_sim_factory, make_config, run_tap, utc, tmp_path
):
    # BATCH mode moves the bookmark page by page. The backdated walk (by create_ts, in id order) serves the
    # backdated rows: with files of exactly that walk's rows, the
    # STATE after its file still holds the starting bookmark (the changes walk has not run yet: a bookmark
    # moved by those new rows would skip the changes not yet read if the run died there).
    import gzip
    import json
    from urllib.parse import urlsplit

    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(
        sim, entities=["allocation"], lookback_seconds=60, batch_config={"storage": {"root": str(tmp_path)}}
    )
    first = run_tap(config)
    bookmark = first.last_state["bookmarks"]["allocation"]["replication_key_value"]
    sim.advance_clock(600)
    backdated = sim.insert("allocation", 5, mod_ts_ago=10 * 24 * 3600)
    created = sim.insert("allocation", 3)
    sim.update("allocation", [10, 20], pick_user="CHANGED")
    bound = (datetime.datetime.fromisoformat(bookmark) - datetime.timedelta(seconds=60)).replace(
        microsecond=0
    )
    walk = {
        r["id"]
        for r in sim.records("allocation")
        if datetime.datetime.fromisoformat(r["create_ts"]) >= bound
        and datetime.datetime.fromisoformat(r["mod_ts"]) < bound
    }
    assert walk == set(backdated)
    config["batch_config"]["batch_size"] = len(walk)
    second = run_tap(config, state=first.last_state)
    files, states = [], []
    for message in second.messages:
        if message["type"] == "BATCH":
            with gzip.open(urlsplit(message["manifest"][0]).path, "rt") as file:
                files.append({json.loads(line)["id"] for line in file})
        elif message["type"] == "STATE" and files:
            states.append(message["value"]["bookmarks"]["allocation"].get("replication_key_value"))
    assert files[0] == walk
    assert states[0] == bookmark
    # The side walk's rows (in id order, so out of mod_ts order) did not make the stream unsorted either.
    assert not any("progress_markers" in s["bookmarks"]["allocation"] for s in second.states)
    assert {10, 20} | set(created) <= set().union(*files[1:])
    assert states[-1] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_refused_ordering_found_by_a_side_walk_keeps_the_changes_walk_unsorted(
    wms_sim_factory, make_config, run_tap, utc, page_mode
):
    # With a bookmark, the first request of the run is the backdated-rows walk's: the refusal is found
    # there, and the changes walk that follows must start unsorted. Served in id order, the changed rows
    # with small ids come first: a bookmark moved by them (a STATE every 2 rows here) would skip the rows
    # between the old bookmark and theirs if the run died then.
    sim = wms_sim_factory(sizes=SIZES, ordering_refused=("allocation",))
    config = make_config(sim, entities=["allocation"], page_mode=page_mode, lookback_seconds=60)
    first = run_tap(config)
    bookmark = first.last_state["bookmarks"]["allocation"]["replication_key_value"]
    sim.advance_clock(600)
    sim.update("allocation", [10, 20, 30], pick_user="CHANGED")
    second = run_tap({**config, "page_size": 2}, state=first.last_state)
    values = [s["bookmarks"]["allocation"].get("replication_key_value") for s in second.states]
    assert all(value == bookmark for value in values[:-1])
    assert values[-1] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))
    assert {10, 20, 30} <= {r["id"] for r in second.records("allocation")}
