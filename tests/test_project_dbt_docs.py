"""dbt's documentation covers what the models build: every model, seed and column has a description.

`dbt docs generate` writes what the project documents (manifest.json) and what the database holds
(catalog.json, the columns each model and seed really has after a run); the two are compared here, so a
column added to a model without a description fails, and so does a description of a column that is gone.
"""

from __future__ import annotations

import json

import pytest

from tests.pipeline import Pipeline

pytestmark = pytest.mark.e2e


def undocumented(manifest: dict, catalog: dict) -> list[str]:
    """Models and seeds without a description, built columns without one, and described columns not built."""
    found = [
        f"{key}: no description"
        for key, node in manifest.items()
        if node["resource_type"] in ("model", "seed") and not node["description"].strip()
    ]
    for key, built in catalog.items():
        columns = manifest[key]["columns"]
        described = {name.lower(): column["description"].strip() for name, column in columns.items()}
        have = {name.lower() for name in built["columns"]}
        found += [f"{key}.{name}: no description" for name in sorted(have) if not described.get(name)]
        found += [f"{key}.{name}: described, not built" for name in sorted(described.keys() - have)]
    return found


def test_dbt_docs_describe_every_model_seed_and_column(pipeline: Pipeline) -> None:
    pipeline.run()
    pipeline.meltano("invoke", "dbt-duckdb", "build")
    pipeline.meltano("invoke", "dbt-duckdb", "docs", "generate")
    site = pipeline.workdir / "dbt-target"
    assert (site / "index.html").exists(), "dbt docs generate wrote no site"
    manifest = json.loads((site / "manifest.json").read_text())["nodes"]
    catalog = json.loads((site / "catalog.json").read_text())["nodes"]
    assert len(catalog) >= 8, f"the models were not built: {sorted(catalog)}"
    assert undocumented(manifest, catalog) == []


def test_an_undocumented_column_and_a_stale_description_are_named() -> None:
    columns = {"gone": {"description": "a column the model no longer has"}}
    manifest = {"model.wms.m": {"resource_type": "model", "description": "", "columns": columns}}
    catalog = {"model.wms.m": {"columns": {"ID": {}}}}
    assert undocumented(manifest, catalog) == [
        "model.wms.m: no description",
        "model.wms.m.id: no description",
        "model.wms.m.gone: described, not built",
    ]
