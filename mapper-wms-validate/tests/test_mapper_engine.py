"""The rule engine's compiled test decides exactly as the checks do: its inline tests only skip calls."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from mapper_wms_validate.engine import compile_passes
from mapper_wms_validate.rules import RuleBook
from mapper_wms_validate.schema_check import compile_record

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer"]},
        "code": {"type": ["string", "null"], "maxLength": 5},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "qty": {"type": ["number", "null"]},
        "packed": {"type": ["number", "null"]},
        "status_id": {"type": ["integer", "null"]},
        "flag": {"type": ["boolean", "null"]},
    },
    "required": ["id"],
}
RULES = {
    "s": [
        {"name": "qty_positive", "field": "qty", "check": "positive"},
        {"name": "packed_min", "field": "packed", "check": "min", "value": 1},
        {"name": "qty_range", "field": "qty", "check": "range", "min": 0, "max": 100},
        {"name": "packed_le_qty", "expression": "packed <= qty"},
        {"name": "status_known", "field": "status_id", "check": "in", "values": [0, 10, 1.5]},
        {"name": "code_pattern", "field": "code", "check": "pattern", "pattern": "[A-Z]+"},
        {"name": "code_short", "field": "code", "check": "max_length", "value": 3},
        {"name": "ts_tz", "field": "mod_ts", "check": "datetime", "require_timezone": True},
        {"name": "flag_set", "field": "flag", "check": "not_null"},
        {"name": "odd", "expression": "qty % 2 == 1 or qty > 2"},
    ]
}
MISSING = object()
VALUES = {
    "id": [1, 0, -5, 10**38, 10**38 - 1, True, Decimal("5.0"), Decimal("5.5"), "1", None, MISSING],
    "code": ["AB", "", "abc", "ABCD", "ABCDEFG", 3, None, MISSING],
    "mod_ts": [
        "2025-01-01T03:00:40.537173+00:00",
        "2025-01-01T03:00:40.5371734+00:00",
        "2025-01-01T03:00:40",
        "2025-01-01 03:00:40+00:00",
        "2025-02-30T00:00:00Z",
        "2025-W01-1T03:00:40",
        "2025-01-01T03:00:40+00:00:30",
        "2025-01-01T03:00:40,5+00:00",
        "2025-01-01 03:00:40.5+0500",
        "2025-01-01",
        "not-a-date",
        "",
        5,
        None,
        MISSING,
    ],
    "qty": [
        5,
        0,
        -1,
        101,
        Decimal("1.5"),
        Decimal("1E+30"),
        Decimal("0.12345678901"),
        10**29,
        "5",
        False,
        None,
    ],
    "packed": [1, 0, 7, Decimal("2.50"), "x", None, MISSING],
    "status_id": [0, 10, 11, True, Decimal("10.0"), [1], {"a": 1}, None],
    "flag": [True, False, 1, None, MISSING],
}


def records():
    """Every value of each property with a valid neighbourhood, then a few mixes."""
    base = {"id": 1, "code": "AB", "mod_ts": "2025-01-01T00:00:00Z", "qty": 5, "packed": 3, "status_id": 0}
    base["flag"] = True
    for name, values in VALUES.items():
        for value in values:
            record = dict(base)
            if value is MISSING:
                del record[name]
            else:
                record[name] = value
            yield record
    for qty, packed in itertools.product(VALUES["qty"], VALUES["packed"]):
        record = dict(base, qty=qty)
        if packed is MISSING:
            del record["packed"]
        else:
            record["packed"] = packed
        yield record
    yield {**base, "extra": 1}


@pytest.mark.parametrize("check_schema", [True, False])
def test_compiled_test_agrees_with_every_check(check_schema):
    rules = RuleBook(RULES, use_default_rules=True).rules_for("s", SCHEMA["properties"])
    problems = compile_record(SCHEMA, ["id"])
    passes = compile_passes(SCHEMA, ["id"], rules, check_schema=check_schema, schema_problems=problems)
    decided = 0
    for record in records():
        expected = (not check_schema or problems(record) is None) and all(
            rule.test(record) is None for rule in rules
        )
        assert passes(record) is expected, record
        decided += 1
    assert decided > 100


def test_names_with_quotes_and_rules_on_undeclared_fields():
    schema = {"properties": {'a"b': {"type": "integer"}, "c d": {"type": "string"}}}
    rules = RuleBook({"s": [{"field": "undeclared", "check": "not_null"}]}).rules_for("s", [])
    passes = compile_passes(schema, [], rules, check_schema=True, schema_problems=compile_record(schema))
    assert passes({'a"b': 1, "c d": "x", "undeclared": 0})
    assert not passes({'a"b': 1, "c d": "x"})
    assert not passes({'a"b': "1", "c d": "x", "undeclared": 0})
