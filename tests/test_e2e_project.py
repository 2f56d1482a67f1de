"""The Meltano project as a new user meets it: a fresh clone runs every documented command, plugin
warnings keep their level, and an interrupted full refresh (or an "already running" refusal) is resumed
as the README says, to every row."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.pipeline import (
    REPO,
    Pipeline,
    Simulator,
    committed_batches,
    fresh_project,
    kill_plugin_when,
    log_events,
    metrics,
)
from tests.warehouse import differences, load_tables

pytestmark = pytest.mark.e2e

STATE_ID = "local:tap-oracle-wms--allocation-to-target-oracle"
# Every `meltano` command the root README documents for the local environment, in an order a user may run
# them. Each run and job is started from a tree with no output/ (removed before it), except the last two full
# syncs, which add their tables for the dbt commands after them.
ENTITIES = ("allocation", "order_hdr", "order_dtl")
DOCUMENTED = [
    ("run", "tap-oracle-wms", "mapper-wms-validate", "target-oracle"),
    ("run", "allocation_incremental_sync"),
    ("run", "allocation_reconcile"),
    ("schedule", "run", "allocation_reconcile_hourly"),
    *(("run", "--full-refresh", f"{entity}_full_sync") for entity in ENTITIES),
    ("invoke", "dbt-duckdb", "build"),
    ("invoke", "dbt-duckdb:freshness"),
    ("invoke", "dbt-duckdb", "docs", "generate"),
]
KEEP_OUTPUT = {("run", "--full-refresh", f"{entity}_full_sync") for entity in ENTITIES[1:]}


def _state(pipeline: Pipeline) -> dict:
    return json.loads(pipeline.meltano("state", "get", STATE_ID).stdout.strip().splitlines()[-1])


def _bookmarks(state: dict) -> dict:
    return state["singer_state"]["bookmarks"]["allocation"]


def _data_pages(sim: Simulator, entity: str) -> int:
    """Pages of rows asked so far (not `describe`, nor the one-row pages of the tap's ordering probe)."""
    return sum(
        f"/entity/{entity}" in r["path"]
        and "describe" not in r["path"]
        and r["query"].get("page_size") != "1"
        for r in sim.requests()
    )


def test_the_readme_documents_the_commands_this_test_runs() -> None:
    readme = (REPO / "README.md").read_text()
    for command in DOCUMENTED:
        assert f"meltano {' '.join(command)}" in readme, command


def test_a_fresh_clone_runs_every_documented_command(
    meltano_installed: None, sim: Simulator, tmp_path: Path
) -> None:
    """From a tree with no output/ (removed again before each command), every documented run, job and dbt
    command succeeds, with no traceback."""
    root = fresh_project(tmp_path / "clone")
    pipeline = Pipeline(workdir=tmp_path / "work", base_url=sim.base_url, project_root=root)
    for command in DOCUMENTED:
        if command[0] != "invoke" and command not in KEEP_OUTPUT:
            shutil.rmtree(root / "output", ignore_errors=True)
        result = pipeline.meltano(*command, timeout=900)
        output = result.stdout + result.stderr
        assert "Traceback" not in output and "BrokenPipeError" not in output, command
        if command[:2] == ("schedule", "run"):  # the schedule's env gives the job reconcile_hours 24
            assert "reconcile_counts" in _bookmarks(_state(pipeline)), "the reconcile schedule did not count"
    tables = load_tables(pipeline.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, sim.records(entity), tables) == [], entity
    assert any(root.rglob("catalog.json")), "dbt docs generate wrote no catalog"


def test_plugin_warnings_reach_meltano_as_warnings_and_metrics_stay_parseable(
    meltano_installed: None, sim: Simulator, tmp_path: Path
) -> None:
    """The tap's warning for a setting it does not know, and the mapper's for a quarantined record, show as
    `[warning ...]` in `meltano run`'s output (not `[info ...]`); in Meltano's JSON log format each METRIC
    is an object with its name, value and tags."""
    root = fresh_project(tmp_path / "clone")
    project = root / "meltano.yml"
    project.write_text(
        project.read_text().replace(
            "      entities: [allocation]\n", "      entities: [allocation]\n      not_a_setting: 1\n", 1
        )
    )
    pipeline = Pipeline(workdir=tmp_path / "work", base_url=sim.base_url, project_root=root)
    result = pipeline.meltano("run", "--full-refresh", "allocation_full_sync")
    lines = (result.stdout + result.stderr).splitlines()
    unknown = [line for line in lines if "Setting 'not_a_setting' is not a setting" in line]
    assert unknown and all(re.search(r"\[warning\s*\] tap-oracle-wms", line) for line in unknown), unknown
    quarantined = [line for line in lines if "Quarantined (to 'allocation_rejected')" in line]
    assert quarantined and all(re.search(r"\[warning\s*\] wms-validate", line) for line in quarantined)
    assert any(re.search(r"\[info\s*\] target-oracle +METRIC", line) for line in lines)

    log = pipeline.workdir / "json-run.log"
    pipeline.start("--log-format=json", "run", "allocation_incremental_sync", log_name="json-run").wait(300)
    events = log_events(log)
    assert any(
        e.get("level") == "warning" and "not_a_setting" in e.get("event", "") and e.get("cmd_type") == "elb"
        for e in events
    )
    counted = metrics(log, "record_count")
    assert counted and all(isinstance(m["value"], int) and "stream" in m["tags"] for m in counted)
    assert committed_batches(log) >= 1


def test_a_full_refresh_killed_before_its_first_commit_resumes_to_every_row(
    pipeline: Pipeline, sim: Simulator
) -> None:
    """The README's resume: the same job without --full-refresh. A --full-refresh killed before the target
    committed anything, into an emptied destination, must not continue from the previous bookmark."""
    pipeline.run("allocation_full_sync", full_refresh=True)
    done = _bookmarks(_state(pipeline))
    # Meltano merges a --full-refresh run's STATEs onto the old state: the finished sync must say so
    assert done["replication_key_value"] and done.get("full_sync") is None, done

    pipeline.extra_env["TAP_ORACLE_WMS_PAGE_SIZE"] = "20"  # 15 pages, each slowed: the kill lands mid-sync
    sim.fault("slow", delay=0.25, times=None)
    log = pipeline.workdir / "killed-run.log"
    running = pipeline.start(
        "--log-format=json", "run", "--full-refresh", "allocation_full_sync", log_name="killed-run"
    )
    killed = kill_plugin_when(running, "tap-oracle-wms", lambda: _data_pages(sim, "allocation") >= 3)
    exit_code = running.wait(timeout=300)
    assert killed and exit_code != 0, f"the run was not interrupted (exit {exit_code})"
    assert committed_batches(log) == 0, "the target committed before the kill: not the case under test"
    assert _bookmarks(_state(pipeline)).get("full_sync") == "in progress"

    pipeline.duckdb_path.unlink()  # the destination emptied (e.g. dropped by whoever asked for the refresh)
    sim.clear_faults()
    pipeline.run("allocation_full_sync")

    tables = load_tables(pipeline.duckdb_path)
    assert differences("allocation", sim.records("allocation"), tables) == []
    assert _bookmarks(_state(pipeline)).get("full_sync") is None


def test_after_a_killed_meltano_the_refused_resume_runs_with_force(
    pipeline: Pipeline, sim: Simulator
) -> None:
    """Meltano itself killed (e.g. its machine lost): its run stays marked running, so the same job is refused
    ("already running") until the heartbeat expires; `--force` (no other run live) resumes it to every row."""
    pipeline.extra_env["TAP_ORACLE_WMS_PAGE_SIZE"] = "20"
    sim.fault("slow", delay=0.25, times=None)
    running = pipeline.start("run", "allocation_full_sync", log_name="killed-meltano")
    deadline = time.monotonic() + 120
    while _data_pages(sim, "allocation") < 3 and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.poll() is None, "the run ended before it could be killed"
    os.killpg(running.pid, signal.SIGKILL)  # meltano and every plugin: nothing marks the run ended
    running.wait(timeout=60)
    sim.clear_faults()

    refused = pipeline.meltano("run", "allocation_full_sync", check=False)
    assert refused.returncode != 0
    assert "already running" in (refused.stdout + refused.stderr).lower()

    pipeline.meltano("run", "--force", "allocation_full_sync")
    tables = load_tables(pipeline.duckdb_path)
    assert differences("allocation", sim.records("allocation"), tables) == []


def test_a_plugin_error_reaches_meltano_as_an_error_without_a_traceback(pipeline: Pipeline) -> None:
    pipeline.extra_env["TAP_ORACLE_WMS_PASSWORD"] = "not-the-password"
    result = pipeline.meltano("run", "allocation_incremental_sync", check=False)
    lines = (result.stdout + result.stderr).splitlines()
    assert result.returncode != 0
    # The tap's own log lines; Meltano's "Catalog discovery failed" error repeats the tap's stderr (JSON
    # lines) after it, which are part of that [error] entry.
    refused = [line for line in lines if "refused the credentials" in line and "] tap-oracle-wms " in line]
    assert refused and all(re.search(r"\[error\s*\]", line) for line in refused), refused
    assert not any("Traceback" in line for line in lines)
