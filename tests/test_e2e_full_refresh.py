"""`meltano run --full-refresh <entity>_full_sync` after the table was loaded from another state of the WMS:
the table must end as the WMS is now, rows the WMS no longer serves included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline import SIM_ANOMALY_RATE, SIM_SEED, SIM_SIZES, Pipeline, simulator
from tests.warehouse import differences, load_tables, table_name

pytestmark = pytest.mark.e2e


def test_a_full_refresh_leaves_no_row_the_wms_no_longer_serves(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.run("allocation_full_sync", full_refresh=True)
    smaller = {**SIM_SIZES, "allocation": SIM_SIZES["allocation"] - 50}
    with simulator(
        seed=SIM_SEED, anomaly_rate=SIM_ANOMALY_RATE, log=tmp_path / "smaller.log", **smaller
    ) as now:
        pipeline.base_url = now.base_url
        pipeline.run("allocation_full_sync", full_refresh=True)
        records = now.records("allocation")
    tables = load_tables(pipeline.duckdb_path)
    table = tables[table_name("allocation")]
    # live rows only: soft-deleted ones, and old versions the quarantine marked superseded, are accounted for
    table.rows = [r for r in table.rows if r["_SDC_DELETED_AT"] is None and r["_SDC_SUPERSEDED_AT"] is None]
    assert differences("allocation", records, tables) == []
