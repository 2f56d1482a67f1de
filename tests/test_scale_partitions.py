"""Partition jobs across machines: N Meltano jobs, each reading one slice of the id line under its own state
id, together do one full sync; orchestrate/finish_full_sync.py hands the bookmark to the incremental job."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.pipeline import MELTANO, REPO, Pipeline, Simulator
from tests.warehouse import differences, load_tables

FINISH = REPO / "orchestrate" / "finish_full_sync.py"
STATE_ID = "local:tap-oracle-wms--allocation-to-target-oracle"


def finish_module():
    spec = importlib.util.spec_from_file_location("finish_full_sync", FINISH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job_state(index, count, lo, hi, bookmark, started):
    return {
        "bookmarks": {
            "allocation": {
                "replication_key": "mod_ts",
                "replication_key_value": bookmark,
                "partition_job": {"index": index, "count": count, "lo": lo, "hi": hi, "started": started},
            }
        }
    }


def test_finish_takes_the_largest_bookmark_capped_by_the_earliest_start():
    finish = finish_module()
    states = [
        job_state(0, 3, None, 100, "2025-01-01T00:00:00.000000+00:00", "2026-01-01T00:00:05.000000+00:00"),
        job_state(1, 3, 100, 200, "2026-01-01T00:00:09.000000+00:00", "2026-01-01T00:00:09.000000+00:00"),
        job_state(2, 3, 200, None, "2025-12-31T00:00:00.000000+00:00", "2026-01-01T00:00:07.000000+00:00"),
    ]
    combined = finish.combine(states, 3)
    assert combined == {
        "allocation": {
            "replication_key": "mod_ts",
            "replication_key_value": "2026-01-01T00:00:05.000000+00:00",
        }
    }
    states[1]["bookmarks"]["allocation"]["replication_key_value"] = "2025-06-01T00:00:00.000000+00:00"
    assert (
        finish.combine(states, 3)["allocation"]["replication_key_value"] == "2025-12-31T00:00:00.000000+00:00"
    )


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ([job_state(0, 2, None, 100, "a", "b"), {}], "partition job 1 has no state"),
        (
            [job_state(0, 2, None, 100, "a", "b"), job_state(1, 2, 105, None, "a", "b")],
            "ids 100..104 were read by no partition job",
        ),
        (
            [job_state(0, 2, None, 100, "a", "b"), job_state(0, 2, None, 100, "a", "b")],
            "its state is of partition 0 of 2, not 1 of 2",
        ),
        (
            [job_state(0, 2, None, 100, None, "b"), job_state(1, 2, 100, None, "a", "b")],
            "partition job 0, stream 'allocation': its full sync has not finished",
        ),
    ],
    ids=["missing job", "gap", "wrong index", "unfinished"],
)
def test_finish_refuses_states_that_do_not_make_one_full_sync(states, message):
    finish = finish_module()
    with pytest.raises(finish.FinishError, match=message):
        finish.combine(states, 2)


@pytest.mark.e2e
def test_two_partition_jobs_then_finish_then_incremental(
    meltano_installed: None, sim: Simulator, tmp_path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shared = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "TARGET_ORACLE_SQLALCHEMY_URL": f"duckdb:///{warehouse}",
        "TAP_ORACLE_WMS_PAGE_SIZE": "40",
    }
    jobs = []
    for index in (0, 1):  # two workers, each its own working files, one system database and warehouse
        worker = Pipeline(
            tmp_path / f"partition-{index}",
            sim.base_url,
            {
                **shared,
                "TAP_ORACLE_WMS_PARTITION_COUNT": "2",
                "TAP_ORACLE_WMS_PARTITION_INDEX": str(index),
                "TAP_ORACLE_WMS_FULL_SYNC_PARTITIONS": "2",
            },
        )
        worker.meltano(
            "run", "--full-refresh", "--state-id-suffix", f"partition-{index}", "allocation_full_sync"
        )
        saved = json.loads(
            worker.meltano("state", "get", f"{STATE_ID}:partition-{index}").stdout.splitlines()[-1]
        )
        jobs.append(saved["singer_state"]["bookmarks"]["allocation"])
        assert jobs[-1]["partition_job"]["index"] == index
        if index == 0:
            sim.insert("allocation", 3)  # rows inserted between the two jobs' starts
    records = sim.records("allocation")
    assert differences("allocation", records, load_tables(warehouse)) == []

    finisher = Pipeline(tmp_path / "finish", sim.base_url, dict(shared))
    done = finisher.command(
        [sys.executable, str(FINISH), STATE_ID, "--partitions", "2", "--meltano", str(MELTANO)]
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(finisher.meltano("state", "get", STATE_ID).stdout.splitlines()[-1])
    bookmark = written["singer_state"]["bookmarks"]["allocation"]
    assert bookmark == {
        "replication_key": "mod_ts",
        "replication_key_value": min(
            max(job["replication_key_value"] for job in jobs),
            min(job["partition_job"]["started"] for job in jobs),
        ),
    }
    # The slices overlap: every id was read by a job.
    assert jobs[0]["partition_job"]["hi"] >= jobs[1]["partition_job"]["lo"]

    served = len(sim.requests())
    sim.update("allocation", [5], {"pick_user": "AFTER_FULL_SYNC"})
    finisher.meltano("run", "allocation_incremental_sync")
    reads = [r for r in sim.requests()[served:] if r["path"].endswith("/entity/allocation/")]
    assert reads and all("mod_ts__gte" in r["query"] or "create_ts__gte" in r["query"] for r in reads)
    assert differences("allocation", sim.records("allocation"), load_tables(warehouse)) == []
