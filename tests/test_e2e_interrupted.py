"""A `meltano run` whose tap, or separately whose target, is killed mid-run, then run again."""

from __future__ import annotations

import pytest

from tests.pipeline import ENTITIES, FULL_RUN, Pipeline, Simulator, committed_batches, kill_plugin_when
from tests.warehouse import comparable, differences, load_tables

pytestmark = pytest.mark.e2e

# Small pages and batches: many states before the kill; slow pages (a fault): the kill lands mid-run.
SMALL_STEPS = {"TAP_ORACLE_WMS_PAGE_SIZE": "20", "TARGET_ORACLE_BATCH_SIZE_ROWS": "40"}


@pytest.fixture(scope="module")
def reference(meltano_installed: None, start_simulator, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The uninterrupted run, on a simulator of its own with the same seed and sizes."""
    reference_sim = start_simulator()
    pipeline = Pipeline(workdir=tmp_path_factory.mktemp("reference"), base_url=reference_sim.base_url)
    pipeline.run()
    return pipeline


def _data_pages(sim: Simulator, entity: str) -> int:
    """Pages of records of `entity` the simulator has served (not describe, not the entity list)."""
    return sum(
        f"/entity/{entity}" in request["path"] and "describe" not in request["path"]
        for request in sim.requests()
    )


@pytest.mark.parametrize("victim", ["tap-oracle-wms", "target-oracle"])
def test_killed_run_then_rerun_equals_an_uninterrupted_run(
    victim: str, pipeline: Pipeline, sim: Simulator, reference: Pipeline
) -> None:
    pipeline.extra_env.update(SMALL_STEPS)
    sim.fault("slow", delay=0.25, times=None)
    running = pipeline.start("--log-format=json", "run", *FULL_RUN, log_name="killed-run")
    # Killed once 10 of allocation's 15 pages are served (the tap mid-stream) and the target has committed a
    # batch (its log shows a succeeded batch), however slowly this machine runs.
    log = pipeline.workdir / "killed-run.log"
    killed = kill_plugin_when(
        running, victim, lambda: _data_pages(sim, "allocation") >= 10 and committed_batches(log) >= 1
    )
    exit_code = running.wait(timeout=300)
    assert killed, f"the run ended before {victim} could be killed (exit {exit_code})"
    assert exit_code != 0, "meltano run reported success although a plugin was killed"
    partial = load_tables(pipeline.duckdb_path) if pipeline.duckdb_path.exists() else {}
    partial_rows = sum(len(table.rows) for table in partial.values())
    assert partial_rows > 0, "nothing was loaded before the kill: the rerun would not be a resumed run"

    sim.clear_faults()
    pipeline.run()

    records = {entity: sim.records(entity) for entity in ENTITIES}
    tables = load_tables(pipeline.duckdb_path)
    expected_tables = load_tables(reference.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, records[entity], tables) == [], entity
    assert sorted(tables) == sorted(expected_tables)
    for name, table in tables.items():
        assert comparable(table) == comparable(expected_tables[name]), name
    # the interrupted run had loaded part of the data, which the rerun completed rather than duplicated
    assert partial_rows < sum(len(table.rows) for table in tables.values())
