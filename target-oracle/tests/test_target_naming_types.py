"""Identifier conformance and JSON-schema -> column kind decisions (pure functions)."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle import columns as k
from target_oracle.naming import conform_identifier, staging_name


def test_names_are_upper_case_and_contract_shaped():
    assert conform_identifier("order_dtl_id_key") == "ORDER_DTL_ID_KEY"
    assert conform_identifier("_sdc_extracted_at") == "_SDC_EXTRACTED_AT"
    assert conform_identifier("order date-2.x") == "ORDER_DATE_2_X"
    assert conform_identifier("select") == "SELECT"
    # a quoted Oracle identifier holds no double quote and no NUL (DuckDB took them, Oracle would fail)
    assert conform_identifier('größe"netto') == "GRÖSSE_NETTO"
    assert conform_identifier("größe\x00netto") == "GRÖSSE_NETTO"


def test_long_names_fit_128_bytes_with_a_stable_distinct_hash():
    a, b = "x" * 200, "x" * 199 + "y"
    assert len(conform_identifier(a).encode()) <= 128
    assert conform_identifier(a) == conform_identifier(a)
    assert conform_identifier(a) != conform_identifier(b)
    multibyte = "名" * 100  # 300 bytes
    conformed = conform_identifier(multibyte)
    assert len(conformed.encode()) <= 128 and conformed.startswith("名")
    assert len(staging_name("T" * 128).encode()) <= 128


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "integer"}, k.INTEGER),
        ({"type": ["null", "number"]}, k.NUMBER),
        ({"type": "number", "multipleOf": 1e-12}, k.NUMBER),
        ({"type": "number", "multipleOf": 0.01}, k.NUMBER),
        ({"type": "string", "maxLength": 5000}, k.CLOB),
        ({"type": "string", "maxLength": 40}, k.STRING),
        ({"type": "string", "format": "date-time"}, k.TIMESTAMP),
        ({"type": "string", "format": "date"}, k.DATE),
        ({"type": "boolean"}, k.BOOLEAN),
        ({"type": ["object", "null"], "properties": {}}, k.JSON),
        ({"type": "array", "items": {}}, k.JSON),
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": ["string", "null"]}]}, k.TIMESTAMP),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, k.STRING),
        ({"type": ["integer", "number"]}, k.NUMBER),
        ({}, k.STRING),
    ],
)
def test_kind_for_schema(schema, kind):
    assert k.kind_for_schema(schema) == kind


def test_invalid_record_names_the_field(sg, tmp_path):
    with pytest.raises(InvalidRecord, match="qty"):
        sg.run(
            {"sqlalchemy_url": f"duckdb:///{tmp_path / 'v.duckdb'}"},
            sg.schema("checked", {"id": {"type": "integer"}, "qty": {"type": "number"}}),
            sg.record("checked", {"id": 1, "qty": "abc"}),
        )
