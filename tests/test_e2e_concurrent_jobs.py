"""Jobs of different entities at the same time in the `local` environment: every job loads the one embedded
DuckDB file, which takes one writer at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from tests.pipeline import Pipeline, Simulator
from tests.warehouse import differences, load_tables

pytestmark = pytest.mark.e2e

STATE_ID = "local:tap-oracle-wms--order_hdr-to-target-oracle"
# Another process's writer on the DuckDB file for this long (as another entity's job loading a batch).
HELD_SECONDS = 8


def _bookmark(pipeline: Pipeline) -> str:
    state = json.loads(pipeline.meltano("state", "get", STATE_ID).stdout.strip().splitlines()[-1])
    return state["singer_state"]["bookmarks"]["order_hdr"]["replication_key_value"]


def _incremental_while_another_writer_holds_the_file(
    pipeline: Pipeline, sim: Simulator
) -> subprocess.CompletedProcess:
    """After order_hdr's full sync and a change in the WMS, its incremental job started while another process
    holds the DuckDB file open for writing (HELD_SECONDS, as another entity's job loading a batch)."""
    pipeline.run("order_hdr_full_sync", full_refresh=True)
    sim.update("order_hdr", [sim.records("order_hdr")[0]["id"]], {"order_nbr": "CHANGED-MEANWHILE"})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(float(sys.argv[2]))",
            str(pipeline.duckdb_path),
            str(HELD_SECONDS),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        return pipeline.meltano("run", "order_hdr_incremental_sync", check=False)
    finally:
        holder.wait(timeout=60)


def test_a_job_waiting_longer_than_its_lock_timeout_fails_clearly_and_its_state_stays(
    pipeline: Pipeline, sim: Simulator
) -> None:
    """What the README says: past duckdb_lock_timeout_seconds, a clear error, exit 1, the bookmark
    unmoved, the next run catches up."""
    pipeline.extra_env["TARGET_ORACLE_DUCKDB_LOCK_TIMEOUT_SECONDS"] = "2"
    refused = _incremental_while_another_writer_holds_the_file(pipeline, sim)
    assert refused.returncode != 0
    assert "Could not set lock on file" in refused.stdout + refused.stderr
    # the full sync's bookmark: the change (mod_ts after it) is read by the next run
    changed = max(datetime.fromisoformat(r["mod_ts"]) for r in sim.records("order_hdr"))
    assert datetime.fromisoformat(_bookmark(pipeline)) < changed

    pipeline.run("order_hdr_incremental_sync")
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(pipeline.duckdb_path)) == []


def test_a_job_waits_for_another_jobs_writer_on_the_duckdb_file(pipeline: Pipeline, sim: Simulator) -> None:
    """With the default duckdb_lock_timeout_seconds (60) the job waits out the other writer (8 s)."""
    result = _incremental_while_another_writer_holds_the_file(pipeline, sim)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "is in use by another process; waiting up to 60" in result.stdout + result.stderr
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(pipeline.duckdb_path)) == []
