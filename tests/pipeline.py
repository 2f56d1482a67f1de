"""Drive the real pipeline: the simulator as a process, the Meltano CLI, the DuckDB file it loads.

Shared by the demo (`python -m tests.demo`) and the end-to-end tests, so both run exactly what a user runs:
`wms-simulator` on 127.0.0.1, `meltano run ... ` in this repository's Meltano project (environment `local`),
and dbt through `meltano invoke dbt-duckdb`. Each run gets its own DuckDB file and Meltano system database
(state), passed through the documented environment variables, so runs never see each other's data.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MELTANO = REPO / ".tools" / "meltano" / "bin" / "meltano"
SIMULATOR = Path(sys.executable).with_name("wms-simulator")
# The simulator's default API user, the one the `local` environment of meltano.yml is configured with.
SIM_USERNAME = "wms"
SIM_PASSWORD = "wms-secret"
# The full pipeline, as the issue and the README name it.
FULL_RUN = ("tap-oracle-wms", "mapper-wms-validate", "target-oracle")
ENTITIES = ("allocation", "order_hdr", "order_dtl")
# The tests' simulator: small data, so every `meltano run` takes seconds; a raised anomaly rate, so the
# quarantine always has rows.
SIM_SIZES = {"allocation": 300, "order_hdr": 40, "order_dtl": 120}
SIM_SEED = 7
SIM_ANOMALY_RATE = 0.03


def ensure_meltano() -> Path:
    """Meltano in .tools/meltano, made by the Makefile's rule when missing (one recipe for both)."""
    if not MELTANO.exists():
        subprocess.run(
            ["make", "-C", str(REPO), "--no-print-directory", ".tools/meltano/bin/meltano"], check=True
        )
    return MELTANO


def meltano_install(log: Path | None = None) -> None:
    """`meltano install`: each plugin (editable, from this repo) and dbt in its own venv under .meltano/."""
    ensure_meltano()
    result = subprocess.run(
        [str(MELTANO), "install"],
        cwd=REPO,
        env=_quiet_meltano_env(os.environ.copy()),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if log is not None:
        log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"meltano install failed (exit {result.returncode}):\n{result.stderr[-4000:]}")


def dbt_executable() -> Path:
    """The dbt CLI that `meltano install` put in the transformer's venv (dbt-core, dbt-duckdb, dbt-oracle)."""
    return REPO / ".meltano" / "transformers" / "dbt-duckdb" / "venv" / "bin" / "dbt"


def _quiet_meltano_env(env: dict[str, str]) -> dict[str, str]:
    env.update(
        MELTANO_CLI_DISABLE_VERSION_CHECK="true",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_DISABLE_TRACKING="true",
        NO_COLOR="1",
    )
    return env


# ----- the simulator -----------------------------------------------------------------------------------
@dataclass
class Simulator:
    """A running `wms-simulator` process and its admin endpoints (`/__sim__/...`)."""

    base_url: str
    process: subprocess.Popen

    def _call(self, method: str, path: str, body: dict | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/__sim__/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def _post(self, action: str, body: dict) -> dict:
        return json.loads(self._call("POST", action, body))

    def update(self, entity: str, ids: list[int], changes: dict) -> dict:
        """Change rows (the simulator gives them a new mod_ts)."""
        return self._post("update", {"entity": entity, "ids": ids, "changes": changes})

    def insert(self, entity: str, n: int) -> list[int]:
        """Add n new rows; their ids."""
        return self._post("insert", {"entity": entity, "n": n})["ids"]

    def fault(self, kind: int | str, **options: object) -> dict:
        """Add one fault rule: kind is an HTTP status, "reset", "truncate", "incomplete" or "slow"."""
        return self._post("faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self._post("faults", {"clear": True})

    def records(self, entity: str) -> list[dict]:
        """Every current record of an entity, as the API serves them."""
        return [json.loads(line) for line in self._call("GET", f"records/{entity}").splitlines() if line]

    def requests(self) -> list[dict]:
        """The API requests served so far: method, path, query, status."""
        return [json.loads(line) for line in self._call("GET", "requests").splitlines() if line]


@contextmanager
def simulator(
    *,
    seed: int,
    allocation: int,
    order_hdr: int,
    order_dtl: int,
    log: Path,
    port: int = 0,
    anomaly_rate: float | None = None,
    page_cache_mb: int = 0,
    latency: float = 0.0,
) -> Iterator[Simulator]:
    """Start `wms-simulator` as a process, yield it once it printed its base URL, stop it afterwards.

    `page_cache_mb` > 0 keeps that many MB of encoded pages and serves repeated requests from them
    (`--page-cache-mb`, see wms-simulator/README.md); 0, the default, starts it without a cache.
    `latency` > 0 answers every request after that many seconds (`--latency`), as a tenant's servers do.
    """
    command = [
        str(SIMULATOR),
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--allocation",
        str(allocation),
        "--order-hdr",
        str(order_hdr),
        "--order-dtl",
        str(order_dtl),
        "--username",
        SIM_USERNAME,
        "--password",
        SIM_PASSWORD,
        *([] if anomaly_rate is None else ["--anomaly-rate", str(anomaly_rate)]),
        *(["--page-cache-mb", str(page_cache_mb)] if page_cache_mb else []),
        *(["--latency", str(latency)] if latency else []),
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if not line.startswith("http"):
                raise RuntimeError(f"wms-simulator did not print its base URL (got {line!r}); see {log}")
            yield Simulator(base_url=line.rstrip("/"), process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ----- the Meltano project -----------------------------------------------------------------------------
def fresh_project(root: Path) -> Path:
    """A project tree at `root` as a fresh clone has it after `make meltano`: meltano.yml, the plugins'
    and dbt's folders, the installed plugins (.meltano's plugin venvs, linked from this repository), and
    nothing else: no output/, no system database, no dbt artefacts."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "meltano.yml").write_text((REPO / "meltano.yml").read_text())
    for folder in ("tap-oracle-wms", "mapper-wms-validate", "target-oracle"):
        (root / folder).symlink_to(REPO / folder, target_is_directory=True)
    shutil.copytree(REPO / "transform", root / "transform", ignore=shutil.ignore_patterns("target", "logs"))
    for kind in ("extractors", "mappers", "loaders", "transformers"):
        (root / ".meltano" / kind).parent.mkdir(exist_ok=True)
        (root / ".meltano" / kind).symlink_to(REPO / ".meltano" / kind, target_is_directory=True)
    return root


@dataclass
class Pipeline:
    """The repo's Meltano project pointed at one simulator and one DuckDB file, by environment variables.

    `project_root`: another project tree (see `fresh_project`), whose own defaults then choose the DuckDB
    file (output/wms.duckdb), the system database (.meltano/) and dbt's paths.
    """

    workdir: Path
    base_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    project_root: Path = REPO

    @property
    def duckdb_path(self) -> Path:
        if self.project_root != REPO:
            return self.project_root / "output" / "wms.duckdb"
        return self.workdir / "wms.duckdb"

    def env(self) -> dict[str, str]:
        env = _quiet_meltano_env(os.environ.copy())
        env["MELTANO_ENVIRONMENT"] = "local"
        if self.project_root == REPO:
            env.update(
                MELTANO_DATABASE_URI=f"sqlite:///{self.workdir / 'meltano.db'}",
                TARGET_ORACLE_SQLALCHEMY_URL=f"duckdb:///{self.duckdb_path}",
                DBT_DUCKDB_DUCKDB_PATH=str(self.duckdb_path),
                # dbt's artefacts and logs beside this run's data, not in transform/ (runs may overlap)
                DBT_TARGET_PATH=str(self.workdir / "dbt-target"),
                DBT_LOG_PATH=str(self.workdir / "dbt-logs"),
            )
        else:
            for name in ("MELTANO_DATABASE_URI", "MELTANO_PROJECT_ROOT", "TARGET_ORACLE_SQLALCHEMY_URL"):
                env.pop(name, None)
        if self.base_url:
            env["TAP_ORACLE_WMS_BASE_URL"] = self.base_url
        env.update(self.extra_env)
        return env

    def start(self, *args: str, log_name: str = "meltano") -> subprocess.Popen:
        """Start `meltano <args>` (for tests that interrupt it)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"{log_name}.log").open("a")
        log.write(f"\n$ meltano {' '.join(args)}\n")
        log.flush()
        return subprocess.Popen(
            [str(MELTANO), *args],
            cwd=self.project_root,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def meltano(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        """Run `meltano <args>` to the end; on failure, raise with the end of its log."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(MELTANO), *args],
            cwd=self.project_root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.workdir / "meltano.log").open("a") as log:
            log.write(f"\n$ meltano {' '.join(args)}\n{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise RuntimeError(
                f"meltano {' '.join(args)} failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr)[-6000:]}"
            )
        return result

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Any other command (e.g. dbt itself) from the repository root, with this pipeline's environment."""
        return subprocess.run(
            argv,
            cwd=self.project_root,
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def run(self, *blocks: str, full_refresh: bool = False, timeout: float = 600) -> None:
        args = ["run", *(["--full-refresh"] if full_refresh else []), *(blocks or FULL_RUN)]
        self.meltano(*args, timeout=timeout)


def log_events(log: Path) -> list[dict]:
    """The events of a `meltano --log-format=json ...` log, one JSON object a line (other lines skipped)."""
    if not log.exists():
        return []
    events = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def metrics(log: Path, name: str) -> list[dict]:
    """The SDK's METRIC points called `name` in a JSON-format Meltano log: {type, metric, value, tags}.
    (Meltano's console format shows a METRIC's name and value but not its tags.)"""
    return [
        event["metric_info"]
        for event in log_events(log)
        if isinstance(event.get("metric_info"), dict) and event["metric_info"].get("metric") == name
    ]


def committed_batches(log: Path) -> int:
    """Batches the target reports done: the SDK's batch_processing_time metric with status succeeded, in a
    JSON-format Meltano log (`pipeline.start("--log-format=json", "run", ...)`)."""
    return sum(m["tags"].get("status") == "succeeded" for m in metrics(log, "batch_processing_time"))


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), so a test can interrupt one plugin of a `meltano run`."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def find_plugin_process(meltano: subprocess.Popen, executable: str) -> int | None:
    """The pid of the plugin process (e.g. `tap-oracle-wms`) that a running `meltano run` started."""
    for pid in descendants(meltano.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(Path(arg.decode(errors="replace")).name == executable for arg in argv[:2]):
            return pid
    return None


def kill_plugin_when(
    meltano: subprocess.Popen, executable: str, ready, *, timeout: float = 120, poll: float = 0.05
) -> bool:
    """SIGKILL the plugin process once `ready()` is true while it runs; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and meltano.poll() is None:
        pid = find_plugin_process(meltano, executable)
        if pid is not None and ready():
            os.kill(pid, signal.SIGKILL)
            return True
        time.sleep(poll)
    return False
