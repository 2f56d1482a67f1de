"""Parsing the `rules` setting: defaults, overrides, and every config mistake named with its location."""

from __future__ import annotations

from decimal import Decimal

import pytest
from mapper_wms_validate.defaults import DEFAULT_RULES
from mapper_wms_validate.rules import RuleBook, RuleConfigError
from mapper_wms_validate.schema_check import compile_record

ALLOCATION_FIELDS = [
    "id",
    "mod_ts",
    "alloc_qty",
    "packed_qty",
    "status_id",
    "order_dtl_id",
    "order_dtl_id_key",
]


def names(book: RuleBook, stream: str, fields=ALLOCATION_FIELDS) -> list[str]:
    return [r.name for r in book.rules_for(stream, fields)]


def errors_of(rules) -> list[str]:
    with pytest.raises(RuleConfigError) as info:
        RuleBook(rules)
    return info.value.errors


def test_default_rule_names_follow_the_contract():
    book = RuleBook({})
    assert names(book, "allocation") == [
        "id_not_null",
        "id_positive",
        "mod_ts_not_null",
        "mod_ts_datetime",
        "alloc_qty_positive",
        "packed_qty_non_negative",
        "packed_not_above_allocated",
        "allocation_status_known",
    ]
    assert names(book, "order_hdr", ["id", "mod_ts", "order_nbr", "status_id"])[-2:] == [
        "order_nbr_not_null",
        "order_hdr_status_known",
    ]
    assert names(book, "order_dtl", ["id", "mod_ts", "ord_qty", "status_id"])[-2:] == [
        "ord_qty_non_negative",
        "order_dtl_status_known",
    ]


def test_every_stream_defaults_apply_only_to_declared_fields():
    book = RuleBook({})
    assert names(book, "item", ["id", "item_code"]) == ["id_not_null", "id_positive"]
    assert names(book, "facility", ["id", "mod_ts"]) == [r["name"] for r in DEFAULT_RULES["*"]]


def test_defaults_can_be_switched_off():
    assert names(RuleBook({}, use_default_rules=False), "allocation") == []


def test_user_rules_add_replace_override_and_disable():
    book = RuleBook(
        {
            "allocation": [
                {
                    "name": "code_shape",
                    "field": "order_dtl_id_key",
                    "check": "pattern",
                    "pattern": "ODL-\\d+",
                },
                {"name": "alloc_qty_positive", "field": "alloc_qty", "check": "min", "value": 1},
                {"name": "allocation_status_known", "action": "drop"},
                {"name": "mod_ts_datetime", "enabled": False},
            ]
        }
    )
    rules = {r.name: r for r in book.rules_for("allocation", ALLOCATION_FIELDS)}
    assert "code_shape" in rules
    assert "mod_ts_datetime" not in rules
    assert rules["alloc_qty_positive"].check == "min"
    assert rules["allocation_status_known"].action == "drop"
    assert rules["allocation_status_known"].check == "in"


def test_default_names_for_unnamed_rules():
    book = RuleBook(
        {"allocation": [{"field": "alloc_qty", "check": "max", "value": 100}, {"expression": "a < b"}]}
    )
    assert names(book, "allocation", [*ALLOCATION_FIELDS, "a", "b"])[-2:] == ["alloc_qty_max", "expression_2"]


def test_wildcard_user_rules_apply_where_fields_exist():
    book = RuleBook(
        {"*": [{"name": "key_short", "field": "order_dtl_id_key", "check": "max_length", "value": 9}]}
    )
    assert "key_short" in names(book, "allocation")
    assert "key_short" not in names(book, "order_hdr", ["id", "mod_ts"])


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "a", "check": "postive"}, "unknown check 'postive'"),
        ({"field": "a", "check": "min"}, "needs parameter(s) ['value']"),
        ({"field": "a", "check": "pattern", "pattern": "([a-"}, "not a valid regular expression"),
        ({"expression": "os.system('x')"}, "not allowed in a rule expression"),
        ({"field": "a", "check": "positive", "action": "explode"}, "unknown action 'explode'"),
        ({"field": "a", "check": "min", "vale": 3}, "unknown parameter(s) ['vale']"),
        ({"check": "positive"}, "needs a 'field'"),
        ({"field": "a"}, "missing 'check'"),
        ({"field": "a", "expression": "a > 1"}, "drop 'field'"),
        ("positive", "must be an object"),
        ({"name": "nothing_here", "action": "drop"}, "no default or configured rule"),
    ],
)
def test_config_mistakes_name_the_stream_rule_and_problem(rule, expected):
    errors = errors_of({"allocation": [rule]})
    assert len(errors) == 1
    assert errors[0].startswith("rules.allocation[0]")
    assert expected in errors[0]


def test_all_mistakes_are_reported_at_once_with_rule_names():
    errors = errors_of(
        {
            "allocation": [
                {"name": "r1", "field": "a", "check": "positive"},
                {"name": "r1", "field": "a", "check": "positive"},
                {"name": "r2", "field": "a", "check": "nope"},
            ],
            "order_hdr": "not a list",
        }
    )
    assert any(e.startswith("rules.allocation[1] (rule 'r1'): duplicate rule name 'r1'") for e in errors)
    assert any(e.startswith("rules.allocation[2] (rule 'r2'): unknown check 'nope'") for e in errors)
    assert any("rules.order_hdr: must be a list" in e for e in errors)


def test_schema_check_types_required_and_nesting():
    check = compile_record(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "qty": {"type": ["number", "null"]},
                "flag": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "dims": {"type": "object", "properties": {"h": {"type": "number"}}},
                "kind": {"enum": ["A", "B"]},
            },
            "required": ["id"],
        }
    )
    assert (
        check({"id": 1, "qty": Decimal("1.5"), "flag": False, "tags": ["x"], "dims": {"h": 1}, "kind": "A"})
        is None
    )
    assert check({"id": Decimal("5.0")}) is None  # 5.0 is an integer in JSON Schema
    assert check({"id": 1, "qty": None}) is None
    problems = dict(check({"id": "1", "qty": "2", "flag": 1, "tags": [1], "dims": {"h": "x"}, "kind": "C"}))
    assert set(problems) == {"id", "qty", "flag", "tags", "dims", "kind"}
    assert problems["id"] == "id must be integer, got '1'"
    assert "dims.h" in problems["dims"]
    assert dict(check({"qty": 1})) == {"id": "id is required but missing"}
    assert check({"id": True}) is not None  # booleans are not integers
