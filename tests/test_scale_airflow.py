"""The Airflow DAGs generated from meltano.yml (orchestrate/dags).

What the DAGs are is read without Airflow (orchestrate/dags/meltano_project.py); that Airflow parses every
one of them with the expected schedule and guards, and that two run end to end with `airflow dags test`
against the simulator (an incremental DAG, and the full-sync DAG as partition jobs then the finishing step),
needs Airflow in .tools/airflow (`make airflow`): those tests skip without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.pipeline import REPO, Pipeline, Simulator
from tests.warehouse import differences, load_tables

DAGS = REPO / "orchestrate" / "dags"
AIRFLOW_BIN = REPO / ".tools" / "airflow" / "bin"
needs_airflow = pytest.mark.skipif(
    not (AIRFLOW_BIN / "airflow").exists(),
    reason="Airflow is not installed in .tools/airflow: run `make airflow`",
)
# Printed by the Airflow venv's Python: the import errors and, per DAG, what the tests check.
DESCRIBE_DAGS = """
import json, sys
import jinja2
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in bag.dags.items():
    render = lambda task, full: jinja2.Template(task.bash_command).render(params={"full_refresh": full})
    dags[dag_id] = {
        "schedule": dag.schedule, "max_active_runs": dag.max_active_runs, "catchup": dag.catchup,
        "params": {k: dag.params[k] for k in dag.params},
        "tasks": {
            task.task_id: {
                "cwd": task.cwd, "command": render(task, False), "full_refresh_command": render(task, True),
                "upstream": sorted(task.upstream_task_ids),
            }
            for task in dag.tasks
        },
    }
print(json.dumps({"import_errors": bag.import_errors, "dags": dags}))
"""


def load_project_module():
    spec = importlib.util.spec_from_file_location("meltano_project", DAGS / "meltano_project.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["meltano_project"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def meltano_project():
    return load_project_module()


def airflow_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An Airflow of its own in `home` (SQLite metadata), loading this repository's DAG folder only."""
    env = {**os.environ, **(extra or {})}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
    )
    return env


def expected_dags() -> dict[str, tuple[str | None, str]]:
    """From meltano.yml itself: DAG id -> (schedule, job) for each schedule and each job no schedule runs."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    out = {s["name"]: (s["interval"], s["job"]) for s in project["schedules"]}
    scheduled = {job for _, job in out.values()}
    out.update({j["name"]: (None, j["name"]) for j in project["jobs"] if j["name"] not in scheduled})
    return out


# ----- without Airflow ---------------------------------------------------------------------------------


def test_one_dag_per_schedule_and_per_unscheduled_job(meltano_project) -> None:
    specs = meltano_project.dag_specs(REPO)
    assert {s.dag_id: (s.schedule, s.job) for s in specs} == expected_dags()
    every_minute = [s for s in specs if s.schedule == "* * * * *"]
    assert {s.job for s in every_minute} == {
        f"{e}_incremental_sync" for e in ("allocation", "order_hdr", "order_dtl")
    }
    full = next(s for s in specs if s.dag_id == "allocation_full_sync")
    assert (full.partition_jobs, full.extractor, full.loader) == (
        4,
        "tap-oracle-wms--allocation",
        "target-oracle",
    )
    assert full.partition_command("/opt/m eltano", 2, "--full-refresh") == (
        "TAP_ORACLE_WMS__ALLOCATION_PARTITION_COUNT=4 TAP_ORACLE_WMS__ALLOCATION_PARTITION_INDEX=2 "
        "'/opt/m eltano' run --full-refresh --state-id-suffix partition-2 allocation_full_sync"
    )
    assert full.finish_command("/usr/bin/python3", Path("/srv/p"), "meltano") == (
        "/usr/bin/python3 /srv/p/orchestrate/finish_full_sync.py "
        '"${MELTANO_ENVIRONMENT:-local}:tap-oracle-wms--allocation-to-target-oracle" --partitions 4 '
        "--meltano meltano"
    )


def test_full_sync_as_one_task_when_one_partition_job_is_asked(meltano_project, monkeypatch) -> None:
    monkeypatch.setenv("MELTANO_FULL_SYNC_PARTITION_JOBS", "1")
    full = next(s for s in meltano_project.dag_specs(REPO) if s.dag_id == "allocation_full_sync")
    assert full.partition_jobs == 0
    assert full.bash_command("meltano", "--full-refresh") == "meltano run --full-refresh allocation_full_sync"
    monkeypatch.setenv("MELTANO_FULL_SYNC_PARTITION_JOBS", "four")
    with pytest.raises(ValueError, match=r"MELTANO_FULL_SYNC_PARTITION_JOBS must be a whole number 1\.\.64"):
        meltano_project.dag_specs(REPO)


def test_schedules_of_the_extractor_loader_form_run_by_name(meltano_project, tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text(
        "jobs: [{name: j, tasks: [a b]}]\n"
        "schedules:\n"
        "- {name: nightly, interval: '@daily', extractor: tap-x, loader: target-y}\n"
    )
    specs = meltano_project.dag_specs(tmp_path)
    assert [(s.dag_id, s.schedule, s.job) for s in specs] == [("nightly", "@daily", None), ("j", None, "j")]
    assert specs[0].bash_command("meltano", "--full-refresh") == "meltano schedule run nightly"


def test_a_schedule_with_env_runs_by_name_so_its_env_applies(meltano_project) -> None:
    """The hourly reconcile schedules set reconcile_hours through their `env`, which `meltano run <job>`
    would not apply: their DAGs run `meltano schedule run <name>`."""
    specs = {s.dag_id: s for s in meltano_project.dag_specs(REPO)}
    reconcile = specs["allocation_reconcile_hourly"]
    assert (reconcile.job, reconcile.by_name) == ("allocation_reconcile", True)
    assert reconcile.bash_command("meltano") == "meltano schedule run allocation_reconcile_hourly"
    every_minute = specs["allocation_incremental_every_minute"]
    assert every_minute.bash_command("meltano") == "meltano run allocation_incremental_sync"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schedules: [{name: s, job: j}]\njobs: [{name: j}]\n", "schedule 's' has no interval"),
        (
            "schedules: [{name: s, interval: '* * * * *', job: nope}]\n",
            "runs job 'nope', which is not defined",
        ),
        ("jobs: [{tasks: [a]}]\n", "a job without a name"),
        (
            "schedules: [{name: j, interval: '@daily', extractor: t}]\njobs: [{name: j}]\n",
            "share the name(s) ['j']",
        ),
    ],
)
def test_a_malformed_meltano_yml_is_an_error_naming_the_entry(
    meltano_project, tmp_path, text, message
) -> None:
    (tmp_path / "meltano.yml").write_text(text)
    with pytest.raises(ValueError) as raised:
        meltano_project.dag_specs(tmp_path)
    assert message in str(raised.value) and str(tmp_path / "meltano.yml") in str(raised.value)


def test_project_root_and_meltano_come_from_the_environment(meltano_project, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    monkeypatch.delenv("MELTANO_EXECUTABLE", raising=False)
    assert meltano_project.project_root() == REPO
    assert meltano_project.meltano_executable(tmp_path) == "meltano"
    local = tmp_path / ".tools" / "meltano" / "bin" / "meltano"
    local.parent.mkdir(parents=True)
    local.touch()
    assert meltano_project.meltano_executable(tmp_path) == str(local)
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("MELTANO_EXECUTABLE", "/usr/local/bin/meltano")
    assert meltano_project.project_root() == tmp_path
    assert meltano_project.meltano_executable(tmp_path) == "/usr/local/bin/meltano"


# ----- with Airflow ------------------------------------------------------------------------------------


@needs_airflow
def test_airflow_parses_every_dag_with_one_run_at_a_time_and_no_catchup(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", DESCRIBE_DAGS, str(DAGS)],
        env=airflow_env(tmp_path / "airflow"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    described = json.loads(result.stdout.strip().splitlines()[-1])
    assert described["import_errors"] == {}
    dags = described["dags"]
    expected = expected_dags()
    assert set(dags) == set(expected)
    meltano = str(REPO / ".tools" / "meltano" / "bin" / "meltano")
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    with_env = {s["name"] for s in project["schedules"] if s.get("env")}
    assert with_env, "the reconcile schedules set an env"
    full_syncs = {j for _, j in expected.values() if j.endswith("_full_sync")}
    assert len(full_syncs) == 3
    for dag_id, (schedule, job) in expected.items():
        dag = dags[dag_id]
        assert (dag["schedule"], dag["max_active_runs"], dag["catchup"]) == (schedule, 1, False), dag_id
        assert all(task["cwd"] == str(REPO) for task in dag["tasks"].values())
        assert dag["params"] == {"full_refresh": False}
        if dag_id in full_syncs:  # four partition jobs in parallel, then the finishing step
            partitions = [f"partition_{i}" for i in range(4)]
            assert set(dag["tasks"]) == {*partitions, "finish"}
            assert dag["tasks"]["finish"]["upstream"] == partitions
            extractor = f"TAP_ORACLE_WMS__{dag_id.removesuffix('_full_sync').upper()}"
            for index, task_id in enumerate(partitions):
                task = dag["tasks"][task_id]
                assert task["upstream"] == []
                env = [f"{extractor}_PARTITION_COUNT=4", f"{extractor}_PARTITION_INDEX={index}"]
                run = [meltano, "run", "--state-id-suffix", f"partition-{index}", job]
                assert task["command"].split() == [*env, *run]
                assert task["full_refresh_command"].split() == [*env, *run[:2], "--full-refresh", *run[2:]]
            finish = dag["tasks"]["finish"]["command"].split()
            assert finish[1:] == [
                str(REPO / "orchestrate" / "finish_full_sync.py"),
                f'"${{MELTANO_ENVIRONMENT:-local}}:tap-oracle-wms--{dag_id.removesuffix("_full_sync")}-to-target-oracle"',
                "--partitions",
                "4",
                "--meltano",
                meltano,
            ]
            continue
        (task,) = dag["tasks"].values()
        if dag_id in with_env:  # run by name, so the schedule's env applies; a full refresh is a job's DAG
            assert (
                task["command"].split()
                == task["full_refresh_command"].split()
                == [meltano, "schedule", "run", dag_id]
            )
        else:
            assert task["command"].split() == [meltano, "run", job]
            assert task["full_refresh_command"].split() == [meltano, "run", "--full-refresh", job]


@needs_airflow
@pytest.mark.e2e
def test_an_incremental_dag_runs_meltano_end_to_end(
    meltano_installed: None, sim: Simulator, tmp_path: Path
) -> None:
    pipeline = Pipeline(workdir=tmp_path / "pipeline", base_url=sim.base_url)
    pipeline.workdir.mkdir()
    env = airflow_env(tmp_path / "airflow", pipeline.env())
    airflow = str(AIRFLOW_BIN / "airflow")
    for argv in ([airflow, "db", "migrate"], [airflow, "dags", "test", "order_hdr_incremental_every_minute"]):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, (argv, (result.stdout + result.stderr)[-6000:])
    log = result.stdout + result.stderr
    assert "state=success" in log and "order_hdr_incremental_sync" in log
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(pipeline.duckdb_path)) == []
    state = pipeline.meltano("state", "get", "local:tap-oracle-wms--order_hdr-to-target-oracle").stdout
    assert '"bookmarks"' in state


@needs_airflow
@pytest.mark.e2e
def test_the_full_sync_dag_runs_partition_jobs_then_hands_the_bookmark_to_the_incremental_dag(
    meltano_installed: None, sim: Simulator, tmp_path: Path
) -> None:
    """`airflow dags test order_hdr_full_sync` with two partition jobs: each reads its own id slice, the
    finishing step writes the incremental job's state, and the incremental DAG then picks up a change."""
    pipeline = Pipeline(workdir=tmp_path / "pipeline", base_url=sim.base_url)
    pipeline.workdir.mkdir()
    env = airflow_env(tmp_path / "airflow", {**pipeline.env(), "MELTANO_FULL_SYNC_PARTITION_JOBS": "2"})
    airflow = str(AIRFLOW_BIN / "airflow")

    def airflow_run(*args: str) -> str:
        argv = [airflow, *args]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert result.returncode == 0, (argv, (result.stdout + result.stderr)[-6000:])
        return result.stdout + result.stderr

    airflow_run("db", "migrate")
    log = airflow_run("dags", "test", "order_hdr_full_sync")
    assert "state=success" in log
    for task in ("partition_0", "partition_1", "finish"):
        assert task in log, task
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(pipeline.duckdb_path)) == []
    # the two partition jobs read disjoint id slices: one bounded above, one below
    queries = [r["query"] for r in sim.requests() if "order_hdr" in r["path"]]
    assert any("id__lt" in q for q in queries) and any("id__gte" in q for q in queries)
    state_id = "local:tap-oracle-wms--order_hdr-to-target-oracle"
    state = json.loads(pipeline.meltano("state", "get", state_id).stdout)
    bookmark = state["singer_state"]["bookmarks"]["order_hdr"]
    assert bookmark["replication_key_value"]

    changed = [r["id"] for r in sim.records("order_hdr")[:3]]
    sim.update("order_hdr", changed, {"order_nbr": "CHANGED-BY-TEST"})
    log = airflow_run("dags", "test", "order_hdr_incremental_every_minute")
    assert "state=success" in log
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(pipeline.duckdb_path)) == []
