"""The rule engine's compiled test decides exactly as the checks do: its inline tests only skip calls, and
its test of BATCH lines (a typed decode) passes a line only when the record passes."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from decimal import Decimal

import msgspec
import pytest
from mapper_wms_validate import storage_contract
from mapper_wms_validate.engine import compile_passes
from mapper_wms_validate.rules import RuleBook
from mapper_wms_validate.schema_check import (
    ALL_STORED_DATETIMES,
    ALL_STORED_DATETIMES_WITH_OFFSET,
    DIGITS_AS_ZERO,
    STORED_DATETIME_SHAPES,
    compile_record,
    datetime_problem,
)

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
    assert [_passes_alone(test, line) for line in lines] == [True, False, False]


_encode = msgspec.json.Encoder(decimal_format="number").encode


_decode = msgspec.json.Decoder(float_hook=Decimal).decode
MISSING_VALUE = msgspec.UNSET  # the engine's MISSING


def _passes_alone(test, line: bytes) -> bool:
    """Whether the engine's test of BATCH lines says `line` passes, in a chunk of its own."""
    return test.undecided_lines([line]) == []


# every rule of RULES but "odd", whose expression has no inline test (a record-wide check)
INTEGERS = ("id", "status_id")
RULE_FIELDS = ("id", "code", "mod_ts", "qty", "packed", "status_id", "flag")
INLINE_RULES = {"s": [rule for rule in RULES["s"] if rule["name"] != "odd"]}


@pytest.mark.parametrize("check_schema", [True, False])
@pytest.mark.parametrize("rules_setting", [RULES, INLINE_RULES], ids=["record-wide rule", "inline rules"])
def test_lines_pass_only_records_that_pass(check_schema, rules_setting):
    """`undecided_lines` names every line whose record does not pass; with inline rules only (the typed
    decode), it passes the lines of records that pass and whose values it reads exactly."""
    rules = RuleBook(rules_setting, use_default_rules=True).rules_for("s", SCHEMA["properties"])
    problems = compile_record(SCHEMA, ["id"])
    test = compile_passes(SCHEMA, ["id"], rules, check_schema=check_schema, schema_problems=problems)
    all_records = list(records())
    lines = [_encode(record) for record in all_records]
    passed = 0
    for record, line in zip(all_records, lines, strict=True):
        verdict = test.passes(record)
        if _passes_alone(test, line):
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
    # a chunk of lines: each line it does not name passes, alone as among the others
    undecided = test.undecided_lines(lines)
    assert undecided == sorted(set(undecided))
    assert [i for i in range(len(lines)) if not _passes_alone(test, lines[i])] == undecided


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
    assert _passes_alone(test, line) is typed


def _inline_datetime(value: str) -> bool:
    """The engine's inline date-time test (record mode, and a chunk's values one by one)."""
    if value.encode().translate(DIGITS_AS_ZERO) not in STORED_DATETIME_SHAPES:
        return False
    try:
        return storage_contract.read_datetime(value) is not None
    except ValueError:
        return False


def test_inline_datetime_test_is_the_contracts_refusal():
    """The engine's date-time test (a value's shape, digits as 0, in a set, then `fromisoformat`) accepts
    exactly the strings the shared contract (`storage_contract.refusal`, the target's rule) stores, non-ASCII
    digits, line ends, invalid dates and week dates included."""
    rng = random.Random(7)
    values = []
    for shape in sorted(STORED_DATETIME_SHAPES):  # (sorted: the same values under every hash seed)
        text = shape.decode()
        for digits in ("0123456789", "01"):  # (with 0 and 1 only, most are real dates and times)
            values.append("".join(rng.choice(digits) if ch == "0" else ch for ch in text))
    edits = ["", "0", "\n", "Z", "t", "z", ",", ":", "+", "\u0663", "\uff13", "\u00e9", " ", "W"]
    for value in list(values):
        for _ in range(12):
            at = rng.randrange(len(value) + 1)
            cut = rng.randrange(3)
            values.append(value[:at] + rng.choice(edits) + value[at + cut :])
    values += ["2025-01-01T04:00:11.0649321+00:00", "2025-01-01T04:00:11+00:00\n", "\uff12025-01-01T04:00:11"]
    values += ["2025-W01-1T03:00:40", "2025-01-01", "2025-01-01T03:00", " 2025-01-01T03:00:00Z"]
    values += ["2024-02-29 00:00:00", "2025-02-29 00:00:00"]
    values += ["0001-01-01 10:10:11.1+11:00", "0001-01-01T00:00:00-01:00", "9999-12-31T23:30:00-01:00"]
    values += ["9999-12-31T23:30:00+01:00", "0001-01-01T00:00:00Z"]
    accepted = 0
    for value in values:
        inline = _inline_datetime(value)
        assert inline is (storage_contract.refusal(storage_contract.TIMESTAMP, value) is None), value
        accepted += inline
    assert 50 < accepted < len(values) - 1000


NUMBER_VALUES = [
    "1.5", "-0.0", "0E-30", "1E+27", "-9999999999999999999999999999.9999999999",
    "9999999999999999999999999999.5", "1E+28", "-1E+28", "1E-10", "1E-11", "0.00000000010",
    "1.00000000000", "2.50", "12345.123456789012",
    "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "5", "1E+2",
]  # fmt: skip


@pytest.mark.parametrize("types", [["number"], ["number", "null"], ["integer", "number"]])
def test_inline_number_test_is_the_contracts_refusal(types):
    """A number's decimals (as the decoders read them, from their text) pass the engine's record test,
    inline or through the check, exactly when the schema check and the contract (`refusal`) accept them;
    NaN and infinities included."""
    schema = {"properties": {"n": {"type": types}}}
    problems = compile_record(schema)
    test = compile_passes(schema, [], [], check_schema=True, schema_problems=problems)
    for text in NUMBER_VALUES:
        value = Decimal(text)
        stored = storage_contract.refusal(storage_contract.NUMBER, value) is None
        assert (problems({"n": value}) is None) is stored, text
        assert test.passes({"n": value}) is stored, text


def test_closed_schema_with_a_rule_on_an_undeclared_field():
    """With additionalProperties false, a field only a rule reads (or a required one the schema does not
    declare) makes the record fail the schema check, in BATCH lines as in records."""
    schema = {"properties": {"id": {"type": "integer"}}, "additionalProperties": False}
    rules = RuleBook({"s": [{"field": "note", "check": "max_length", "value": 3}]}).rules_for("s", [])
    test = compile_passes(schema, [], rules, check_schema=True, schema_problems=compile_record(schema))
    assert test.passes({"id": 1})
    assert not test.passes({"id": 1, "note": "ab"})
    assert [_passes_alone(test, line) for line in (b'{"id":1}', b'{"id":1,"note":"ab"}')] == [True, False]
    schema = {**schema, "required": ["id", "other"]}
    test = compile_passes(schema, [], [], check_schema=True, schema_problems=compile_record(schema))
    assert not test.passes({"id": 1, "other": 2})
    assert not _passes_alone(test, b'{"id":1,"other":2}')


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
                if _passes_alone(test, line):
                    assert test.passes(record), (prop, line)
                    decided += 1
    assert decided > 500


def test_chunk_datetime_test_accepts_only_stored_datetimes():
    """The test of a chunk's date-time values at once accepts a value only if `datetime_problem` does
    (and, with an offset required, only one with an offset); it accepts the target's common forms."""
    rng = random.Random(11)
    shapes = sorted(shape.decode() for shape in STORED_DATETIME_SHAPES)
    edits = ["", "0", "9", "\n", "Z", "t", "z", "T", ",", ":", "+", "-", ".", "\u0663", " ", "\\", '"']
    edits += ["\x00", "W", "12", "0000000"]
    accepted = stored_count = 0
    for _ in range(20000):
        value = "".join(rng.choice("0123459") if ch == "0" else ch for ch in rng.choice(shapes))
        if rng.random() < 0.5:  # a date and a time in range, or a day past the month's end
            day = f"{rng.randrange(1, 10000):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 32):02d}"
            clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            value = day + value[10] + clock + value[19:]
        for _ in range(rng.randrange(3)):
            at = rng.randrange(len(value) + 1)
            value = value[:at] + rng.choice(edits) + value[at + rng.randrange(3) :]
        if not value:
            continue
        stored = datetime_problem(value) is None
        stored_count += stored
        if ALL_STORED_DATETIMES([value]):
            assert stored, value
            accepted += 1
        if ALL_STORED_DATETIMES_WITH_OFFSET([value]):
            assert stored and datetime.fromisoformat(value).tzinfo is not None, value
    assert accepted > 1000 and accepted > stored_count / 2  # (it refuses offsets of hours alone)
    common = ["2025-01-01T04:00:11.064932+00:00", "2024-02-29 00:00:00Z", "2000-02-29T23:59:59.1-03:30"]
    assert ALL_STORED_DATETIMES([None, *common, MISSING_VALUE]) and ALL_STORED_DATETIMES_WITH_OFFSET(common)
    assert not ALL_STORED_DATETIMES_WITH_OFFSET(["2025-01-01T04:00:11"])
    for refused in ["1900-02-29T00:00:00Z", "2025-01-01T04:00:11.1234567Z", "2025-01-01t04:00:11", 5]:
        assert not ALL_STORED_DATETIMES([*common, refused]), refused


@pytest.mark.parametrize(
    "bad",
    [
        "2025-01-01T04:00:11.0649321+00:00",  # the same length as the others
        "2025-01-01t04:00:11.064932+00:00",
        "2025-01-01T04:00:11.064932+00:00z",
        '2025-01-01T04:00:11.064932+00:00","2025-01-01T04:00:11.064932+00:00',
        "2025-02-29T04:00:11.064932+00:00",
        "0001-01-01T00:00:11.064932+01:00",
        "2025-01-01T04:00:11.064932+00:0\u0663",
    ],
)
def test_chunk_datetime_test_refuses_one_bad_value_among_many(bad):
    """A chunk of values of one form with one value the target does not store (of the same length, a
    lowercase letter, a quote, a day past the month's end, an instant before year 1, a non-ASCII digit),
    first, in the middle or last: the chunk test refuses it (its values are then tested one by one)."""
    good = [f"2025-01-{day:02d}T04:00:11.064932+00:00" for day in range(1, 29)]
    assert ALL_STORED_DATETIMES(good) and ALL_STORED_DATETIMES_WITH_OFFSET(good)
    for at in (0, 13, len(good)):
        assert not ALL_STORED_DATETIMES([*good[:at], bad, *good[at:]]), (at, bad)


BOUNDARY_SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "at": {"type": "string", "format": "date-time"},
    },
    "required": ["id"],
}
GOOD = {"id": 1, "mod_ts": "2025-01-01T04:00:11.064932+00:00", "at": "2025-01-01 04:00:11Z"}
# values of `mod_ts` and `at` the typed function tests a chunk at a time: True when the record passes
BOUNDARY_VALUES = [
    ("2025-02-29T00:00:00Z", False),  # not a leap year
    ("2024-02-29T00:00:00Z", True),
    ("1900-02-29T00:00:00Z", False),
    ("2000-02-29T00:00:00Z", True),
    ("2025-01-01T04:00:11.1234567Z", False),
    ("2025-01-01T04:00:11z", False),
    ("2025-01-01t04:00:11Z", False),
    ("2025-01-01T04:00:11+05", True),  # an offset of hours: the chunk test refuses, the value's passes
    ("2025-01-01T04:00:11+05:90", False),  # offset minutes beyond 59: refused (`read_datetime`)
    ("2025-01-01T24:00:00Z", False),
    ("", False),
    ('2025-01-01T04:00:11Z","2025-01-01T04:00:11Z', False),
    ("2025-01-01T04:00:11", True),  # no offset: read as UTC (the default rule needs no offset)
    (None, True),
]


@pytest.mark.parametrize("field", ["mod_ts", "at"])
@pytest.mark.parametrize(("value", "passes"), BOUNDARY_VALUES)
@pytest.mark.parametrize("size", [1, 2, 50])
def test_a_chunk_names_exactly_the_lines_whose_datetimes_fail(field, value, passes, size):
    """A date-time value in the first, a middle or the last line of a chunk of good lines (or alone):
    the chunk's test names that line only if its record does not pass; every other line passes."""
    rules = RuleBook({}, use_default_rules=True).rules_for("s", BOUNDARY_SCHEMA["properties"])
    assert {rule.name for rule in rules} >= {"mod_ts_datetime", "mod_ts_not_null"}
    problems = compile_record(BOUNDARY_SCHEMA, ["id"])
    test = compile_passes(BOUNDARY_SCHEMA, ["id"], rules, check_schema=True, schema_problems=problems)
    good = [_encode({**GOOD, "id": n + 1}) for n in range(size)]
    record = {**GOOD, field: value}
    if field == "mod_ts" and value is None:
        passes = False  # the default rule mod_ts_not_null
    if field == "at" and value is None:
        passes = False  # `at` is not nullable
    assert test.passes(record) is passes
    for at in sorted({0, size // 2, size - 1}):
        lines = list(good)
        lines[at] = _encode(record)
        assert test.undecided_lines(lines) == ([] if passes else [at]), (at, lines[at])
    # with a second bad line after it, both are named
    if size > 2 and not passes:
        lines = [*good[:1], _encode(record), *good[2:-1], b'{"id":1,"at":"2025-13-01T00:00:00Z"}']
        assert test.undecided_lines(lines) == [1, size - 1]


def test_chunk_datetime_rule_requiring_an_offset():
    """The `datetime` rule with require_timezone is tested a chunk at a time too: a value without an
    offset, anywhere in the chunk, names its line."""
    rules = RuleBook(
        {"s": [{"name": "ts_tz", "field": "mod_ts", "check": "datetime", "require_timezone": True}]},
        use_default_rules=False,
    ).rules_for("s", BOUNDARY_SCHEMA["properties"])
    test = compile_passes(
        BOUNDARY_SCHEMA, ["id"], rules, check_schema=True, schema_problems=compile_record(BOUNDARY_SCHEMA)
    )
    lines = [_encode({**GOOD, "id": n}) for n in range(20)]
    lines[7] = _encode({**GOOD, "mod_ts": "2025-01-01T04:00:11"})
    lines[19] = _encode({**GOOD, "mod_ts": "2025-01-01 04:00:11.5"})
    assert test.undecided_lines(lines) == [7, 19]
    assert test.undecided_lines(lines[8:19]) == []
    assert not test.passes(_decode(lines[7]))


NARROW_SCHEMA = {
    "properties": {
        "n": {"type": ["integer", "null"]},
        "m": {"type": "integer"},
        "s": {"type": ["string", "null"]},
        "q": {"type": ["number", "null"]},
    }
}
NARROW_RULES = {
    "x": [
        {"name": "n_positive", "field": "n", "check": "positive"},
        {"name": "n_max", "field": "n", "check": "max", "value": 50},
        {"name": "n_in", "field": "n", "check": "in", "values": [0, 1, 7, 50, 99]},
        {"name": "m_range", "field": "m", "check": "range", "min": -3, "max": 3},
        {"name": "m_min", "field": "m", "check": "min", "value": -1},
        {"name": "m_not_null", "field": "m", "check": "not_null"},
        {"name": "s_not_null", "field": "s", "check": "not_null"},
        {"name": "q_non_negative", "field": "q", "check": "non_negative"},
        {"name": "q_max", "field": "q", "check": "max", "value": 2.5},
    ]
}
NARROW_VALUES = {
    "n": [0, 1, 7, 8, 50, 51, 99, -1, 2**63, True, 1.0, "7", None, MISSING],
    "m": [-4, -3, -2, -1, 0, 3, 4, 2.0, None, MISSING],
    "s": ["", "a", 5, None, MISSING],
    "q": [0, -1, 2, 3, Decimal("2.5"), Decimal("2.6"), None, MISSING],
}


@pytest.mark.parametrize("check_schema", [True, False])
def test_rules_the_typed_decode_checks_decide_as_their_checks(check_schema):
    """not_null, bounds and integer lists are checked by the typed decode of a plain-typed property: a
    line passes only when its record does, and every line with an integer it reads passes when its
    record does."""
    rules = RuleBook(NARROW_RULES).rules_for("x", NARROW_SCHEMA["properties"])
    problems = compile_record(NARROW_SCHEMA)
    test = compile_passes(NARROW_SCHEMA, [], rules, check_schema=check_schema, schema_problems=problems)
    base = {"n": 7, "m": 0, "s": "a", "q": 1}
    records = []
    for name, values in NARROW_VALUES.items():
        for value in values:
            record = {k: v for k, v in {**base, name: value}.items() if v is not MISSING}
            records.append(record)
    records += [{**base, "n": n, "m": m} for n in NARROW_VALUES["n"][:7] for m in NARROW_VALUES["m"][:7]]
    typed_passes = 0
    for record in records:
        schema_passes = not check_schema or problems(record) is None
        expected = schema_passes and all(rule.test(record) is None for rule in rules)
        assert test.passes(record) is expected, record
        line = _encode(record)
        if _passes_alone(test, line):
            assert expected, record
            typed_passes += 1
        elif expected and check_schema:
            # left to `passes` only for a missing field a rule reads, an integer beyond int64, or an
            # integer-valued number (1.0) in an integer
            assert set(base) - set(record) or record["n"] == 2**63 or float in map(type, record.values())
    assert typed_passes >= 20
    lines = [_encode(record) for record in records]
    assert test.undecided_lines(lines) == [i for i, line in enumerate(lines) if not _passes_alone(test, line)]
