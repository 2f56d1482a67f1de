"""What the Airflow DAGs of this project are, read from `meltano.yml` (no Airflow import here).

One DAG per schedule (its `interval`, running the schedule's job) and one per job that no schedule runs
(triggered by hand, e.g. the full syncs). A full sync (a job named `<entity>_full_sync` of one
extractor-to-loader task) runs as `MELTANO_FULL_SYNC_PARTITION_JOBS` (default 4) partition jobs in
parallel, each `meltano run --state-id-suffix partition-<i>` with the extractor's `partition_count` and
`partition_index`, then the finishing step (orchestrate/finish_full_sync.py) that hands the bookmark to the
entity's incremental job; 1 runs the job as one task. Every DAG allows one active run and never catches up: an
every-minute incremental run that takes longer than a minute makes the next one wait instead of overlapping
it, and a scheduler that was down does not replay the minutes it missed (the next run reads everything
since the bookmark anyway).

Kept apart from `meltano_dags.py` so the list can be read and tested without Airflow installed; the
`.airflowignore` beside it keeps Airflow from parsing it as a DAG file.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_ROOT_VARIABLE = "MELTANO_PROJECT_ROOT"
PARTITION_JOBS_VARIABLE = "MELTANO_FULL_SYNC_PARTITION_JOBS"
# Four workers' worth: 4 concurrent requests to the tenant (each job may add threads of its own with
# full_sync_partitions), well under the ~10 a real tenant serves.
DEFAULT_PARTITION_JOBS = 4
FULL_SYNC_SUFFIX = "_full_sync"
FINISH_SCRIPT = Path("orchestrate") / "finish_full_sync.py"
EXECUTABLE_VARIABLE = "MELTANO_EXECUTABLE"
# The repository's own Meltano (`make meltano`), used when MELTANO_EXECUTABLE is not set and it exists.
REPO_MELTANO = Path(".tools") / "meltano" / "bin" / "meltano"


@dataclass(frozen=True)
class DagSpec:
    """One DAG: its id, its schedule (a cron expression or preset; None: triggered by hand), and the job
    its one task runs (None: a schedule of the extractor/loader form, run by name)."""

    dag_id: str
    schedule: str | None
    job: str | None
    description: str
    #: the schedule sets an `env` (e.g. the reconcile schedules' reconcile_hours): only `meltano schedule run
    #: <name>` applies it, `meltano run <job>` would run the job without it
    by_name: bool = False
    #: a full sync run as this many partition jobs and the finishing step (0: one task)
    partition_jobs: int = 0
    #: the job's extractor and loader (they make the Meltano state id), and the project's default environment
    extractor: str = ""
    loader: str = ""
    default_environment: str = ""

    def partition_command(self, meltano: str, index: int, run_options: str = "") -> str:
        """Partition job `index`: `meltano run [run_options] --state-id-suffix partition-<index> <job>` with
        the extractor's `partition_count` and `partition_index` in its environment (Meltano's variables
        for the extractor's settings)."""
        prefix = self.extractor.upper().replace("-", "_")
        parts = [
            f"{prefix}_PARTITION_COUNT={self.partition_jobs}",
            f"{prefix}_PARTITION_INDEX={index}",
            shlex.quote(meltano),
            "run",
            run_options,
            "--state-id-suffix",
            f"partition-{index}",
            shlex.quote(str(self.job)),
        ]
        return " ".join(p for p in parts if p)

    def finish_command(self, python: str, root: Path, meltano: str) -> str:
        """The finishing step: the incremental job's state (`$MELTANO_ENVIRONMENT:<extractor>-to-<loader>`)
        from the partition jobs' states."""
        state_id = f'"${{MELTANO_ENVIRONMENT:-{self.default_environment}}}:{self.extractor}-to-{self.loader}"'
        return " ".join(
            [
                shlex.quote(python),
                shlex.quote(str(root / FINISH_SCRIPT)),
                state_id,
                "--partitions",
                str(self.partition_jobs),
                "--meltano",
                shlex.quote(meltano),
            ]
        )

    def bash_command(self, meltano: str, run_options: str = "") -> str:
        """`meltano run [run_options] <job>` (or `meltano schedule run <name>`); `run_options` is already
        shell-safe (e.g. a Jinja expression that renders `--full-refresh` or nothing)."""
        if self.job is None or self.by_name:
            return f"{shlex.quote(meltano)} schedule run {shlex.quote(self.dag_id)}"
        parts = [shlex.quote(meltano), "run", run_options, shlex.quote(self.job)]
        return " ".join(p for p in parts if p)


def project_root() -> Path:
    """`MELTANO_PROJECT_ROOT`, or the repository this file lies in (orchestrate/dags/ -> ../..)."""
    configured = os.environ.get(PROJECT_ROOT_VARIABLE)
    return Path(configured) if configured else Path(__file__).resolve().parents[2]


def meltano_executable(root: Path) -> str:
    """`MELTANO_EXECUTABLE`, else the repository's `.tools/meltano/bin/meltano` when it exists, else
    `meltano` from the PATH."""
    configured = os.environ.get(EXECUTABLE_VARIABLE)
    if configured:
        return configured
    local = root / REPO_MELTANO
    return str(local) if local.exists() else "meltano"


def dag_specs(root: Path) -> list[DagSpec]:
    """The DAGs of the project at `root`, schedules first, in the order meltano.yml lists them.

    A schedule runs `meltano run <job>`; a schedule with an `env`, or of the older extractor/loader form,
    runs `meltano schedule run <name>` (which applies the schedule's env). A malformed entry is a
    ValueError naming it (Airflow then shows the DAG file's import error).
    """
    path = root / "meltano.yml"
    project = yaml.safe_load(path.read_text()) or {}
    job_entries = project.get("jobs") or []
    jobs = [_named(job, "job", path) for job in job_entries]
    specs: list[DagSpec] = []
    scheduled: set[str] = set()
    for schedule in project.get("schedules") or []:
        name = _named(schedule, "schedule", path)
        interval = schedule.get("interval")
        if not interval or not isinstance(interval, str):
            raise ValueError(f"{path}: schedule {name!r} has no interval")
        job = schedule.get("job")
        if job is not None:
            if job not in jobs:
                raise ValueError(f"{path}: schedule {name!r} runs job {job!r}, which is not defined")
            scheduled.add(job)
        by_name = job is None or bool(schedule.get("env"))
        description = f"meltano schedule run {name}" if by_name else f"meltano run {job}"
        specs.append(DagSpec(name, interval, job, f"{description}, {interval}", by_name))
    environment = str(project.get("default_environment") or "dev")
    count = partition_jobs()
    for entry in job_entries:
        job = entry["name"]
        if job in scheduled:
            continue
        pair = extractor_and_loader(entry)
        if job.endswith(FULL_SYNC_SUFFIX) and pair and count > 1:
            description = f"meltano run {job} as {count} partition jobs, then the finishing step; by hand"
            specs.append(DagSpec(job, None, job, description, False, count, *pair, environment))
        else:
            specs.append(DagSpec(job, None, job, f"meltano run {job}, triggered by hand"))
    ids = [spec.dag_id for spec in specs]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise ValueError(f"{path}: a schedule and an unscheduled job share the name(s) {clashes}")
    return specs


def partition_jobs() -> int:
    """`MELTANO_FULL_SYNC_PARTITION_JOBS`, default DEFAULT_PARTITION_JOBS; a ValueError names a bad value."""
    value = os.environ.get(PARTITION_JOBS_VARIABLE, str(DEFAULT_PARTITION_JOBS))
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise ValueError(f"{PARTITION_JOBS_VARIABLE} must be a whole number 1..64, got {value!r}")
    return int(value)


def extractor_and_loader(job: dict) -> tuple[str, str] | None:
    """(extractor, loader) of a job of one `extractor [mappers] loader` task; None for any other job."""
    tasks = job.get("tasks")
    if isinstance(tasks, str):
        tasks = [tasks]
    if not isinstance(tasks, list) or len(tasks) != 1 or not isinstance(tasks[0], str):
        return None
    words = tasks[0].split()
    return (words[0], words[-1]) if len(words) >= 2 else None


def _named(entry: object, kind: str, path: Path) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ValueError(f"{path}: a {kind} without a name: {entry!r}")
    return entry["name"]
