"""Streams and tables: no two streams merged into one table, no user property overwritten by metadata, the
DuckDB file's directory made, and settings checked at start without echoing a secret."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_oracle.errors import StreamSetupError
from target_oracle.target import TargetOracle

PROPS = {"id": {"type": "integer"}, "v": {"type": ["string", "null"]}}
SECRET = "hunter2-not-shown"


@pytest.mark.parametrize(
    ("first", "second", "table"),
    [
        ("Orders", "orders", "OIC.ORDERS"),
        ("sales-orders", "orders", "OIC.ORDERS"),  # the SDK's schema-table naming under a default schema
        ("sales.orders", "sales orders", "OIC.SALES_ORDERS"),
    ],
)
def test_two_streams_resolving_to_one_table_fail_at_the_second_schema_naming_both(
    sg, backend, first, second, table
):
    with pytest.raises(StreamSetupError) as info:
        sg.run(
            backend.config(),
            sg.schema(first, PROPS),
            sg.record(first, {"id": 1, "v": "first"}),
            sg.schema(second, PROPS),
            sg.record(second, {"id": 1, "v": "second"}),
        )
    message = str(info.value)
    prefix = backend.prefix
    schema, name = table.split(".")
    assert f"Streams '{first}' and '{second}' both load into table {schema}.{prefix}{name}" in message


def test_a_new_schema_for_the_same_stream_is_not_a_collision(sg, backend):
    sg.run(
        backend.config(),
        sg.schema("items", PROPS),
        sg.record("items", {"id": 1, "v": "a"}),
        sg.schema("items", {**PROPS, "w": {"type": ["integer", "null"]}}),
        sg.record("items", {"id": 2, "v": "b", "w": 3}),
    )
    assert backend.rows("items", '"ID", "V", "W"') == [(1, "a", None), (2, "b", 3)]


@pytest.mark.parametrize("metadata", [True, False])
@pytest.mark.parametrize("name", ["_sdc_extracted_at", "_SDC_SEQUENCE", "_sdc_table_version"])
def test_a_user_property_named_like_a_metadata_column_is_refused_not_overwritten(sg, backend, name, metadata):
    with pytest.raises(StreamSetupError, match=rf"Stream 'items': property '{name}' .*overwritten or lost"):
        sg.run(
            backend.config(add_record_metadata=metadata),
            sg.schema("items", {**PROPS, name: {"type": ["string", "null"]}}),
            sg.record("items", {"id": 1, name: "mine"}),
        )


def test_other_sdc_properties_and_a_taps_deletion_mark_are_kept(sg, backend):
    props = {
        **PROPS,
        "_sdc_source": {"type": ["string", "null"]},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    }
    sg.run(
        backend.config(),
        sg.schema("items", props),
        sg.record("items", {"id": 1, "_sdc_source": "erp", "_sdc_deleted_at": "2024-01-01T00:00:00Z"}),
    )
    rows = backend.rows("items", '"ID", "_SDC_SOURCE", CAST("_SDC_DELETED_AT" AS VARCHAR)')
    assert rows == [(1, "erp", "2024-01-01 00:00:00")]


def test_the_duckdb_files_directory_is_created(sg, tmp_path):
    path = tmp_path / "output" / "nested" / "wms.duckdb"
    sg.run({"sqlalchemy_url": f"duckdb:///{path}"}, sg.schema("items", PROPS), sg.record("items", {"id": 1}))
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute('SELECT "ID" FROM "ITEMS"').fetchall() == [(1,)]


@pytest.mark.parametrize("setting", ["sqlalchemy_url", "password", "wallet_password"])
@pytest.mark.parametrize("value", [[SECRET], {"url": SECRET}, 42])
def test_a_secret_of_the_wrong_type_is_named_but_never_shown(setting, value):
    config = {"host": "h", "service_name": "s", "username": "u", "password": "p", setting: value}
    with pytest.raises(ConfigValidationError) as info:
        TargetOracle(config=config)
    text = str(info.value) + " ".join(info.value.errors)
    assert f"Setting '{setting}' must be a string" in text
    assert SECRET not in text and "42" not in text


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"duckdb_memory_limit": "lots"}, "duckdb_memory_limit"),
        ({"duckdb_memory_limit": "12 parsecs"}, "duckdb_memory_limit"),
        ({"batch_size_rows": 0}, "batch_size_rows"),
        ({"duckdb_threads": -2}, "duckdb_threads"),
    ],
)
def test_every_setting_is_checked_at_start(tmp_path, overrides, named):
    with pytest.raises(ConfigValidationError) as info:
        TargetOracle(config={"sqlalchemy_url": f"duckdb:///{tmp_path / 'x.duckdb'}", **overrides})
    assert any(f"'{named}'" in error for error in info.value.errors)


@pytest.mark.parametrize("limit", ["auto", "512MB", "1.5GiB", "2gb"])
def test_memory_limits_duckdb_accepts_pass(tmp_path, limit):
    url = f"duckdb:///{tmp_path / 'x.duckdb'}"
    TargetOracle(config={"sqlalchemy_url": url, "duckdb_memory_limit": limit})


def test_the_cli_prints_a_data_error_without_a_traceback(tmp_path, sg):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": "duckdb:///out.duckdb"}))
    lines = sg.lines(sg.schema("Orders", PROPS), sg.record("Orders", {"id": 1}), sg.schema("orders", PROPS))
    result = subprocess.run(
        [sys.executable, "-m", "target_oracle.target", "--config", str(cfg)],
        input=lines,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Streams 'Orders' and 'orders' both load into table ORDERS" in result.stderr
    assert "Traceback" not in result.stderr
