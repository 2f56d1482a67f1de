"""`meltano run tap-oracle-wms mapper-wms-validate target-oracle`: simulator -> DuckDB, then dbt."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.pipeline import (
    ENTITIES,
    REPO,
    SIM_ANOMALY_RATE,
    SIM_SEED,
    SIM_SIZES,
    Pipeline,
    dbt_executable,
    simulator,
)
from tests.warehouse import differences, expected, load_tables, table_name

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, meltano_installed: None):
    """One full run for the module: (pipeline, the simulator's records per entity)."""
    work = tmp_path_factory.mktemp("full-run")
    with simulator(
        seed=SIM_SEED, anomaly_rate=SIM_ANOMALY_RATE, log=work / "simulator.log", **SIM_SIZES
    ) as sim:
        pipeline = Pipeline(workdir=work / "pipeline", base_url=sim.base_url)
        pipeline.run()
        records = {entity: sim.records(entity) for entity in ENTITIES}
    return pipeline, records


def test_every_table_equals_the_simulator_minus_quarantined_rows(loaded) -> None:
    pipeline, records = loaded
    tables = load_tables(pipeline.duckdb_path)
    for entity in ENTITIES:
        assert len(records[entity]) == SIM_SIZES[entity]
        assert differences(entity, records[entity], tables) == [], entity
    assert table_name("allocation") in tables and len(tables[table_name("allocation")].rows) > 0


def test_quarantined_rows_carry_the_record_and_its_reasons(loaded) -> None:
    pipeline, records = loaded
    want = expected("allocation", records["allocation"])
    assert want.rejected, "the simulator served no anomaly: the quarantine is not exercised"
    tables = load_tables(pipeline.duckdb_path)
    quarantine = tables[table_name("allocation_rejected")]
    assert {row["ID"] for row in quarantine.rows} == set(want.rejected)
    loaded_ids = {row["ID"] for row in tables[table_name("allocation")].rows}
    assert not loaded_ids & set(want.rejected), "a quarantined record was also loaded"
    for row in quarantine.rows:
        violations = row["VIOLATIONS"]
        violations = json.loads(violations) if isinstance(violations, str) else violations
        assert {v["rule"] for v in violations} == want.rejected[row["ID"]]
        assert all(v["message"] for v in violations)
        record = json.loads(row["RECORD"]) if isinstance(row["RECORD"], str) else row["RECORD"]
        assert record["id"] == row["ID"]
        assert row["REJECTED_AT"] is not None
        assert row["RECORD_HASH"]


def test_dbt_build_passes_on_what_the_pipeline_loaded(loaded) -> None:
    pipeline, records = loaded
    result = pipeline.meltano("invoke", "dbt-duckdb", "build")
    output = result.stdout + result.stderr
    assert "ERROR=0" in output, output[-3000:]
    want = expected("allocation", records["allocation"])
    with duckdb.connect(str(pipeline.duckdb_path), read_only=True) as con:
        orders = con.execute("select count(*) from analytics.fct_order_fulfilment").fetchone()[0]
        by_rule = dict(
            con.execute(
                "select rule_name, rejected_records from analytics.quarantine_by_rule "
                "where entity = 'allocation'"
            ).fetchall()
        )
        allocations = con.execute(
            "select sum(allocations) from analytics.fct_allocation_performance_daily"
        ).fetchone()[0]
    assert orders == SIM_SIZES["order_hdr"]
    assert allocations == len(want.rows)
    for rule in {rule for rules in want.rejected.values() for rule in rules}:
        assert by_rule[rule] == sum(rule in rules for rules in want.rejected.values()), rule


def test_dbt_runs_directly_without_meltano(loaded, tmp_path: Path) -> None:
    """The same project runs with the dbt CLI alone (here the one `meltano install` put in .meltano/)."""
    pipeline, _ = loaded
    result = pipeline.command(
        [str(dbt_executable()), "test", "--project-dir", "transform", "--profiles-dir", "transform"],
        env={"WMS_DUCKDB_PATH": str(pipeline.duckdb_path), "DBT_TARGET_PATH": str(tmp_path / "target")},
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert REPO.joinpath("transform", "profiles.yml").exists()


def test_dbt_source_freshness_passes_after_a_run(loaded) -> None:
    pipeline, _ = loaded
    result = pipeline.meltano("invoke", "dbt-duckdb:freshness")
    output = result.stdout + result.stderr
    for table in ("WMS_ALLOCATION", "WMS_ORDER_HDR", "WMS_ORDER_DTL"):
        assert f"PASS freshness of wms.{table}" in output, output[-3000:]


def test_dbt_models_compile_for_oracle(meltano_installed: None, tmp_path: Path) -> None:
    """The Oracle target renders Oracle SQL (no database here: the models that need none to compile)."""
    target_path = tmp_path / "target"
    pipeline = Pipeline(workdir=tmp_path)
    models = ["stg_wms__allocation", "stg_wms__order_hdr", "stg_wms__order_dtl"]
    marts = ["fct_allocation_performance_daily", "fct_order_fulfilment"]
    result = pipeline.command(
        [
            *(str(dbt_executable()), "compile", "--project-dir", "transform", "--profiles-dir", "transform"),
            *("--target", "oracle", "--no-populate-cache", "--select", *models, *marts),
        ],
        env={
            "DBT_TARGET_PATH": str(target_path),
            "TARGET_ORACLE_HOST": "127.0.0.1",
            "TARGET_ORACLE_PORT": "9",
        },
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    rendered = {p.stem: p.read_text() for p in (target_path / "compiled" / "wms").rglob("*.sql")}
    compiled = {name: sql for name, sql in rendered.items() if name in models + marts}
    assert set(compiled) == set(models + marts)
    assert len(rendered) > len(compiled), "the models' tests were not compiled"
    for name, sql in rendered.items():
        assert "::" not in sql, name
    assert "trunc(allocation.create_ts)" in compiled["fct_allocation_performance_daily"]
    assert '"_SDC_DELETED_AT" is null' in compiled["stg_wms__allocation"]
    assert "from OIC.WMS_ALLOCATION" in compiled["stg_wms__allocation"]
