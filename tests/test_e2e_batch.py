"""BATCH mode end to end: the full-sync jobs exchange files (tap -> mapper -> target) instead of record lines.

meltano.yml puts the per-entity extractors (`tap-oracle-wms--<entity>`, run by the `<entity>_full_sync` jobs)
in BATCH mode; the base `tap-oracle-wms` stays in record mode. Both load the same simulator data here and
must give the same tables, quarantine tables included; a BATCH run killed mid-way and resumed must too, with
no duplicates and no BATCH file that a later run would load a second time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.pipeline import ENTITIES, FULL_RUN, Pipeline, Simulator, kill_plugin_when
from tests.warehouse import comparable, differences, load_tables, table_name

pytestmark = pytest.mark.e2e

FULL_JOBS = tuple(f"{entity}_full_sync" for entity in ENTITIES)


def batch_env(root: Path, **extra: str) -> dict[str, str]:
    """Every BATCH file of a run under `root`: the tap's, and the mapper's, which it writes beside them."""
    env = {}
    for entity in ENTITIES:
        prefix = f"TAP_ORACLE_WMS__{entity.upper()}_BATCH_CONFIG"
        env[f"{prefix}_STORAGE_ROOT"] = str(root)
        for name, value in extra.items():
            env[f"{prefix}_{name}"] = value
    return env


def batch_files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def reader_counts(log: Path, plugin: str) -> list[dict[str, int]]:
    """What the SDK reader of `plugin` reported per run: records and batch manifests it read."""
    pattern = re.compile(rf"{plugin}.*completed processing .*?(\d+) records, (\d+) batch manifests")
    return [
        {"records": int(m.group(1)), "manifests": int(m.group(2))}
        for m in map(pattern.search, log.read_text().splitlines())
        if m
    ]


def assert_same_tables(pipeline: Pipeline, reference: Pipeline, names: tuple[str, ...] = ()) -> None:
    """Same tables (or those named), same rows (all columns but _SDC_* and REJECTED_AT), no duplicates."""
    tables = load_tables(pipeline.duckdb_path)
    expected_tables = load_tables(reference.duckdb_path)
    if names:
        tables = {name: tables[name] for name in names}
        expected_tables = {name: expected_tables[name] for name in names}
    assert sorted(tables) == sorted(expected_tables)
    assert any(name.endswith("_REJECTED") and table.rows for name, table in tables.items())
    for name, table in tables.items():
        rows = comparable(table)
        assert len(rows) == len(set(rows)), f"{name}: duplicate rows"
        assert rows == comparable(expected_tables[name]), name


@pytest.fixture(scope="module")
def batch_sim(start_simulator) -> Simulator:
    """One simulator for the record-mode reference and the BATCH run (same data, same `url` values)."""
    return start_simulator()


@pytest.fixture(scope="module")
def record_run(meltano_installed: None, batch_sim: Simulator, tmp_path_factory) -> Pipeline:
    pipeline = Pipeline(workdir=tmp_path_factory.mktemp("record"), base_url=batch_sim.base_url)
    pipeline.run(*FULL_RUN)
    return pipeline


@pytest.fixture(scope="module")
def batch_run(meltano_installed: None, batch_sim: Simulator, tmp_path_factory) -> Pipeline:
    work = tmp_path_factory.mktemp("batch")
    pipeline = Pipeline(
        workdir=work / "pipeline", base_url=batch_sim.base_url, extra_env=batch_env(work / "files")
    )
    pipeline.run(*FULL_JOBS, full_refresh=True)
    return pipeline


def test_full_sync_jobs_really_exchange_batch_files(batch_run: Pipeline) -> None:
    log = batch_run.workdir / "meltano.log"
    for plugin in ("wms-validate", "target-oracle"):
        counts = reader_counts(log, plugin)
        assert len(counts) == len(ENTITIES), (plugin, counts)
        assert all(c["records"] == 0 and c["manifests"] > 0 for c in counts), (plugin, counts)
    config = json.loads(batch_run.meltano("config", "print", "tap-oracle-wms--allocation").stdout)
    assert config["batch_config"]["storage"]["root"] == str(batch_run.workdir.parent / "files")


def test_batch_mode_loads_the_same_tables_as_record_mode(
    batch_run: Pipeline, record_run: Pipeline, batch_sim: Simulator
) -> None:
    records = {entity: batch_sim.records(entity) for entity in ENTITIES}
    tables = load_tables(batch_run.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, records[entity], tables) == [], entity
        assert table_name(f"{entity}_rejected") in tables or entity != "allocation"
    assert_same_tables(batch_run, record_run)


def test_batch_files_are_removed_once_loaded(batch_run: Pipeline) -> None:
    assert batch_files(batch_run.workdir.parent / "files") == set()


class CommittedFiles:
    """Whether the loader has committed a file of allocation records: one the mapper wrote, seen and gone.

    The mapper writes `mapper-wms-validate--<stream>-...` files; the loader removes each one after the
    transaction that loaded it committed (keep_batch_files is false), and nothing else removes them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: set[Path] = set()

    def __call__(self) -> bool:
        now = {p for p in batch_files(self.root) if p.name.startswith("mapper-wms-validate--allocation-")}
        gone = self.seen - now
        self.seen |= now
        return bool(gone)


@pytest.mark.parametrize("victim", ["tap-oracle-wms", "target-oracle"])
def test_killed_batch_run_then_rerun_equals_record_mode(
    victim: str, pipeline: Pipeline, sim: Simulator, record_run: Pipeline, tmp_path: Path
) -> None:
    """One file per page of 20 records, one page a second: killed once the loader committed a file.

    The target gathers the files of consecutive BATCH messages up to `batch_size_rows` before it commits
    them; set to the file size here, so each file commits on its own and the kill lands between two files.
    """
    files = tmp_path / "files"
    pipeline.extra_env.update(batch_env(files, BATCH_SIZE="20"))
    pipeline.extra_env["TARGET_ORACLE_BATCH_SIZE_ROWS"] = "20"
    pipeline.extra_env["TAP_ORACLE_WMS_PAGE_SIZE"] = "20"
    sim.fault("slow", delay=1.0, times=None)
    running = pipeline.start("run", "--full-refresh", "allocation_full_sync", log_name="killed-run")
    killed = kill_plugin_when(running, victim, CommittedFiles(files))
    exit_code = running.wait(timeout=300)
    assert killed, f"the run ended before {victim} could be killed (exit {exit_code})"
    assert exit_code != 0, "meltano run reported success although a plugin was killed"
    partial = load_tables(pipeline.duckdb_path)
    partial_rows = len(partial[table_name("allocation")].rows) if table_name("allocation") in partial else 0
    assert partial_rows > 0, "nothing was loaded before the kill: the rerun would not be a resumed run"
    left_by_kill = batch_files(files)

    sim.clear_faults()
    pipeline.run("allocation_full_sync")  # again, without --full-refresh: from the state committed, if any
    assert partial_rows < len(load_tables(pipeline.duckdb_path)[table_name("allocation")].rows)
    assert_same_tables(pipeline, record_run, (table_name("allocation"), table_name("allocation_rejected")))
    # The rerun left no file of its own, and none that the kill left behind was loaded by it: no duplicate
    # above, and those files are still there, named by no BATCH message of any later run.
    assert batch_files(files) <= left_by_kill
