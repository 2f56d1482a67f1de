"""The per-entity jobs through Meltano against a simulator playing what real tenants do: time filters
in whole seconds only, `ordering` refused by allocation; then changes, backdated rows and the
incremental jobs."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline import (
    ENTITIES,
    SIM_ANOMALY_RATE,
    SIM_PASSWORD,
    SIM_SEED,
    SIM_SIZES,
    SIMULATOR,
    Pipeline,
    Simulator,
)
from tests.warehouse import differences, load_tables

pytestmark = pytest.mark.e2e


@pytest.fixture
def tenant_sim(tmp_path: Path) -> Iterator[Simulator]:
    """A simulator process with the real-tenant switches on."""
    command = [
        str(SIMULATOR),
        "--seed",
        str(SIM_SEED),
        "--anomaly-rate",
        str(SIM_ANOMALY_RATE),
        "--password",
        SIM_PASSWORD,
        "--whole-second-filters",
        "--ordering-refused",
        "allocation",
        *(arg for entity, n in SIM_SIZES.items() for arg in (f"--{entity.replace('_', '-')}", str(n))),
    ]
    with (tmp_path / "simulator.log").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("http"), line
            yield Simulator(base_url=line.rstrip("/"), process=process)
        finally:
            process.terminate()
            process.wait(timeout=10)


def insert_backdated(sim: Simulator, entity: str, n: int, mod_ts_ago: float) -> None:
    """Rows created now whose mod_ts is `mod_ts_ago` seconds older (the simulator's admin endpoint)."""
    body = json.dumps({"entity": entity, "n": n, "mod_ts_ago": mod_ts_ago}).encode()
    request = urllib.request.Request(
        f"{sim.base_url}/__sim__/insert",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def test_e2e_tap_jobs_exact_against_whole_second_filters_refused_ordering_and_backdated_rows(
    meltano_installed: None, tenant_sim: Simulator, tmp_path: Path
) -> None:
    pipeline = Pipeline(workdir=tmp_path / "pipeline", base_url=tenant_sim.base_url)
    pipeline.run(*(f"{entity}_full_sync" for entity in ENTITIES), full_refresh=True)
    tables = load_tables(pipeline.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, tenant_sim.records(entity), tables) == [], entity

    tenant_sim.update("allocation", [3, 4], {"pick_user": "LATER"})
    insert_backdated(tenant_sim, "allocation", 3, mod_ts_ago=30 * 24 * 3600)
    tenant_sim.insert("order_dtl", 2)
    pipeline.run(*(f"{entity}_incremental_sync" for entity in ENTITIES))
    tables = load_tables(pipeline.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, tenant_sim.records(entity), tables) == [], entity
    served = [r for r in tenant_sim.requests() if r["path"].endswith("/entity/allocation/")]
    assert [r["status"] for r in served].count(400) == 2  # one refused ordering per run, nothing else refused
    assert not any("." in value for r in served for key, value in r["query"].items() if key.endswith("__gte"))
