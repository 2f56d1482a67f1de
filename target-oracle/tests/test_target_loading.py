"""The SQL rendering of the schema rules never passes a record the Python validator rejects."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle import contract
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


#: column kind whose storage-contract match (``contract.EXACT_TEXT``) ``materialize_sql`` adds, per schema
EXACT_KINDS = {"integer": "integer", "number": "number", "string": "timestamp"}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: json.dumps(s))
@pytest.mark.parametrize("required", [False, True])
def test_sql_rules_left_to_the_exact_text_match_never_pass_what_python_rejects(tmp_path, schema, required):
    """With ``exact``, a property whose contract match implies its type renders only its null rule: the
    rules' SQL and the match together still never pass a record the validator rejects."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = next(EXACT_KINDS[typ] for typ in [*types, "string"] if typ in EXACT_KINDS)
    full = {"type": "object", "properties": {"v": schema}, **({"required": ["v"]} if required else {})}
    validator = CompiledValidator(full)
    values = [*VALUES, '"2024-01-02T03:04:05Z"', '"2024-01-02T03:04:05.123456+02:00"']
    lines = [f'{{"v": {value}}}' for value in values] + ["{}"]
    path = tmp_path / "values.json"
    path.write_text("".join(line + "\n" for line in lines))
    valid = ld.sql_validation(full, ["v"], set(), {"v": kind})
    raw = contract.EXACT_TEXT[kind] if kind != "timestamp" else f'"{contract.EXACT_TEXT[kind]}"'
    exact = f"NOT {ld.inexact_sql(raw, ['f0'])}"
    src = ld.source_sql(ld.Source((str(path),)), ["v"])
    with duckdb.connect() as conn:
        verdicts = conn.execute(f"SELECT __n, ({valid}) AND {exact} FROM ({src}) src ORDER BY __n").fetchall()
    passed_by_sql = 0
    for (_, sql_ok), line in zip(verdicts, lines, strict=True):
        try:
            validator.validate(json.loads(line, parse_float=Decimal))
            python_ok = True
        except InvalidRecord:
            python_ok = False
        assert python_ok or not sql_ok, f"SQL passed {line} for {schema}"
        passed_by_sql += bool(sql_ok)
    if "maxLength" not in schema and set(types) & set(EXACT_KINDS):
        assert passed_by_sql  # a value matching the contract passes in SQL


def test_one_match_over_several_values_flags_a_row_when_any_present_value_does_not_match(tmp_path):
    """``inexact_sql`` joins the values with a control character: a row passes only when each present
    value matches on its own, and a string holding that character (escaped in JSON text) cannot split."""
    rows = [
        ({"a": 1, "b": 2, "c": 3}, False),
        ({"a": None, "c": 3}, False),
        ({}, False),
        ({"a": 1.5, "b": 2}, True),
        ({"a": 1, "c": "3"}, True),
        ({"a": 1, "b": 12345678901234567890123456789012345678901}, True),
        ({"a": 1, "b": "1\u00012"}, True),
        ({"a": [1, 2]}, True),
        ({"b": -7, "c": 0}, False),
    ]
    path = tmp_path / "rows.json"
    path.write_text("".join(json.dumps(row) + "\n" for row, _ in rows))
    src = ld.source_sql(ld.Source((str(path),)), ["a", "b", "c"])
    flag = ld.inexact_sql(contract.EXACT_TEXT["integer"], ["f0", "f1", "f2"])
    with duckdb.connect() as conn:
        rows_sql = f"SELECT __n, {flag} FROM ({src}) src ORDER BY __n"
        flags = [row[1] for row in conn.execute(rows_sql).fetchall()]
    assert flags == [inexact for _, inexact in rows]


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


def test_upsert_keeps_columns_the_stream_no_longer_sends(sg, backend):
    """Rows are replaced whole only when staging holds every column; other columns keep their values."""
    wide = {"id": {"type": "integer"}, "v": {"type": "string"}, "old": {"type": ["string", "null"]}}
    narrow = {"id": {"type": "integer"}, "v": {"type": "string"}}
    sg.run(backend.config(), sg.schema("keep", wide), sg.record("keep", {"id": 1, "v": "a", "old": "kept"}))
    sg.run(
        backend.config(),
        sg.schema("keep", narrow),
        sg.record("keep", {"id": 1, "v": "b"}),
        sg.record("keep", {"id": 2, "v": "c"}),
    )
    assert backend.rows("keep", '"ID", "V", "OLD"') == [(1, "b", "kept"), (2, "c", None)]
    sg.run(backend.config(), sg.schema("keep", wide), sg.record("keep", {"id": 1, "v": "d", "old": None}))
    assert backend.rows("keep", '"ID", "V", "OLD"') == [(1, "d", None), (2, "c", None)]


def test_duckdb_replaces_whole_rows_by_delete_and_insert_oracle_keeps_merge():
    from target_oracle.dialects import DuckDBStrategy, OracleStrategy

    duck = DuckDBStrategy().upsert_sql("T", "S", ["ID", "V"], ["ID"], whole_rows=True)
    assert duck == [
        'MERGE INTO T t USING S s ON (t."ID" = s."ID") WHEN MATCHED THEN DELETE',
        'INSERT INTO T ("ID", "V") SELECT "ID", "V" FROM S',
    ]
    assert DuckDBStrategy().upsert_sql("T", "S", ["ID", "V"], ["ID"], whole_rows=False) == [
        DuckDBStrategy().merge_sql("T", "S", ["ID", "V"], ["ID"])
    ]
    oracle = OracleStrategy()
    assert oracle.upsert_sql("T", "S", ["ID", "V"], ["ID"], whole_rows=True) == [
        oracle.merge_sql("T", "S", ["ID", "V"], ["ID"])
    ]


TIMESTAMPS = [
    '"2025-01-01T03:02:17.767522+00:00"',
    '"2025-01-01T03:02:17.767522-03:00"',
    '"2024-02-29T23:59:59.9999999-03:00"',
    '"2025-06-30T12:00:00Z"',
    '"2025-06-30 12:00:00"',
    '"2025-06-30"',
    '"0900-01-01T00:00:00+05:30"',
    '"1582-10-10T12:00:00Z"',
    '"0001-01-01T00:00:00+01:00"',
    '"9999-12-31T23:59:59.999999Z"',
    '"infinity"',
    '"-infinity"',
    '"epoch"',
    '"not a time"',
    "12",
    "null",
]


def test_timestamps_land_as_the_session_utc_cast_gives_them(tmp_path):
    """The timestamp conversion (microseconds of the instant, infinities by the cast) gives what the plain
    ``CAST(CAST(text AS TIMESTAMPTZ) AS TIMESTAMP)`` gives under the connection's UTC, bad text included."""
    path = tmp_path / "ts.jsonl"
    path.write_text("".join(f'{{"t": {value}}}\n' for value in TIMESTAMPS))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    col = ld.Column("t", "T", "timestamp")
    ours = ld.value_sql(col, 0, for_oracle=False, now="2025-01-01", sequence=0).replace("CAST(", "TRY_CAST(")
    plain = "TRY_CAST(TRY_CAST(f0->>'$' AS TIMESTAMPTZ) AS TIMESTAMP)"
    src = f"SELECT t AS f0 FROM read_json('{path}', format = 'newline_delimited', columns = {{'t': 'JSON'}})"
    sql = f"SELECT f0, CAST({ours} AS VARCHAR), CAST({plain} AS VARCHAR) FROM ({src})"
    rows = con.execute(sql).fetchall()
    assert len(rows) == len(TIMESTAMPS)
    for raw, got, want in rows:
        assert got == want, raw
    assert {"infinity", "-infinity", "2024-03-01 02:59:59.999999"} <= {got for _, got, _ in rows}


def test_parquet_top_level_names_leave_nested_fields_out():
    # parquet_schema's rows of two files: a struct o {qty, n {Qty}}, a list l of {QTY}, then z
    rows = [
        ("f1", "schema", 4),
        ("f1", "id", None),
        ("f1", "o", 2),
        ("f1", "qty", None),
        ("f1", "n", 1),
        ("f1", "Qty", None),
        ("f1", "l", 1),
        ("f1", "list", 1),
        ("f1", "element", 1),
        ("f1", "QTY", None),
        ("f1", "z", None),
        ("f2", "schema", 2),
        ("f2", "id", None),
        ("f2", "Qty", None),
    ]
    names = ld.parquet_top_level_names(rows)
    assert names == {"id", "o", "l", "z", "Qty"}
    assert ld.case_variants(names, ["id", "qty", "z"]) == [("qty", "Qty")]
