"""The SQL rendering of the schema rules never passes a record the Python validator rejects."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle import loading as ld
from target_oracle.validation import CompiledValidator

VALUES = [
    "1",
    "-7",
    "1180591620717411303425",
    "5.0",
    "2.75",
    "-0.5",
    "1e3",
    '"12"',
    '"abc"',
    '""',
    '"Grüße 東京"',
    '"a\\"b"',
    '"0123456789012345678901234"',
    '"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"',
    "true",
    "false",
    "null",
    "{}",
    '{"a": 1}',
    "[]",
    "[1, 2]",
]
SCHEMAS = [
    {"type": "integer"},
    {"type": ["integer", "null"]},
    {"type": ["number", "null"]},
    {"type": "string"},
    {"type": ["string", "null"], "maxLength": 5},
    {"type": ["string", "null"], "minLength": 2},
    {"type": ["boolean", "null"]},
    {"type": ["object", "null"]},
    {"type": ["array", "null"]},
    {"type": ["string", "integer"]},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: json.dumps(s))
@pytest.mark.parametrize("required", [False, True])
def test_sql_rules_never_pass_what_python_rejects(tmp_path, schema, required):
    full = {"type": "object", "properties": {"v": schema}, **({"required": ["v"]} if required else {})}
    validator = CompiledValidator(full)
    lines = [f'{{"v": {value}}}' for value in VALUES] + ["{}"]
    path = tmp_path / "values.json"
    path.write_text("".join(line + "\n" for line in lines))
    valid = ld.sql_validation(full, ["v"], set())
    assert valid is not None
    src = ld.source_sql(ld.Source((str(path),)), ["v"])
    with duckdb.connect() as conn:
        verdicts = conn.execute(f"SELECT __n, {valid} FROM ({src}) src ORDER BY __n").fetchall()
    assert len(verdicts) == len(lines)
    passed_by_sql = 0
    for (_, sql_ok), line in zip(verdicts, lines, strict=True):
        record = json.loads(line, parse_float=Decimal)
        try:
            validator.validate(record)
            python_ok = True
        except InvalidRecord:
            python_ok = False
        assert python_ok or not sql_ok, f"SQL passed {line} for {schema}"
        passed_by_sql += bool(sql_ok)
    assert passed_by_sql  # the SQL check clears the ordinary values itself


def test_rules_sql_cannot_render_send_every_record_to_python():
    schema = {"type": "object", "properties": {"v": {"type": "string", "enum": ["a"]}}}
    assert ld.sql_validation(schema, ["v"], set()) is None
    nested = {
        "type": "object",
        "properties": {"v": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    assert ld.sql_validation(nested, ["v"], set()) is None
    assert ld.sql_validation({**schema, "additionalProperties": False}, ["v"], set()) is None
    empty = {"type": "object", "properties": {"v": {"type": ["object", "null"], "properties": {}}}}
    assert ld.sql_validation(empty, ["v"], set()) is not None
