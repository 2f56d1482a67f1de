"""Singer streams through the real `mapper-wms-validate` CLI (stdin -> stdout), one behaviour per test."""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path

STATE = {"type": "STATE", "value": {"bookmarks": {"allocation": {"replication_key_value": "2025-01-01"}}}}


def canonical_hash(stream: str, record: dict) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(stream.encode() + b"\n" + body).hexdigest()


def test_valid_records_pass_through_byte_for_byte(run_mapper, allocation_schema):
    lines = [
        json.dumps(allocation_schema),
        '{"type":"RECORD","stream":"allocation","record":{"id":1,"mod_ts":"2025-01-01T00:00:00.000000+00:00",'
        '"alloc_qty":16.000,"packed_qty":2.50,"status_id":10,"order_dtl_id":7,"order_dtl_id_key":"ODL-7"},'
        '"version":1700000000000,"time_extracted":"2025-01-01T00:00:00.123456-03:00"}',
        json.dumps({"type": "ACTIVATE_VERSION", "stream": "allocation", "version": 1700000000000}),
        json.dumps(STATE),
    ]
    result = run_mapper({}, lines)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines
    assert result.outcome("allocation", "passed") == 1


def test_default_rules_quarantine_bad_allocations(run_mapper, allocation_schema, make_allocation):
    bad_qty = make_allocation(2, alloc_qty=0)
    over_packed = make_allocation(3, packed_qty=9)
    bad_status = make_allocation(4, status_id=55)
    bad_ts = make_allocation(5, mod_ts="not a time")
    result = run_mapper(
        {},
        [allocation_schema, make_allocation(1), bad_qty, over_packed, bad_status, bad_ts, make_allocation(6)],
    )
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in result.records("allocation")] == [1, 6]
    schemas = result.of("SCHEMA", "allocation_rejected")
    assert len(schemas) == 1
    assert schemas[0]["key_properties"] == ["record_hash"]
    assert schemas[0]["schema"]["properties"]["id"]["type"] == ["integer", "null"]
    kinds = [(m["type"], m["stream"]) for m in result.messages]
    assert kinds.index(("SCHEMA", "allocation_rejected")) < kinds.index(("RECORD", "allocation_rejected"))
    rejected = {r["id"]: r for r in result.records("allocation_rejected")}
    assert set(rejected) == {2, 3, 4, 5}
    assert rejected[2]["rule_names"] == "alloc_qty_positive,packed_not_above_allocated"
    assert rejected[3]["rule_names"] == "packed_not_above_allocated"
    assert rejected[3]["violations"] == [
        {
            "rule": "packed_not_above_allocated",
            "check": "expression",
            "field": "packed_qty,alloc_qty",
            "message": "expression is false: packed_qty <= alloc_qty",
        }
    ]
    assert rejected[4]["rule_names"] == "allocation_status_known"
    # mod_ts is declared `format: date-time`: the schema check refuses it too (the target could not store it)
    assert rejected[5]["rule_names"] == "schema,mod_ts_datetime"
    assert rejected[2]["record"] == bad_qty["record"]
    assert rejected[2]["record_hash"] == canonical_hash("allocation", bad_qty["record"])
    assert rejected[2]["rejected_at"].endswith("+00:00")
    assert set(rejected[2]) == {"record_hash", "id", "record", "violations", "rule_names", "rejected_at"}
    assert result.outcome("allocation", "quarantined") == 4
    assert result.outcome("allocation", "quarantined", rule="packed_not_above_allocated") == 2
    assert result.outcome("allocation", "seen", rule="packed_not_above_allocated") == 6


def test_null_passes_every_check_but_not_null(run_mapper, allocation_schema, make_allocation):
    result = run_mapper(
        {}, [allocation_schema, make_allocation(1, alloc_qty=None, packed_qty=None, status_id=None)]
    )
    assert [r["id"] for r in result.records("allocation")] == [1]
    result = run_mapper({}, [allocation_schema, make_allocation(1, mod_ts=None)])
    assert result.records("allocation_rejected")[0]["rule_names"] == "mod_ts_not_null"


def test_same_record_rejected_twice_has_one_hash(run_mapper, allocation_schema, make_allocation):
    bad = make_allocation(2, alloc_qty=0)
    result = run_mapper({}, [allocation_schema, bad, bad])
    hashes = {r["record_hash"] for r in result.records("allocation_rejected")}
    assert len(hashes) == 1


def test_drop_counts_and_logs_but_does_not_emit(run_mapper, allocation_schema, make_allocation):
    result = run_mapper(
        {"on_invalid": "drop"}, [allocation_schema, make_allocation(1), make_allocation(2, alloc_qty=-1)]
    )
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in result.records("allocation")] == [1]
    assert result.of("RECORD", "allocation_rejected") == []
    assert result.of("SCHEMA", "allocation_rejected") == []
    assert result.outcome("allocation", "dropped") == 1
    assert "Dropped record with key {'id': 2} from stream 'allocation'" in result.stderr
    assert "alloc_qty_positive" in result.stderr


def test_fail_stops_with_stream_key_and_rule_and_keeps_earlier_state(
    run_mapper, allocation_schema, make_allocation
):
    result = run_mapper(
        {"on_invalid": "fail"},
        [allocation_schema, make_allocation(1), STATE, make_allocation(2, alloc_qty=0), make_allocation(3)],
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr  # a user's error: one ERROR line naming it
    assert "stream 'allocation'" in result.stderr
    assert "key {'id': 2}" in result.stderr
    assert "alloc_qty_positive" in result.stderr
    assert "line 4" in result.stderr
    assert [m["type"] for m in result.messages] == ["SCHEMA", "RECORD", "STATE"]
    assert result.messages[-1] == STATE


def test_most_severe_action_wins_per_record(run_mapper, allocation_schema, make_allocation):
    config = {
        "on_invalid": "drop",
        "rules": {"allocation": [{"name": "alloc_qty_positive", "action": "quarantine"}]},
    }
    both = make_allocation(2, alloc_qty=0, status_id=55)  # quarantine + drop -> quarantine
    only_drop = make_allocation(3, status_id=55)
    result = run_mapper(config, [allocation_schema, both, only_drop])
    assert [r["id"] for r in result.records("allocation_rejected")] == [2]
    assert result.outcome("allocation", "quarantined") == 1
    assert result.outcome("allocation", "dropped") == 1


def test_user_rules_and_per_rule_fail(run_mapper, allocation_schema, make_allocation):
    config = {
        "rules": {
            "allocation": [
                {"name": "key_shape", "field": "order_dtl_id_key", "check": "pattern", "pattern": "ODL-\\d+"},
                {
                    "name": "no_huge_qty",
                    "field": "alloc_qty",
                    "check": "max",
                    "value": 1000,
                    "action": "fail",
                },
            ]
        }
    }
    result = run_mapper(
        config,
        [
            allocation_schema,
            make_allocation(1, order_dtl_id_key="bad"),
            STATE,
            make_allocation(2, alloc_qty=5000),
        ],
    )
    assert result.returncode != 0
    assert "no_huge_qty" in result.stderr and "key {'id': 2}" in result.stderr
    assert result.records("allocation_rejected")[0]["rule_names"] == "key_shape"
    assert result.messages[-1] == STATE


def test_schema_validation_quarantines_mistyped_records(run_mapper, allocation_schema, make_allocation):
    bad = make_allocation(2, alloc_qty="five")
    result = run_mapper({}, [allocation_schema, bad])
    rejected = result.records("allocation_rejected")[0]
    assert rejected["rule_names"].split(",")[0] == "schema"
    assert rejected["violations"][0] == {
        "rule": "schema",
        "check": "schema",
        "field": "alloc_qty",
        "message": "alloc_qty must be number or null, got 'five'",
    }
    result = run_mapper({"validate_schema": False, "use_default_rules": False}, [allocation_schema, bad])
    assert [r["id"] for r in result.records("allocation")] == [2]


def test_mistyped_key_is_null_in_the_quarantine_row(run_mapper, allocation_schema, make_allocation):
    result = run_mapper({}, [allocation_schema, make_allocation("x")])
    rejected = result.records("allocation_rejected")[0]
    assert rejected["id"] is None
    assert rejected["record"]["id"] == "x"


def test_schema_change_mid_stream(run_mapper, allocation_schema, make_allocation):
    changed = json.loads(json.dumps(allocation_schema))
    changed["schema"]["properties"]["batch_nbr"] = {"type": ["string", "null"]}
    changed["schema"]["properties"]["status_id"] = {"type": ["string", "null"]}
    result = run_mapper(
        {
            "rules": {
                "allocation": [
                    {"name": "batch_short", "field": "batch_nbr", "check": "max_length", "value": 3}
                ]
            }
        },
        [
            allocation_schema,
            make_allocation(1, alloc_qty=0),
            changed,
            make_allocation(
                2, batch_nbr="B1", status_id=10
            ),  # status_id is no longer an integer in the schema
            make_allocation(3, batch_nbr="TOO-LONG", status_id="10"),
        ],
    )
    assert result.returncode == 0, result.stderr
    streams = [(m["type"], m["stream"]) for m in result.messages]
    assert streams == [
        ("SCHEMA", "allocation"),
        ("SCHEMA", "allocation_rejected"),
        ("RECORD", "allocation_rejected"),
        ("SCHEMA", "allocation"),
        ("SCHEMA", "allocation_rejected"),
        ("RECORD", "allocation_rejected"),
        ("RECORD", "allocation_rejected"),
    ]
    rejected = result.records("allocation_rejected")
    assert "schema" in rejected[1]["rule_names"]
    assert "batch_short" in rejected[2]["rule_names"]
    assert "allocation_status_known" in rejected[2]["rule_names"]  # "10" is not the integer 10


def test_state_passes_through_in_order(run_mapper, allocation_schema, make_allocation):
    state2 = {
        "type": "STATE",
        "value": {"bookmarks": {"allocation": {"replication_key_value": "2025-01-02"}}},
    }
    messages = [
        allocation_schema,
        make_allocation(1),
        make_allocation(2, alloc_qty=0),
        STATE,
        make_allocation(3),
        state2,
    ]
    result = run_mapper({}, messages)
    order = [(m["type"], m.get("stream"), m.get("record", {}).get("id")) for m in result.messages]
    assert order == [
        ("SCHEMA", "allocation", None),
        ("RECORD", "allocation", 1),
        ("SCHEMA", "allocation_rejected", None),
        ("RECORD", "allocation_rejected", 2),
        ("STATE", None, None),
        ("RECORD", "allocation", 3),
        ("STATE", None, None),
    ]
    assert result.of("STATE") == [STATE, state2]


def test_record_before_schema_is_a_clear_error(run_mapper, make_allocation):
    result = run_mapper({}, [make_allocation(1)])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "line 1: RECORD for stream 'allocation' arrived before any SCHEMA" in result.stderr
    assert result.messages == []


def test_malformed_json_names_the_line(run_mapper, allocation_schema, make_allocation):
    result = run_mapper({}, [allocation_schema, make_allocation(1), '{"type": "RECORD", "stream": ', STATE])
    assert result.returncode != 0
    assert "line 3: not valid JSON" in result.stderr
    assert len(result.records("allocation")) == 1


def test_unknown_message_type_and_non_object_lines(run_mapper, allocation_schema):
    result = run_mapper({}, [allocation_schema, '{"type": "RECROD"}'])
    assert result.returncode != 0
    assert "line 2: unknown Singer message type 'RECROD'" in result.stderr
    result = run_mapper({}, ["[1, 2]"])
    assert "line 1: a Singer message must be a JSON object" in result.stderr


def test_batch_naming_a_missing_file_is_a_clear_error(run_mapper, allocation_schema):
    # BATCH used to be refused; it is supported now (test_mapper_batch.py), and a file that is not there
    # stops the run with an error naming the line, the stream and the file.
    batch = {
        "type": "BATCH",
        "stream": "allocation",
        "encoding": {"format": "jsonl"},
        "manifest": ["file:///nonexistent/x.jsonl"],
    }
    result = run_mapper({}, [allocation_schema, batch])
    assert result.returncode != 0
    assert "line 2: BATCH for stream 'allocation'" in result.stderr
    assert "'file:///nonexistent/x.jsonl' does not exist" in result.stderr


def test_config_mistakes_fail_at_start_naming_the_rule(run_mapper, allocation_schema):
    config = {
        "on_invalid": "quarantine",
        "rules": {
            "allocation": [
                {"name": "qty", "field": "alloc_qty", "check": "postive"},
                {"name": "code", "field": "order_dtl_id_key", "check": "pattern", "pattern": "(["},
                {"name": "cross", "expression": "__import__('os').system('touch pwned')"},
            ]
        },
    }
    result = run_mapper(config, [allocation_schema])
    assert result.returncode != 0
    assert "rules.allocation[0] (rule 'qty'): unknown check 'postive'" in result.stderr
    assert "rules.allocation[1] (rule 'code')" in result.stderr and "regular expression" in result.stderr
    assert "rules.allocation[2] (rule 'cross')" in result.stderr
    assert result.messages == []
    result = run_mapper({"on_invalid": "explode"}, [allocation_schema])
    assert result.returncode != 0
    assert "on_invalid" in result.stderr


def test_rules_for_missing_streams_and_fields_warn_or_fail_when_strict(
    run_mapper, allocation_schema, make_allocation
):
    rules = {
        "allocation": [{"name": "ghost_field", "field": "ghost", "check": "not_null", "action": "drop"}],
        "shipment": [{"name": "ghost_stream", "field": "id", "check": "not_null"}],
    }
    result = run_mapper({"rules": rules}, [allocation_schema, make_allocation(1)])
    assert result.returncode == 0, result.stderr
    assert (
        "rules.shipment[0] (rule 'ghost_stream') is for stream 'shipment', which never appeared"
        in result.stderr
    )
    assert "rules.allocation[0] (rule 'ghost_field') reads field(s) ['ghost']" in result.stderr
    assert result.outcome("allocation", "dropped") == 1  # a missing field is null, so not_null breaks
    result = run_mapper({"rules": rules, "strict_rules": True}, [allocation_schema, make_allocation(1)])
    assert result.returncode != 0
    assert "strict_rules" in result.stderr


def test_other_streams_get_every_stream_defaults(run_mapper, make_allocation):
    schema = {
        "type": "SCHEMA",
        "stream": "order_hdr",
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "mod_ts": {"type": "string"},
                "order_nbr": {"type": ["string", "null"]},
                "status_id": {"type": "integer"},
            },
        },
        "key_properties": ["id"],
    }
    good = {"id": 1, "mod_ts": "2025-01-01T00:00:00+00:00", "order_nbr": "ORD1", "status_id": 25}
    bad = {"id": 2, "mod_ts": "2025-01-01T00:00:00+00:00", "order_nbr": None, "status_id": 26}
    result = run_mapper(
        {},
        [
            schema,
            {"type": "RECORD", "stream": "order_hdr", "record": good},
            {"type": "RECORD", "stream": "order_hdr", "record": bad},
        ],
    )
    assert [r["id"] for r in result.records("order_hdr")] == [1]
    assert (
        result.records("order_hdr_rejected")[0]["rule_names"] == "order_nbr_not_null,order_hdr_status_known"
    )


def test_invariant_on_a_large_generated_stream(run_mapper, allocation_schema, make_allocation):
    rng = random.Random(42)
    total = 50_000
    messages: list[dict] = [allocation_schema]
    expected_bad = 0
    for i in range(1, total + 1):
        roll = rng.random()
        if roll < 0.01:
            messages.append(make_allocation(i, alloc_qty=0))  # quarantined (default action)
            expected_bad += 1
        elif roll < 0.02:
            messages.append(make_allocation(i, status_id=55))  # dropped (overridden action)
            expected_bad += 1
        else:
            messages.append(make_allocation(i, alloc_qty=rng.randint(1, 50), packed_qty=0))
        if i % 10_000 == 0:
            messages.append(STATE)
    config = {"rules": {"allocation": [{"name": "allocation_status_known", "action": "drop"}]}}
    result = run_mapper(config, messages)
    assert result.returncode == 0, result.stderr[-2000:]
    passed = len(result.records("allocation"))
    quarantined = len(result.records("allocation_rejected"))
    dropped = result.outcome("allocation", "dropped")
    assert passed + quarantined + dropped == total
    assert quarantined + dropped == expected_bad
    assert result.outcome("allocation", "passed") == passed
    assert result.outcome("allocation", "quarantined") == quarantined
    assert dropped > 0 and quarantined > 0
    assert len(result.of("STATE")) == 5
    assert "COUNTS DO NOT BALANCE" not in result.stderr


def test_activate_version_is_for_the_source_stream_only(run_mapper, allocation_schema, make_allocation):
    bad = make_allocation(2, alloc_qty=0)
    bad["time_extracted"] = "2025-01-01T00:00:00-03:00"
    bad["version"] = 7
    activate = {"type": "ACTIVATE_VERSION", "stream": "allocation", "version": 7}
    result = run_mapper({}, [allocation_schema, activate, bad, activate])
    assert result.returncode == 0, result.stderr
    assert result.of("ACTIVATE_VERSION") == [activate, activate]
    rejected = result.of("RECORD", "allocation_rejected")[0]
    assert rejected["time_extracted"] == "2025-01-01T03:00:00Z"  # the same instant, in UTC
    assert "version" not in rejected


def test_input_option_reads_a_file_as_stdin_does(tmp_path, run_mapper, allocation_schema, make_allocation):
    """`--input FILE` (the SDK's CLI option, which opens the file as text) gives the output stdin gives."""
    messages = [allocation_schema, make_allocation(1), make_allocation(2, alloc_qty=0), STATE]
    from_stdin = run_mapper({}, messages)
    input_path = tmp_path / "given.jsonl"
    input_path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    config_path = tmp_path / "given-config.json"
    config_path.write_text("{}")
    exe = Path(sys.executable).parent / "mapper-wms-validate"
    proc = subprocess.run(
        [str(exe), "--config", str(config_path), "--input", str(input_path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr

    def normal(out: str) -> list[str]:  # the quarantine row's time differs between two runs
        return [re.sub(r'"rejected_at":"[^"]*"', '"rejected_at":""', line) for line in out.splitlines()]

    assert normal(proc.stdout) == normal(from_stdin.stdout)
    assert len(from_stdin.of("RECORD", "allocation_rejected")) == 1
