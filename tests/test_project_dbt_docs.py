"""dbt's documentation covers what the models build: every model, seed and column has a description.

`dbt docs generate` writes what the project documents (manifest.json) and what the database holds
(catalog.json, the columns each model and seed really has after a run); the two are compared here, so a
column added to a model without a description fails.
"""

from __future__ import annotations

import json

import pytest

from tests.pipeline import SIM_ANOMALY_RATE, SIM_SEED, SIM_SIZES, Pipeline, simulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, meltano_installed: None) -> tuple[dict, dict]:
    """One pipeline run, `dbt build`, then `dbt docs generate`: (manifest nodes, catalog nodes)."""
    work = tmp_path_factory.mktemp("dbt-docs")
    with simulator(
        seed=SIM_SEED, anomaly_rate=SIM_ANOMALY_RATE, log=work / "simulator.log", **SIM_SIZES
    ) as sim:
        pipeline = Pipeline(workdir=work / "pipeline", base_url=sim.base_url)
        pipeline.run()
    pipeline.meltano("invoke", "dbt-duckdb", "build")
    pipeline.meltano("invoke", "dbt-duckdb", "docs", "generate")
    site = pipeline.workdir / "dbt-target"
    assert (site / "index.html").exists(), "dbt docs generate wrote no site"
    manifest = json.loads((site / "manifest.json").read_text())["nodes"]
    catalog = json.loads((site / "catalog.json").read_text())["nodes"]
    return manifest, catalog


def test_every_model_and_seed_is_described(docs: tuple[dict, dict]) -> None:
    manifest, _ = docs
    nodes = {key: node for key, node in manifest.items() if node["resource_type"] in ("model", "seed")}
    assert len(nodes) >= 8, sorted(nodes)
    undescribed = sorted(key for key, node in nodes.items() if not node["description"].strip())
    assert not undescribed, f"without a description: {undescribed}"


def test_every_column_the_database_holds_is_described(docs: tuple[dict, dict]) -> None:
    manifest, catalog = docs
    assert catalog, "the catalog is empty: the models were not built"
    missing = []
    for key, built in catalog.items():
        documented = {
            name.lower(): column["description"].strip() for name, column in manifest[key]["columns"].items()
        }
        missing += [f"{key}.{name}" for name in built["columns"] if not documented.get(name.lower())]
    assert not missing, f"columns without a description: {missing}"


def test_no_description_names_a_column_the_model_does_not_have(docs: tuple[dict, dict]) -> None:
    manifest, catalog = docs
    stale = []
    for key, built in catalog.items():
        have = {name.lower() for name in built["columns"]}
        stale += [f"{key}.{name}" for name in manifest[key]["columns"] if name.lower() not in have]
    assert not stale, f"documented columns the database does not have: {stale}"
