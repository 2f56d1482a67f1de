"""dbt on tables the quarantine has touched: a quarantined order line (superseded in its table, or rejected
before it ever loaded) is reported by the warn-severity tests, and `dbt build` still builds the marts; the
totals test still fails on a header whose total really differs from its lines."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.pipeline import ENTITIES, Pipeline, Simulator
from tests.warehouse import SCHEMA, differences, expected, load_tables, table_name

pytestmark = pytest.mark.e2e


def _dbt_build(pipeline: Pipeline, *args: str) -> tuple[int, str]:
    result = pipeline.meltano("invoke", "dbt-duckdb", "build", *args, check=False)
    return result.returncode, result.stdout + result.stderr


def test_quarantined_order_lines_warn_and_the_marts_still_build(pipeline: Pipeline, sim: Simulator) -> None:
    pipeline.run(*(f"{entity}_full_sync" for entity in ENTITIES), full_refresh=True)
    [never_loaded] = sim.insert("order_dtl", 1)  # new, and broken before any run read it: only quarantined
    sim.update("order_dtl", [never_loaded], {"ord_qty": "-2"})
    lines = {r["id"]: r for r in sim.records("order_dtl")}
    orders = {"never loaded": lines[never_loaded]["order_id"]["id"]}
    # loaded, then changed to break a rule: its old version stays, marked superseded (another order)
    superseded_line = next(i for i, r in lines.items() if r["order_id"]["id"] != orders["never loaded"])
    orders["superseded"] = lines[superseded_line]["order_id"]["id"]
    sim.update("order_dtl", [superseded_line], {"ord_qty": "-3"})
    pipeline.run(*(f"{entity}_incremental_sync" for entity in ("order_dtl", "order_hdr")))

    tables = load_tables(pipeline.duckdb_path)
    assert set(expected("order_dtl", sim.records("order_dtl")).rejected) >= {superseded_line, never_loaded}
    assert {row["ID"] for row in tables[table_name("order_dtl_rejected")].rows} >= {
        superseded_line,
        never_loaded,
    }
    assert differences("order_hdr", sim.records("order_hdr"), tables) == []

    exit_code, output = _dbt_build(pipeline)
    assert exit_code == 0 and "ERROR=0" in output and "SKIP=0" in output, output[-3000:]
    assert re.search(r"WARN 1 accepted_values_stg_wms__order_dtl_is_superseded", output), output[-3000:]
    with duckdb.connect(str(pipeline.duckdb_path), read_only=True) as con:
        built = con.execute("select count(*) from analytics.fct_order_fulfilment").fetchone()[0]
    assert built == len(sim.records("order_hdr"))

    # A header whose total differs from its lines for no quarantine's reason still fails the test.
    untouched = next(r for r in sim.records("order_hdr") if r["id"] not in orders.values())
    with duckdb.connect(str(pipeline.duckdb_path)) as con:
        con.execute(
            f"update {SCHEMA}.{table_name('order_hdr')} set TOTAL_ORIG_ORD_QTY = TOTAL_ORIG_ORD_QTY + 1 "
            "where ID = ?",
            [untouched["id"]],
        )
    exit_code, output = _dbt_build(pipeline, "--select", "assert_order_hdr_total_equals_lines")
    assert exit_code != 0 and re.search(r"FAIL 1 assert_order_hdr_total_equals_lines", output), output[-3000:]
