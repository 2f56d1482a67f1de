"""Kill the tap's CLI mid-sync, resume from its last STATE: nothing missed, overlap bounded."""

from __future__ import annotations

import datetime
import json
import signal

import pytest


def test_tap_killed_run_resumed_from_last_state_equals_data_set(
    wms_sim_factory, make_config, tap_cli, tmp_path, utc, kill_after_states
):
    sim = wms_sim_factory(sizes={"allocation": 2000, "order_dtl": 120, "order_hdr": 30, "item": 40})
    lookback = 60
    config = make_config(sim, entities=["allocation"], page_size=50, lookback_seconds=lookback)
    crashed = tap_cli(config=config, popen=True)
    read = kill_after_states(crashed, 6)
    records = [m["record"] for m in read if m["type"] == "RECORD"]
    states = [m["value"] for m in read if m["type"] == "STATE"]
    assert crashed.returncode == -signal.SIGKILL
    bookmark = states[-1]["bookmarks"]["allocation"]["replication_key_value"]
    assert 0 < len(records) < 2000

    # Rows change between the crash and the restart.
    sim.update("allocation", [records[0]["id"], 1999], pick_user="AFTER_CRASH")
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(states[-1]))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    resumed_records = [
        m["record"] for m in map(json.loads, resumed.stdout.splitlines()) if m["type"] == "RECORD"
    ]

    latest: dict[int, str] = {}
    for row in records + resumed_records:
        latest[row["id"]] = max(latest.get(row["id"], ""), row["mod_ts"])
    assert latest == {r["id"]: utc(r["mod_ts"]) for r in sim.records("allocation")}

    # Re-read only the overlap: rows at or after bookmark - lookback_seconds, floored to the second (filters
    # are in whole seconds), plus changed rows.
    floor = (datetime.datetime.fromisoformat(bookmark) - datetime.timedelta(seconds=lookback)).replace(
        microsecond=0
    )
    assert all(datetime.datetime.fromisoformat(r["mod_ts"]) >= floor for r in resumed_records)
    reread = {r["id"] for r in records} & {r["id"] for r in resumed_records}
    assert len(reread) <= 50 + 1  # within one page of the kill point, plus the changed row


def test_tap_full_sync_announced_before_any_record_so_a_killed_full_refresh_resumes_as_one(
    sim, make_config, tap_cli, tmp_path, kill_after_states
):
    # Meltano's --full-refresh runs the tap without state but keeps the old state: the tap's first STATE
    # of a stream synced without a bookmark says a full sync is in progress and carries no bookmark, so a
    # run killed then and resumed from it (without --full-refresh) is a full sync again.
    config = make_config(sim, entities=["allocation"], page_size=50)
    crashed = tap_cli(config=config, popen=True)
    read = kill_after_states(crashed, 1)
    assert [m["type"] for m in read] == ["SCHEMA", "STATE"]
    first = read[-1]["value"]
    assert first["bookmarks"]["allocation"]["full_sync"] == "in progress"
    assert first["bookmarks"]["allocation"]["replication_key_value"] is None

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(first))
    sim.clear_requests()
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    requests = [r for r in sim.requests if r.path.endswith("/entity/allocation/")]
    assert all("mod_ts__gte" not in r.query and "create_ts__gte" not in r.query for r in requests)
    messages = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert len([m for m in messages if m["type"] == "RECORD"]) == sim.count("allocation")
    final = [m for m in messages if m["type"] == "STATE"][-1]["value"]["bookmarks"]["allocation"]
    assert final.get("full_sync") is None and final["replication_key_value"]


def meltano_merge(new: dict, old: dict) -> dict:
    """Meltano's merge of a killed run's state onto the last complete one (meltano.core.utils.merge): a
    dict merges key by key, any other value in `new` (null too) replaces, a key `new` lacks keeps `old`'s;
    an object where `old` has a null fails (TypeError), as in Meltano."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict):
            if key in merged and merged[key] is None:
                raise TypeError(f"'NoneType' object does not support item assignment (key {key!r})")
            merged[key] = meltano_merge(value, merged.get(key, {}))
        else:
            merged[key] = value
    return merged


def test_tap_full_refresh_killed_at_once_and_merged_by_meltano_resumes_as_a_full_sync(
    sim, make_config, run_tap, tap_cli, tmp_path, kill_after_states
):
    # The last complete state holds a bookmark and reconcile counts; a --full-refresh (no state in) is
    # killed after its first STATE; Meltano merges that STATE onto the complete one. The resumed run must
    # read every row from the start (no bookmark, no look-back bound, no reconcile counting), not continue
    # from the old bookmark.
    config = make_config(sim, entities=["allocation"], page_size=50, reconcile_hours=2)
    complete = run_tap(config).last_state
    complete = run_tap(config, state=complete).last_state
    assert complete["bookmarks"]["allocation"]["replication_key_value"]
    assert complete["bookmarks"]["allocation"]["reconcile_counts"]

    killed = kill_after_states(tap_cli(config=config, popen=True), 1)
    merged = meltano_merge(killed[-1]["value"], complete)
    stream_state = merged["bookmarks"]["allocation"]
    assert stream_state["full_sync"] == "in progress"
    assert stream_state["replication_key_value"] is None and stream_state["reconcile_counts"] is None

    sim.clear_requests()
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(merged))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    requests = [r for r in sim.requests if r.path.endswith("/entity/allocation/")]
    assert requests and all("mod_ts__" not in r.query and "create_ts__gte" not in r.query for r in requests)
    messages = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert len([m for m in messages if m["type"] == "RECORD"]) == sim.count("allocation")
    states = [m["value"]["bookmarks"]["allocation"] for m in messages if m["type"] == "STATE"]
    assert states[0]["full_sync"] == "in progress" and states[0]["replication_key_value"] is None
    final = states[-1]
    assert final.get("full_sync") is None and "reconcile_counts" not in final
    assert final["replication_key_value"] == max(
        r["record"]["mod_ts"] for r in messages if r["type"] == "RECORD"
    )


@pytest.mark.parametrize(
    "switch",
    [{"ordering_ignored": ("allocation",)}, {"sequenced_ordering": "ignore"}],
    ids=["ignored-in-both-modes", "ignored-in-sequenced-mode"],
)
def test_tap_killed_incremental_run_of_a_server_ignoring_ordering_resumes_without_a_gap(
    wms_sim_factory, make_config, tap_cli, tmp_path, kill_after_states, switch
):
    # 600 changes in id order over 60 hours: the server serves them in its own order, and its first rows
    # ascend in mod_ts for a page or more. A bookmark moved with those rows, in the STATE after the first
    # page, is past rows not read yet: a run killed there and resumed from that STATE skipped them.
    sim = wms_sim_factory(sizes={"allocation": 600, "order_dtl": 120, "order_hdr": 30, "item": 40}, **switch)
    config = make_config(sim, entities=["allocation"], page_size=50, read_backdated_rows=False)
    first = tap_cli(config=config)
    assert first.returncode == 0, first.stderr[-2000:]
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps([json.loads(m) for m in first.stdout.splitlines()][-1]["value"]))
    for row_id in range(1, 601):
        if row_id % 10 == 0:
            sim.advance_clock(3600)
        sim.update("allocation", [row_id], pick_user="CHANGED")

    sim.clear_requests()
    crashed = tap_cli("--state", str(state_file), config=config, popen=True)
    read = kill_after_states(crashed, 2)
    assert crashed.returncode == -signal.SIGKILL
    probes = [r.query.get("ordering") for r in sim.requests if r.query.get("page_size") == "1"]
    state_file.write_text(json.dumps([m["value"] for m in read if m["type"] == "STATE"][-1]))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = [m["record"] for m in read if m["type"] == "RECORD"]
    records += [m["record"] for m in map(json.loads, resumed.stdout.splitlines()) if m["type"] == "RECORD"]
    assert {r["id"] for r in records if r["pick_user"] == "CHANGED"} == set(range(1, 601))
    assert probes == ["id", "-id"]  # asked once, when the walk linked to a second page


def test_tap_incremental_run_of_one_page_asks_no_ordering_probe(sim, make_config, tap_cli, tmp_path):
    # The every-minute run: its changes fit one page, whose STATE comes once the walk is complete.
    config = make_config(sim, entities=["allocation"], read_backdated_rows=False)
    first = tap_cli(config=config)
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps([json.loads(m) for m in first.stdout.splitlines()][-1]["value"]))
    sim.advance_clock(3600)
    sim.update("allocation", [5, 77, 250], pick_user="CHANGED")
    sim.clear_requests()
    second = tap_cli("--state", str(state_file), config=config)
    assert second.returncode == 0, second.stderr[-2000:]
    assert not [r for r in sim.requests if r.query.get("page_size") == "1"]
