"""A field the WMS API starts to serve: the loader adds its column, and dbt says so (a warning naming the
column and table) instead of leaving it unseen behind staging models that select their columns by name."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.pipeline import ENTITIES, Pipeline
from tests.warehouse import SCHEMA, table_name

pytestmark = pytest.mark.e2e


def _source_tests(pipeline: Pipeline) -> str:
    result = pipeline.meltano("invoke", "dbt-duckdb", "build", "--select", "source:wms")
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


def test_a_column_the_sources_do_not_declare_is_named_in_a_warning(pipeline: Pipeline) -> None:
    pipeline.run(*(f"{entity}_full_sync" for entity in ENTITIES), full_refresh=True)
    output = _source_tests(pipeline)
    for entity in ENTITIES:
        passed = rf"PASS source_columns_are_declared_wms_{table_name(entity)}_"
        assert re.search(passed, output), output[-3000:]

    # what target-oracle does when the tap's schema gains a field: a new column on the table
    with duckdb.connect(str(pipeline.duckdb_path)) as con:
        con.execute(f"alter table {SCHEMA}.{table_name('allocation')} add column NEW_FIELD varchar")
    output = _source_tests(pipeline)
    assert "WMS_ALLOCATION has columns its source does not declare" in output and "NEW_FIELD" in output
    assert re.search(r"WARN 1 source_columns_are_declared_wms_WMS_ALLOCATION_", output), output[-3000:]
    assert "ERROR=0" in output
