"""The rule engine's compiled test decides exactly as the checks do: its inline tests only skip calls, and
its test of BATCH lines (a typed decode) passes a line only when the record passes."""

from __future__ import annotations

import itertools
import random
import re
from decimal import Decimal

import msgspec
import pytest
from mapper_wms_validate.engine import compile_passes
from mapper_wms_validate.rules import RuleBook
from mapper_wms_validate.schema_check import DIGITS_AS_ZERO, STORED_DATETIME_SHAPES, compile_record

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
    passes = compile_passes(SCHEMA, ["id"], rules, check_schema=check_schema, schema_problems=problems).passes
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
    test = compile_passes(schema, [], rules, check_schema=True, schema_problems=compile_record(schema))
    passes = test.passes
    assert passes({'a"b': 1, "c d": "x", "undeclared": 0})
    assert not passes({'a"b': 1, "c d": "x"})
    assert not passes({'a"b': "1", "c d": "x", "undeclared": 0})
    lines = [
        b'{"a\\"b":1,"c d":"x","undeclared":0}',
        b'{"a\\"b":1,"c d":"x"}',
        b'{"a\\"b":"1","c d":"x","undeclared":0}',
    ]
    assert [test.passing_lines([line], 0) for line in lines] == [1, 0, 0]


_encode = msgspec.json.Encoder(decimal_format="number").encode
# every rule of RULES but "odd", whose expression has no inline test (a record-wide check)
INTEGERS = ("id", "status_id")
RULE_FIELDS = ("id", "code", "mod_ts", "qty", "packed", "status_id", "flag")
INLINE_RULES = {"s": [rule for rule in RULES["s"] if rule["name"] != "odd"]}


@pytest.mark.parametrize("check_schema", [True, False])
@pytest.mark.parametrize("rules_setting", [RULES, INLINE_RULES], ids=["record-wide rule", "inline rules"])
def test_lines_pass_only_records_that_pass(check_schema, rules_setting):
    """`passing_lines` stops at every line whose record does not pass; with inline rules only (the typed
    decode), it passes the lines of records that pass and whose values it reads exactly."""
    rules = RuleBook(rules_setting, use_default_rules=True).rules_for("s", SCHEMA["properties"])
    problems = compile_record(SCHEMA, ["id"])
    test = compile_passes(SCHEMA, ["id"], rules, check_schema=check_schema, schema_problems=problems)
    all_records = list(records())
    lines = [_encode(record) for record in all_records]
    passed = 0
    for record, line in zip(all_records, lines, strict=True):
        verdict = test.passes(record)
        if test.passing_lines([line], 0) == 1:
            assert verdict, line
            passed += 1
        elif verdict and rules_setting is INLINE_RULES and (check_schema or "extra" not in record):
            # left to `passes`: only an integer beyond int64, an integer-valued number in an integer, or
            # a missing field a rule reads (a rule reads it as null)
            assert set(RULE_FIELDS) - set(record) or any(
                (type(v) is int and abs(v) >= 2**63) or (type(v) is Decimal and name in INTEGERS)
                for name, v in record.items()
            ), line
    assert passed > 20
    # a run of lines: the index of the first that does not pass
    first = next(i for i, record in enumerate(all_records) if not test.passes(record))
    assert test.passing_lines(lines, 0) <= first
    assert test.passing_lines(lines, first + 1) > first


@pytest.mark.parametrize(
    ("line", "passes", "typed"),
    [
        (b'{"id":1,"code":"AB","code":null}', True, True),  # a duplicate key ends with its last value
        (b'{"id":1,"code":null,"code":"abcdef"}', True, True),
        (b'{"id":1,"code":5,"code":"AB"}', True, False),  # the typed decode refuses 5, the dict keeps "AB"
        (b'{"id":1,"code":"AB","code":5}', False, False),
        (b'{"\\u0069d":1,"code":"\\u00e9\\ud83d\\ude00"}', True, True),  # escaped names and strings
        (b'{"id":1.0}', True, False),  # an integer-valued number is an integer
        (b'{"id":-0.0}', True, False),
        (b'{"id":1,"status_id":10.0}', True, False),
        (b'{"id":9223372036854775807}', True, True),
        (b'{"id":9223372036854775808}', True, False),  # beyond int64, inside NUMBER(38)
        (b'{"id":-9223372036854775809}', True, False),
        (b'{"id":100000000000000000000000000000000000000}', False, False),
        (b'{"code":"AB","flag":false,"id":3}', True, True),  # any property order
        (b'{"code":"AB"}', False, False),  # id is required
        (b'{"id":null}', False, False),
        (b'{"id":true}', False, False),
        (b"[1]", False, False),
        (b"", False, False),
        (b'{"id":1,"qty":-0.0,"packed":1E+2}', True, True),
        (b'{"id":1,"qty":1E+30}', False, False),  # beyond NUMBER(38,10)
        (b'{"id":1,"mod_ts":"2025-02-30T00:00:00Z"}', False, False),
        (b'{"id":1,"mod_ts":"2025-01-01T00:00:00.1234567Z"}', False, False),
        (b'{"id":1,"mod_ts":"2025-01-01 00:00:00.123456+0100"}', True, True),
    ],
)
def test_a_line_passes_as_its_record_does(line, passes, typed):
    """The schema check alone: the typed decode passes exactly the lines it reads as the dict decode
    does, and leaves the others to `passes`."""
    problems = compile_record(SCHEMA, ["id"])
    test = compile_passes(SCHEMA, ["id"], [], check_schema=True, schema_problems=problems)
    try:
        record = msgspec.json.Decoder(float_hook=Decimal).decode(line)
    except msgspec.DecodeError:
        record = None
    assert (type(record) is dict and test.passes(record)) is passes
    assert test.passing_lines([line], 0) == int(typed)


def _stored_form(value: str) -> bool:
    """The target's date-time forms with at most 6 fractional digits, as a regular expression."""
    offset = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
    form = rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]{{1,6}})?{offset}"
    return re.fullmatch(form, value) is not None


def test_datetime_shapes_are_the_stored_forms():
    """The engine's date-time test (a value's shape, digits as 0, in a set) accepts exactly the strings
    the regular expression of the target's forms matches, non-ASCII digits and line ends included."""
    rng = random.Random(7)
    values = []
    for shape in STORED_DATETIME_SHAPES:
        text = shape.decode()
        values.append("".join(str(rng.randrange(10)) if ch == "0" else ch for ch in text))
    edits = ["", "0", "\n", "Z", "t", "z", ",", ":", "+", "\u0663", "\uff13", "\u00e9", " "]
    for value in list(values):
        for _ in range(12):
            at = rng.randrange(len(value) + 1)
            cut = rng.randrange(3)
            values.append(value[:at] + rng.choice(edits) + value[at + cut :])
    values += ["2025-01-01T04:00:11.0649321+00:00", "2025-01-01T04:00:11+00:00\n", "\uff12025-01-01T04:00:11"]
    matched = 0
    for value in values:
        shape = value.encode().translate(DIGITS_AS_ZERO) in STORED_DATETIME_SHAPES
        assert shape is _stored_form(value), value
        matched += shape
    assert 100 < matched < len(values) - 1000


def test_closed_schema_with_a_rule_on_an_undeclared_field():
    """With additionalProperties false, a field only a rule reads (or a required one the schema does not
    declare) makes the record fail the schema check, in BATCH lines as in records."""
    schema = {"properties": {"id": {"type": "integer"}}, "additionalProperties": False}
    rules = RuleBook({"s": [{"field": "note", "check": "max_length", "value": 3}]}).rules_for("s", [])
    test = compile_passes(schema, [], rules, check_schema=True, schema_problems=compile_record(schema))
    assert test.passes({"id": 1})
    assert not test.passes({"id": 1, "note": "ab"})
    assert [test.passing_lines([line], 0) for line in (b'{"id":1}', b'{"id":1,"note":"ab"}')] == [1, 0]
    schema = {**schema, "required": ["id", "other"]}
    test = compile_passes(schema, [], [], check_schema=True, schema_problems=compile_record(schema))
    assert not test.passes({"id": 1, "other": 2})
    assert test.passing_lines([b'{"id":1,"other":2}'], 0) == 0


SWEEP_LINES = [
    b'{"p":1}',
    b'{"p":-5}',
    b'{"p":1.0}',
    b'{"p":1.5}',
    b'{"p":100000000000000000000000000000000000000}',
    b'{"p":""}',
    b'{"p":"x"}',
    b'{"p":null}',
    b'{"p":{}}',
    b'{"p":[1.5]}',
    b'{"p":true}',
    b'{"p":"2025-01-01"}',
    b'{"p":"2025-01-01T00:00:00Z"}',
    b'{"p":"2025-01-01T00:00:00.1234567Z"}',
    b"{}",
]


@pytest.mark.parametrize("key", [False, True], ids=["plain", "key"])
@pytest.mark.parametrize("fmt", [None, "date-time", "date"])
def test_every_type_combination_passes_lines_only_as_records_pass(key, fmt):
    """For every combination of JSON Schema types (with a format, as a key): the typed decode's Struct
    compiles, and a line passes only when its record does; a line whose values it reads exactly passes."""
    names = ["null", "boolean", "integer", "string", "object", "array", "number"]
    decided = 0
    for size in range(1, len(names) + 1):
        for combo in itertools.combinations(names, size):
            prop = {"type": list(combo), **({"format": fmt} if fmt else {})}
            schema = {"properties": {"p": prop}, "required": ["p"] if key else []}
            keys = ["p"] if key else []
            test = compile_passes(
                schema, keys, [], check_schema=True, schema_problems=compile_record(schema, keys)
            )
            for line in SWEEP_LINES:
                record = msgspec.json.Decoder(float_hook=Decimal).decode(line)
                if test.passing_lines([line], 0) == 1:
                    assert test.passes(record), (prop, line)
                    decided += 1
    assert decided > 500
