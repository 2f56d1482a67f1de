"""The fast path (compact RECORD lines, typed decode) gives every record the outcome of the full path.

Each test runs the same messages twice through the real CLI: written compactly, as the tap writes them
(the fast path takes them), and with json.dumps' default spacing (the fast path never matches those lines,
so the full path decides). Outputs and counts must be the same, and the expected outcomes hold.
"""

from __future__ import annotations

import json
import re

EXTRA_PROPERTIES = {
    "status_id": {"type": ["integer", "null"], "enum": [0, 10, 90, 99, None]},
    "flags": {"type": ["array", "null"], "items": {"type": "boolean"}},
    "dims": {"type": ["object", "null"], "properties": {"w": {"type": "number"}}, "required": ["w"]},
    "kind": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
}


def compact(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def both_ways(run_mapper, config, messages):
    """Run compact and spaced; return the compact run after checking both agree."""
    fast = run_mapper(config, [compact(m) for m in messages])
    full = run_mapper(config, [json.dumps(m) for m in messages])
    assert fast.returncode == full.returncode == 0, fast.stderr[-2000:] + full.stderr[-2000:]

    def normalised(run):
        out = []
        for m in run.messages:
            if m["type"] == "RECORD" and "rejected_at" in m["record"]:
                m = {**m, "record": {**m["record"], "rejected_at": "-"}}
            out.append(m)
        return out

    assert normalised(fast) == normalised(full)
    assert fast.metrics() == full.metrics()
    return fast


def test_fast_path_agrees_on_defaults_and_edge_values(run_mapper, allocation_schema, make_allocation):
    messages = [
        allocation_schema,
        make_allocation(1),
        make_allocation(2, alloc_qty=0),  # rule
        make_allocation(3, alloc_qty="5"),  # schema: a string is not a number
        make_allocation(4.0),  # 4.0 is an integer in JSON Schema: passes
        make_allocation(5, status_id=True),  # schema: a boolean is not an integer
        make_allocation(6, alloc_qty=2.5, packed_qty=2.50),  # exact decimals: equal, passes
        make_allocation(7, mod_ts="nope"),
        make_allocation(8, undeclared="x"),  # not in the schema, not closed: passes
        make_allocation(9, alloc_qty=None, packed_qty=None, status_id=None),
        {"type": "RECORD", "stream": "allocation", "record": {"mod_ts": "2025-01-01T00:00:00+00:00"}},
        make_allocation(10, order_dtl_id=1.5),
    ]
    result = both_ways(run_mapper, {}, messages)
    passed = [r.get("id") for r in result.records("allocation")]
    assert passed == [1, 4.0, 6, 8, 9]
    rejected = {r["record"].get("id"): r["rule_names"] for r in result.records("allocation_rejected")}
    assert rejected == {
        2: "alloc_qty_positive,packed_not_above_allocated",
        3: "schema,alloc_qty_positive,packed_not_above_allocated",
        5: "schema,allocation_status_known",
        7: "mod_ts_datetime",
        None: "id_not_null",
        10: "schema",
    }
    # passed lines are written back byte for byte, compact as they came
    assert compact(messages[1]) in result.stdout.splitlines()


def test_fast_path_agrees_on_enum_nested_anyof_and_required(run_mapper, allocation_schema):
    schema = json.loads(json.dumps(allocation_schema))
    schema["schema"]["properties"].update(EXTRA_PROPERTIES)
    schema["schema"]["required"] = ["id"]

    def rec(**fields):
        return {"type": "RECORD", "stream": "allocation", "record": {"id": 1, **fields}}

    messages = [
        schema,
        rec(status_id=10, flags=[True], dims={"w": 1.5}, kind="a"),
        rec(status_id=11),  # enum
        rec(flags=[True, 1]),  # items
        rec(dims={"h": 2}),  # nested required
        rec(kind=1.5),  # anyOf
        {"type": "RECORD", "stream": "allocation", "record": {"status_id": 10}},  # required id
        rec(kind=2, dims=None, flags=None),
    ]
    result = both_ways(run_mapper, {"use_default_rules": False}, messages)
    assert len(result.records("allocation")) == 2
    assert len(result.records("allocation_rejected")) == 5


def test_fast_path_keeps_undeclared_fields_rules_read_and_closed_schemas(
    run_mapper, allocation_schema, make_allocation
):
    config = {"rules": {"allocation": [{"name": "batch_set", "field": "batch_nbr", "check": "not_null"}]}}
    messages = [allocation_schema, make_allocation(1, batch_nbr="B1"), make_allocation(2)]
    result = both_ways(run_mapper, config, messages)
    assert [r["id"] for r in result.records("allocation")] == [1]
    assert result.records("allocation_rejected")[0]["rule_names"] == "batch_set"

    closed = json.loads(json.dumps(allocation_schema))
    closed["schema"]["additionalProperties"] = False
    result = both_ways(run_mapper, {}, [closed, make_allocation(1), make_allocation(2, extra=1)])
    assert [r["id"] for r in result.records("allocation")] == [1]
    assert re.search(
        r"extra is not in the schema", result.records("allocation_rejected")[0]["violations"][0]["message"]
    )


def test_fast_path_follows_schema_changes_and_validate_schema_off(
    run_mapper, allocation_schema, make_allocation
):
    changed = json.loads(json.dumps(allocation_schema))
    changed["schema"]["properties"]["alloc_qty"] = {"type": ["string", "null"]}
    messages = [
        allocation_schema,
        make_allocation(1, alloc_qty="5"),
        changed,
        make_allocation(2, alloc_qty="5"),
        make_allocation(3, alloc_qty=5),
    ]
    result = both_ways(run_mapper, {"use_default_rules": False}, messages)
    assert [r["id"] for r in result.records("allocation")] == [2]
    assert [r["id"] for r in result.records("allocation_rejected")] == [1, 3]
    result = both_ways(run_mapper, {"use_default_rules": False, "validate_schema": False}, messages)
    assert [r["id"] for r in result.records("allocation")] == [1, 2, 3]


def test_rules_folded_into_the_typed_decode_agree(run_mapper, allocation_schema, make_allocation):
    # not_null, integer bounds, `in` with integer or string values and max_length are checked by msgspec on
    # the fast path; the outcome of every record must be the full path's
    config = {
        "rules": {
            "allocation": [
                {"name": "dtl_set", "field": "order_dtl_id", "check": "not_null"},
                {"name": "dtl_range", "field": "order_dtl_id", "check": "range", "min": 1, "max": 100},
                {
                    "name": "key_known",
                    "field": "order_dtl_id_key",
                    "check": "in",
                    "values": ["ODL-7", "ODL-8"],
                },
                {"name": "key_short", "field": "order_dtl_id_key", "check": "max_length", "value": 5},
                {"name": "status_min", "field": "status_id", "check": "min", "value": 10},
                {"name": "status_max", "field": "status_id", "check": "max", "value": 2.5e1},
            ]
        }
    }
    messages = [
        allocation_schema,
        make_allocation(1),
        make_allocation(2, order_dtl_id=None),
        make_allocation(3, order_dtl_id=0),
        make_allocation(4, order_dtl_id=101),
        make_allocation(5, order_dtl_id=100, order_dtl_id_key="ODL-8"),
        make_allocation(6, order_dtl_id_key="ODL-9"),
        make_allocation(11, order_dtl_id_key="ODL-777"),
        make_allocation(7, order_dtl_id_key=None, status_id=None),
        make_allocation(8, status_id=0),
        make_allocation(9, status_id=99),
        make_allocation(10, status_id=True),
    ]
    result = both_ways(run_mapper, config, messages)
    assert [r["id"] for r in result.records("allocation")] == [1, 5, 7]
    rejected = {r["id"]: r["rule_names"] for r in result.records("allocation_rejected")}
    assert rejected == {
        2: "dtl_set",
        3: "dtl_range",
        4: "dtl_range",
        6: "key_known",  # 5 characters: not too long
        8: "status_min",  # 0 is a known status
        9: "status_max",
        10: "schema,allocation_status_known,status_min,status_max",  # true is not a number
        11: "key_known,key_short",
    }


def test_number_rules_fold_for_integers_and_decimals_decode_again(
    run_mapper, allocation_schema, make_allocation
):
    # A `number` property is decoded as an integer first (its rules folded into the decode); a decimal
    # value is decoded again as an exact decimal. After a window of 4,096 records mostly decimals, the
    # stream stops trying integers first. Either way every record gets the full path's outcome.
    cases = [
        ({}, None),
        ({"alloc_qty": 0}, "alloc_qty_positive,packed_not_above_allocated"),
        ({"alloc_qty": 0.0, "packed_qty": 0}, "alloc_qty_positive"),
        ({"packed_qty": -1}, "packed_qty_non_negative"),
        ({"packed_qty": -0.0}, None),
        ({"alloc_qty": 2, "packed_qty": 2.5}, "packed_not_above_allocated"),
        ({"alloc_qty": 2.5, "packed_qty": 2.50}, None),
        ({"alloc_qty": True}, "schema,alloc_qty_positive,packed_not_above_allocated"),
        ({"alloc_qty": None, "packed_qty": None}, None),
    ]
    messages, expected = [allocation_schema], {}
    for start in (0, 100, 10_000):
        for offset, (fields, rules) in enumerate(cases):
            messages.append(make_allocation(start + offset + 1, **fields))
            expected[start + offset + 1] = rules
        if start == 100:  # decimals only, more than a window of them
            messages += [make_allocation(i, alloc_qty=2.5, packed_qty=1.25) for i in range(200, 5200)]
    missing = make_allocation(20_000)
    del missing["record"]["alloc_qty"], missing["record"]["packed_qty"]
    messages.append(missing)
    result = both_ways(run_mapper, {}, messages)
    rejected = {r["id"]: r["rule_names"] for r in result.records("allocation_rejected")}
    assert rejected == {key: rules for key, rules in expected.items() if rules is not None}
    passed = {r["id"] for r in result.records("allocation")}
    assert passed == {key for key, rules in expected.items() if rules is None} | set(range(200, 5200)) | {
        20_000
    }


def test_property_names_python_cannot_use_as_attributes(run_mapper):
    schema = {
        "type": "SCHEMA",
        "stream": "odd",
        "key_properties": ["a-b"],
        "schema": {
            "properties": {
                "a-b": {"type": "integer"},
                "f0": {"type": ["string", "null"]},
                "f1": {"type": ["number", "null"]},
                "type": {"type": ["integer", "null"]},
                "get": {"type": ["number", "null"]},
            },
            "required": ["a-b", "zz"],
        },
    }
    config = {
        "use_default_rules": False,
        "rules": {
            "odd": [
                {"field": "a-b", "check": "positive"},
                {"field": "f1", "check": "max", "value": 10},
                {"expression": "type is None or type < f1"},
                {"field": "get", "check": "min", "value": 0.5},
            ]
        },
    }

    def rec(**fields):
        return {"type": "RECORD", "stream": "odd", "record": {"zz": None, **fields}}

    messages = [
        schema,
        rec(**{"a-b": 1, "f0": "x", "f1": 5, "type": 4}),
        rec(**{"a-b": 0}),
        rec(**{"a-b": 2, "f1": 11.5}),
        rec(**{"a-b": 3, "f1": 5, "type": 5}),
        rec(**{"a-b": 4, "f0": 1}),
        {"type": "RECORD", "stream": "odd", "record": {"a-b": 5}},  # required zz missing
        rec(**{"a-b": 6, "f1": 9.5, "type": None}),
        rec(**{"a-b": 7, "get": 0.25}),
        rec(**{"a-b": 8, "get": 1}),
    ]
    result = both_ways(run_mapper, config, messages)
    assert [r["a-b"] for r in result.records("odd")] == [1, 6, 8]
    rejected = {r["record"]["a-b"]: r["rule_names"] for r in result.records("odd_rejected")}
    assert rejected == {
        0: "a-b_positive",
        2: "f1_max",
        3: "expression_3",
        4: "schema",
        5: "schema",
        7: "get_min",
    }


def test_fast_path_agrees_on_field_comparisons_and_value_checks(
    run_mapper, allocation_schema, make_allocation
):
    """The rules the fast path checks in Python on the decoded record: comparisons of two fields (nulls,
    exact decimals, a type clash) and checks of one field's value."""
    config = {
        "validate_schema": False,  # so that mistyped values reach the rules
        "rules": {
            "allocation": [
                {"name": "key_shape", "field": "order_dtl_id_key", "check": "pattern", "pattern": "ODL-\\d+"},
                {"name": "ids_ordered", "expression": "order_dtl_id >= id"},
                {"name": "ts_zoned", "field": "mod_ts", "check": "datetime", "require_timezone": True},
            ]
        },
    }
    messages = [
        allocation_schema,
        make_allocation(1),
        make_allocation(2, packed_qty="3"),  # a string against a number
        make_allocation(3, packed_qty=None),  # unknown passes
        make_allocation(4, alloc_qty=2.5, packed_qty=2.25),  # exact decimals
        make_allocation(5, packed_qty=3, alloc_qty=2),
        make_allocation(6, order_dtl_id_key="X-1"),
        make_allocation(7, order_dtl_id=3),
        make_allocation(8, mod_ts="2025-01-01T00:00:00", order_dtl_id=8),  # no UTC offset
        make_allocation(9, order_dtl_id=None),  # unknown passes
    ]
    result = both_ways(run_mapper, config, messages)
    assert [r["id"] for r in result.records("allocation")] == [1, 3, 4, 9]
    rejected = {r["record"]["id"]: r["rule_names"] for r in result.records("allocation_rejected")}
    assert rejected == {
        2: "packed_qty_non_negative,packed_not_above_allocated",
        5: "packed_not_above_allocated",
        6: "key_shape",
        7: "ids_ordered",
        8: "ts_zoned",
    }
