"""Shared fixtures: a real DuckDB file per test (and, when configured, a live Oracle) behind one interface."""

from __future__ import annotations

import io
import json
import os
import typing as t
import uuid
from types import SimpleNamespace

import pytest
from target_oracle.target import TargetOracle

LIVE_DSN_VARS = ("TARGET_ORACLE_TEST_DSN", "TARGET_ORACLE_TEST_USER", "TARGET_ORACLE_TEST_PASSWORD")


class Backend:
    """Where a test loads: config for the target plus a query helper returning plain Python rows."""

    def __init__(self, name: str, config: dict[str, t.Any], schema: str | None) -> None:
        self.name = name
        self.base_config = config
        self.schema = schema
        self.prefix = config.get("table_prefix", "")

    def table(self, stream: str, prefix: str = "") -> str:
        """Quoted, schema-qualified name the target gives ``stream`` (with an extra ``prefix``)."""
        return f'"{self.schema}"."{self.prefix}{prefix}{stream.upper()}"'

    def rows(self, stream: str, columns: str = "*", order: str = '"ID"', prefix: str = "") -> list[tuple]:
        return self.query(f"SELECT {columns} FROM {self.table(stream, prefix)} ORDER BY {order}")

    def config(self, prefix: str = "", **overrides: t.Any) -> dict[str, t.Any]:
        """Target config; ``prefix`` is added after the backend's own per-test table prefix."""
        return {**self.base_config, "table_prefix": self.prefix + prefix, **overrides}

    def query(self, sql: str) -> list[tuple]:
        if self.name == "duckdb":
            import duckdb

            path = self.base_config["sqlalchemy_url"].removeprefix("duckdb:///")
            with duckdb.connect(path) as conn:
                return conn.execute(sql).fetchall()
        import oracledb

        with (
            oracledb.connect(
                user=os.environ["TARGET_ORACLE_TEST_USER"],
                password=os.environ["TARGET_ORACLE_TEST_PASSWORD"],
                dsn=os.environ["TARGET_ORACLE_TEST_DSN"],
            ) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute(sql)
            return [tuple(_read_lob(v) for v in row) for row in cursor.fetchall()]

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> SQL type name for ``table`` in the test schema."""
        if self.name == "duckdb":
            rows = self.query(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = '{self.schema or 'main'}' AND table_name = '{table}' "
                "ORDER BY ordinal_position"
            )
            return dict(rows)
        rows = self.query(
            "SELECT column_name, data_type || CASE WHEN data_precision IS NOT NULL THEN "
            "'(' || data_precision || ',' || data_scale || ')' END FROM all_tab_columns "
            f"WHERE owner = '{self.schema}' AND table_name = '{table}' ORDER BY column_id"
        )
        return dict(rows)


def _read_lob(value: t.Any) -> t.Any:
    return value.read() if hasattr(value, "read") else value


@pytest.fixture(params=["duckdb", pytest.param("oracle", marks=pytest.mark.live_oracle)])
def backend(request: pytest.FixtureRequest, tmp_path) -> Backend:
    """The DuckDB file backend always; the live Oracle one only when its variables are set."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'target.duckdb'}"
        return Backend("duckdb", {"sqlalchemy_url": url, "default_target_schema": "OIC"}, "OIC")
    missing = [name for name in LIVE_DSN_VARS if not os.environ.get(name)]
    if missing:
        pytest.skip(f"live Oracle suite: set {', '.join(missing)} to run it against a real database")
    schema = os.environ.get("TARGET_ORACLE_TEST_SCHEMA", os.environ["TARGET_ORACLE_TEST_USER"]).upper()
    config = {
        "dsn": os.environ["TARGET_ORACLE_TEST_DSN"],
        "username": os.environ["TARGET_ORACLE_TEST_USER"],
        "password": os.environ["TARGET_ORACLE_TEST_PASSWORD"],
        "default_target_schema": schema,
        # tables are unique per test so runs never see each other's rows
        "table_prefix": f"T{uuid.uuid4().hex[:8].upper()}_",
    }
    return Backend("oracle", config, schema)


def singer_lines(*messages: dict) -> str:
    """Serialise Singer messages, one JSON document a line."""
    return "".join(json.dumps(message) + "\n" for message in messages)


def run_target(config: dict[str, t.Any], *messages: dict) -> TargetOracle:
    """Run the target in-process over the given messages (the CLI path is covered by subprocess tests)."""
    target = TargetOracle(config=config)
    target.listen(file_input=io.StringIO(singer_lines(*messages)))
    return target


def schema_msg(stream: str, properties: dict, keys: list[str] | None = None) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["id"] if keys is None else keys,
        "schema": {"type": "object", "properties": properties},
    }


def record_msg(stream: str, record: dict, version: int | None = None) -> dict:
    msg = {"type": "RECORD", "stream": stream, "record": record}
    if version is not None:
        msg["version"] = version
    return msg


@pytest.fixture
def sg() -> SimpleNamespace:
    """Singer helpers for tests (importlib mode cannot import conftest): run, schema, record, lines."""
    return SimpleNamespace(run=run_target, schema=schema_msg, record=record_msg, lines=singer_lines)
