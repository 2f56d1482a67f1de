"""Partitioned full sync (`full_sync_partitions`) and partition jobs (`partition_count`, `partition_index`):
every row read once in one stream, with every real-tenant switch; a killed sync resumes each id range where
it stopped; the final bookmark is what a sequential full sync leaves."""

from __future__ import annotations

import itertools
import json
import logging
import sys
from pathlib import Path

import pytest
from tap_oracle_wms.partitions import PARTITION_JOB, PARTITIONS, IdRange, boundaries, job_slice, split
from tap_oracle_wms.settings import validate_settings

# The tests run in importlib mode: the sibling test modules whose helpers are shared here are put on the path.
sys.path.insert(0, str(Path(__file__).parent))
from test_tap_batch import file_records, messages
from test_tap_resume import meltano_merge
from test_tap_sync import data_requests

SIZES = {"allocation": 2000, "order_dtl": 120, "order_hdr": 30, "item": 40}


def stream_states(run_messages, stream="allocation"):
    return [m["value"]["bookmarks"][stream] for m in run_messages if m["type"] == "STATE"]


def latest_by_id(*record_lists):
    latest: dict[int, str] = {}
    for records in record_lists:
        for row in records:
            latest[row["id"]] = max(latest.get(row["id"], ""), row["mod_ts"])
    return latest


def covers_every_id(ranges: list[IdRange]) -> bool:
    """Whether the ranges, in order, tile the whole id line (open first, open last, no gap)."""
    return (
        ranges[0].lo is None
        and ranges[-1].hi is None
        and all(a.hi == b.lo for a, b in itertools.pairwise(ranges))
    )


@pytest.mark.parametrize("count", [2, 3, 8, 16])
@pytest.mark.parametrize(("first", "last"), [(1, 2000), (1, 1_000_000), (7_000_001, 7_000_050), (5, 5)])
def test_partition_ranges_tile_the_id_line(first, last, count):
    ranges = split(IdRange(None, None), count, first, last)
    assert covers_every_id(ranges)
    assert 1 <= len(ranges) <= count
    slices = [job_slice(k, count, first, last) for k in range(count)]
    assert slices[0].lo is None and slices[-1].hi is None
    assert all(a.hi >= b.lo for a, b in itertools.pairwise(slices))  # overlapping by a quantum, no gap
    # A slice split again keeps its ends.
    for outer in slices:
        inner = split(outer, 4, first, last)
        assert inner[0].lo == outer.lo and inner[-1].hi == outer.hi
        assert all(a.hi == b.lo for a, b in itertools.pairwise(inner))


@pytest.mark.parametrize("inserted", [0, 40, 999, 1000, 1999])
def test_partition_job_slices_leave_no_gap_when_rows_are_inserted_between_jobs(inserted):
    # Jobs start at different moments; rows inserted in between may move a boundary by a quantum (1,000
    # ids here), which the overlap covers.
    assert boundaries(1, 1_000_000, 8)[0] == 125_000
    for k in range(7):
        early = job_slice(k, 8, 1, 1_000_000)
        late = job_slice(k + 1, 8, 1, 1_000_000 + inserted)
        assert early.hi >= late.lo


def test_partition_settings_checked():
    base = {"base_url": "https://x.example/prod", "username": "u", "password": "p"}
    assert (
        validate_settings({**base, "full_sync_partitions": 8, "partition_count": 4, "partition_index": 3})
        == []
    )
    errors = validate_settings({**base, "partition_count": 2, "partition_index": 2})
    assert errors == ["Setting 'partition_index' must be 0..1 (partition_count=2), got 2"]
    assert validate_settings({**base, "full_sync_partitions": 0}) == [
        "Setting 'full_sync_partitions' must be 1..64, got 0"
    ]


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_partitioned_full_sync_reads_every_row_once_with_the_sequential_bookmark(
    wms_sim_factory, make_config, run_tap, utc, page_mode
):
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation"], page_mode=page_mode)
    sequential = run_tap(config)
    sim.clear_requests()
    run = run_tap({**config, "full_sync_partitions": 4})
    ids = [r["id"] for r in run.records("allocation")]
    assert sorted(ids) == list(range(1, 2001))
    final = run.last_state["bookmarks"]["allocation"]
    plan_nulled = {"full_sync_ranges": None, "full_sync_started": None, "full_sync_max_seen": None}
    assert final == {**sequential.last_state["bookmarks"]["allocation"], **plan_nulled}
    assert final["replication_key_value"] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))
    # Bounds from two one-row pages ordered by id and -id, then four ranges ordered by id.
    requests = data_requests(sim, probes=True)
    assert [r.query.get("ordering") for r in requests[:2]] == ["id", "-id"]
    ranges = {(r.query.get("id__gte"), r.query.get("id__lt")) for r in requests[2:]}
    assert ranges == {(None, "500"), ("500", "1000"), ("1000", "1500"), ("1500", None)}
    assert all(r.query["ordering"] == "id" for r in requests[2:])
    # The plan is in the state while the sync runs; the bookmark stays null until every range is read.
    states = [s["bookmarks"]["allocation"] for s in run.states]
    assert states[0][PARTITIONS] is None and states[0]["replication_key_value"] is None
    assert all(s[PARTITIONS] and s["replication_key_value"] is None for s in states[1:-1])
    assert final[PARTITIONS] is None and final["full_sync_started"] is None


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_partitioned_full_sync_with_every_real_tenant_switch(
    wms_sim_factory, make_config, run_tap, utc, caplog, page_mode
):
    sim = wms_sim_factory(
        sizes=SIZES,
        ordering_refused=("allocation",),
        whole_second_filters=True,
        short_page_every=3,
        latency=0.01,
        latency_jitter=0.01,
    )
    sim.faults.add(504, page_size_above=300, times=None, path_contains="/allocation/?")
    config = make_config(
        sim,
        entities=["allocation"],
        page_mode=page_mode,
        page_size=1000,
        full_sync_partitions=3,
        start_date="2024-01-01T00:00:00.5+00:00",
    )
    with caplog.at_level(logging.WARNING):
        run = run_tap(config)
    assert sorted(r["id"] for r in run.records("allocation")) == list(range(1, 2001))
    assert any("searched by row counts" in r.message for r in caplog.records)
    served = data_requests(sim, probes=True)
    assert all("ordering" not in r.query for r in served if r.status == 200)
    assert {r.query["page_size"] for r in served if r.status == 200 and r.query["page_size"] != "1"} == {
        "250"
    }
    assert {r.query["mod_ts__gte"] for r in served} == {"2024-01-01T00:00:00+00:00"}
    final = run.last_state["bookmarks"]["allocation"]
    assert final["replication_key_value"] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))
    assert final[PARTITIONS] is None and final.get("full_sync") is None


@pytest.mark.parametrize("mode", ["record", "batch"])
def test_tap_killed_partitioned_full_refresh_resumes_each_range_where_it_stopped(
    wms_sim_factory, make_config, run_tap, tap_cli, tmp_path, kill_after_states, utc, mode
):
    sim = wms_sim_factory(sizes=SIZES, latency=0.005)
    config = make_config(sim, entities=["allocation"], page_size=50, full_sync_partitions=4)
    if mode == "batch":
        config["batch_config"] = {"storage": {"root": str(tmp_path / "b")}, "batch_size": 100}
    # The last complete state: a bookmark from an earlier sync.
    complete = run_tap({k: v for k, v in config.items() if k != "batch_config"}).last_state

    # A --full-refresh (no state in), killed mid-run; Meltano merges its last STATE onto the complete one.
    killed = kill_after_states(tap_cli(config=config, popen=True), 12)
    assert killed[-1]["type"] == "STATE"
    merged = complete
    for message in killed:  # Meltano merges each STATE onto the state so far
        if message["type"] == "STATE":
            merged = meltano_merge(message["value"], merged)
    plan = merged["bookmarks"]["allocation"][PARTITIONS]
    started = merged["bookmarks"]["allocation"]["full_sync_started"]
    assert merged["bookmarks"]["allocation"]["replication_key_value"] is None
    assert any(r["after_id"] for r in plan)

    def written(run_messages):
        if mode == "record":
            return [m["record"] for m in run_messages if m["type"] == "RECORD"]
        return [
            r
            for m in run_messages
            if m["type"] == "BATCH"
            for r in file_records(m["manifest"][0], m["encoding"])
        ]

    before = written(killed)
    assert 0 < len(before) < 2000
    # A row of the ranges read so far changes before the restart: the resumed run does not read those
    # rows again, the incremental run after it must.
    changed = max(r["id"] for r in before)
    sim.advance_clock(60)
    sim.update("allocation", [changed], pick_user="AFTER_CRASH")

    sim.clear_requests()
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(merged))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    out = messages(resumed.stdout)
    after = written(out)
    assert {r["id"] for r in before} | {r["id"] for r in after} == set(range(1, 2001))
    # Each range resumed after its position; no bounds asked again.
    starts = {
        (r.query.get("id__gte"), r.query.get("id__lt"))
        for r in data_requests(sim, probes=True)
        if "id__gt" not in r.query and "cursor" not in r.query
    }
    # The resumed run asks again whether rows come in order (two one-row pages), nothing else of one row.
    probes = [
        r.query.get("ordering") for r in data_requests(sim, probes=True) if r.query.get("page_size") == "1"
    ]
    assert probes == ["id", "-id"]
    for entry in plan:
        lo = entry["after_id"] + 1 if entry["after_id"] else entry["lo"]
        wanted = (None if lo is None else str(lo), None if entry["hi"] is None else str(entry["hi"]))
        assert (wanted in starts) != entry["done"]
    assert len({r["id"] for r in before} & {r["id"] for r in after}) <= 4 * 100
    final = stream_states(out)[-1]
    assert final[PARTITIONS] is None and final.get("full_sync") is None
    assert final["replication_key_value"] == min(started, max(str(r["mod_ts"]) for r in before + after))

    # The incremental run continues from that bookmark and picks up the change.
    for message in out:
        if message["type"] == "STATE":
            merged = meltano_merge(message["value"], merged)
    assert merged["bookmarks"]["allocation"][PARTITIONS] is None
    state_file.write_text(json.dumps(merged))
    incremental = tap_cli(
        "--state", str(state_file), config={k: v for k, v in config.items() if k != "batch_config"}
    )
    assert incremental.returncode == 0, incremental.stderr[-2000:]
    later = [m["record"] for m in messages(incremental.stdout) if m["type"] == "RECORD"]
    assert latest_by_id(before, after, later) == {
        r["id"]: utc(r["mod_ts"]) for r in sim.records("allocation")
    }


def test_tap_partition_jobs_together_read_every_row_and_keep_slice_and_start(
    wms_sim_factory, make_config, run_tap, utc
):
    sim = wms_sim_factory(sizes=SIZES)
    config = make_config(sim, entities=["allocation"], partition_count=2, full_sync_partitions=2)
    first = run_tap({**config, "partition_index": 0})
    sim.insert("allocation", 7)  # between the jobs' starts
    second = run_tap({**config, "partition_index": 1})
    ids = [r["id"] for r in first.records("allocation") + second.records("allocation")]
    assert set(ids) == set(range(1, 2008))
    assert len(ids) - len(set(ids)) <= 100  # the slices overlap by one quantum
    jobs = [run.last_state["bookmarks"]["allocation"] for run in (first, second)]
    assert [j[PARTITION_JOB]["index"] for j in jobs] == [0, 1]
    assert jobs[0][PARTITION_JOB]["lo"] is None and jobs[1][PARTITION_JOB]["hi"] is None
    assert (jobs[0][PARTITION_JOB]["hi"], jobs[1][PARTITION_JOB]["lo"]) == (1100, 1000)
    for job, run in zip(jobs, (first, second), strict=True):
        assert job["replication_key_value"] == min(
            job[PARTITION_JOB]["started"], max(r["mod_ts"] for r in run.records("allocation"))
        )
        assert job[PARTITIONS] is None


def test_tap_partitioned_sync_error_in_one_range_stops_the_sync_clearly(
    wms_sim_factory, make_config, tap_cli
):
    sim = wms_sim_factory(sizes=SIZES)
    sim.faults.add(403, times=None, path_contains="id__gte=1000")
    result = tap_cli(config=make_config(sim, entities=["allocation"], full_sync_partitions=4, page_size=50))
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("partitions", [1, 4], ids=["one cursor", "4 id ranges"])
@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_killed_full_sync_of_an_entity_ignoring_ordering_resumes_without_losing_a_row(
    wms_sim_factory, make_config, tap_cli, tmp_path, kill_after_states, utc, page_mode, partitions
):
    # The server accepts `ordering` but serves its storage order: ids (and mod_ts) ascend through a third of
    # the rows, then fall back. Nothing may rely on the order: no keyset pages, no bookmark moved as rows
    # arrive, no range positions; a killed sync resumed from its last STATE still reads every row.
    sim = wms_sim_factory(sizes=SIZES, ordering_ignored=("allocation",), latency=0.01)
    config = make_config(
        sim, entities=["allocation"], page_size=50, page_mode=page_mode, full_sync_partitions=partitions
    )
    killed = kill_after_states(tap_cli(config=config, popen=True), 6)
    assert killed[-1]["type"] == "STATE"
    merged: dict = {}
    for message in killed:
        if message["type"] == "STATE":
            merged = meltano_merge(message["value"], merged)
    before = [m["record"] for m in killed if m["type"] == "RECORD"]
    assert 0 < len(before) < 2000
    assert merged["bookmarks"]["allocation"].get("replication_key_value") is None
    if partitions > 1:
        assert all(r["after_id"] is None for r in merged["bookmarks"]["allocation"][PARTITIONS])

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(merged))
    resumed = tap_cli("--state", str(state_file), config=config)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stderr.count("accepts `ordering` but ignores it") == 1
    out = messages(resumed.stdout)
    after = [m["record"] for m in out if m["type"] == "RECORD"]
    assert {r["id"] for r in before} | {r["id"] for r in after} == set(range(1, 2001))
    final = stream_states(out)[-1]
    assert final["replication_key_value"] == max(utc(r["mod_ts"]) for r in sim.records("allocation"))
    assert final.get("full_sync") is None
    pages = [r for r in data_requests(sim, probes=True) if r.query["page_size"] != "1"]
    assert pages and all("id__gt" not in r.query for r in pages)  # no keyset pages


def test_tap_full_table_stream_of_an_entity_ignoring_ordering_reads_every_row(
    wms_sim_factory, make_config, run_tap
):
    # A stream replicated FULL_TABLE reads all rows every run; in paged mode keyset pages (`id__gt=<last id>`)
    # would skip every row behind the first page's largest id when the server ignores `ordering`.
    from tap_oracle_wms.tap import TapOracleWMS

    sim = wms_sim_factory(sizes=SIZES, ordering_ignored=("allocation",))
    config = make_config(sim, entities=["allocation"], page_size=50, page_mode="paged")
    catalog = TapOracleWMS(config=config).catalog_dict
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
    run = run_tap(config, catalog=catalog)
    assert sorted(r["id"] for r in run.records("allocation")) == list(range(1, 2001))
    pages = [r for r in data_requests(sim) if r.query["page_size"] != "1"]
    assert pages and all("id__gt" not in r.query for r in pages)
