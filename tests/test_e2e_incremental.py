"""The per-entity jobs: full syncs, then changes in the WMS, then the incremental jobs."""

from __future__ import annotations

import pytest

from tests.pipeline import ENTITIES, Pipeline, Simulator
from tests.warehouse import differences, expected, load_tables, table_name

pytestmark = pytest.mark.e2e

FULL_JOBS = [f"{entity}_full_sync" for entity in ENTITIES]
INCREMENTAL_JOBS = [f"{entity}_incremental_sync" for entity in ENTITIES]


def _snapshot(pipeline: Pipeline) -> dict[str, dict[int, dict]]:
    tables = load_tables(pipeline.duckdb_path)
    return {entity: tables[table_name(entity)].by_id() for entity in ENTITIES}


def _latest_mod_ts(records: list[dict]) -> str:
    return max(record["mod_ts"] for record in records)


def test_incremental_jobs_rewrite_only_changed_rows_and_add_new_ones(
    pipeline: Pipeline, sim: Simulator
) -> None:
    # No lookback: the incremental window starts at the bookmark, so "what moved" is exactly predictable.
    pipeline.extra_env["TAP_ORACLE_WMS_LOOKBACK_SECONDS"] = "0"
    pipeline.run(*FULL_JOBS, full_refresh=True)
    before_records = {entity: sim.records(entity) for entity in ENTITIES}
    before = _snapshot(pipeline)
    for entity in ENTITIES:
        assert differences(entity, before_records[entity], load_tables(pipeline.duckdb_path)) == []

    valid_allocations = sorted(expected("allocation", before_records["allocation"]).rows)
    sim.update("allocation", valid_allocations[:5], {"pick_locn_str": "Z-99-99-99"})
    sim.update("order_dtl", [before_records["order_dtl"][0]["id"]], {"ord_qty": "7"})
    new_allocations = sim.insert("allocation", 4)
    new_lines = sim.insert("order_dtl", 2)
    after_records = {entity: sim.records(entity) for entity in ENTITIES}

    pipeline.run(*INCREMENTAL_JOBS)

    tables = load_tables(pipeline.duckdb_path)
    after = _snapshot(pipeline)
    for entity in ENTITIES:
        assert differences(entity, after_records[entity], tables) == [], entity
    assert set(new_allocations) <= set(after["allocation"]) | set(
        expected("allocation", after_records["allocation"]).rejected
    )
    assert set(new_lines) <= set(after["order_dtl"])
    assert after["order_dtl"][before_records["order_dtl"][0]["id"]]["ORD_QTY"] == 7

    for entity in ENTITIES:
        old_mod_ts = {r["id"]: r["mod_ts"] for r in before_records[entity]}
        changed = {r["id"] for r in after_records[entity] if old_mod_ts.get(r["id"]) != r["mod_ts"]}
        # the bookmark row(s) themselves are read again (mod_ts__gte); nothing older may move
        bookmark = _latest_mod_ts(before_records[entity])
        unchanged = {r["id"] for r in before_records[entity] if r["mod_ts"] < bookmark} - changed
        assert changed, f"{entity}: the test changed nothing"
        for ident in unchanged & set(before[entity]):
            assert after[entity][ident] == before[entity][ident], f"{entity} id {ident} was rewritten"
        rewritten = {
            ident
            for ident, row in after[entity].items()
            if ident not in before[entity]
            or row["_SDC_BATCHED_AT"] != before[entity][ident]["_SDC_BATCHED_AT"]
        }
        assert not rewritten & unchanged, f"{entity}: unchanged rows rewritten"
        assert changed & set(after[entity]) <= rewritten, f"{entity}: changed rows not rewritten"


def test_each_entity_job_keeps_its_own_state(pipeline: Pipeline) -> None:
    pipeline.run(*FULL_JOBS, full_refresh=True)
    listed = pipeline.meltano("state", "list").stdout.split()
    state_ids = {line for line in listed if line.startswith("local:")}
    assert {f"local:tap-oracle-wms--{entity}-to-target-oracle" for entity in ENTITIES} <= state_ids, listed
    for entity in ENTITIES:
        state = pipeline.meltano("state", "get", f"local:tap-oracle-wms--{entity}-to-target-oracle").stdout
        assert entity in state
        others = [other for other in ENTITIES if other != entity]
        assert not any(f'"{other}"' in state for other in others), state
