"""Airflow DAGs of the Meltano project, one per schedule or unscheduled job of meltano.yml.

Each DAG has one task, `meltano run <job>` in the project root (`MELTANO_PROJECT_ROOT`, default this
repository), with the worker's environment: `MELTANO_ENVIRONMENT`, `MELTANO_DATABASE_URI` (shared state)
and the plugins' `TAP_ORACLE_WMS_*` / `TARGET_ORACLE_*` variables reach Meltano unchanged. One active run
per DAG and no catch-up (see meltano_project.py). A DAG that runs a job takes the run parameter
`full_refresh` (default false): true adds `--full-refresh`, e.g. for the first full sync of an entity.
A full sync's DAG runs its partition jobs in parallel, then the finishing task (see meltano_project.py).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

# Airflow 3 does not put the DAG folder on sys.path in every context that parses this file (a DagBag built
# in a process of its own does not), so the sibling module is made importable here.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))
from meltano_project import DagSpec, dag_specs, meltano_executable, project_root

# A fixed date in the past: with catchup=False only the latest interval runs.
START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)
FULL_REFRESH_OPTION = "{{ '--full-refresh' if params.full_refresh else '' }}"


def build_dag(spec: DagSpec, root: Path, meltano: str) -> DAG:
    """The DAG of one spec: one BashOperator running Meltano from the project root."""
    params = {}
    if spec.job is not None:
        params["full_refresh"] = Param(
            False, type="boolean", description="Run with --full-refresh (ignore the saved bookmark)."
        )
    with DAG(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=spec.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        params=params,
        tags=["meltano"],
    ) as dag:
        if spec.partition_jobs:
            partitions = [
                BashOperator(
                    task_id=f"partition_{index}",
                    bash_command=spec.partition_command(meltano, index, FULL_REFRESH_OPTION),
                    cwd=str(root),
                )
                for index in range(spec.partition_jobs)
            ]
            finish = BashOperator(
                task_id="finish",
                bash_command=spec.finish_command(sys.executable, root, meltano),
                cwd=str(root),
            )
            partitions >> finish
        else:
            BashOperator(
                task_id="meltano",
                bash_command=spec.bash_command(meltano, "" if spec.by_name else FULL_REFRESH_OPTION),
                cwd=str(root),
            )
    return dag


_root = project_root()
_meltano = meltano_executable(_root)
for _spec in dag_specs(_root):
    globals()[_spec.dag_id] = build_dag(_spec, _root, _meltano)
