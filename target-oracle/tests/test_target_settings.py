"""Settings: validation naming the bad setting, URL building for thin mode, secrets never shown."""

from __future__ import annotations

import logging

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_oracle.connector import OracleConnector, oracle_connect_args, oracle_url
from target_oracle.target import TargetOracle, validate_settings

SECRET = "s3cr3t-Pa55"


def test_every_setting_is_documented_with_a_description():
    props = TargetOracle.config_jsonschema["properties"]
    for name in (
        "host",
        "port",
        "service_name",
        "sid",
        "dsn",
        "username",
        "password",
        "protocol",
        "wallet_location",
        "wallet_password",
        "ssl_server_dn_match",
        "sqlalchemy_url",
        "default_target_schema",
        "table_prefix",
        "load_method",
        "batch_size_rows",
        "add_record_metadata",
        "hard_delete",
        "validate_records",
    ):
        assert props[name].get("description"), name
    assert props["port"]["default"] == 1521
    assert props["add_record_metadata"]["default"] is True
    for secret in ("password", "wallet_password", "sqlalchemy_url"):
        assert props[secret].get("secret") is True, secret


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"username": "u", "password": SECRET, "service_name": "S"}, "host"),
        ({"host": "h", "username": "u", "password": SECRET}, "service_name"),
        ({"host": "h", "service_name": "S", "sid": "X", "username": "u", "password": SECRET}, "sid"),
        ({"host": "h", "service_name": "S", "password": SECRET}, "username"),
        ({"host": "h", "service_name": "S", "username": "u"}, "password"),
        ({"host": "h", "service_name": "S", "username": "u", "password": SECRET, "port": 70000}, "port"),
        ({"sqlalchemy_url": f"postgresql://u:{SECRET}@h/db"}, "sqlalchemy_url"),
        (
            {"sqlalchemy_url": "duckdb:///x.duckdb", "duckdb_lock_timeout_seconds": -1},
            "duckdb_lock_timeout_seconds",
        ),
        (
            {"dsn": "db_high", "username": "u", "password": SECRET, "wallet_password": SECRET},
            "wallet_location",
        ),
    ],
)
def test_bad_settings_fail_at_start_naming_the_setting_without_secrets(config, named):
    problems = validate_settings(config)
    assert any(f"'{named}'" in problem for problem in problems), problems
    assert not any(SECRET in problem for problem in problems)
    with pytest.raises(ConfigValidationError) as info:
        TargetOracle(config=config, validate_config=True)
    assert SECRET not in str(info.value) + " ".join(info.value.errors)


def test_load_method_outside_the_allowed_values_is_rejected():
    with pytest.raises(ConfigValidationError) as info:
        TargetOracle(config={"sqlalchemy_url": "duckdb:///x.duckdb", "load_method": "merge"})
    assert "load_method" in " ".join(info.value.errors) + str(info.value)


def test_url_for_service_name_sid_and_dsn():
    base = {"username": "wms", "password": SECRET}
    url = oracle_url({**base, "host": "db.example", "service_name": "ORCLPDB1"})
    assert url.drivername == "oracle+oracledb"
    assert (url.host, url.port, url.query["service_name"]) == ("db.example", 1521, "ORCLPDB1")
    assert SECRET not in str(url)  # SQLAlchemy masks the password when a URL is shown
    sid = oracle_url({**base, "host": "db", "port": 1522, "sid": "ORCL"})
    assert (sid.port, sid.database) == (1522, "ORCL")
    dsn = oracle_url({**base, "dsn": "db_high"})
    assert dsn.host is None
    args = oracle_connect_args(
        {"dsn": "db_high", "wallet_location": "/w", "wallet_password": "wp", "ssl_server_dn_match": True}
    )
    assert args == {
        "dsn": "db_high",
        "wallet_location": "/w",
        "config_dir": "/w",
        "wallet_password": "wp",
        "ssl_server_dn_match": True,
    }
    assert oracle_connect_args({"host": "h", "protocol": "tcps"}) == {"protocol": "tcps"}


def test_oracle_engine_uses_thin_mode_and_sqlalchemy_url_overrides(caplog):
    caplog.set_level(logging.DEBUG)
    conn = OracleConnector(
        {
            "host": "127.0.0.1",
            "port": 1,
            "service_name": "S",
            "username": "u",
            "password": SECRET,
            "protocol": "tcps",
        }
    )
    assert conn.strategy.name == "oracle"
    engine = conn.create_engine()
    assert engine.dialect.driver == "oracledb"
    assert SECRET not in repr(engine.url)
    override = OracleConnector({"sqlalchemy_url": "duckdb:///x.duckdb", "host": "ignored"})
    assert override.strategy.name == "duckdb"
    assert SECRET not in caplog.text


def test_duckdb_memory_limit_is_applied_to_the_connection(tmp_path):
    from target_oracle.connector import OracleConnector

    url = f"duckdb:///{tmp_path / 'm.duckdb'}"
    conn = OracleConnector(config={"sqlalchemy_url": url, "duckdb_memory_limit": "300MB"}).open_dbapi()
    try:
        limit = conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        zone = conn.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    finally:
        conn.close()
    assert limit.replace(" ", "").upper() in {"300.0MB", "286.1MIB", "300MB"}
    assert zone == "UTC"


def test_duckdb_memory_limit_auto_is_a_fixed_budget_plus_room_for_the_key_indexes(tmp_path):
    """By default the limit is 256MB on an empty database and grows by 32 bytes per row in its tables
    (the primary-key indexes must fit in memory), re-computed after each commit."""
    from target_oracle.connector import OracleConnector, auto_memory_limit

    url = f"duckdb:///{tmp_path / 'a.duckdb'}"
    connector = OracleConnector(config={"sqlalchemy_url": url})
    conn = connector.open_dbapi()
    try:
        fresh = conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        conn.execute("CREATE TABLE t AS SELECT range AS id FROM range(2000000)")
        grown = auto_memory_limit(conn)
    finally:
        conn.close()
    assert fresh.replace(" ", "").upper() in {"244.1MIB", "256.0MB", "256MB"}  # DuckDB: MB = 10**6 bytes
    assert grown == f"{256 + 2_000_000 * 32 // (1 << 20)}MB"


@pytest.mark.parametrize(("setting", "threads"), [(None, 1), (2, 2), (0, None)])
def test_duckdb_threads_default_to_one_and_zero_keeps_duckdbs_own(tmp_path, setting, threads):
    """One DuckDB thread by default (the tap and the mapper of a pipeline need the other cores); 0 leaves
    DuckDB's default, one thread per core."""
    import duckdb

    with duckdb.connect() as plain:
        duckdbs_own = plain.execute("SELECT current_setting('threads')").fetchone()[0]
    config = {"sqlalchemy_url": f"duckdb:///{tmp_path / 't.duckdb'}"}
    if setting is not None:
        config["duckdb_threads"] = setting
    conn = OracleConnector(config=config).open_dbapi()
    try:
        have = conn.execute("SELECT current_setting('threads')").fetchone()[0]
    finally:
        conn.close()
    assert have == (threads if threads is not None else duckdbs_own)
    assert TargetOracle.config_jsonschema["properties"]["duckdb_threads"]["default"] == 1


def test_oracles_batch_reader_is_an_in_memory_duckdb_in_utc_with_duckdb_threads_and_its_own_memory():
    """Loading into Oracle, batches are read by a private in-memory DuckDB: UTC session and `duckdb_threads`
    as for the embedded file, DuckDB's own memory limit (`duckdb_memory_limit` is the embedded file's)."""
    import duckdb

    with duckdb.connect() as plain:
        duckdbs_memory = plain.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    config = {"host": "db", "service_name": "svc", "duckdb_threads": 2, "duckdb_memory_limit": "300MB"}
    conn = OracleConnector(config=config).duckdb_connection(":memory:")
    try:
        zone, threads, memory, database = conn.execute(
            "SELECT current_setting('TimeZone'), current_setting('threads'), "
            "current_setting('memory_limit'), current_database()"
        ).fetchone()
    finally:
        conn.close()
    assert (zone, threads, memory, database) == ("UTC", 2, duckdbs_memory, "memory")


def _hold(path, seconds: float):
    """Another process holding the DuckDB file for ``seconds`` (as another job's loader does)."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(float(sys.argv[2]))",
            str(path),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.parametrize(("timeout", "waits"), [(30, True), (0, False), (1, False)])
def test_a_duckdb_file_held_by_another_process_is_waited_for_up_to_the_lock_timeout(
    tmp_path, caplog, timeout, waits
):
    import duckdb

    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    connector = OracleConnector(
        config={"sqlalchemy_url": f"duckdb:///{path}", "duckdb_lock_timeout_seconds": timeout}
    )
    holder = _hold(path, 3)
    try:
        if waits:
            with caplog.at_level(logging.WARNING):
                connector.duckdb_connection().close()
            assert "is in use by another process; waiting up to 30" in caplog.text
        else:
            with pytest.raises(duckdb.IOException, match="Could not set lock on file"):
                connector.duckdb_connection()
    finally:
        holder.wait(timeout=30)


def test_negative_duckdb_threads_are_rejected_naming_the_setting():
    with pytest.raises(ConfigValidationError) as info:
        TargetOracle(config={"sqlalchemy_url": "duckdb:///x.duckdb", "duckdb_threads": -1})
    assert "duckdb_threads" in " ".join(info.value.errors)


def test_the_readme_settings_table_lists_every_setting_with_its_default():
    import json
    import re
    from pathlib import Path

    from target_oracle.target import CONFIG_SCHEMA

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n\n", 2)[1]
    rows = {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `(\w+)` \|([^|]*)\|", table, re.M)}
    assert set(rows) == set(CONFIG_SCHEMA["properties"])
    for name, prop in CONFIG_SCHEMA["properties"].items():
        if "default" in prop:
            default = prop["default"]
            shown = json.dumps(default) if not isinstance(default, str) or not default else default
            assert rows[name] == f"`{shown}`", (name, rows[name])
