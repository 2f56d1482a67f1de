"""Unit tests for each check: what passes, what is a violation, nulls, and parameter errors."""

from __future__ import annotations

import random
from decimal import Decimal

import msgspec
import pytest
from mapper_wms_validate import storage_contract
from mapper_wms_validate.checks import CHECKS, CheckConfigError
from mapper_wms_validate.engine import compile_passes
from mapper_wms_validate.rules import RuleBook
from mapper_wms_validate.schema_check import STORED_DATETIME_SHAPES


def build(check: str, **params):
    return CHECKS[check].factory("v", params)


def outcome(check: str, got, /, **params):
    """None when {"v": got} passes, else the message."""
    return build(check, **params)({"v": got})


NULL_PASSES = [
    ("positive", {}),
    ("non_negative", {}),
    ("min", {"value": 1}),
    ("max", {"value": 1}),
    ("range", {"min": 1, "max": 2}),
    ("in", {"values": [1]}),
    ("pattern", {"pattern": "A+"}),
    ("max_length", {"value": 1}),
    ("datetime", {}),
]


@pytest.mark.parametrize(("check", "params"), NULL_PASSES)
def test_null_and_missing_pass_every_check_but_not_null(check, params):
    assert build(check, **params)({"v": None}) is None
    assert build(check, **params)({}) is None


def test_not_null():
    assert outcome("not_null", 0) is None
    assert outcome("not_null", "") is None
    assert outcome("not_null", None) == "v must not be null"
    assert build("not_null")({}) == "v must not be null"


@pytest.mark.parametrize("value", [1, Decimal("0.01"), 3.5, 10**20])
def test_positive_accepts(value):
    assert outcome("positive", value) is None


@pytest.mark.parametrize("value", [0, -1, Decimal("0"), Decimal("-0.5"), "5", True, [1]])
def test_positive_rejects(value):
    assert outcome("positive", value) is not None


def test_positive_message_names_field_and_value():
    assert outcome("positive", 0) == "v must be > 0, got 0"
    assert "must be a number" in outcome("positive", "5")


def test_non_negative():
    assert outcome("non_negative", 0) is None
    assert outcome("non_negative", Decimal("0.0")) is None
    assert outcome("non_negative", -1) == "v must be >= 0, got -1"


def test_min_and_max_are_inclusive():
    assert outcome("min", 3, value=3) is None
    assert outcome("min", 2, value=3) == "v must be >= 3, got 2"
    assert outcome("max", Decimal("2.5"), value=2.5) is None
    assert outcome("max", Decimal("2.51"), value=2.5) == "v must be <= 2.5, got 2.51"


def test_range():
    assert outcome("range", 1, min=1, max=2) is None
    assert outcome("range", 2, min=1, max=2) is None
    assert "between 1 and 2" in outcome("range", 3, min=1, max=2)
    assert outcome("range", "x", min=1, max=2) is not None
    with pytest.raises(CheckConfigError, match="greater than 'max'"):
        build("range", min=3, max=2)


def test_in_allowed_values():
    assert outcome("in", 10, values=[0, 10, 90]) is None
    assert outcome("in", Decimal("10"), values=[0, 10, 90]) is None
    assert outcome("in", 11, values=[0, 10, 90]) == "v must be one of [0, 10, 90], got 11"
    assert outcome("in", "10", values=[0, 10, 90]) is not None
    assert outcome("in", "A", values=["A", "B"]) is None


def test_in_does_not_confuse_booleans_with_numbers():
    assert outcome("in", True, values=[1]) is not None
    assert outcome("in", 1, values=[True]) is not None
    assert outcome("in", True, values=[True]) is None


def test_in_unhashable_value_is_a_violation_not_a_crash():
    assert outcome("in", {"a": 1}, values=[1]) is not None


def test_pattern_is_a_full_match():
    assert outcome("pattern", "ORD-123", pattern=r"ORD-\d+") is None
    assert outcome("pattern", "xORD-123", pattern=r"ORD-\d+") is not None
    assert outcome("pattern", "ORD-123x", pattern=r"ORD-\d+") is not None
    assert "must match" in outcome("pattern", 123, pattern=r"\d+")


def test_pattern_bad_regex_is_a_config_error():
    with pytest.raises(CheckConfigError, match="not a valid regular expression"):
        build("pattern", pattern="([a-z")


def test_max_length():
    assert outcome("max_length", "abc", value=3) is None
    assert outcome("max_length", "abcd", value=3) == "v must be at most 3 characters long, got 4"
    assert outcome("max_length", 1234, value=3) is not None
    with pytest.raises(CheckConfigError):
        build("max_length", value=-1)
    with pytest.raises(CheckConfigError):
        build("max_length", value="3")


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01T00:00:00.000000+00:00",
        "2025-01-01T00:00:00-03:00",
        "2025-01-01T00:00:00Z",
        "2025-01-01 00:00:00",
        "2025-01-01T00:00:00+05",
        "2025-01-01T00:00:00.5+0530",
    ],
)
def test_datetime_accepts_the_forms_the_target_stores(value):
    assert outcome("datetime", value) is None


# `datetime.fromisoformat` reads all but the first four; the target stores none
@pytest.mark.parametrize(
    "value",
    [
        "2025-13-01T00:00:00",
        "yesterday",
        "",
        20250101,
        "2025-01-01",
        "2025-01-01T10",
        "2025-01-01T10:00",
        "20250101",
        "20250101T100000Z",
        "2025-W01-1",
        "2025-01-01t10:00:00Z",
        "2025-01-01T10:00:00+05:30:15",
        "2025-01-01T10:00:00.1234567Z",
        "0001-01-01T00:30:00+01:00",
    ],
)
def test_datetime_rejects(value):
    assert outcome("datetime", value) is not None


@pytest.mark.parametrize("require_timezone", [False, True])
def test_datetime_rule_passes_what_the_contract_stores(require_timezone):
    """The rule's check, and the rule engine's test of a record and of a BATCH line with the rule, pass a
    string exactly when the storage contract's date-time check (`storage_contract.refusal`, the target's)
    stores it, with an offset when one is required."""
    rule = {"name": "at_datetime", "field": "v", "check": "datetime", "require_timezone": require_timezone}
    rules = RuleBook({"s": [rule]}, use_default_rules=False).rules_for("s", ["v"])
    schema = {"properties": {"v": {"type": ["string", "null"]}}}
    engine = compile_passes(schema, [], rules, check_schema=False, schema_problems=None)
    rng = random.Random(3)
    values = []
    for shape in sorted(STORED_DATETIME_SHAPES):  # (sorted: the same values under every hash seed)
        for digits in ("0123456789", "01", "01"):  # (with 0 and 1 only, most are real dates and times)
            value = "".join(rng.choice(digits if ch == "0" else ch) for ch in shape.decode())
            at = rng.randrange(len(value) + 1)
            values += [value, value[:at] + rng.choice(["", "0", "W", "t", "z", ",", ":"]) + value[at + 1 :]]
    values += ["2025-01-01T10", "20250101", "2025-W01-1", "2025-01-01", "2025-01-01T10:00:00.1234567Z"]
    passed = 0
    for value in values:
        stored = storage_contract.refusal(storage_contract.TIMESTAMP, value) is None
        if require_timezone and stored:
            stored = storage_contract.read_datetime(value).tzinfo is not None
        assert (outcome("datetime", value, require_timezone=require_timezone) is None) is stored, value
        assert engine.passes({"v": value}) is stored, value
        assert engine.undecided_lines([msgspec.json.encode({"v": value})]) == ([] if stored else [0]), value
        passed += stored
    assert 20 < passed < len(values) - 20


def test_datetime_message_carries_the_contracts_reason():
    assert outcome("datetime", "2025-01-01T10") == "v: not an ISO-8601 date-time, got '2025-01-01T10'"
    assert "more than 6 fractional second digits" in outcome("datetime", "2025-01-01T00:00:00.1234567Z")


def test_datetime_require_timezone():
    assert outcome("datetime", "2025-01-01T00:00:00", require_timezone=True) is not None
    assert outcome("datetime", "2025-01-01T00:00:00+00:00", require_timezone=True) is None


def test_expression_check():
    check = CHECKS["expression"].factory("", {"expression": "packed_qty <= alloc_qty"})
    assert check({"packed_qty": 2, "alloc_qty": 5}) is None
    assert check({"packed_qty": 6, "alloc_qty": 5}) == "expression is false: packed_qty <= alloc_qty"
    assert check({"packed_qty": None, "alloc_qty": 5}) is None
    assert "cannot be evaluated" in check({"packed_qty": "6", "alloc_qty": 5})


@pytest.mark.parametrize("check", ["min", "max"])
def test_numeric_parameter_must_be_a_number(check):
    with pytest.raises(CheckConfigError, match="must be a number"):
        build(check, value="3")
