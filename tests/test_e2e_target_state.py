"""target-oracle's STATE keeps moving through `meltano run` in record mode with a quarantine stream present:
an incremental run (record mode) whose target is killed mid-run has moved Meltano's state, and the next run
resumes from it to exact tables."""

from __future__ import annotations

import json
import re

import pytest

from tests.pipeline import Pipeline, Simulator, committed_batches, kill_plugin_when
from tests.warehouse import differences, expected, load_tables, table_name

pytestmark = pytest.mark.e2e

STATE_ID = "local:tap-oracle-wms--allocation-to-target-oracle"
# Small pages (a STATE from the tap after each) and small batches (a commit every 40 records).
SMALL_STEPS = {
    "TAP_ORACLE_WMS_PAGE_SIZE": "20",
    "TARGET_ORACLE_BATCH_SIZE_ROWS": "40",
    "TAP_ORACLE_WMS_LOOKBACK_SECONDS": "0",
}


def _state(pipeline: Pipeline) -> dict:
    return json.loads(pipeline.meltano("state", "get", STATE_ID).stdout.strip().splitlines()[-1])


def test_a_killed_record_mode_run_with_quarantined_records_moved_the_state_and_resumes_exactly(
    pipeline: Pipeline, sim: Simulator
) -> None:
    pipeline.extra_env.update(SMALL_STEPS)
    pipeline.run("allocation_full_sync", full_refresh=True)
    after_full_sync = _state(pipeline)

    records = sim.records("allocation")
    valid = sorted(expected("allocation", records).rows)
    sim.update("allocation", valid[:160], {"pick_locn_str": "Z-01-01-01"})
    # every fifth change breaks a rule: quarantined, interleaved with the valid records
    sim.update("allocation", valid[160:200:5], {"alloc_qty": "-3"})
    sim.update("allocation", valid[200:240], {"pick_locn_str": "Z-02-02-02"})

    sim.fault("slow", delay=0.25, times=None)
    running = pipeline.start("--log-format=json", "run", "allocation_incremental_sync", log_name="killed-run")
    log = pipeline.workdir / "killed-run.log"
    killed = kill_plugin_when(running, "target-oracle", lambda: committed_batches(log) >= 3)
    exit_code = running.wait(timeout=300)
    assert killed, f"the run ended before the target could be killed (exit {exit_code})"
    assert exit_code != 0
    assert _state(pipeline) != after_full_sync, "Meltano's state did not move before the kill"

    sim.clear_faults()
    pipeline.run("allocation_incremental_sync")
    tables = load_tables(pipeline.duckdb_path)
    main = tables[table_name("allocation")]
    # the rows whose newer version was quarantined keep their last valid version, marked superseded
    marked = {row["ID"] for row in main.rows if row["_SDC_SUPERSEDED_AT"] is not None}
    rejected = set(expected("allocation", sim.records("allocation")).rejected)
    assert marked == rejected & {row["ID"] for row in main.rows}
    assert marked >= set(valid[160:200:5])
    main.rows = [row for row in main.rows if row["ID"] not in marked]
    # the contract stores an empty string as NULL (as Oracle does), on DuckDB too
    served = [{k: None if v == "" else v for k, v in r.items()} for r in sim.records("allocation")]
    problems = differences("allocation", served, tables)
    assert problems == [], "\n".join(problems)
    assert table_name("allocation_rejected") in tables

    # dbt's staging model exposes the marks and its warn-severity test reports them (the run still passes)
    result = pipeline.meltano(
        "invoke", "dbt-duckdb", "build", "--select", "stg_wms__allocation", "--indirect-selection", "cautious"
    )
    output = result.stdout + result.stderr
    assert "ERROR=0" in output, output[-3000:]
    warned = re.search(r"WARN (\d+) accepted_values_stg_wms__allocation_is_superseded", output)
    assert warned, output[-3000:]
    assert int(warned.group(1)) == len(marked)  # the number of marked rows
