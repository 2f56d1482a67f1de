"""The target as a user runs it: the installed CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

SECRET = "n0t-in-logs-42"


def _cli(args: list[str], stdin: str, cwd) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "target_oracle.target", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def test_cli_loads_a_stream_and_emits_state(tmp_path, sg):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {"sqlalchemy_url": "duckdb:///out.duckdb", "default_target_schema": "oic", "table_prefix": "WMS_"}
        )
    )
    lines = sg.lines(
        sg.schema(
            "allocation", {"id": {"type": "integer"}, "mod_ts": {"type": "string", "format": "date-time"}}
        ),
        *[sg.record("allocation", {"id": i, "mod_ts": "2024-01-01T00:00:00-03:00"}) for i in range(3)],
        {"type": "STATE", "value": {"bookmarks": {"allocation": {"replication_key_value": "x"}}}},
    )
    result = _cli(["--config", str(cfg)], lines, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "bookmarks": {"allocation": {"replication_key_value": "x"}}
    }
    with duckdb.connect(str(tmp_path / "out.duckdb")) as conn:
        rows = conn.execute('SELECT "ID", "MOD_TS" FROM "OIC"."WMS_ALLOCATION" ORDER BY 1').fetchall()
    assert [r[0] for r in rows] == [0, 1, 2]
    assert str(rows[0][1]) == "2024-01-01 03:00:00"


def test_cli_record_before_schema_exits_non_zero_naming_the_stream(tmp_path, sg):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": "duckdb:///out.duckdb"}))
    result = _cli(["--config", str(cfg)], sg.lines(sg.record("orphan_stream", {"id": 1})), tmp_path)
    assert result.returncode != 0
    assert "orphan_stream" in result.stderr


def test_cli_bad_settings_exit_non_zero_naming_the_setting_and_hiding_the_password(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"host": "127.0.0.1", "username": "u", "password": SECRET}))
    result = _cli(["--config", str(cfg)], "", tmp_path)
    assert result.returncode != 0
    assert "service_name" in result.stderr + result.stdout
    assert SECRET not in result.stderr + result.stdout


def test_cli_about_lists_the_settings(tmp_path):
    result = _cli(["--about", "--format", "json"], "", tmp_path)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]["properties"]
    assert {"host", "service_name", "wallet_location", "load_method", "table_prefix"} <= set(settings)


def test_state_follows_the_commit_of_the_records_before_it_and_a_failed_load_stops_the_states(tmp_path, sg):
    """A STATE goes out only after the batch before it is committed, and after a failed batch no later STATE
    goes out and nothing later is loaded."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": "duckdb:///out.duckdb", "batch_size_rows": 2}))
    props = {"id": {"type": "integer"}, "qty": {"type": ["number", "null"]}}
    lines = sg.lines(
        sg.schema("items", props),
        sg.record("items", {"id": 1, "qty": 1}),
        sg.record("items", {"id": 2, "qty": 2}),
        {"type": "STATE", "value": {"after": 2}},
        sg.record("items", {"id": 3, "qty": "abc"}),
        sg.record("items", {"id": 4, "qty": 4}),
        {"type": "STATE", "value": {"after": 4}},
        sg.record("items", {"id": 5, "qty": 5}),
        sg.record("items", {"id": 6, "qty": 6}),
        {"type": "STATE", "value": {"after": 6}},
    )
    result = _cli(["--config", str(cfg)], lines, tmp_path)
    assert result.returncode != 0
    assert "qty" in result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"after": 2}]
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as conn:
        assert conn.execute('SELECT "ID" FROM "ITEMS" ORDER BY 1').fetchall() == [(1,), (2,)]


def test_cli_a_batch_file_with_a_date_time_before_year_1_exits_non_zero_naming_stream_key_and_field(
    tmp_path, sg
):
    """Read by DuckDB as year 0 (its casts hold it); the contract refuses it, as in record mode."""
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": "duckdb:///out.duckdb"}))
    batch_file = tmp_path / "items.jsonl"
    batch_file.write_text(
        '{"id": 1, "at": "2024-03-01T12:00:00Z"}\n{"id": 2, "at": "0001-01-01T00:30:00+01:00"}\n'
    )
    lines = sg.lines(
        sg.schema(
            "items", {"id": {"type": "integer"}, "at": {"type": ["string", "null"], "format": "date-time"}}
        ),
        {
            "type": "BATCH",
            "stream": "items",
            "encoding": {"format": "jsonl", "compression": "none"},
            "manifest": [batch_file.as_uri()],
        },
    )
    result = _cli(["--config", str(cfg)], lines, tmp_path)
    assert result.returncode != 0
    assert "Stream 'items', key id=2, field 'at': '0001-01-01T00:30:00+01:00' refused" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ('{"type": "RECORD", "stream": "orphan_stream", "record": {"id": 1}}', "orphan_stream"),
        ('{"type": "ACTIVATE_VERSION", "stream": "orphan_stream", "version": 2}', "orphan_stream"),
        (
            '{"type": "BATCH", "stream": "orphan_stream", "manifest": [], '
            '"encoding": {"format": "jsonl", "compression": "none"}}',
            "orphan_stream",
        ),
        ('{"type": "RECORD", "stream": "cut_line"', "cut_line"),
        ('{"type": "FOO", "stream": "s"}', "FOO"),
        # a tap's schema the target cannot follow (a traceback before)
        (
            '{"type": "SCHEMA", "stream": "s", "key_properties": [], '
            '"schema": {"type": "object", "properties": {"x": {"type": "weird"}}}}',
            "Unknown type",
        ),
        # a string (read as a list of one-letter keys: "key property 'I' is not in the schema")
        (
            '{"type": "SCHEMA", "stream": "s", "key_properties": "id", '
            '"schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}',
            "Stream 's': key_properties must be a list of property names, not \"id\"",
        ),
    ],
)
def test_cli_a_bad_singer_message_exits_non_zero_naming_it_without_a_traceback(tmp_path, message, named):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": "duckdb:///out.duckdb"}))
    result = _cli(["--config", str(cfg)], message + "\n", tmp_path)
    assert result.returncode == 1
    assert named in result.stderr
    assert "Traceback" not in result.stderr
