"""Table versions (`emit_activate_version_messages`, tap_oracle_wms/versions.py): a full sync writes
ACTIVATE_VERSION v before its first RECORD or BATCH message and after its last, its RECORD messages carry
v, a killed full sync resumed keeps v; incremental runs, partition jobs and the setting off write none."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

# The tests run in importlib mode: the sibling test modules whose helpers are shared here are put on the path.
sys.path.insert(0, str(Path(__file__).parent))
from test_tap_batch import file_records, messages
from test_tap_resume import meltano_merge

SIZES = {"allocation": 2000, "order_dtl": 120, "order_hdr": 30, "item": 40}
DATA = ("RECORD", "BATCH")


def of_stream(run_messages: list[dict], stream: str = "allocation") -> list[dict]:
    """The stream's messages (a STATE counts for every stream)."""
    return [m for m in run_messages if m["type"] == "STATE" or m.get("stream") == stream]


def stream_state(message: dict, stream: str = "allocation") -> dict:
    return message["value"]["bookmarks"][stream]


def assert_one_versioned_full_sync(stream_messages: list[dict], stream: str = "allocation") -> int:
    """ACTIVATE_VERSION v after the SCHEMA and the STATE that records v, before every RECORD or BATCH
    message; again after the last one, before the STATE that marks the sync complete; every RECORD of v.
    Returns v."""
    kinds = [m["type"] for m in stream_messages]
    activations = [i for i, kind in enumerate(kinds) if kind == "ACTIVATE_VERSION"]
    data = [i for i, kind in enumerate(kinds) if kind in DATA]
    assert len(activations) == 2 and data, kinds
    first, last = activations
    assert kinds.index("SCHEMA") < first < data[0] and data[-1] < last, kinds
    version = stream_messages[first]["version"]
    assert type(version) is int and stream_messages[last]["version"] == version
    states = [i for i, kind in enumerate(kinds) if kind == "STATE"]
    before = [i for i in states if i < first]
    assert before and stream_state(stream_messages[before[-1]], stream)["full_sync_version"] == version
    after = [i for i in states if i > last]
    assert after, kinds
    final = stream_state(stream_messages[after[-1]], stream)
    assert final["full_sync"] is None and final["full_sync_version"] is None
    records = [m for m in stream_messages if m["type"] == "RECORD"]
    assert all(m["version"] == version for m in records)
    return version


def assert_unversioned(run_messages: list[dict]) -> None:
    assert [m for m in run_messages if m["type"] == "ACTIVATE_VERSION"] == []
    assert all("version" not in m for m in run_messages if m["type"] == "RECORD")


@pytest.mark.parametrize("partitions", [1, 4], ids=["one-cursor", "four-ranges-one-version"])
@pytest.mark.parametrize("mode", ["record", "batch"])
def test_tap_full_sync_activates_its_version_before_its_first_and_after_its_last_message(
    wms_sim_factory, make_config, run_tap, tmp_path, mode, partitions
):
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation", "order_hdr"], full_sync_partitions=partitions)
    if mode == "batch":
        config["batch_config"] = {"storage": {"root": str(tmp_path / "b")}, "batch_size": 300}
    started = time.time_ns() // 1_000_000
    run = run_tap(config)
    ended = time.time_ns() // 1_000_000
    versions = {}
    for stream in ("allocation", "order_hdr"):
        stream_messages = of_stream(run.messages, stream)
        versions[stream] = assert_one_versioned_full_sync(stream_messages, stream)
        # The sync's start in milliseconds.
        assert started <= versions[stream] <= ended
        if mode == "batch":
            assert not [m for m in stream_messages if m["type"] == "RECORD"]
            files = [m for m in stream_messages if m["type"] == "BATCH"]
            rows = [r for m in files for r in file_records(m["manifest"][0], m["encoding"])]
            assert sorted(r["id"] for r in rows) == [r["id"] for r in sim.records(stream)]
        else:
            assert len(run.records(stream)) == sim.count(stream)
    # Each stream's full sync starts after the one before.
    assert versions["allocation"] <= versions["order_hdr"]


def test_tap_incremental_run_activates_no_version_and_its_records_carry_none(sim, make_config, run_tap):
    config = make_config(sim, entities=["allocation"])
    full = run_tap(config)
    assert [m["type"] for m in full.messages].count("ACTIVATE_VERSION") == 2
    sim.update("allocation", [1, 2, 3], pick_user="CHANGED")
    incremental = run_tap(config, state=full.last_state)
    assert len(incremental.records("allocation")) >= 3
    assert_unversioned(incremental.messages)
    assert stream_state({"value": incremental.last_state}).get("full_sync_version") is None


@pytest.mark.parametrize(
    ("settings", "kill_at_state"),
    [
        ({}, 1),  # killed at its first STATE: no bookmark yet
        ({}, 6),  # killed after its bookmark moved: resumed from the bookmark
        ({"full_sync_partitions": 4}, 12),  # resumed range by range
        ({"batch_config": {"batch_size": 100}}, 4),
    ],
    ids=["before-any-record", "from-its-bookmark", "partitioned", "batch"],
)
def test_tap_killed_full_sync_resumed_keeps_its_version(
    wms_sim_factory, make_config, tap_cli, tmp_path, kill_after_states, settings, kill_at_state
):
    sim = wms_sim_factory(sizes=SIZES, latency=0.005)
    config = make_config(sim, entities=["allocation"], page_size=50, **settings)
    if "batch_config" in config:
        config["batch_config"] = {**config["batch_config"], "storage": {"root": str(tmp_path / "b")}}
    killed = kill_after_states(tap_cli(config=config, popen=True), kill_at_state)
    merged: dict = {}
    for message in killed:  # Meltano merges each STATE onto the state so far
        if message["type"] == "STATE":
            merged = meltano_merge(message["value"], merged)
    at_kill = stream_state({"value": merged})
    version = at_kill["full_sync_version"]
    assert type(version) is int and at_kill["full_sync"] == "in progress"
    assert all(m["version"] == version for m in killed if m["type"] in ("ACTIVATE_VERSION", "RECORD"))
    if kill_at_state > 1:
        # Records were written: resumed from the bookmark, or from the ranges' positions.
        assert at_kill["replication_key_value"] or at_kill["full_sync_ranges"]
        assert [m["type"] for m in killed].count("ACTIVATE_VERSION") == 1

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(merged))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    out = messages(resumed.stdout)
    assert assert_one_versioned_full_sync(of_stream(out)) == version

    # The completed sync's state holds no version: the next run is incremental and writes none.
    for message in out:
        if message["type"] == "STATE":
            merged = meltano_merge(message["value"], merged)
    assert stream_state({"value": merged})["full_sync_version"] is None
    state_file.write_text(json.dumps(merged))
    later = tap_cli("--state", str(state_file), config=config)
    assert later.returncode == 0, later.stderr[-2000:]
    assert_unversioned(messages(later.stdout))


def test_tap_partition_jobs_activate_no_version(wms_sim_factory, make_config, run_tap):
    # A partition job reads one slice of the id line: an ACTIVATE_VERSION at its end would mark the rows of
    # every other slice.
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation"], partition_count=2, full_sync_partitions=2)
    for index in (0, 1):
        run = run_tap({**config, "partition_index": index})
        assert run.records("allocation")
        assert_unversioned(run.messages)
        assert all(stream_state({"value": s}).get("full_sync_version") is None for s in run.states)


def test_tap_setting_off_activates_no_version(sim, make_config, run_tap):
    run = run_tap(make_config(sim, entities=["allocation"], emit_activate_version_messages=False))
    assert len(run.records("allocation")) == sim.count("allocation")
    assert_unversioned(run.messages)


def test_tap_full_table_stream_activates_a_new_version_at_every_run(sim, make_config, run_tap):
    # A stream replicated FULL_TABLE reads every row at every run: each run is a full sync of its own.
    from tap_oracle_wms.tap import TapOracleWMS

    config = make_config(sim, entities=["order_hdr"])
    catalog = TapOracleWMS(config=config).catalog_dict
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
    first = run_tap(config, catalog=catalog)
    second = run_tap(config, catalog=catalog, state=first.last_state)
    versions = []
    for run in (first, second):
        kinds = [m["type"] for m in run.messages]
        activations = [i for i, kind in enumerate(kinds) if kind == "ACTIVATE_VERSION"]
        records = [i for i, kind in enumerate(kinds) if kind == "RECORD"]
        assert len(activations) == 2 and activations[0] < records[0] and records[-1] < activations[1]
        version = run.messages[activations[0]]["version"]
        assert run.messages[activations[1]]["version"] == version
        assert all(run.messages[i]["version"] == version for i in records)
        assert len(records) == sim.count("order_hdr")
        versions.append(version)
    assert versions[0] < versions[1]
